"""Elastic detection-rules (TOML) → RuleRecords.

One file holds one rule: ``[metadata]`` (maturity, dates, integration) and
``[rule]`` (name, rule_id, type, language, index, tags, severity, author,
threat mappings, query).  The query is parsed by the parser of its language
(EQL, KQL, ES|QL, Lucene); a query that does not parse fails its file with the
line and column (in the TOML file and in the query), and every other file
still loads.  Machine-learning rules have no query: ``no_query``.

Choices worth knowing:
* ``severity`` is the level; ``risk_score`` has no field in the record.
* A rule is deprecated when it sits under ``rules/_deprecated`` or its
  maturity is ``deprecated``; it is still parsed.
* ``group_by`` collects the threshold fields (and cardinality field), the
  ``new_terms`` fields, the threat-match mapping fields, an EQL sequence's
  ``by`` fields and an ES|QL ``STATS ... BY``.
* Kibana filters (``[[rule.filters]]``) are more conjuncts (loaders/elastic_filters.py).
* Notes met while parsing an ``ok`` query (an ES|QL command skipped, an EQL
  pipe ignored) go to the file result's ``notes``, which the load report counts.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import rtoml
from lark.exceptions import LarkError

from kg.conditions import positive
from kg.model import Condition, FileResult, Op, ParseStatus, RuleRecord, SourceFile

from . import elastic_eql, elastic_esql, elastic_kql, elastic_lucene
from .elastic_filters import filters_condition
from .elastic_tree import ParsedQuery, QuerySyntaxError, all_of

log = logging.getLogger(__name__)

LICENCE = "Elastic License 2.0"
RULE_FOLDERS = ("rules", "rules_building_block")
HINT_FIELDS = ("event.category", "event.type", "event.action", "host.os.type")

PARSERS: dict[str, ModuleType] = {
    "eql": elastic_eql,
    "kuery": elastic_kql,
    "esql": elastic_esql,
    "lucene": elastic_lucene,
}


class ElasticLoader:
    name = "elastic"
    version = "1"

    def discover(self, root: Path) -> list[SourceFile]:
        found = []
        for folder in RULE_FOLDERS:
            for path in sorted((root / folder).rglob("*.toml")):
                found.append(SourceFile(str(path), path.relative_to(root).as_posix()))
        return found

    def context(self, root: Path) -> object:
        return None

    def parse(self, file: SourceFile, data: bytes, context: object) -> FileResult:
        try:
            text = data.decode("utf-8")
            document = _toml(text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return FileResult(file.relpath, "failed", f"not valid TOML: {exc}")
        rule = document.get("rule")
        if not isinstance(rule, dict) or not rule.get("rule_id"):
            return FileResult(file.relpath, "failed", "no [rule] table with a rule_id")
        try:
            record, notes = build_record(file.relpath, document)
        except QuerySyntaxError as exc:
            line = _query_line(text) + exc.line if exc.line else None
            reason = f"{rule.get('language', '')} query does not parse: {exc}"
            return FileResult(file.relpath, "failed", reason, line=line)
        except (LarkError, RecursionError, ValueError, TypeError, KeyError) as exc:
            log.debug("%s: %r", file.relpath, exc)
            return FileResult(file.relpath, "failed", f"cannot read rule: {exc!r}")
        return FileResult(file.relpath, "loaded", rules=(record,), notes=notes)


def _query_line(text: str) -> int:
    """The TOML line just before the query's first line (0 when not found)."""
    match = re.search(r"^query\s*=\s*('''|\"\"\"|'|\")(\n?)", text, re.M)
    if not match:
        return 0
    line = text.count("\n", 0, match.start()) + 1
    return line if match.group(2) else line - 1


def _toml(text: str) -> dict[str, Any]:
    """A rule file's document, read by rtoml; a file it refuses goes to tomllib.

    rtoml (Rust) reads the Elastic corpus seven times faster than tomllib and gives the
    same documents; tomllib has the last word on a bad file, for its error message.
    rtoml also takes TOML 1.1 (``\\e`` and ``\\xHH`` escapes), which tomllib refuses; the
    Elastic repository checks its rules with Python's TOML readers, so none use it.
    """
    try:
        return rtoml.loads(text)
    except rtoml.TomlParsingError:
        return tomllib.loads(text)


