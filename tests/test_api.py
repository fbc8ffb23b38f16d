"""Expansions, overlap, coverage, gaps and detectable_with over the hand-made mini graph
(tests/fixtures/mini_graph.py), on each store; and the canned queries' own hygiene."""

from __future__ import annotations

import re

import pytest

from kg import cypher
from kg.api import KnowledgeBase
from kg.errors import QueryError
from tests.fixtures import mini_graph as mg

#: The canned queries this suite owns (every one but the viz_* and info_* files).
OWNED = (
    "card_technique",
    "card_events",
    "card_fields",
    "card_field_ops",
    "card_field_samples",
    "card_indicators",
    "card_exclusions",
    "card_rules",
    "card_totals",
    "rules_behind_event",
    "rules_behind_field",
    "rules_behind_value",
    "rules_behind_value_corpus",
    "rules_behind_exclusion",
    "rules_behind_exclusion_corpus",
    "overlap_values",
    "overlap_rule_pairs",
    "coverage_tactic",
    "coverage_vendor_tactic",
    "coverage_techniques",
    "gaps_uncovered",
    "gaps_single_vendor",
    "gaps_parent_child",
    "gaps_expected_events",
    "detectable_with",
)


@pytest.fixture
def kb(store):
    mg.write_mini_graph(store)
    return KnowledgeBase(store)


def _uids(rules):
    return [r.uid for r in rules]


# --- expansions ------------------------------------------------------------------------


def test_rules_behind_event(kb):
    rules = kb.rules_behind("T1059.006", event=mg.SECURITY_4688)
    assert _uids(rules) == ["sigma:s1"]
    assert rules[0].author == "Alice" and rules[0].url == "https://example.org/sigma/s1"
    assert _uids(kb.rules_behind("T1059.006", event=mg.SYSMON_1, include_deprecated=False)) == [
        "elastic:e1",
        "sigma:s1",
        "splunk:p1",
    ]


def test_rules_behind_field_and_operator(kb):
    rules = kb.rules_behind("T1059.006", field="process.name")
    assert _uids(rules) == ["elastic:e1", "sigma:s1", "sigma:s3", "splunk:p1"]
    assert rules[1].natives == ("Image", "OriginalFileName")
    assert _uids(kb.rules_behind("T1059", field="process.command_line", op="wildcard")) == [
        "sigma:s1",
        "sigma:s2",
        "splunk:p1",
    ]
    assert kb.rules_behind("T1059", field="process.command_line", op="eq") == ()


def test_rules_behind_value_matches_the_card_count(kb):
    rules = kb.rules_behind("T1059.006", value=mg.V_PYTHON)
    assert _uids(rules) == ["elastic:e1", "sigma:s1", "sigma:s3", "splunk:p1"]
    assert rules[1].native_ops == ("", "endswith")


def test_rules_behind_corpus_reach(kb):
    rules = kb.rules_behind(value=mg.V_CMDLINE_C)
    assert _uids(rules) == ["sigma:s1", "sigma:s2", "sigma:s5", "splunk:p1"]
    assert {r.uid: r.techniques for r in rules}["sigma:s5"] == ()
    # the negated edge of p1 is not reach
    assert _uids(kb.rules_behind(value=mg.V_SYSTEM)) == ["elastic:e2"]


def test_rules_behind_exclusion(kb):
    assert _uids(kb.rules_behind("T1059.006", exclusion=mg.V_PROGFILES)) == [
        "elastic:e1",
        "sigma:s1",
    ]
    corpus = kb.rules_behind(exclusion=mg.V_PROGFILES)
    assert _uids(corpus) == ["elastic:e1", "sigma:s1", "sigma:s4"]
    assert corpus[2].techniques == ("T1003",)


def test_rules_behind_wants_exactly_one_count(kb):
    with pytest.raises(QueryError):
        kb.rules_behind("T1059.006")
    with pytest.raises(QueryError):
        kb.rules_behind("T1059.006", field="process.name", value=mg.V_PYTHON)
    with pytest.raises(QueryError):
        kb.rules_behind(event=mg.SYSMON_1)


# --- overlap ---------------------------------------------------------------------------


def test_overlap_values_shared_by_vendors(kb):
    answer = kb.overlap("T1059.006", include_deprecated=True)
    got = [(v.key, v.vendors, v.rules) for v in answer.values]
    assert got == [
        (mg.V_PYTHON, ("elastic", "sigma", "splunk"), 4),
        (mg.V_CMDLINE_C, ("sigma", "splunk"), 2),
        (mg.V_PARENT_PY, ("elastic", "sigma"), 2),
    ]
    # without s3 the parent check is elastic's alone
    assert [v.key for v in kb.overlap("T1059.006").values] == [mg.V_PYTHON, mg.V_CMDLINE_C]


def test_overlap_rule_pairs_jaccard(kb):
    pairs = kb.overlap("T1059.006", include_deprecated=True).pairs
    got = [(p.rule_a, p.rule_b, p.shared, p.indicators_a, p.indicators_b, p.jaccard) for p in pairs]
    # every rule has two indicator values (p1's negated one does not count)
    assert got == [
        ("elastic:e1", "sigma:s3", 2, 2, 2, 1.0),
        ("sigma:s1", "splunk:p1", 2, 2, 2, 1.0),
        ("elastic:e1", "sigma:s1", 1, 2, 2, 0.3333),
        ("elastic:e1", "splunk:p1", 1, 2, 2, 0.3333),
        ("sigma:s3", "splunk:p1", 1, 2, 2, 0.3333),
    ]


