"""The catalogue of log events: OSSEM-DD data dictionaries plus kg's authored event tables.

The authored tables (``kg/data/events_windows.yaml``, ``events_linux.yaml``, ``events_esf.yaml``)
name every provider of the catalogue, its platform and channel, where OSSEM-DD keeps its events,
and readable titles.  OSSEM-DD adds descriptions, native field names and further events; the
Sysmon schema XML adds every Sysmon event and its fields; CTID's sensor mappings and OSSEM-DM's
event table add titles.  A title is chosen in this order: authored, OSSEM-DD's own
("Event ID 4688: A new process has been created"), CTID, OSSEM-DM, the ETW task name
("TaskStarted" → "Task started").  An OSSEM-DD event left with a generic ETW name
("Event 4612 - task_0") has no readable title and stays out of the catalogue, counted in the
report.  Without any OSSEM file the catalogue is the authored events alone.

Only the providers the tables name are read, with the C YAML loader, so the load stays fast.
"""

from __future__ import annotations

import csv
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kg.model import EventRecord, FileResult, SourceReport

log = logging.getLogger(__name__)

AUTHORED_TABLES = ("events_windows.yaml", "events_linux.yaml", "events_esf.yaml")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_EVENT_FILE = re.compile(r"^event-(?P<id>[^_]+?)(?:_v(?P<version>\d+))?\.ya?ml$")
_OSSEM_TITLE = re.compile(r"^Event ID \S+?:\s*(?P<title>.+)$")
_ETW_TITLE = re.compile(r"^Event \S+ - (?P<task>.+)$")
_GENERIC_TASK = re.compile(r"^(task_\d+|None|none)$")
_SCHEMA_FILE = re.compile(r"sysmonv(\d+)\.(\d+)_(\d+)\.(\d+)\.xml$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class AuthoredEvent:
    title: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    platform: str
    channel: str
    ossem: str = ""  # folder of its events inside OSSEM-DD
    sysmon_schema: str = ""  # folder of the Sysmon schema XML files inside OSSEM-DD
    ctid: str = ""  # CTID sensor name whose CSV titles its events
    #: read only the OSSEM-DD files of events titled here (large providers few rules use)
    ossem_titled_only: bool = False
    events: dict[str, AuthoredEvent] = field(default_factory=dict)


@dataclass
class _Draft:
    """An event while its sources are merged; becomes an EventRecord once it has a title."""

    title: str = ""
    fallback_title: str = ""  # OSSEM-DD's ETW task name, used last
    description: str = ""
    fields: list[str] = field(default_factory=list)

    def add_fields(self, names: list[str]) -> None:
        for name in names:
            if name and name not in self.fields:
                self.fields.append(name)


def _read_table(name: str) -> dict[str, Any]:
    text = resources.files("kg.data").joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LOADER) or {}


def _authored_event(value: object) -> AuthoredEvent:
    if isinstance(value, dict):
        return AuthoredEvent(str(value["title"]), tuple(str(f) for f in value.get("fields") or ()))
    return AuthoredEvent(str(value))


def _esf_events(table: dict[str, Any]) -> dict[str, AuthoredEvent]:
    """Every ES event type of the table, the notify and the auth form each its own event."""
    events = {}
    for suffix, (forms, action) in table["types"].items():
        if "N" in forms:
            events[f"ES_EVENT_TYPE_NOTIFY_{suffix}"] = AuthoredEvent(f"{action} (notify)")
        if "A" in forms:
            events[f"ES_EVENT_TYPE_AUTH_{suffix}"] = AuthoredEvent(f"{action} (auth)")
    return events


def provider_specs() -> dict[str, ProviderSpec]:
    """The providers of the catalogue as the authored tables describe them."""
    specs: dict[str, ProviderSpec] = {}
    for name in AUTHORED_TABLES:
        table = _read_table(name)
        if "types" in table:
            specs[table["provider"]] = ProviderSpec(
                table["provider"],
                table["platform"],
                table.get("channel", ""),
                events=_esf_events(table),
            )
            continue
        for provider, spec in table["providers"].items():
            events = {str(k): _authored_event(v) for k, v in (spec.get("events") or {}).items()}
            specs[provider] = ProviderSpec(
                provider,
                spec["platform"],
                spec.get("channel", ""),
                spec.get("ossem", ""),
                spec.get("sysmon_schema", ""),
                spec.get("ctid", ""),
                bool(spec.get("ossem_titled_only")),
                events,
            )
    return specs


