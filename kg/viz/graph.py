"""The three visual views as small typed graphs, built from the viz_*_rows queries and cut.

A view never draws everything: corpus-wide values such as ``process.name eq cmd.exe`` join
hundreds of rules, and a page of a thousand nodes is a hairball nobody can read.  Each builder
ranks what it found (the values most of the technique's rules share, the rules sharing most
values with a rule) and keeps the strongest until the node limit is reached; the view records
how many nodes it found and how many it kept, and the page says so.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.errors import QueryError
from kg.stores.base import GraphStore, Row

log = logging.getLogger(__name__)

#: Default number of nodes a page shows.
DEFAULT_LIMIT = 150

#: Rows queries are capped too, so that a technique with thousands of shared values cannot
#: flood the generator; past this cap the page reports its total as a lower bound.
QUERY_CAP = 5000

#: Other techniques drawn per shared value in the overlap view.
TECHNIQUES_PER_VALUE = 3


@dataclass(frozen=True)
class VizNode:
    """One node of a view: ``label`` is the graph label, ``kind`` refines it for colouring
    (a rule's vendor, ``exclusion`` for an excluded value, ``focus`` for the view's centre)."""

    id: str
    label: str
    kind: str
    caption: str
    reach: int = 0
    props: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VizEdge:
    src: str
    dst: str
    rel: str
    caption: str = ""


@dataclass(frozen=True)
class View:
    """A cut graph ready to draw, and how much of the full graph it shows."""

    title: str
    nodes: tuple[VizNode, ...]
    edges: tuple[VizEdge, ...]
    total_nodes: int
    limit: int
    complete: bool = True  # False when a rows query hit QUERY_CAP: total_nodes is a floor

    @property
    def shown(self) -> int:
        return len(self.nodes)


class _Builder:
    """Collects nodes and edges, keeping insertion order (the order of strength)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.nodes: dict[str, VizNode] = {}
        self.edges: dict[tuple[str, str, str], VizEdge] = {}

    def fits(self, new_ids: Iterable[str]) -> bool:
        fresh = {i for i in new_ids if i not in self.nodes}
        return len(self.nodes) + len(fresh) <= self.limit

    def add(self, node: VizNode) -> None:
        self.nodes.setdefault(node.id, node)

    def link(self, src: str, dst: str, rel: str, caption: str = "") -> None:
        if src in self.nodes and dst in self.nodes:
            self.edges.setdefault((src, dst, rel), VizEdge(src, dst, rel, caption))

    def view(self, title: str, total: int, complete: bool) -> View:
        return View(
            title=title,
            nodes=tuple(self.nodes.values()),
            edges=tuple(self.edges.values()),
            total_nodes=total,
            limit=self.limit,
            complete=complete,
        )


def _run(store: GraphStore, name: str, params: Mapping[str, Any]) -> list[Row]:
    from kg import cypher

    query = cypher.load(name)
    rows = store.run(query.text, query.bind(params))
    log.debug("%s %s: %d rows", name, dict(params), len(rows))
    return rows


def _rule_node(uid: str, row: Mapping[str, Any]) -> VizNode:
    vendor = str(row.get("vendor") or "other")
    return VizNode(
        id=f"rule:{uid}",
        label="Rule",
        kind=vendor,
        caption=str(row.get("title") or uid),
        props={
            "uid": uid,
            "vendor": vendor,
            "title": row.get("title") or "",
            "author": row.get("author") or "",
            "url": row.get("url") or "",
        },
    )


def _value_node(row: Mapping[str, Any], kind: str = "value") -> VizNode:
    # The value leads because NVL cuts long captions: "python.exe (process.name eq)".
    caption = f"{row['value']} ({row['field']} {row['op']})"
    return VizNode(
        id=f"value:{row['key']}",
        label="Value",
        kind=kind,
        caption=caption,
        reach=int(row.get("reach") or 0),
        props={
            "field": row["field"],
            "op": row["op"],
            "value": row["value"],
            "reach": int(row.get("reach") or 0),
        },
    )


