"""Generate kg's Sigma field tables from pySigma's maintained field mappings.

    .venv/bin/python scripts/gen_field_tables.py [--corpus SIGMA_ROOT] [--out kg/data]

Writes two files, both reviewed by hand before they are committed:

``fields_sigma.tsv`` (native Sigma field → canonical ECS field, kg/normalise.py rule 1):
  1. the reviewed choices in ``REVIEWED`` below (each with its reason);
  2. pySigma-backend-elasticsearch's ``ecs_windows`` field mappings; where a field's
     mapping depends on the log source, the ``process_creation`` one when there is one,
     else the first declared;
  3. its ``ecs_macos_esf``, ``ecs_kubernetes`` and ``ecs_zeek_beats`` mappings;
  4. every other field the SigmaHQ Windows rules use (scanned from ``--corpus``) under
     ``winlog.event_data.<Field>``: what ``ecs_windows`` does with a field it does not map,
     and the name Elastic's own rules use for Windows event data; a field that rules of
     other products use too (Status, Path...) is left unmapped rather than guessed.
  The order is 1, 2, 4, 3: Windows rules are most of the corpus.  The first source to name
  a field wins (names are compared case-folded).  With ``--corpus`` the macOS, Kubernetes
  and Zeek rows are kept only for fields that product's rules use, and a field also used
  by other products is printed for review.
  Elasticsearch's ``.caseless`` sub-fields are written as their ECS parent field.

``fields_splunk_cim.tsv`` (Sigma field → Splunk CIM field, per data model) from
  pySigma-backend-splunk's ``splunk_cim_data_model`` pipeline, for the Splunk loader.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from importlib.metadata import version
from pathlib import Path

import yaml
from sigma.pipelines.elasticsearch import pipelines as es_pipelines
from sigma.pipelines.splunk import splunk_cim_data_model
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation

# native → (canonical, why): choices made on review, ahead of every generated row
REVIEWED: dict[str, tuple[str, str]] = {
    "ImageLoaded": (
        "dll.path",
        "image_load events are library loads; ECS and Elastic's rules name them dll.*",
    ),
    "Details": (
        "registry.data.strings",
        "the registry value data written; ECS registry.data.strings",
    ),
    "Image": ("process.executable", "in every category the acting process's path"),
    "ParentImage": ("process.parent.executable", "ECS parent process path"),
    "OriginalFileName": (
        "process.pe.original_file_name",
        "process_creation; in image_load the loaded file's PE name (file.pe.*) is rarer",
    ),
    "TargetImage": (
        "winlog.event_data.TargetImage",
        "Sysmon process_access/create_remote_thread target, as Elastic's rules name it",
    ),
    # no pySigma ECS pipeline covers cloud logs: Elastic's integrations' names
    "eventSource": ("event.provider", "AWS CloudTrail / M365 service, Elastic aws & o365"),
    "eventName": ("event.action", "AWS CloudTrail API call, Elastic aws integration"),
    "operationName": (
        "azure.activitylogs.operation_name",
        "Azure activity log operation, Elastic azure integration",
    ),
    "gcp.audit.method_name": ("event.action", "GCP audit method, Elastic gcp integration"),
    "eventType": ("event.action", "Okta System Log event type, Elastic okta integration"),
    # W3C extended log fields of Sigma's webserver/proxy taxonomy, as Elastic's iis integration
    "cs-uri-query": ("url.query", "W3C query string"),
    "c-uri-query": ("url.query", "W3C query string (proxy)"),
    "cs-uri-stem": ("url.path", "W3C path"),
    "c-uri-stem": ("url.path", "W3C path (proxy)"),
    "c-uri-extension": ("url.extension", "W3C file extension of the path"),
    "cs-host": ("url.domain", "W3C Host header"),
    "cs-method": ("http.request.method", "W3C method"),
    "cs-user-agent": ("user_agent.original", "W3C user agent"),
    "cs-referrer": ("http.request.referrer", "W3C referrer"),
    "cs-referer": ("http.request.referrer", "W3C referrer, the header's own spelling"),
    "cs-uri": ("url.original", "W3C full URI"),
    "sc-status": ("http.response.status_code", "W3C status code"),
}

# pySigma-backend-elasticsearch pipelines after ecs_windows, with the Sigma product they serve
OTHER_SOURCES = {"ecs_macos_esf": "macos", "ecs_kubernetes": "kubernetes", "ecs_zeek_beats": "zeek"}
ES_SOURCES = ("ecs_windows", *OTHER_SOURCES)
PREFERRED_CATEGORY = "process_creation"
WINDOWS_PREFIX = "winlog.event_data."


def _scope(conditions: Iterable[object]) -> str:
    """``product=windows,category=process_creation``; alternatives joined by `` or ``."""
    scopes = []
    for condition in conditions:
        if isinstance(condition, LogsourceCondition):
            keys = ("product", "category", "service")
            parts = [f"{key}={getattr(condition, key)}" for key in keys if getattr(condition, key)]
            scopes.append(",".join(parts))
    return " or ".join(scopes)


def mappings(pipeline: ProcessingPipeline) -> Iterator[tuple[str, str, str]]:
    """(native, mapped, log-source scope) for every field mapping of a pipeline, in order."""
    for item in pipeline.items:
        if isinstance(item.transformation, FieldMappingTransformation):
            scope = _scope(item.rule_conditions)
            for native, mapped in item.transformation.mapping.items():
                target = mapped if isinstance(mapped, str) else mapped[0]
                yield native, target.removesuffix(".caseless"), scope


def _pick(candidates: list[tuple[str, str]]) -> tuple[str, str]:
    """One (mapped, scope) of a field's candidates: process_creation first, else the first."""
    for mapped, scope in candidates:
        if f"category={PREFERRED_CATEGORY}" in scope:
            return mapped, scope
    return candidates[0]