# --- coverage --------------------------------------------------------------------------


def test_coverage_by_vendor_tactic(kb):
    answer = {t.tactic: t for t in kb.coverage_by_vendor_tactic()}
    got = {
        k: (t.techniques, t.uncovered, t.single_vendor, t.multi_vendor) for k, t in answer.items()
    }
    # T1000 is revoked: left out
    assert got == {
        "execution": (2, 0, 1, 1),
        "persistence": (2, 1, 1, 0),
        "privilege-escalation": (2, 1, 1, 0),
        "credential-access": (2, 1, 0, 1),
    }
    by_vendor = {v.vendor: (v.techniques, v.only_vendor) for v in answer["execution"].vendors}
    assert by_vendor == {"elastic": (1, 0), "sigma": (2, 1), "splunk": (1, 0)}
    assert [(v.vendor, v.only_vendor) for v in answer["persistence"].vendors] == [("splunk", 1)]


def test_coverage_with_deprecated_counts_the_revoked_technique(kb):
    execution = next(
        t for t in kb.coverage_by_vendor_tactic(include_deprecated=True) if t.tactic == "execution"
    )
    assert (execution.techniques, execution.uncovered) == (3, 1)


def test_coverage_techniques_per_vendor(kb):
    rows = {r.id: (r.rules, r.vendors) for r in kb.coverage_techniques(vendor="sigma")}
    assert rows["T1059.006"] == (1, ("sigma",))  # s3 is deprecated
    assert rows["T1547.001"] == (0, ())
    assert "T1000" not in rows


# --- gaps ------------------------------------------------------------------------------


def test_gaps_uncovered(kb):
    gaps = kb.gaps()
    assert [(t.id, t.tactics) for t in gaps.uncovered] == [
        ("T1003.001", ("credential-access",)),
        ("T1547", ("persistence", "privilege-escalation")),
    ]
    assert [t.id for t in kb.gaps(include_subtechniques=False).uncovered] == ["T1547"]
    assert [t.id for t in kb.gaps(platform="Linux").uncovered] == ["T1003.001"]
    assert [t.id for t in kb.gaps(tactic="TA0003").uncovered] == ["T1547"]
    assert [t.id for t in kb.gaps(include_deprecated=True).uncovered] == [
        "T1000",
        "T1003.001",
        "T1547",
    ]


def test_gaps_single_vendor(kb):
    got = [(t.id, t.vendor, t.rules) for t in kb.gaps().single_vendor]
    assert got == [("T1059", "sigma", 1), ("T1547.001", "splunk", 1)]


def test_gaps_parent_child(kb):
    got = [
        (g.id, g.gap, g.parent_rules, g.children, g.covered_children)
        for g in kb.gaps().parent_child
    ]
    assert got == [
        ("T1003", "children_uncovered", 2, 1, 0),
        ("T1547", "parent_uncovered", 0, 1, 1),
    ]


def test_gaps_expected_events(kb):
    got = [(g.technique, g.event, g.technique_rules) for g in kb.gaps().expected_events]
    # T1059.006's Sysmon 1 is read; ESF exec is not.  T1003.001 has no rule at all.
    assert got == [("T1059.006", mg.ESF_EXEC, 3), ("T1003.001", mg.SYSMON_10, 0)]
    only = kb.gaps(technique="t1059", include_deprecated=True).expected_events
    assert [(g.technique, g.event, g.technique_rules) for g in only] == [
        ("T1059.006", mg.ESF_EXEC, 4)
    ]


# --- detectable_with -------------------------------------------------------------------


def test_detectable_with_one_event(kb):
    got = [(d.id, d.rules, d.rule_uids) for d in kb.detectable_with([mg.SYSMON_1])]
    # s1 also needs 4688, s3 is deprecated
    assert got == [("T1059.006", 2, ("elastic:e1", "splunk:p1")), ("T1003", 1, ("elastic:e2",))]


def test_detectable_with_two_events(kb):
    got = [(d.id, d.rules) for d in kb.detectable_with([mg.SYSMON_1, mg.SECURITY_4688])]
    assert got == [("T1059.006", 3), ("T1003", 2), ("T1059", 1)]


def test_detectable_with_nothing(kb):
    assert kb.detectable_with([]) == ()
    assert kb.detectable_with(["no-such:1"]) == ()


# --- the canned queries themselves -----------------------------------------------------

_RESERVED = (
    "any",
    "all",
    "end",
    "desc",
    "asc",
    "order",
    "by",
    "limit",
    "count",
    "contains",
    "exists",
    "in",
    "is",
    "null",
    "case",
    "when",
    "then",
    "else",
)


@pytest.mark.parametrize("name", OWNED)
def test_canned_query_header_and_portability(name):
    query = cypher.load(name)  # checks declared params == used params
    assert query.row_text, f"{name}: no row: line"
    body = "\n".join(line for line in query.text.splitlines() if not line.startswith("//"))
    variables = set(re.findall(r"[(\[,]\s*([a-z_]\w*)\s*[:)\]]", body))
    variables |= set(re.findall(r"\bAS\s+([a-z_]\w*)", body, re.IGNORECASE))
    assert not variables & set(_RESERVED), f"{name}: reserved word used as a variable"
    for banned in ("CALL {", "apoc.", "labels(", "reduce(", "elementId("):
        assert banned not in body, f"{name}: {banned} is not portable"
    assert cypher.translate(query.text, "embedded")


def test_every_owned_query_exists():
    assert set(OWNED) <= set(cypher.names())
