"""Properties derived from the whole graph at build time, so that queries read them.

Every technique card ranks its indicator and exclusion values by their corpus reach: how
many DISTINCT rules of the whole corpus check (or exclude) the same Value.  Counting those
edges on every card costs more than the rest of the card on the embedded engine, and the
answer only changes when the graph is rebuilt.  :func:`add_value_reach` counts them once,
over the :class:`~kg.writer.GraphBatch` before it is written, in two flavours because the
card's ``$include_deprecated`` decides whether deprecated rules count:

* ``reach`` / ``reach_active``: rules (all / not deprecated) with a CHECKS edge to the
  Value that is not negated (a rule that says "not this value" does not use it);
* ``exclusion_reach`` / ``exclusion_reach_active``: rules (all / not deprecated) with an
  EXCLUDES edge to the Value.

A Value no rule reaches keeps the schema default, 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kg import schema
from kg.writer import GraphBatch

log = logging.getLogger(__name__)

#: per relationship type: the Value columns its reach goes to (all rules, active rules)
REACH_COLUMNS = {
    "CHECKS": ("reach", "reach_active"),
    "EXCLUDES": ("exclusion_reach", "exclusion_reach_active"),
}
#: CHECKS edges under a nested NOT do not count towards reach; EXCLUDES edges all do.
_SKIP_NEGATED = frozenset({"CHECKS"})


def add_derived(batch: GraphBatch) -> None:
    """Set every derived property of ``batch``; the build calls this before the write."""
    add_value_reach(batch)


def add_value_reach(batch: GraphBatch) -> None:
    """Set the reach columns of every Value node in ``batch`` from its CHECKS/EXCLUDES rows."""
    rules = batch.nodes.get("Rule", {})
    values = batch.nodes.get("Value", {})
    for rel_type, (all_col, active_col) in REACH_COLUMNS.items():
        negated = _negated_position(rel_type) if rel_type in _SKIP_NEGATED else None
        reached = _rules_by_value(batch.rels.get(rel_type, {}), negated)
        for key, uids in reached.items():
            node = values.get(key)
            if node is None:
                continue  # an edge to a node the batch lacks is never written
            kept = [rules[uid] for uid in uids if uid in rules]
            node[all_col] = len(kept)
            node[active_col] = sum(1 for rule in kept if not rule["deprecated"])
        log.debug("%s reach set on %d values", rel_type, len(reached))


def _rules_by_value(rows: Iterable[tuple[Any, ...]], negated: int | None) -> Mapping[str, set[str]]:
    """Value key → the rule uids whose rows (``(rule, value, *props)``) reach it."""
    out: dict[str, set[str]] = {}
    for row in rows:
        if negated is not None and row[negated]:
            continue
        uids = out.get(row[1])
        if uids is None:
            uids = out[row[1]] = set()
        uids.add(row[0])
    return out


def _negated_position(rel_type: str) -> int:
    """Where ``negated`` sits in a row tuple of ``rel_type``: after src and dst."""
    return 2 + schema.REL_BY_NAME[rel_type].columns.index("negated")