def product_fields(corpus: Path) -> dict[str, set[str]]:
    """Sigma product → field names the detections of its rules use (rules* folders)."""
    found: dict[str, set[str]] = {}
    for path in sorted(corpus.glob("rules*/**/*.yml")):
        try:
            rule = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            continue
        if not isinstance(rule, dict) or not isinstance(rule.get("logsource"), dict):
            continue
        product = str(rule["logsource"].get("product") or "")
        found.setdefault(product, set()).update(_detection_fields(rule.get("detection") or {}))
    return found


def _detection_fields(detection: dict[str, object]) -> Iterator[str]:
    """The field names of a detection section: keys of its selections' maps."""
    for name, definition in detection.items():
        if name == "condition":
            continue
        maps = definition if isinstance(definition, list) else [definition]
        for selection in maps:
            if isinstance(selection, dict):
                for key in selection:
                    field = str(key).split("|", 1)[0]
                    if field:
                        yield field


def _pipeline_rows(name: str) -> Iterator[tuple[str, str, str]]:
    candidates: dict[str, list[tuple[str, str]]] = {}
    for native, mapped, scope in mappings(es_pipelines[name]()):
        candidates.setdefault(native, []).append((mapped, scope))
    for native, found in candidates.items():
        mapped, scope = _pick(found)
        if "*" not in mapped:  # a few Zeek targets are patterns over several fields
            yield native, mapped, f"{name}[{scope}]" if scope else name


def sigma_rows(corpus: Path | None) -> list[tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}

    def add(native: str, canonical: str, source: str) -> None:
        rows.setdefault(native.casefold(), (native, canonical, source))

    used = product_fields(corpus) if corpus else {}
    for native, (canonical, why) in REVIEWED.items():
        add(native, canonical, f"reviewed: {why}")
    for row in _pipeline_rows("ecs_windows"):
        add(*row)
    elsewhere = {name for product, names in used.items() if product != "windows" for name in names}
    for native in sorted(used.get("windows", ()), key=str.casefold):
        if "." in native or native.casefold() in rows:
            continue
        if native in elsewhere:
            # Status, Path, Name...: a winlog.event_data name would be wrong for the others
            print(f"review: {native} left unmapped, used by Windows and other products")
            continue
        add(native, WINDOWS_PREFIX + native, "ecs_windows prefix rule")
    for name, product in OTHER_SOURCES.items():
        for native, mapped, source in _pipeline_rows(name):
            # a pipeline's generic names (uid, name, action) only where its product uses them
            if corpus is None or native in used.get(product, ()):
                add(native, mapped, source)
    for native, canonical, source in rows.values():
        home = OTHER_SOURCES.get(source.split("[", 1)[0])
        others = sorted(p for p, names in used.items() if native in names and p != home)
        if home and others:
            print(f"review: {native} -> {canonical} ({source}) also used by {others}")
    return sorted(rows.values(), key=lambda row: row[0].casefold())


def splunk_rows() -> list[tuple[str, str, str]]:
    return [(native, mapped, scope) for native, mapped, scope in mappings(splunk_cim_data_model())]


def write(path: Path, header: list[str], columns: str, rows: list[tuple[str, str, str]]) -> None:
    lines = [f"# {line}".rstrip() for line in header]
    lines.append(columns)
    lines.extend("\t".join(row) for row in rows)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="SigmaHQ checkout (rules* folders)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "kg" / "data")
    args = parser.parse_args(argv)
    corpus = args.corpus if args.corpus and args.corpus.is_dir() else None
    es_version = version("pySigma-backend-elasticsearch")
    splunk_version = version("pySigma-backend-splunk")
    rows = sigma_rows(corpus)
    write(
        args.out / "fields_sigma.tsv",
        [
            "Sigma field -> canonical ECS field (kg/normalise.py, rule 1), matched case-folded.",
            "Generated by scripts/gen_field_tables.py from pySigma-backend-elasticsearch "
            f"{es_version} ({', '.join(ES_SOURCES)}),",
            "plus reviewed choices and the ecs_windows winlog.event_data. prefix rule for the",
            "fields SigmaHQ's Windows rules use; then reviewed by hand.  Third column: where the",
            "row comes from.  Regenerate, review the diff, commit.",
        ],
        "native\tcanonical\tsource",
        rows,
    )
    write(
        args.out / "fields_splunk_cim.tsv",
        [
            "Sigma field -> Splunk CIM field, per data model, from pySigma-backend-splunk "
            f"{splunk_version}",
            "(splunk_cim_data_model pipeline); generated by scripts/gen_field_tables.py.",
            "Third column: the Sigma log source the mapping applies to.",
        ],
        "sigma\tcim\tlogsource",
        splunk_rows(),
    )
    print(f"fields_sigma.tsv: {len(rows)} rows; fields_splunk_cim.tsv: {len(splunk_rows())} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
