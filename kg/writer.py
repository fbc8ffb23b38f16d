"""The graph writer: normalised records in, node and relationship rows out.

It knows kg's records and schema, never a loader.  ``GraphBatch`` collects
every row first, de-duplicated by key, so that each store can write a label or
a relationship type in one bulk operation (the embedded engine's COPY path,
Neo4j's batched UNWIND).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kg import conditions, schema
from kg.model import AttackRecords, Comparison, EventLink, EventRecord, RuleRecord
from kg.normalise import Check, canonical_field, normalise
from kg.sources import Pin
from kg.stores.base import ColumnStore, GraphStore

log = logging.getLogger(__name__)

#: Vendor field table used for an event provider's native field names.
#: Windows event logs use the names Sigma uses; the others are their own.
EVENT_FIELD_VENDOR = "sigma"


def _default(typ: str) -> Any:
    return {
        schema.STRING: "",
        schema.INT: 0,
        schema.DOUBLE: 0.0,
        schema.BOOL: False,
        schema.STRINGS: [],
    }[typ]


#: per label: key column and (column, default) pairs
_NODE_COLUMNS = {
    spec.label: (spec.key, tuple((col, _default(typ)) for col, typ in spec.properties))
    for spec in schema.NODES
}


@dataclass(frozen=True)
class _RelColumns:
    """How one relationship type's rows are keyed: its label pair and property columns."""

    pair: tuple[str, str]
    names: tuple[str, ...]
    defaults: tuple[Any, ...]
    lists: frozenset[int]  # positions of list-valued columns in a row tuple (after src, dst)


def _rel_columns(spec: schema.RelType) -> _RelColumns:
    if len(spec.pairs) != 1:
        raise ValueError(f"{spec.name} joins several label pairs; the writer expects one")
    lists = frozenset(i + 2 for i, (_, typ) in enumerate(spec.properties) if typ == schema.STRINGS)
    defaults = tuple(() if typ == schema.STRINGS else _default(typ) for _, typ in spec.properties)
    names = tuple(col for col, _ in spec.properties)
    return _RelColumns(spec.pairs[0], names, defaults, lists)


_REL_COLUMNS = {spec.name: _rel_columns(spec) for spec in schema.RELS}


@dataclass
class GraphBatch:
    """Every node and relationship row of one build, keyed for de-duplication.

    A relationship row is kept as one hashable tuple ``(src, dst, *properties)``,
    list properties as tuples, and is its own de-duplication key: some 300k rows
    per build make per-row dicts the writer's main cost.  :meth:`write` hands a
    :class:`ColumnStore` whole columns; other stores get the rows as dicts.
    """

    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    rels: dict[str, dict[tuple[Any, ...], None]] = field(default_factory=dict)
    unknown_techniques: dict[str, int] = field(default_factory=dict)
    unknown_tactics: dict[str, int] = field(default_factory=dict)
    tactic_by_shortname: dict[str, str] = field(default_factory=dict)

    def node(self, label: str, row: Mapping[str, Any]) -> None:
        key_col, columns = _NODE_COLUMNS[label]
        table = self.nodes.get(label)
        if table is None:
            table = self.nodes[label] = {}
        key = row[key_col]
        if key not in table:
            table[key] = {col: _copy(row.get(col, default)) for col, default in columns}

    def has_node(self, label: str, key: str) -> bool:
        return key in self.nodes.get(label, {})

    def rel(self, rel_type: str, src: str, dst: str, **props: Any) -> None:
        cols = _REL_COLUMNS[rel_type]
        values = tuple(
            _frozen(props.get(col, default))
            for col, default in zip(cols.names, cols.defaults, strict=True)
        )
        self.rel_row(rel_type, (src, dst, *values))

    def rel_row(self, rel_type: str, row: tuple[Any, ...]) -> None:
        """The fast form of :meth:`rel`: ``(src, dst, *properties)`` in schema order.

        List properties must be given as tuples and every property must be present.
        """
        table = self.rels.get(rel_type)
        if table is None:
            table = self.rels[rel_type] = {}
        table[row] = None

    def counts(self) -> dict[str, int]:
        out = {label: len(rows) for label, rows in self.nodes.items()}
        for rel_type, rows in self.rels.items():
            out[rel_type] = out.get(rel_type, 0) + len(rows)
        return out

    def write(self, store: GraphStore) -> None:
        if isinstance(store, ColumnStore):
            with store.bulk():
                self._write_columns(store)
            return
        for spec in schema.NODES:
            rows = list(self.nodes.get(spec.label, {}).values())
            if rows:
                store.write_nodes(spec.label, rows)
        for rel_type, table in sorted(self.rels.items()):
            if table:
                cols = _REL_COLUMNS[rel_type]
                store.write_rels(rel_type, *cols.pair, _rel_dicts(cols, table))

    def _write_columns(self, store: ColumnStore) -> None:
        for spec in schema.NODES:
            rows = self.nodes.get(spec.label)
            if rows:
                values = rows.values()
                columns = [[row.get(col) for row in values] for col in spec.columns]
                store.write_node_columns(spec.label, columns)
        for rel_type, table in sorted(self.rels.items()):
            if table:
                pair = _REL_COLUMNS[rel_type].pair
                store.write_rel_columns(rel_type, *pair, list(zip(*table, strict=True)))