def _humanise_task(task: str) -> str:
    words = _CAMEL.sub(" ", task.replace("_", " ")).split()
    if not words:
        return ""
    out = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    out[0] = out[0][0].upper() + out[0][1:]
    return " ".join(out)


def _titles_from_name(name: str) -> tuple[str, str]:
    """(title, fallback title) from an OSSEM-DD ``name``; either may be empty."""
    name = (name or "").strip()
    match = _OSSEM_TITLE.match(name)
    if match:
        return match["title"].strip().rstrip("."), ""
    match = _ETW_TITLE.match(name)
    if match:
        task = match["task"].strip()
        return "", "" if _GENERIC_TASK.match(task) else _humanise_task(task)
    return "", ""


def _first_paragraph(text: object) -> str:
    # OSSEM-DD descriptions are Markdown; the graph shows plain text
    return str(text or "").replace("**", "").strip().split("\n\n", 1)[0].strip()


def _find_ossem_root(events_root: Path | None) -> Path | None:
    if events_root is None:
        return None
    for candidate in (events_root / "ossem-dd", events_root):
        if (candidate / "windows").is_dir() or (candidate / "linux").is_dir():
            return candidate
    return None


def _beside(events_root: Path | None, relpath: str) -> Path | None:
    """``relpath`` in the events folder, or beside an OSSEM-DD root given directly."""
    if events_root is None:
        return None
    for base in (events_root, events_root.parent):
        if (base / relpath).exists():
            return base / relpath
    return None


def _ctid_titles(events_root: Path | None) -> dict[str, dict[str, str]]:
    """CTID sensor name → event id → description (the CSVs' EVENT DESCRIPTION)."""
    folder = _beside(events_root, "ctid-sensor-mappings-to-attack/mappings/input/enterprise/csv")
    if folder is None:
        return {}
    titles: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*-sensors-mappings-enterprise.csv")):
        sensor = path.name.split("-", 1)[0]
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                event_id = (row.get("EVENT ID") or "").strip()
                text = (row.get("EVENT DESCRIPTION") or "").strip().rstrip(".")
                if event_id and text:
                    titles.setdefault(sensor, {}).setdefault(event_id, text)
    return titles


def _dm_titles(events_root: Path | None) -> dict[tuple[str, str], str]:
    """(log source, event id) → OSSEM-DM's event name."""
    path = _beside(events_root, "ossem-dm/use-cases/mitre_attack/attack_events_mapping.csv")
    if path is None:
        return {}
    titles: dict[tuple[str, str], str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("Event Name") or "").strip().rstrip(".")
            key = ((row.get("Log Source") or "").strip(), (row.get("EventID") or "").strip())
            if name and key[1]:
                titles.setdefault(key, name)
    return titles


def _ossem_files(folder: Path) -> list[tuple[str, int, Path]]:
    """(event id, version, path) of a provider's event files, newest version first per id."""
    found = []
    for path in folder.iterdir():
        match = _EVENT_FILE.match(path.name)
        if match:
            found.append((match["id"], int(match["version"] or 0), path))
    found.sort(key=lambda item: (item[0], -item[1]))
    return found


def _read_ossem_provider(
    spec: ProviderSpec, root: Path, drafts: dict[str, _Draft], report: SourceReport
) -> None:
    folder = root / spec.ossem
    if not folder.is_dir():
        report.note(f"OSSEM-DD folder missing for {spec.name}")
        return
    for event_id, _version, path in _ossem_files(folder):
        relpath = path.relative_to(root).as_posix()
        if spec.ossem_titled_only and event_id not in spec.events:
            report.files.append(FileResult(relpath, "skipped", "event not used by kg's tables"))
            continue
        try:
            doc = yaml.load(path.read_bytes(), Loader=_LOADER)
        except yaml.YAMLError as exc:
            report.files.append(FileResult(relpath, "failed", f"YAML error: {exc}"))
            continue
        if not isinstance(doc, dict):
            report.files.append(FileResult(relpath, "failed", "not a YAML mapping"))
            continue
        draft = drafts.setdefault(str(doc.get("event_id") or event_id), _Draft())
        title, fallback = _titles_from_name(str(doc.get("name") or ""))
        draft.title = draft.title or title
        draft.fallback_title = draft.fallback_title or fallback
        draft.description = draft.description or _first_paragraph(doc.get("description"))
        draft.add_fields(
            [str(f.get("name") or "") for f in doc.get("event_fields") or () if isinstance(f, dict)]
        )
        report.files.append(FileResult(relpath, "loaded"))


