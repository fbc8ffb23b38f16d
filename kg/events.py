"""Which catalogue events a rule or an ATT&CK analytic relies on.

The mapping lives in reviewed tables, one per vendor (``kg/data/event_map_<vendor>.yaml``, each
documented in its header); this module only reads a rule's log-source statements and applies
the tables:

- **Sigma**: ``logsource`` product/category → every event that supplies the category on that
  product (windows process_creation → Sysmon 1 and Security 4688); product/service → a provider
  whose events the rule's ``EventID`` values select; linux/auditd → the rule's ``type`` and
  ``syscall`` values (``SYSCALL`` + ``execve`` → ``auditd:SYSCALL:execve``).
- **Elastic**: OS (host.os.type / "OS:" tags / index pattern) × event.category × event.type →
  the OS-native events recording that activity; ``event.code`` values select Windows events.
- **Splunk**: each ``data_source`` name ("Sysmon EventID 1") through name patterns.
- **ATT&CK analytics**: each log-source reference's name and channel
  ("WinEventLog:Sysmon" / "EventCode=3, 22").

Only events present in the catalogue are returned; when none are, the reason says why, for the
load report.  Event keys are ``"<provider>:<event_id>"`` (:attr:`kg.model.EventRecord.key`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

import yaml

from kg.conditions import positive
from kg.model import EventRecord, LogSourceRef, Op, RuleRecord

ESF = "Apple Endpoint Security"
AUDITD = "auditd"

#: What ``rule_events`` accepts as the catalogue: records, or anything answering ``key in``.
Catalogue = Iterable[EventRecord] | Mapping[str, EventRecord] | Collection[str]

_NUMBER = re.compile(r"\b\d+\b")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESF_NAME = re.compile(r"ES_EVENT_TYPE_(?:NOTIFY|AUTH)_[A-Z_]+|ES_EVENT_[A-Z_]+|es_event_[a-z_]+")
_EVENT_ID_FIELDS = frozenset({"eventid", "eventcode", "event_id", "event.code", "winlog.event_id"})


class RuleEvents(NamedTuple):
    """The events a rule relies on, each with how we know, and why there are none if so."""

    events: list[tuple[str, str]]  # (event key, via)
    reason: str


# --- tables and catalogue --------------------------------------------------------------------


@cache
def table(vendor: str) -> dict[str, Any]:
    """The mapping table ``kg/data/event_map_<vendor>.yaml``, parsed once."""
    path = resources.files("kg.data").joinpath(f"event_map_{vendor}.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def catalogue_keys(catalogue: Catalogue) -> Collection[str]:
    """Event keys of a catalogue given as records, a key→record mapping or a set of keys.

    The build passes the set of keys once made; a record list is turned into keys per call.
    """
    if isinstance(catalogue, (Mapping, set, frozenset)):
        return catalogue
    return frozenset(ev.key if isinstance(ev, EventRecord) else str(ev) for ev in catalogue)


def event_key(provider: str, event_id: str) -> str:
    return f"{provider}:{event_id}"


def table_events(vendor: str) -> set[str]:
    """Every event key a vendor table names literally (for checking against the catalogue)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str) and ":" in item and not item.startswith("^"):
                    found.add(item)
                else:
                    walk(item)

    walk(table(vendor))
    return found


def _keep(candidates: Iterable[tuple[str, str]], keys: Collection[str], reason: str) -> RuleEvents:
    wanted = list(dict.fromkeys(candidates))
    kept = [(key, via) for key, via in wanted if key in keys]
    if kept:
        return RuleEvents(kept, "")
    if wanted:
        missing = ", ".join(sorted({key for key, _ in wanted})[:3])
        return RuleEvents([], f"events not in the catalogue: {missing}")
    return RuleEvents([], reason)


def _values(rule: RuleRecord, fields: Collection[str]) -> list[str]:
    """Values the rule requires (eq) of any of ``fields``, from its hints and its condition."""
    found = [v for k, v in rule.event_hints if k.casefold() in fields]
    found += [
        c.value
        for c in positive(rule.condition)
        if c.field and c.field.casefold() in fields and c.op is Op.EQ
    ]
    return list(dict.fromkeys(v.strip() for v in found if v.strip()))


def _id_events(spec: Mapping[str, Any], ids: Iterable[str], via: str) -> list[tuple[str, str]]:
    overrides = spec.get("ids") or {}
    return [(event_key(overrides.get(i, spec["provider"]), i), f"{via} EventID={i}") for i in ids]


