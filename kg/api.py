"""The Python API: the technique card, the rules behind every count, overlap and gaps.

Every answer comes from a canned query in ``cypher/``; this module only binds parameters,
runs the queries and assembles their rows into frozen dataclasses.  Lists that come out of
``collect()`` are sorted here, because neither engine promises an order inside a
``collect`` and the JSON of a card must be the same on both stores.

Deprecated rules still carry what their authors learned, so the card lists them, flagged,
and counts them; ``include_deprecated=False`` leaves them out.  Coverage and gap answers
leave deprecated rules and revoked or deprecated techniques out unless asked.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Self, TypeVar

from kg import cypher
from kg.errors import QueryError
from kg.stores.base import GraphStore, Row

log = logging.getLogger(__name__)

ENTERPRISE = "enterprise-attack"

#: Stores whose ``run`` may be called from several threads at once: the Neo4j store opens a
#: session per call on a thread-safe driver.  The embedded store shares one connection.
CONCURRENT_STORES = frozenset({"neo4j"})
#: Queries of one answer in flight at once on such a store.
WORKERS = 4
#: The card's sections besides the technique itself; the second group takes ``limit`` too.
CARD_QUERIES = ("card_totals", "card_events", "card_field_ops", "card_field_samples", "card_rules")
CARD_LIMITED = ("card_fields", "card_indicators", "card_exclusions")

T = TypeVar("T")


# --- result records -----------------------------------------------------------------


@dataclass(frozen=True)
class TechniqueInfo:
    id: str
    name: str
    is_subtechnique: bool
    parent_id: str
    tactics: tuple[str, ...]
    platforms: tuple[str, ...]
    attack_version: str
    url: str
    revoked: bool
    deprecated: bool
    known: bool
    subtechniques: tuple[str, ...]


@dataclass(frozen=True)
class CardEvent:
    """A catalogue event the technique's rules read; ``expected``: ATT&CK expects it too."""

    key: str
    provider: str
    event_id: str
    title: str
    platform: str
    rules: int
    vendors: tuple[str, ...]
    via: tuple[str, ...]
    expected: bool


@dataclass(frozen=True)
class CardField:
    """A canonical field, the vendor-native names behind it, its operators and samples."""

    field: str
    mapped: bool
    rules: int
    native: tuple[tuple[str, tuple[str, ...]], ...]  # (vendor, native names), by vendor
    ops: tuple[tuple[str, int], ...]  # (op, rules), most used first
    samples: tuple[str, ...]  # the field's most used indicator values
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Indicator:
    """A Value the technique's rules check (or exclude), with its corpus reach."""

    key: str
    field: str
    op: str
    value: str
    value_key: str
    rules: int
    vendors: tuple[str, ...]
    corpus_reach: int
    specific: bool  # no rule outside the technique checks it


@dataclass(frozen=True)
class RuleRef:
    """A rule, with its author and link; the extras are filled by the query that found it."""

    vendor: str
    uid: str
    id: str
    title: str
    status: str
    level: str
    url: str
    deprecated: bool
    author: str
    parse_status: str = ""
    techniques: tuple[str, ...] = ()
    natives: tuple[str, ...] = ()
    native_ops: tuple[str, ...] = ()
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class CardTotals:
    rules: int
    deprecated_rules: int
    events: int
    fields: int
    indicators: int
    exclusions: int


@dataclass(frozen=True)
class TechniqueCard:
    technique: TechniqueInfo
    events: tuple[CardEvent, ...]
    fields: tuple[CardField, ...]
    indicators: tuple[Indicator, ...]
    exclusions: tuple[Indicator, ...]
    rules: tuple[RuleRef, ...]
    totals: CardTotals
    include_subtechniques: bool
    include_deprecated: bool

    def rules_by_vendor(self) -> dict[str, tuple[RuleRef, ...]]:
        vendors = sorted({rule.vendor for rule in self.rules})
        return {v: tuple(r for r in self.rules if r.vendor == v) for v in vendors}


@dataclass(frozen=True)
class SharedValue:
    key: str
    field: str
    op: str
    value: str
    vendors: tuple[str, ...]
    vendor_count: int
    rules: int


@dataclass(frozen=True)
class RulePair:
    rule_a: str
    vendor_a: str
    title_a: str
    rule_b: str
    vendor_b: str
    title_b: str
    shared: int
    indicators_a: int
    indicators_b: int
    jaccard: float


@dataclass(frozen=True)
class Overlap:
    technique: str
    values: tuple[SharedValue, ...]
    pairs: tuple[RulePair, ...]