def build_record(relpath: str, document: dict[str, Any]) -> tuple[RuleRecord, tuple[str, ...]]:
    """The record of one parsed TOML document and the notes on what its query skipped.

    Raises QuerySyntaxError if its query is bad.
    """
    meta = document.get("metadata", {})
    rule = document["rule"]
    rule_type = str(rule.get("type", ""))
    language = str(rule.get("language", ""))
    query = str(rule.get("query", "") or "")
    parsed, status, reason = _parse_query(rule_type, language, query)
    condition = parsed.condition if parsed else None
    filters, filter_notes = filters_condition(rule.get("filters") or ())
    condition = all_of([condition, filters])
    notes = (*(parsed.notes if parsed else ()), *filter_notes)
    tags = tuple(str(t) for t in rule.get("tags", ()))
    techniques, tactics = _threat(rule.get("threat", ()))
    maturity = str(meta.get("maturity", ""))
    indices = tuple(rule.get("index", ())) or (parsed.indices if parsed else ())
    record = RuleRecord(
        vendor="elastic",
        id=str(rule["rule_id"]),
        title=str(rule.get("name", "")),
        path=relpath,
        description=str(rule.get("description", "")).strip(),
        status=maturity,
        level=str(rule.get("severity", "")),
        rule_type=rule_type,
        author=", ".join(_as_list(rule.get("author"))),
        date=_date(meta.get("creation_date")),
        modified=_date(meta.get("updated_date")),
        language=language,
        query=query,
        techniques=techniques,
        tactics=tactics,
        data_sources=indices,
        event_hints=_event_hints(condition, parsed, tags),
        deprecated=maturity == "deprecated" or "/_deprecated/" in f"/{relpath}",
        building_block=bool(rule.get("building_block_type")),
        condition=condition,
        group_by=_group_by(rule, parsed),
        parse_status=status,
        parse_reason=reason,
        references=tuple(str(r) for r in rule.get("references", ())),
        licence=LICENCE,
    )
    return record, notes


def _parse_query(
    rule_type: str, language: str, query: str
) -> tuple[ParsedQuery | None, ParseStatus, str]:
    if rule_type == "machine_learning":
        return None, "no_query", "machine_learning job: no query"
    if not query.strip():
        return None, "no_query", f"{rule_type} rule without a query"
    parser = PARSERS.get(language)
    if parser is None:
        return None, "unsupported", f"query language {language!r} is not parsed"
    parsed: ParsedQuery = parser.parse(query)
    reason = "" if parsed.condition is not None else "query matches every event"
    return parsed, "ok", reason


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _date(value: object) -> str:
    return str(value or "").replace("/", "-")


def _tactic_shortname(tactic: dict[str, Any]) -> str:
    name = str(tactic.get("name", "")).strip()
    if name:
        return re.sub(r"\s+", "-", name.lower())
    return str(tactic.get("id", ""))


def _threat(entries: Iterable[object] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    techniques: list[str] = []
    tactics: list[str] = []
    for entry in entries or ():
        if not isinstance(entry, dict) or entry.get("framework", "MITRE ATT&CK") != "MITRE ATT&CK":
            continue
        if isinstance(entry.get("tactic"), dict):
            tactics.append(_tactic_shortname(entry["tactic"]))
        for technique in entry.get("technique", ()) or ():
            techniques.append(str(technique.get("id", "")).upper())
            for sub in technique.get("subtechnique", ()) or ():
                techniques.append(str(sub.get("id", "")).upper())
    return tuple(dict.fromkeys(t for t in techniques if t)), tuple(dict.fromkeys(tactics))


def _group_by(rule: dict[str, Any], parsed: ParsedQuery | None) -> tuple[str, ...]:
    fields: list[str] = []
    threshold = rule.get("threshold") or {}
    fields += _as_list(threshold.get("field"))
    for cardinality in threshold.get("cardinality", ()) or ():
        fields += _as_list(cardinality.get("field"))
    fields += _as_list((rule.get("new_terms") or {}).get("value"))
    for mapping in rule.get("threat_mapping", ()) or ():
        for entry in mapping.get("entries", ()) or ():
            fields += _as_list(entry.get("field"))
    if parsed:
        fields += parsed.group_by
    return tuple(dict.fromkeys(f for f in fields if f))


def _event_hints(
    condition: Condition | None, parsed: ParsedQuery | None, tags: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    hints: list[tuple[str, str]] = []
    for category in parsed.categories if parsed else ():
        hints.append(("event.category", category))
    for test in positive(condition):
        if test.field in HINT_FIELDS and test.op is Op.EQ and not test.derived:
            hints.append((test.field, test.value))
    for tag in tags:
        if tag.startswith("OS: "):
            hints.append(("os", tag[4:].strip().lower()))
    return tuple(dict.fromkeys(hints))


LOADER = ElasticLoader()