def _rel_dicts(cols: _RelColumns, rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    names = ("src", "dst", *cols.names)
    out = [dict(zip(names, row, strict=False)) for row in rows]
    for name in (names[i] for i in sorted(cols.lists)):
        for row in out:
            row[name] = list(row[name])
    return out


def _copy(value: Any) -> Any:
    # defaults are shared; a list must not be
    return list(value) if isinstance(value, (list, tuple)) else value


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# --- ATT&CK -----------------------------------------------------------------


def add_attack(batch: GraphBatch, attack: AttackRecords) -> None:
    shortname_to_id = {t.shortname: t.id for t in attack.tactics}
    for tactic in attack.tactics:
        batch.node(
            "Tactic",
            {
                "id": tactic.id,
                "shortname": tactic.shortname,
                "name": tactic.name,
                "stix_id": tactic.stix_id,
                "domain": tactic.domain,
                "url": tactic.url,
                "known": True,
            },
        )
    for tech in attack.techniques:
        batch.node(
            "Technique",
            {
                "id": tech.id,
                "name": tech.name,
                "stix_id": tech.stix_id,
                "is_subtechnique": tech.is_subtechnique,
                "parent_id": tech.parent_id,
                "platforms": list(tech.platforms),
                "domain": tech.domain,
                "url": tech.url,
                "revoked": tech.revoked,
                "deprecated": tech.deprecated,
                "known": True,
                "attack_version": attack.version,
            },
        )
    for tech in attack.techniques:
        if tech.parent_id:
            batch.rel("SUBTECHNIQUE_OF", tech.id, tech.parent_id)
        for shortname in tech.tactics:
            if shortname in shortname_to_id:
                batch.rel("IN_TACTIC", tech.id, shortname_to_id[shortname])
    for dc in attack.data_components:
        batch.node(
            "DataComponent",
            {
                "id": dc.id,
                "name": dc.name,
                "stix_id": dc.stix_id,
                "data_source": dc.data_source,
                "revoked": dc.revoked,
                "deprecated": dc.deprecated,
            },
        )
    for an in attack.analytics:
        batch.node(
            "Analytic",
            {
                "id": an.id,
                "name": an.name,
                "stix_id": an.stix_id,
                "platforms": list(an.platforms),
                "description": an.description,
                "revoked": an.revoked,
                "deprecated": an.deprecated,
                "log_sources": len(an.log_sources),
            },
        )
        for ref in an.log_sources:
            if batch.has_node("DataComponent", ref.data_component):
                batch.rel(
                    "USES_COMPONENT", an.id, ref.data_component, name=ref.name, channel=ref.channel
                )
    for ds in attack.detection_strategies:
        batch.node(
            "DetectionStrategy",
            {
                "id": ds.id,
                "name": ds.name,
                "stix_id": ds.stix_id,
                "revoked": ds.revoked,
                "deprecated": ds.deprecated,
            },
        )
        for tech_id in ds.techniques:
            if batch.has_node("Technique", tech_id):
                batch.rel("DETECTED_BY", tech_id, ds.id)
        for an_id in ds.analytics:
            if batch.has_node("Analytic", an_id):
                batch.rel("HAS_ANALYTIC", ds.id, an_id)


# --- Rules --------------------------------------------------------------------


def _field_node(batch: GraphBatch, name: str, mapped: bool) -> None:
    fields = batch.nodes.get("Field")
    row = fields.get(name) if fields else None
    if row is None:
        batch.node("Field", {"name": name, "mapped": mapped})
    elif mapped:
        # a field mapped by one vendor's table is mapped, whoever saw it first
        row["mapped"] = True


def _add_check(batch: GraphBatch, uid: str, rel_type: str, check: Check, negated: bool) -> None:
    key = check.key
    values = batch.nodes.get("Value")
    if values is None or key not in values:
        _field_node(batch, check.field, check.mapped)
        batch.node(
            "Value",
            {
                "key": key,
                "field": check.field,
                "op": check.op.value,
                "value": check.value,
                "value_key": check.value_key,
            },
        )
        batch.rel_row("OF_FIELD", (key, check.field))
    elif check.mapped:
        _field_node(batch, check.field, True)
    # property order: kg.schema._CHECK_PROPS
    batch.rel_row(
        rel_type,
        (
            uid,
            key,
            check.native_field,
            check.native_op,
            tuple(check.modifiers),
            check.case_sensitive,
            negated,
            check.derived,
        ),
    )


def _technique_stub(batch: GraphBatch, tech_id: str) -> None:
    """A technique id the loaded ATT&CK lacks still gets its rules."""
    if not batch.has_node("Technique", tech_id):
        batch.unknown_techniques[tech_id] = 0
        parent = tech_id.split(".")[0] if "." in tech_id else ""
        batch.node(
            "Technique",
            {
                "id": tech_id,
                "name": "",
                "is_subtechnique": bool(parent),
                "parent_id": parent,
                "known": False,
            },
        )
    if tech_id in batch.unknown_techniques:
        batch.unknown_techniques[tech_id] += 1


def _tactic_key(batch: GraphBatch, shortname: str) -> str:
    if not batch.tactic_by_shortname:
        batch.tactic_by_shortname.update(
            (row["shortname"], key) for key, row in batch.nodes.get("Tactic", {}).items()
        )
    if shortname in batch.tactic_by_shortname:
        return batch.tactic_by_shortname[shortname]
    batch.tactic_by_shortname[shortname] = shortname
    batch.unknown_tactics[shortname] = batch.unknown_tactics.get(shortname, 0) + 1
    batch.node(
        "Tactic", {"id": shortname, "shortname": shortname, "name": shortname, "known": False}
    )
    return shortname


def rule_row(rule: RuleRecord, pin: Pin | None, has_nested_not: bool) -> dict[str, Any]:
    return {
        "uid": rule.uid,
        "id": rule.id,
        "vendor": rule.vendor,
        "title": rule.title,
        "description": rule.description,
        "status": rule.status,
        "level": rule.level,
        "rule_type": rule.rule_type,
        "author": rule.author,
        "date": rule.date,
        "modified": rule.modified,
        "path": rule.path,
        # rule paths are relative to the source folder, which is laid out as the repo
        "url": rule.url or (pin.blob_url(rule.path) if pin else ""),
        "language": rule.language,
        "query": rule.query,
        "logsource": "; ".join(f"{k}={v}" for k, v in rule.logsource),
        "data_sources": list(rule.data_sources),
        "deprecated": rule.deprecated,
        "building_block": rule.building_block,
        "parse_status": rule.parse_status,
        "parse_reason": rule.parse_reason,
        "has_nested_not": has_nested_not,
        "licence": rule.licence or (pin.licence if pin else ""),
    }


def add_rules(batch: GraphBatch, rules: Iterable[RuleRecord], pin: Pin | None) -> None:
    # the same comparison recurs across many rules (generic values): normalise it once
    checks: dict[tuple[str, Comparison], Check] = {}
    for rule in rules:
        reading = conditions.read(rule.condition)
        uid = rule.uid
        batch.node("Rule", rule_row(rule, pin, reading.has_nested_not))
        if pin is not None:
            batch.rel_row("FROM_SOURCE", (uid, pin.name))
        for tech_id in rule.techniques:
            _technique_stub(batch, tech_id)
            batch.rel_row("DETECTS", (uid, tech_id))
        for shortname in rule.tactics:
            batch.rel_row("TAGGED_TACTIC", (uid, _tactic_key(batch, shortname)))
        filtered: dict[tuple[str, str], set[str]] = {}
        for rel_type, comps, negated in (
            ("CHECKS", reading.indicators, False),
            ("CHECKS", reading.negated, True),
            ("EXCLUDES", reading.exclusions, False),
        ):
            for comp in comps:
                check = checks.get((rule.vendor, comp))
                if check is None:
                    check = checks[rule.vendor, comp] = normalise(rule.vendor, comp)
                _add_check(batch, uid, rel_type, check, negated)
                if not check.derived:
                    filtered.setdefault((check.field, check.native_field), set()).add(str(check.op))
        for (fname, native), ops in sorted(filtered.items()):
            batch.rel_row("FILTERS", (uid, fname, native, tuple(sorted(ops)), "filter"))
        for native in rule.group_by:
            fname, mapped = canonical_field(rule.vendor, native)
            _field_node(batch, fname, mapped)
            batch.rel_row("FILTERS", (uid, fname, native, (), "group_by"))


def add_correlations(batch: GraphBatch, rules: Iterable[RuleRecord]) -> int:
    """CORRELATES edges by the referenced rule's id or title; returns the unresolved count."""
    by_ref: dict[tuple[str, str], str] = {}
    for key, row in batch.nodes.get("Rule", {}).items():
        by_ref[(row["vendor"], row["id"])] = key
        by_ref.setdefault((row["vendor"], row["title"]), key)
    unresolved = 0
    for rule in rules:
        for ref in rule.correlates:
            target = by_ref.get((rule.vendor, ref))
            if target:
                batch.rel("CORRELATES", rule.uid, target)
            else:
                unresolved += 1
    return unresolved


# --- Events -------------------------------------------------------------------


def add_events(batch: GraphBatch, events: Iterable[EventRecord]) -> None:
    for ev in events:
        batch.node(
            "Event",
            {
                "key": ev.key,
                "provider": ev.provider,
                "event_id": ev.event_id,
                "title": ev.title,
                "platform": ev.platform,
                "channel": ev.channel,
                "description": ev.description,
            },
        )
        for native in ev.fields:
            fname, mapped = canonical_field(EVENT_FIELD_VENDOR, native)
            _field_node(batch, fname, mapped)
            batch.rel("HAS_FIELD", ev.key, fname, native_field=native)


def add_rule_events(batch: GraphBatch, links: Iterable[EventLink]) -> None:
    for link in links:
        if batch.has_node("Event", link.event_key) and batch.has_node("Rule", link.source):
            batch.rel("ON_EVENT", link.source, link.event_key, via=link.via)


def add_analytic_events(
    batch: GraphBatch,
    attack: AttackRecords,
    links: Iterable[EventLink],
    resolved: Mapping[str, int],
) -> None:
    """ANALYTIC_EVENT edges, and EXPECTS from each technique through its strategies.

    ``resolved`` counts, per analytic, the log-source references that named an event.
    """
    analytics = batch.nodes.get("Analytic", {})
    for an_id, count in resolved.items():
        if an_id in analytics:
            analytics[an_id]["log_sources_resolved"] = count
    by_analytic: dict[str, list[EventLink]] = {}
    for link in links:
        if batch.has_node("Event", link.event_key):
            by_analytic.setdefault(link.source, []).append(link)
            batch.rel("ANALYTIC_EVENT", link.source, link.event_key, via=link.via)
    for ds in attack.detection_strategies:
        for an_id in ds.analytics:
            for link in by_analytic.get(an_id, ()):
                for tech_id in ds.techniques:
                    if batch.has_node("Technique", tech_id):
                        batch.rel("EXPECTS", tech_id, link.event_key, via=an_id)


def add_source(batch: GraphBatch, pin: Pin, fingerprint: str, files_seen: int, rules: int) -> None:
    batch.node(
        "Source",
        {
            "name": pin.name,
            "version": pin.version,
            "commit": pin.commit,
            "url": f"https://github.com/{pin.repo}/tree/{pin.commit}",
            "licence": pin.licence,
            "fingerprint": fingerprint,
            "files_seen": files_seen,
            "rules_loaded": rules,
        },
    )
