"""Loader for splunk/security_content: detections with their SPL parsed, macros expanded.

Record fields from a detection YAML: ``name`` → title, ``type`` (TTP, Anomaly,
Hunting, Correlation) → rule_type, ``data_source`` → data_sources,
``tags.mitre_attack_id`` → techniques, ``search`` → query (language ``spl``).
Splunk tags kill-chain phases, not ATT&CK tactics, so tactics stay empty.
``tags.analytic_story`` has no field of its own in RuleRecord yet: each story
is kept in references as ``analytic_story:<name>``.

Level is derived from the type, as the graph schema documents: Hunting →
low, Anomaly → medium, TTP and Correlation → high, raised to critical when
``tags.risk_score`` (confidence × impact / 100) is 80 or more.

A detection whose search filters on nothing kg can name (an aggregation of a
whole data model, a lookup table) gets parse_status ``unsupported`` with the
reason; notes on what was skipped are in the file result's notes.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import yaml

from kg.model import (
    Comparison,
    Condition,
    FileResult,
    Not,
    ParseStatus,
    RuleRecord,
    SourceFile,
)

from .splunk_macros import Macro, read_macros
from .splunk_spl import SplReading, read_search

log = logging.getLogger(__name__)

_LEVELS = {"hunting": "low", "anomaly": "medium", "ttp": "high", "correlation": "high"}
_CRITICAL_RISK = 80


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_text(v) for v in items if _text(v))


def level_of(rule_type: str, tags: dict[str, Any]) -> str:
    level = _LEVELS.get(rule_type.lower(), "")
    try:
        risk = float(tags.get("risk_score") or 0)
    except (TypeError, ValueError):
        risk = 0.0
    if level == "high" and risk >= _CRITICAL_RISK:
        return "critical"
    return level


def _has_comparison(node: Condition | None) -> bool:
    if node is None or isinstance(node, Comparison):
        return node is not None
    if isinstance(node, Not):
        return _has_comparison(node.child)
    return any(_has_comparison(child) for child in node.children)


def _status(reading: SplReading) -> tuple[ParseStatus, str]:
    if _has_comparison(reading.condition):
        return "ok", ""
    if reading.unparsed:
        return "unsupported", "could not parse: " + "; ".join(reading.unparsed)
    return "unsupported", "no filtering condition: " + (reading.summary or "search tests no field")


def _record(
    relpath: str, doc: dict[str, Any], macros: dict[str, Macro]
) -> tuple[RuleRecord, tuple[str, ...]]:
    raw_tags = doc.get("tags")
    tags: dict[str, Any] = raw_tags if isinstance(raw_tags, dict) else {}
    rule_type = _text(doc.get("type"))
    status = _text(doc.get("status"))
    search = _text(doc.get("search"))
    unread = RuleRecord(
        vendor="splunk",
        id=_text(doc.get("id")),
        title=_text(doc.get("name")),
        path=relpath,
        description=_text(doc.get("description")),
        status=status,
        level=level_of(rule_type, tags),
        rule_type=rule_type,
        author=_text(doc.get("author")),
        date=_text(doc.get("date")),
        language="spl",
        query=search,
        techniques=tuple(t.upper() for t in _strings(tags.get("mitre_attack_id"))),
        data_sources=_strings(doc.get("data_source") or doc.get("data_sources")),
        deprecated=relpath.split("/")[:2] == ["detections", "deprecated"]
        or status.lower() == "deprecated",
        references=_strings(doc.get("references"))
        + tuple(f"analytic_story:{s}" for s in _strings(tags.get("analytic_story"))),
        licence="Apache-2.0",
        parse_status="no_query",
        parse_reason="no search",
    )
    if not search:
        return unread, ()
    reading = read_search(search, macros)
    parse_status, reason = _status(reading)
    rule = dataclasses.replace(
        unread,
        event_hints=reading.event_hints,
        condition=reading.condition,
        group_by=reading.group_by,
        parse_status=parse_status,
        parse_reason=reason,
    )
    notes = reading.notes + tuple(f"stage not parsed: {u}" for u in reading.unparsed)
    return rule, tuple(dict.fromkeys(notes))


class SplunkLoader:
    """security_content detections (``detections/**.yml``), macros from ``macros/``."""

    name = "splunk"
    version = "1"

    def discover(self, root: Path) -> list[SourceFile]:
        folder = root / "detections"
        return [
            SourceFile(str(path), path.relative_to(root).as_posix())
            for path in sorted(folder.rglob("*.yml"))
        ]

    def context(self, root: Path) -> dict[str, Macro]:
        macros, errors = read_macros(root / "macros")
        if errors:
            log.warning("splunk: %d macro files could not be read", len(errors))
        return macros

    def parse(self, file: SourceFile, data: bytes, context: object) -> FileResult:
        macros = context if isinstance(context, dict) else {}
        try:
            doc = yaml.load(data, Loader=yaml.CSafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            return FileResult(file.relpath, "failed", f"invalid YAML: {exc}", line)
        if not isinstance(doc, dict) or not doc.get("id") or not doc.get("name"):
            return FileResult(file.relpath, "failed", "not a detection: no id or name")
        try:
            rule, notes = _record(file.relpath, doc, macros)
        except Exception as exc:
            log.debug("splunk parse error in %s", file.relpath, exc_info=True)
            return FileResult(file.relpath, "failed", f"{type(exc).__name__}: {exc}")
        return FileResult(file.relpath, "loaded", rules=(rule,), notes=notes)


LOADER = SplunkLoader()
