"""Kibana filters stored beside an Elastic rule's query (``[[rule.filters]]``).

A filter is a query DSL clause with ``meta.negate``; every enabled filter is
one more conjunct of the rule.  The corpora use ``wildcard`` and ``exists``
clauses; ``term``, ``match`` and ``match_phrase`` are read too.  Any other
clause is skipped and named in the notes.
"""

from __future__ import annotations

from typing import Any

from kg.model import Comparison, Condition, Op

from .elastic_tree import all_of, backslash_glob, glob_or_eq, negate


def _clause(kind: str, body: dict[str, Any]) -> Condition | None:
    if kind == "exists":
        return Comparison(str(body.get("field", "")), Op.EXISTS, "", "exists")
    if not isinstance(body, dict) or len(body) != 1:
        return None
    ((name, spec),) = body.items()
    value = spec.get("value", spec.get("query")) if isinstance(spec, dict) else spec
    if value is None:
        return None
    if kind == "wildcard":
        # the DSL wildcard escapes with a backslash, as Lucene does
        insensitive = isinstance(spec, dict) and bool(spec.get("case_insensitive"))
        glob = backslash_glob(str(value), keep_unknown=False)
        return glob_or_eq(name, glob, "wildcard", not insensitive)
    if kind in ("term", "match", "match_phrase"):
        return Comparison(name, Op.EQ, str(value), kind, case_sensitive=kind == "term")
    return None


def filters_condition(filters: object) -> tuple[Condition | None, tuple[str, ...]]:
    """The And of a rule's enabled filters, and a note per clause not understood."""
    parts: list[Condition | None] = []
    notes: list[str] = []
    for item in filters if isinstance(filters, (list, tuple)) else ():
        meta = item.get("meta", {}) if isinstance(item, dict) else {}
        if meta.get("disabled"):
            continue
        query = item.get("query") or {k: v for k, v in item.items() if k not in ("meta", "$state")}
        for kind, body in query.items():
            test = _clause(kind, body)
            if test is None:
                notes.append(f"filter clause skipped: {kind}")
                continue
            parts.append(negate(test) if meta.get("negate") else test)
    return all_of(parts), tuple(dict.fromkeys(notes))