@dataclass(frozen=True)
class UncoveredTechnique:
    id: str
    name: str
    is_subtechnique: bool
    parent_id: str
    tactics: tuple[str, ...]
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class SingleVendorTechnique:
    id: str
    name: str
    vendor: str
    rules: int
    tactics: tuple[str, ...]
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class ParentChildGap:
    id: str
    name: str
    gap: str  # parent_uncovered | children_uncovered
    parent_rules: int
    children: int
    covered_children: int


@dataclass(frozen=True)
class ExpectedEventGap:
    technique: str
    name: str
    event: str
    provider: str
    event_id: str
    title: str
    via: tuple[str, ...]
    technique_rules: int


@dataclass(frozen=True)
class Gaps:
    uncovered: tuple[UncoveredTechnique, ...]
    single_vendor: tuple[SingleVendorTechnique, ...]
    parent_child: tuple[ParentChildGap, ...]
    expected_events: tuple[ExpectedEventGap, ...]


@dataclass(frozen=True)
class Detectable:
    id: str
    name: str
    rules: int
    vendors: tuple[str, ...]
    rule_uids: tuple[str, ...]
    events: tuple[str, ...]


@dataclass(frozen=True)
class VendorCoverage:
    vendor: str
    techniques: int
    only_vendor: int


@dataclass(frozen=True)
class TacticCoverage:
    tactic_id: str
    tactic: str
    name: str
    techniques: int
    uncovered: int
    single_vendor: int
    multi_vendor: int
    vendors: tuple[VendorCoverage, ...]


@dataclass(frozen=True)
class TechniqueCoverage:
    id: str
    name: str
    is_subtechnique: bool
    parent_id: str
    rules: int
    vendors: tuple[str, ...]
    tactics: tuple[str, ...]


# --- helpers --------------------------------------------------------------------------


@cache
def _query(name: str) -> cypher.CannedQuery:
    return cypher.load(name)


def _record(cls: type[T], row: Mapping[str, Any]) -> T:
    """Build ``cls`` from the row's columns of the same names; lists become sorted tuples."""
    values = {}
    for spec in fields(cls):  # type: ignore[arg-type]
        if spec.name not in row:
            continue
        value = row[spec.name]
        if isinstance(value, list):
            value = tuple(sorted(value, key=str))
        values[spec.name] = value
    return cls(**values)


def _records(cls: type[T], rows: Sequence[Mapping[str, Any]]) -> tuple[T, ...]:
    return tuple(_record(cls, row) for row in rows)


def _technique_id(technique: str) -> str:
    return technique.strip().upper()


# --- the knowledge base --------------------------------------------------------------