def _read_sysmon_schema(
    spec: ProviderSpec, root: Path, drafts: dict[str, _Draft], report: SourceReport
) -> None:
    """Every event of the newest Sysmon schema manifest, with its template name and fields."""
    schemas = []
    for path in (root / spec.sysmon_schema).glob("sysmonv*.xml"):
        match = _SCHEMA_FILE.search(path.name)
        if match:
            schemas.append((tuple(int(g) for g in match.groups()[2:] + match.groups()[:2]), path))
    if not schemas:
        return
    newest = max(schemas)[1]
    relpath = newest.relative_to(root).as_posix()
    try:
        tree = ET.parse(newest)
    except ET.ParseError as exc:
        report.files.append(FileResult(relpath, "failed", f"XML error: {exc}"))
        return
    for event in tree.getroot().iter("event"):
        draft = drafts.setdefault(event.get("value", ""), _Draft())
        draft.fallback_title = draft.fallback_title or event.get("template", "")
        draft.add_fields([data.get("name", "") for data in event.iter("data")])
    report.files.append(FileResult(relpath, "loaded"))
    for _, older in schemas:
        if older != newest:
            report.files.append(
                FileResult(older.relative_to(root).as_posix(), "skipped", "older Sysmon schema")
            )


def _provider_records(
    spec: ProviderSpec,
    drafts: dict[str, _Draft],
    ctid: dict[str, str],
    dm: dict[tuple[str, str], str],
    report: SourceReport,
) -> list[EventRecord]:
    for event_id, authored in spec.events.items():
        draft = drafts.setdefault(event_id, _Draft())
        draft.add_fields(list(authored.fields))
    if spec.ctid == "Auditd":
        for event_id, text in ctid.items():  # further audit record types CTID describes
            drafts.setdefault(event_id, _Draft(description=text))
    records = []
    for event_id, draft in drafts.items():
        known = spec.events.get(event_id)
        title = (
            (known.title if known else "")
            or draft.title
            or ctid.get(event_id, "")
            or dm.get((spec.name, event_id), "")
            or draft.fallback_title
        )
        if spec.ctid == "Auditd" and title.startswith("Triggered when "):
            title = title.removeprefix("Triggered when ").capitalize()
        if not title:
            report.note("events without a readable title, left out")
            log.debug("no readable title for %s:%s", spec.name, event_id)
            continue
        description = draft.description or (
            ctid.get(event_id, "") if ctid.get(event_id) != title else ""
        )
        records.append(
            EventRecord(
                provider=spec.name,
                event_id=event_id,
                title=title,
                platform=spec.platform,
                channel=spec.channel,
                description=description,
                fields=tuple(draft.fields),
            )
        )
    return records


def load_catalogue(events_root: Path | None) -> tuple[list[EventRecord], SourceReport]:
    """The event catalogue and a report of every file read.

    ``events_root`` is the corpora's ``events/`` folder (holding ``ossem-dd/``, and optionally
    ``ossem-dm/`` and ``ctid-sensor-mappings-to-attack/``) or an OSSEM-DD checkout itself (then
    CTID and OSSEM-DM are looked for beside it);
    ``None`` or a folder without OSSEM-DD gives the authored catalogue alone.
    """
    report = SourceReport(name="events")
    specs = provider_specs()
    for name in AUTHORED_TABLES:
        report.files.append(FileResult(f"kg/data/{name}", "loaded"))
    ossem = _find_ossem_root(events_root)
    if ossem is None:
        report.note("OSSEM-DD absent: authored events only")
        log.info("OSSEM-DD not found under %s: catalogue from authored tables only", events_root)
    ctid = _ctid_titles(events_root)
    dm = _dm_titles(events_root)
    records: list[EventRecord] = []
    for spec in specs.values():
        drafts: dict[str, _Draft] = {}
        if ossem is not None and spec.sysmon_schema:
            _read_sysmon_schema(spec, ossem, drafts, report)
        if ossem is not None and spec.ossem:
            _read_ossem_provider(spec, ossem, drafts, report)
        records.extend(_provider_records(spec, drafts, ctid.get(spec.ctid, {}), dm, report))
    records.sort(key=lambda r: (r.provider, _id_order(r.event_id)))
    log.info("event catalogue: %d events from %d providers", len(records), len(specs))
    return records, report


def _id_order(event_id: str) -> tuple[int, str]:
    return (int(event_id), "") if event_id.isdigit() else (1 << 30, event_id)