def _technique_node(tid: str, name: str, focus: bool = False) -> VizNode:
    return VizNode(
        id=f"technique:{tid}",
        label="Technique",
        kind="focus" if focus else "technique",
        caption=f"{tid} {name}".strip(),
        props={"id": tid, "name": name},
    )


def overlap_view(store: GraphStore, technique: str, limit: int = DEFAULT_LIMIT) -> View:
    """A technique's rules, the values two or more of them check, the other techniques
    those values serve: strongest values first until ``limit`` nodes."""
    params = {"technique": technique, "limit": QUERY_CAP}
    rows = _run(store, "viz_overlap_rows", params)
    if not rows and not _technique_exists(store, technique):
        raise QueryError(f"technique {technique!r} is not in the graph")
    others = _run(store, "viz_overlap_techniques", params)
    return build_overlap(technique, rows, others, limit, _technique_name(store, technique))


def build_overlap(
    technique: str,
    rows: Sequence[Mapping[str, Any]],
    others: Sequence[Mapping[str, Any]],
    limit: int,
    name: str = "",
) -> View:
    """The overlap view from viz_overlap_rows and viz_overlap_techniques rows."""
    rules_of: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    values: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        values.setdefault(row["key"], row)
        rules_of[row["key"]].append(row)
    techniques_of: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in others:
        techniques_of[row["key"]].append(row)
    focus = _technique_node(technique, name, focus=True)
    b = _Builder(limit)
    b.add(focus)
    for key, value in values.items():
        rule_nodes = [_rule_node(r["uid"], r) for r in rules_of[key]]
        value_node = _value_node(value)
        if not b.fits([value_node.id, *(n.id for n in rule_nodes)]):
            continue
        b.add(value_node)
        for rule in rule_nodes:
            b.add(rule)
            b.link(rule.id, focus.id, "DETECTS")
            b.link(rule.id, value_node.id, "CHECKS")
        for other in techniques_of[key][:TECHNIQUES_PER_VALUE]:
            node = _technique_node(other["technique"], other["name"] or "")
            if b.fits([node.id]):
                b.add(node)
                b.link(value_node.id, node.id, "ALSO_SERVES", _rules_text(other["rules"]))
    _annotate_rule_indicators(b)
    total = 1 + len(values) + len({r["uid"] for r in rows})
    total += len({r["technique"] for r in others})
    title = f"Rule overlap for {technique} {name}".strip()
    return b.view(title, total, complete=len(values) < QUERY_CAP)


def _rules_text(count: int) -> str:
    return "1 rule" if count == 1 else f"{count} rules"


def _annotate_rule_indicators(b: _Builder) -> None:
    """Put each rule's drawn indicators in its properties, so selecting a rule lists them."""
    checked: dict[str, list[str]] = defaultdict(list)
    for edge in b.edges.values():
        if edge.rel in ("CHECKS", "EXCLUDES") and edge.src.startswith("rule:"):
            prefix = "NOT " if edge.rel == "EXCLUDES" else ""
            checked[edge.src].append(prefix + b.nodes[edge.dst].caption)
    for node_id, indicators in checked.items():
        node = b.nodes[node_id]
        props = dict(node.props, indicators="; ".join(sorted(indicators)))
        b.nodes[node_id] = VizNode(node.id, node.label, node.kind, node.caption, node.reach, props)


def _technique_exists(store: GraphStore, technique: str) -> bool:
    return bool(_technique_rows(store, technique))


def _technique_name(store: GraphStore, technique: str) -> str:
    rows = _technique_rows(store, technique)
    return str(rows[0].get("name") or "") if rows else ""


def _technique_rows(store: GraphStore, technique: str) -> list[Row]:
    return _run(store, "viz_technique", {"technique": technique})


def rule_view(store: GraphStore, rule: str, limit: int = DEFAULT_LIMIT) -> View:
    """A rule, its values (sized by corpus reach), techniques, events, and the rules that
    share most of its values."""
    rows = _run(store, "viz_rule_rows", {"rule": rule, "limit": QUERY_CAP})
    if not any(r["rel"] == "RULE" for r in rows):
        raise QueryError(f"rule {rule!r} is not in the graph (give its uid, e.g. sigma:<id>)")
    return build_rule(rows, limit)