class KnowledgeBase:
    """Questions about detection coverage, answered by the canned queries on a store."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def open(
        cls,
        neo4j_uri: str | None = None,
        path: str | Path | None = None,
        user: str = "neo4j",
        password: str | None = None,
    ) -> KnowledgeBase:
        """Open a Neo4j server (``neo4j_uri``) or the embedded store (``path`` or default)."""
        from kg.stores import open_store

        store = open_store(
            neo4j_uri=neo4j_uri,
            user=user,
            password=password,
            path=Path(path) if path is not None else None,
            read_only=True,
        )
        return cls(store)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, name: str, **params: Any) -> list[Row]:
        """Run the canned query ``name`` with ``params`` (checked against its header)."""
        query = _query(name)
        log.debug("running %s with %s", name, params)
        return self.store.run(query.text, query.bind(params))

    def _rows(self, cls: type[T], name: str, **params: Any) -> tuple[T, ...]:
        return _records(cls, self.run(name, **params))

    def _run_many(self, jobs: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Row]]:
        """Run independent canned queries (name → params); at once where the store allows."""
        if self.store.name not in CONCURRENT_STORES or len(jobs) < 2:
            return {name: self.run(name, **params) for name, params in jobs.items()}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="kg-query")
        futures = {
            name: self._pool.submit(self.run, name, **params) for name, params in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}

    # --- the technique card ----------------------------------------------------------

    def technique(
        self,
        technique: str,
        include_subtechniques: bool = True,
        include_deprecated: bool = True,
        limit: int = 25,
        samples: int = 3,
    ) -> TechniqueCard:
        """The card of one technique; ``limit`` caps fields, indicators and exclusions."""
        tid = _technique_id(technique)
        scope = {
            "technique": tid,
            "include_subtechniques": include_subtechniques,
            "include_deprecated": include_deprecated,
        }
        jobs: dict[str, Mapping[str, Any]] = {"card_technique": {"technique": tid}}
        jobs.update(dict.fromkeys(CARD_QUERIES, scope))
        limited = {"limit": limit, **scope}
        jobs.update(dict.fromkeys(CARD_LIMITED, limited))
        rows = self._run_many(jobs)
        if not rows["card_technique"]:
            raise QueryError(f"technique {tid!r} is not in the graph")
        return TechniqueCard(
            technique=_record(TechniqueInfo, rows["card_technique"][0]),
            events=_records(CardEvent, rows["card_events"]),
            fields=_fields(rows, samples),
            indicators=_records(Indicator, rows["card_indicators"]),
            exclusions=_records(Indicator, rows["card_exclusions"]),
            rules=_records(RuleRef, rows["card_rules"]),
            totals=_totals(rows),
            include_subtechniques=include_subtechniques,
            include_deprecated=include_deprecated,
        )

    # --- expansions ------------------------------------------------------------------

    def rules_behind(
        self,
        technique: str | None = None,
        *,
        event: str | None = None,
        field: str | None = None,
        op: str = "",
        value: str | None = None,
        exclusion: str | None = None,
        include_subtechniques: bool = True,
        include_deprecated: bool = True,
    ) -> tuple[RuleRef, ...]:
        """The rules behind one count of a card: give exactly one of event, field (with an
        optional op), value or exclusion (Value keys).  Without ``technique``, a value or
        exclusion gives the rules behind its corpus reach."""
        given = {"event": event, "field": field, "value": value, "exclusion": exclusion}
        chosen = [name for name, item in given.items() if item is not None]
        if len(chosen) != 1:
            raise QueryError(
                f"rules_behind: give one of event, field, value, exclusion; got {chosen}"
            )
        if technique is None:
            if chosen[0] in ("value", "exclusion"):
                name = f"rules_behind_{chosen[0]}_corpus"
                key = given[chosen[0]]
                return self._rows(RuleRef, name, key=key, include_deprecated=include_deprecated)
            raise QueryError(f"rules_behind: {chosen[0]} needs a technique")
        scope = {
            "technique": _technique_id(technique),
            "include_subtechniques": include_subtechniques,
            "include_deprecated": include_deprecated,
        }
        if event is not None:
            return self._rows(RuleRef, "rules_behind_event", event=event, **scope)
        if field is not None:
            return self._rows(RuleRef, "rules_behind_field", field=field, op=op, **scope)
        if value is not None:
            return self._rows(RuleRef, "rules_behind_value", key=value, **scope)
        return self._rows(RuleRef, "rules_behind_exclusion", key=exclusion, **scope)

    # --- overlap, coverage, gaps -----------------------------------------------------

    def overlap(
        self,
        technique: str,
        include_subtechniques: bool = True,
        include_deprecated: bool = False,
        limit: int = 25,
    ) -> Overlap:
        """Indicator values rules of several vendors share, and the most similar rule pairs."""
        tid = _technique_id(technique)
        scope = {
            "technique": tid,
            "include_subtechniques": include_subtechniques,
            "include_deprecated": include_deprecated,
            "limit": limit,
        }
        rows = self._run_many({"overlap_values": scope, "overlap_rule_pairs": scope})
        return Overlap(
            technique=tid,
            values=_records(SharedValue, rows["overlap_values"]),
            pairs=_records(RulePair, rows["overlap_rule_pairs"]),
        )

    def coverage_by_vendor_tactic(
        self,
        domain: str = ENTERPRISE,
        include_subtechniques: bool = True,
        include_deprecated: bool = False,
    ) -> tuple[TacticCoverage, ...]:
        """Per tactic: techniques covered by no vendor, one, several, and by each vendor."""
        params = {
            "domain": domain,
            "include_subtechniques": include_subtechniques,
            "include_deprecated": include_deprecated,
        }
        by_tactic: dict[str, list[VendorCoverage]] = {}
        for row in self.run("coverage_vendor_tactic", **params):
            by_tactic.setdefault(row["tactic_id"], []).append(_record(VendorCoverage, row))
        return tuple(
            TacticCoverage(
                tactic_id=row["tactic_id"],
                tactic=row["tactic"],
                name=row["name"],
                techniques=row["techniques"],
                uncovered=row["uncovered"],
                single_vendor=row["single_vendor"],
                multi_vendor=row["multi_vendor"],
                vendors=tuple(by_tactic.get(row["tactic_id"], ())),
            )
            for row in self.run("coverage_tactic", **params)
        )

    def coverage_techniques(
        self,
        domain: str = ENTERPRISE,
        vendor: str = "",
        include_subtechniques: bool = True,
        include_deprecated: bool = False,
    ) -> tuple[TechniqueCoverage, ...]:
        """Every technique with the rules (of ``vendor``, or all) detecting it directly."""
        scope = {"domain": domain, "vendor": vendor, "include_deprecated": include_deprecated}
        params = {"include_subtechniques": include_subtechniques, **scope}
        return self._rows(TechniqueCoverage, "coverage_techniques", **params)

    def gaps(
        self,
        domain: str = ENTERPRISE,
        tactic: str = "",
        platform: str = "",
        include_subtechniques: bool = True,
        include_deprecated: bool = False,
        technique: str = "",
        limit: int = 200,
    ) -> Gaps:
        """Uncovered and single-vendor techniques, lopsided parent/child coverage, and
        events ATT&CK expects that no rule of the technique reads (``limit`` rows)."""
        dep = {"include_deprecated": include_deprecated}
        subs = {"include_subtechniques": include_subtechniques, **dep}
        filters = {"domain": domain, "tactic": tactic, "platform": platform, **subs}
        tid = _technique_id(technique) if technique else ""
        rows = self._run_many(
            {
                "gaps_uncovered": filters,
                "gaps_single_vendor": filters,
                "gaps_parent_child": {"domain": domain, **dep},
                "gaps_expected_events": {"technique": tid, "limit": limit, **subs},
            }
        )
        return Gaps(
            uncovered=_records(UncoveredTechnique, rows["gaps_uncovered"]),
            single_vendor=_records(SingleVendorTechnique, rows["gaps_single_vendor"]),
            parent_child=_records(ParentChildGap, rows["gaps_parent_child"]),
            expected_events=_records(ExpectedEventGap, rows["gaps_expected_events"]),
        )

    def detectable_with(
        self,
        events: Sequence[str],
        domain: str = ENTERPRISE,
        include_deprecated: bool = False,
    ) -> tuple[Detectable, ...]:
        """Techniques with at least one rule that reads only events from ``events``."""
        scope = {"domain": domain, "include_deprecated": include_deprecated}
        return self._rows(Detectable, "detectable_with", events=list(events), **scope)


def _fields(rows: Mapping[str, list[Row]], samples: int) -> tuple[CardField, ...]:
    """The card's fields, from the rows of card_fields, card_field_ops, card_field_samples."""
    ops: dict[str, list[tuple[str, int]]] = {}
    for row in rows["card_field_ops"]:
        ops.setdefault(row["field"], []).append((row["op"], row["rules"]))
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for row in rows["card_field_samples"]:
        kept = groups.setdefault(row["field"], [])
        kept.extend((-row["rules"], key, value) for key, value in row["values"])
    return tuple(
        CardField(
            field=row["field"],
            mapped=bool(row["mapped"]),
            rules=row["rules"],
            native=_natives_by_vendor(row["natives"]),
            ops=tuple(sorted(ops.get(row["field"], []), key=lambda item: (-item[1], item[0]))),
            samples=_samples(groups.get(row["field"], []), samples),
            roles=tuple(sorted(row["roles"])),
        )
        for row in rows["card_fields"]
    )


def _samples(values: list[tuple[int, str, str]], samples: int) -> tuple[str, ...]:
    """A field's sample values: the ``samples`` used by most rules, ties broken by key."""
    return tuple(value for _, _, value in heapq.nsmallest(samples, values))


def _totals(rows: Mapping[str, list[Row]]) -> CardTotals:
    """Rules and events are counted from card_rules and card_events, which hold them all."""
    graph = rows["card_totals"][0]
    return CardTotals(
        rules=len(rows["card_rules"]),
        deprecated_rules=sum(1 for row in rows["card_rules"] if row["deprecated"]),
        events=len(rows["card_events"]),
        fields=graph["fields"],
        indicators=graph["indicators"],
        exclusions=graph["exclusions"],
    )


def _natives_by_vendor(natives: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``["sigma:Image", "elastic:process.name"]`` → ``(("elastic", ...), ("sigma", ...))``."""
    grouped: dict[str, set[str]] = {}
    for item in natives:
        # a vendor name never holds ':', a native field name may (Splunk eval output)
        vendor, _, native = item.partition(":")
        grouped.setdefault(vendor, set()).add(native)
    return tuple((vendor, tuple(sorted(grouped[vendor]))) for vendor in sorted(grouped))