# --- rules -----------------------------------------------------------------------------------


def rule_events(rule: RuleRecord, catalogue: Catalogue) -> RuleEvents:
    """The catalogue events ``rule`` relies on, as (event key, via) pairs, or why none."""
    keys = catalogue_keys(catalogue)
    if rule.vendor == "sigma":
        return sigma_events(rule, keys)
    if rule.vendor == "elastic":
        return elastic_events(rule, keys)
    if rule.vendor == "splunk":
        return splunk_events(rule, keys)
    return RuleEvents([], f"no event mapping for vendor {rule.vendor}")


def sigma_events(rule: RuleRecord, keys: Collection[str]) -> RuleEvents:
    source = dict(rule.logsource)
    product = source.get("product", "")
    category, service = source.get("category", ""), source.get("service", "")
    where = "/".join(v for v in (product, category or service) if v)
    if not product:
        return RuleEvents([], f"logsource without product ({where or 'none'})")
    ids = _values(rule, _EVENT_ID_FIELDS)
    if category:
        listed = table("sigma")["categories"].get(product, {}).get(category)
        if listed:
            return _keep(((k, f"sigma logsource {where}") for k in listed), keys, "")
        return RuleEvents([], f"logsource not mapped: {where}")
    spec = table("sigma")["services"].get(product, {}).get(service)
    if not spec:
        return RuleEvents([], f"logsource not mapped: {where or product}")
    if spec["provider"] == AUDITD:
        return _keep(_auditd_rule_events(rule, where), keys, "auditd rule names no record type")
    via = f"sigma logsource {where}"
    if ids:
        return _keep(_id_events(spec, ids, via), keys, "")
    default = spec.get("default") or ()
    return _keep(((k, via) for k in default), keys, f"{where} rule names no EventID")


def _auditd_rule_events(rule: RuleRecord, where: str) -> Iterator[tuple[str, str]]:
    types = [t.upper() for t in _values(rule, {"type"})]
    syscalls = [s.lower() for s in _values(rule, {"syscall"}) if not s.isdigit()]
    via = f"sigma logsource {where}"
    if syscalls:
        for name in syscalls:
            yield event_key(AUDITD, f"SYSCALL:{name}"), f"{via} syscall={name}"
    for record in types:
        if record != "SYSCALL" or not syscalls:
            yield event_key(AUDITD, record), f"{via} type={record}"


# --- Elastic ---------------------------------------------------------------------------------


def _elastic_context(rule: RuleRecord) -> tuple[set[str], set[str], set[str]]:
    """(operating systems, event categories, fields implied by index patterns) of a rule."""
    oses = {v.casefold() for k, v in rule.event_hints if k in ("host.os.type", "os")}
    categories = {v.casefold() for k, v in rule.event_hints if k == "event.category"}
    fields: set[str] = set()
    index_os: set[str] = set()
    for pattern in rule.data_sources:
        for prefix, says in table("elastic")["indexes"].items():
            if pattern.startswith(prefix):
                if says.get("os"):
                    index_os.add(says["os"])
                if says.get("category"):
                    categories.add(says["category"])
                fields.update(says.get("fields") or ())
                break
    return oses or index_os, categories, fields


def elastic_events(rule: RuleRecord, keys: Collection[str]) -> RuleEvents:
    oses, categories, index_fields = _elastic_context(rule)
    if not oses:
        return RuleEvents([], "no operating system (host.os.type, OS tag or index)")
    conf = table("elastic")
    types = {v.casefold() for k, v in rule.event_hints if k in ("event.type", "event.action")}
    rule_fields = {c.field for c in positive(rule.condition) if c.field} | index_fields
    codes = [c for c in _values(rule, _EVENT_ID_FIELDS) if c.isdigit()]
    found: list[tuple[str, str]] = []
    for os_name in sorted(oses):
        special = [
            (key, f"elastic {os_name} field {name}")
            for name, listed in (conf["fields"].get(os_name) or {}).items()
            if name in rule_fields
            for key in listed
        ]
        found += special
        found += _elastic_codes(os_name, codes, keys)
        if special or codes:
            continue  # the field or code names the event better than the category
        for category in sorted(categories):
            by_type = (conf["categories"].get(os_name) or {}).get(category) or {}
            chosen = [t for t in sorted(types) if t in by_type] or ["*"]
            for event_type in chosen:
                via = f"elastic {os_name} {category}" + (
                    "" if event_type == "*" else f" {event_type}"
                )
                found += [(key, via) for key in by_type.get(event_type, ())]
    reason = (
        "no event category"
        if not categories
        else (f"category not mapped: {'/'.join(sorted(oses))} {'/'.join(sorted(categories))}")
    )
    return _keep(found, keys, reason)