def build_rule(rows: Sequence[Mapping[str, Any]], limit: int) -> View:
    """The rule view from viz_rule_rows rows (one rule: the first RULE row)."""
    me = next(r for r in rows if r["rel"] == "RULE")
    focus = _rule_node(me["key"], {**me, "title": me["name"]})
    b = _Builder(limit)
    b.add(focus)
    for row in rows:
        node = _rule_neighbour(row)
        if node is None or not b.fits([node.id]):
            continue
        b.add(node)
        b.link(focus.id, node.id, row["rel"])
    peers = _peer_order(rows)
    for uid in peers:
        peer_rows = [r for r in rows if r["rel"] == "PEER" and r["key"] == uid]
        node = _rule_node(uid, {**peer_rows[0], "title": peer_rows[0]["name"]})
        if not b.fits([node.id]):
            break
        b.add(node)
        for r in peer_rows:
            b.link(node.id, f"value:{r['via']}", "CHECKS")
    _annotate_rule_indicators(b)
    neighbours = {(r["label"], r["key"]) for r in rows if r["rel"] not in ("RULE", "PEER")}
    total = 1 + len(neighbours) + len(peers)
    return b.view(f"Neighbourhood of {me['key']}: {me['name']}", total, len(peers) < QUERY_CAP)


def _rule_neighbour(row: Mapping[str, Any]) -> VizNode | None:
    rel = row["rel"]
    if rel in ("CHECKS", "EXCLUDES"):
        return _value_node(
            {**row, "value": row["name"]}, kind="exclusion" if rel == "EXCLUDES" else "value"
        )
    if rel == "DETECTS":
        return _technique_node(row["key"], row["name"] or "")
    if rel == "ON_EVENT":
        return VizNode(
            id=f"event:{row['key']}",
            label="Event",
            kind="event",
            caption=f"{row['key']} {row['name'] or ''}".strip(),
            props={"key": row["key"], "title": row["name"] or ""},
        )
    return None


def _peer_order(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Peer rule uids, most shared values first."""
    shared: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["rel"] == "PEER":
            shared[row["key"]] += 1
    return sorted(shared, key=lambda uid: (-shared[uid], uid))


def value_view(
    store: GraphStore, field_name: str, op: str, value: str, limit: int = DEFAULT_LIMIT
) -> View:
    """The rules behind one indicator (field, operator, value) and what they detect."""
    params = {"field": field_name, "op": op, "value": value, "limit": QUERY_CAP}
    rows = _run(store, "viz_value_rows", params)
    if not rows:
        raise QueryError(
            f"no rule checks {field_name} {op} {value!r} (fields are canonical ECS names)"
        )
    return build_value(rows, limit)


def build_value(rows: Sequence[Mapping[str, Any]], limit: int) -> View:
    """The value view from viz_value_rows rows (one Value: the first row's key)."""
    first = rows[0]
    focus = _value_node(first, kind="focus")
    b = _Builder(limit)
    b.add(focus)
    for row in rows:
        if row["key"] != first["key"]:
            continue
        rule = _rule_node(row["uid"], row)
        tech = _technique_node(row["technique"], row["name"] or "") if row["technique"] else None
        if not b.fits([rule.id] + ([tech.id] if tech else [])):
            continue
        b.add(rule)
        b.link(rule.id, focus.id, row["rel"])
        if tech:
            b.add(tech)
            b.link(rule.id, tech.id, "DETECTS")
    _annotate_rule_indicators(b)
    uids = {r["uid"] for r in rows if r["key"] == first["key"]}
    techniques = {r["technique"] for r in rows if r["key"] == first["key"] and r["technique"]}
    title = f"Rules behind {focus.caption}"
    return b.view(title, 1 + len(uids) + len(techniques), len(uids) < QUERY_CAP)