def _elastic_codes(os_name: str, codes: list[str], keys: Collection[str]) -> list[tuple[str, str]]:
    providers = table("elastic")["event_code_providers"].get(os_name) or ()
    found = []
    for code in codes:
        for provider in providers:
            key = event_key(provider, code)
            if key in keys:
                found.append((key, f"elastic {os_name} event.code={code}"))
                break
    return found


# --- Splunk ----------------------------------------------------------------------------------


@cache
def _splunk_patterns() -> tuple[tuple[re.Pattern[str], dict[str, Any]], ...]:
    return tuple((re.compile(p["match"]), p) for p in table("splunk")["patterns"])


def splunk_data_source_events(name: str) -> list[str]:
    """Event keys one Splunk data source name stands for (empty when the table lacks it)."""
    listed = table("splunk")["names"].get(name)
    if listed:
        return list(listed)
    for pattern, spec in _splunk_patterns():
        match = pattern.match(name)
        if match:
            overrides = spec.get("ids") or {}
            ids = _NUMBER.findall(match["ids"])
            return [event_key(overrides.get(i, spec["provider"]), i) for i in ids]
    return []


def splunk_events(rule: RuleRecord, keys: Collection[str]) -> RuleEvents:
    if not rule.data_sources:
        return RuleEvents([], "no data_source")
    found = []
    for joined in rule.data_sources:
        for name in re.split(r"\s+(?:AND|OR)\s+", joined.strip()):
            found += [
                (key, f"splunk data_source {name}") for key in splunk_data_source_events(name)
            ]
    names = ", ".join(rule.data_sources[:2])
    return _keep(found, keys, f"data source not mapped: {names}")


# --- ATT&CK analytics ------------------------------------------------------------------------


def analytic_events(log_source: LogSourceRef, catalogue: Catalogue) -> list[str]:
    """Every catalogue event an analytic's log-source reference names (often one)."""
    keys = catalogue_keys(catalogue)
    spec = table("attack")["names"].get(log_source.name.strip())
    if not spec:
        return []
    channel = log_source.channel or ""
    if "events" in spec:
        candidates = list(spec["events"])
    elif spec["channel"] == "event_ids":
        ids = (
            _NUMBER.findall(channel)
            if ("EventCode" in channel or not _WORD.search(channel))
            else []
        )
        overrides = spec.get("ids") or {}
        candidates = [event_key(overrides.get(i, spec["provider"]), i) for i in ids]
    elif spec["channel"] == "syscalls":
        candidates = _auditd_channel(channel, keys)
    else:
        candidates = _esf_channel(channel, keys)
    return [key for key in dict.fromkeys(candidates) if key in keys]


def analytic_event(log_source: LogSourceRef, catalogue: Catalogue = ()) -> str | None:
    """The first event of :func:`analytic_events`, or None when the reference names none."""
    found = analytic_events(log_source, catalogue)
    return found[0] if found else None


def _auditd_channel(channel: str, keys: Collection[str]) -> list[str]:
    head = channel.split(":", 1)[0]
    found = []
    for word in _WORD.findall(head):
        for key in (event_key(AUDITD, f"SYSCALL:{word.lower()}"), event_key(AUDITD, word)):
            if key in keys:
                found.append(key)
                break
    return found


def _esf_channel(channel: str, keys: Collection[str]) -> list[str]:
    found = []
    for name in _ESF_NAME.findall(channel):
        if name.startswith("ES_EVENT_TYPE_"):
            found.append(event_key(ESF, name))
            continue
        action = name.removeprefix("es_event_").removeprefix("ES_EVENT_").removesuffix("_t")
        found += _esf_action(action, keys)
    if not found:
        for word in _WORD.findall(channel.split(":", 1)[0]):
            found += _esf_action(word, keys)
    return found


def _esf_action(action: str, keys: Collection[str]) -> list[str]:
    """``exec`` / ``file_rename`` → the notify event of that action, if the catalogue has it."""
    action = action.upper()
    for suffix in (action, action.removeprefix("FILE_")):
        key = event_key(ESF, f"ES_EVENT_TYPE_NOTIFY_{suffix}")
        if key in keys:
            return [key]
    return []
