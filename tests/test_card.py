"""The technique card over the hand-made mini graph: every figure is worked out in advance
from tests/fixtures/mini_graph.py (see its docstring), on each store of the ``store``
fixture."""

from __future__ import annotations

import io
import json
import os

import pytest
from rich.console import Console

from kg import derive
from kg.api import KnowledgeBase
from kg.card import JSON_KEYS, card_to_dict, card_to_json, card_to_markdown, render_card
from kg.errors import QueryError
from kg.writer import GraphBatch
from tests.fixtures import mini_graph as mg


@pytest.fixture
def kb(store):
    mg.write_mini_graph(store)
    return KnowledgeBase(store)


def _rule(rid, title, status, level, vendor, deprecated=False, author=None):
    return {
        "id": rid,
        "title": title,
        "status": status,
        "level": level,
        "url": f"https://example.org/{vendor}/{rid}",
        "deprecated": deprecated,
        "author": author or f"Author of {rid}",
    }


#: T1059.006 with deprecated rules: sigma s1, s3 (deprecated), elastic e1, splunk p1.
PYTHON_CARD = {
    "technique": {
        "id": "T1059.006",
        "name": "Python",
        "tactics": ["execution"],
        "platforms": ["Linux", "Windows", "macOS"],
        "attack_version": "18.1",
    },
    "events": [
        # Sysmon 1: s1, e1, p1, s3; Security 4688: s1 only
        {
            "provider": "Microsoft-Windows-Sysmon",
            "event_id": "1",
            "title": "Process creation",
            "rules": 4,
        },
        {
            "provider": "Microsoft-Windows-Security-Auditing",
            "event_id": "4688",
            "title": "A new process has been created",
            "rules": 1,
        },
    ],
    "fields": [
        {
            "field": "process.name",
            "native": {
                "elastic": ["process.name"],
                "sigma": ["Image", "OriginalFileName"],
                "splunk": ["process_name"],
            },
            "ops": {"eq": 4},
            "samples": ["python.exe"],
            "rules": 4,
        },
        # ties on 2 rules are ordered by field name
        {
            "field": "process.command_line",
            "native": {"sigma": ["CommandLine"], "splunk": ["process"]},
            "ops": {"wildcard": 2},
            "samples": ["*-c*"],
            "rules": 2,
        },
        # only excluded values on this field: no indicator samples
        {
            "field": "process.executable",
            "native": {"elastic": ["process.executable"], "sigma": ["Image"]},
            "ops": {"wildcard": 2},
            "samples": [],
            "rules": 2,
        },
        {
            "field": "process.parent.name",
            "native": {"elastic": ["process.parent.name"], "sigma": ["ParentImage"]},
            "ops": {"eq": 2},
            "samples": ["python.exe"],
            "rules": 2,
        },
        # p1's user check is negated: the field is filtered, but no sample value
        {
            "field": "user.name",
            "native": {"splunk": ["user"]},
            "ops": {"eq": 1},
            "samples": [],
            "rules": 1,
        },
    ],
    "indicators": [
        # s1 checks it twice (Image, OriginalFileName): counted once
        {"field": "process.name", "op": "eq", "value": "python.exe", "rules": 4, "corpus_reach": 4},
        # reach adds s2 (T1059) and s5 (no technique)
        {
            "field": "process.command_line",
            "op": "wildcard",
            "value": "*-c*",
            "rules": 2,
            "corpus_reach": 4,
        },
        {
            "field": "process.parent.name",
            "op": "eq",
            "value": "python.exe",
            "rules": 2,
            "corpus_reach": 2,
        },
    ],
    "exclusions": [
        # reach adds s4 (T1003)
        {
            "field": "process.executable",
            "op": "wildcard",
            "value": "C:\\Program Files\\*",
            "rules": 2,
            "corpus_reach": 3,
        },
    ],
    "rules": {
        "elastic": [_rule("e1", "Python Child Process", "production", "medium", "elastic")],
        "sigma": [
            _rule("s1", "Python Spawning Shell", "stable", "high", "sigma", author="Alice"),
            _rule("s3", "Old Python Rule", "deprecated", "high", "sigma", deprecated=True),
        ],
        "splunk": [_rule("p1", "Python Command Line", "production", "low", "splunk")],
    },
    "totals": {"rules": 4, "events": 2, "fields": 5, "indicators": 3, "exclusions": 1},
}


def test_card_json_is_known_in_advance(kb):
    assert card_to_dict(kb.technique("T1059.006")) == PYTHON_CARD


def test_card_json_has_exactly_the_documented_keys(kb):
    data = json.loads(card_to_json(kb.technique("T1059.006")))
    assert tuple(data) == JSON_KEYS
    assert set(data["technique"]) == {"id", "name", "tactics", "platforms", "attack_version"}
    assert set(data["events"][0]) == {"provider", "event_id", "title", "rules"}
    assert set(data["fields"][0]) == {"field", "native", "ops", "samples", "rules"}
    assert set(data["indicators"][0]) == {"field", "op", "value", "rules", "corpus_reach"}
    assert set(data["exclusions"][0]) == {"field", "op", "value", "rules", "corpus_reach"}
    assert set(data["totals"]) == {"rules", "events", "fields", "indicators", "exclusions"}


def test_technique_id_is_case_insensitive(kb):
    assert kb.technique("t1059.006").technique.id == "T1059.006"


def test_unknown_technique_is_a_query_error(kb):
    with pytest.raises(QueryError, match="T9999"):
        kb.technique("T9999")


def test_specific_marks_values_no_other_technique_checks(kb):
    card = kb.technique("T1059.006")
    specific = {ind.key: ind.specific for ind in card.indicators}
    assert specific == {mg.V_PYTHON: True, mg.V_CMDLINE_C: False, mg.V_PARENT_PY: True}
    assert card.exclusions[0].specific is False


def test_negated_indicator_is_left_out(kb):
    # p1 checks user.name eq system only under a nested NOT
    card = kb.technique("T1059.006")
    assert mg.V_SYSTEM not in {ind.key for ind in card.indicators}
    # e2 (T1003) checks it plainly: there it counts, with a reach of 1 (p1 not counted)
    t1003 = {ind.key: (ind.rules, ind.corpus_reach) for ind in kb.technique("T1003").indicators}
    assert t1003[mg.V_SYSTEM] == (1, 1)


def test_deprecated_rules_are_listed_flagged_and_counted(kb):
    card = kb.technique("T1059.006")
    flagged = [r.uid for r in card.rules if r.deprecated]
    assert flagged == ["sigma:s3"]
    assert card.totals.deprecated_rules == 1


def test_without_deprecated_rules(kb):
    card = kb.technique("T1059.006", include_deprecated=False)
    assert [r.uid for r in card.rules] == ["elastic:e1", "sigma:s1", "splunk:p1"]
    assert card.totals.rules == 3
    assert card.totals.deprecated_rules == 0
    assert [(e.event_id, e.rules) for e in card.events] == [("1", 3), ("4688", 1)]
    # s3 gone: python.exe 3 rules, reach 3; the parent check is e1's alone, reach 1
    got = [(i.key, i.rules, i.corpus_reach) for i in card.indicators]
    assert got == [
        (mg.V_PYTHON, 3, 3),
        (mg.V_CMDLINE_C, 2, 4),
        (mg.V_PARENT_PY, 1, 1),
    ]


def test_parent_with_and_without_subtechniques(kb):
    with_subs = kb.technique("T1059")
    assert with_subs.totals.rules == 5  # s2 on T1059 plus the four of T1059.006
    assert [(e.event_id, e.rules) for e in with_subs.events] == [("1", 4), ("4688", 2)]
    got = [(i.key, i.rules, i.corpus_reach) for i in with_subs.indicators]
    assert got == [
        (mg.V_PYTHON, 4, 4),
        (mg.V_CMDLINE_C, 3, 4),
        (mg.V_PARENT_PY, 2, 2),
        (mg.V_CMD, 1, 2),
    ]
    assert with_subs.technique.subtechniques == ("T1059.006",)
    alone = kb.technique("T1059", include_subtechniques=False)
    assert [r.uid for r in alone.rules] == ["sigma:s2"]
    assert alone.totals.indicators == 2
    assert alone.totals.exclusions == 0


def test_limit_keeps_the_top_of_each_ranking(kb):
    card = kb.technique("T1059.006", limit=1)
    assert [i.key for i in card.indicators] == [mg.V_PYTHON]
    assert [f.field for f in card.fields] == ["process.name"]
    assert card.totals.indicators == 3  # totals are not limited


def test_uncovered_technique_has_an_empty_card(kb):
    card = kb.technique("T1547", include_subtechniques=False)
    assert card.rules == () and card.events == () and card.indicators == ()
    assert card.totals.rules == 0 and card.totals.fields == 0
    assert card.technique.tactics == ("persistence", "privilege-escalation")


def test_markdown_has_sections_in_order_and_credits_authors(kb):
    text = card_to_markdown(kb.technique("T1059.006"))
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == [
        "## Events",
        "## Fields",
        "## Indicators",
        "## Exclusions",
        "## Rules",
        "## Totals",
    ]
    assert "| s1 | Python Spawning Shell | stable | high | Alice |" in text
    assert "<https://example.org/sigma/s1>" in text
    assert "Old Python Rule (deprecated)" in text


def test_rich_tables_show_author_and_link(kb):
    out = io.StringIO()
    render_card(kb.technique("T1059.006"), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    for title in ("events", "fields", "indicators", "exclusions", "rules: sigma", "totals"):
        assert title in text
    assert text.index("events") < text.index("fields") < text.index("indicators")
    assert "Alice" in text and "https://example.org/sigma/s1" in text
    assert "Old Python Rule [deprecated]" in text


@pytest.mark.neo4j
def test_json_identical_on_both_stores(tmp_path):
    uri, user, password = (os.environ.get(k) for k in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD"))
    if not uri:
        pytest.skip("NEO4J_URI is not set: no Neo4j server to compare with")
    from kg.stores import open_store

    texts = []
    for store in (
        open_store(path=tmp_path / "g.lbug"),
        open_store(neo4j_uri=uri, user=user or "neo4j", password=password),
    ):
        try:
            mg.write_mini_graph(store)
            kb = KnowledgeBase(store)
            texts.append([card_to_json(kb.technique(t)) for t in ("T1059", "T1059.006")])
        finally:
            store.close()
    assert texts[0] == texts[1]


def test_build_derives_the_reach_the_card_reads():
    """kg.derive, run over the mini corpus as the build runs it over a GraphBatch, sets the
    reach columns the card queries read to the fixture's hand-computed figures."""
    batch = GraphBatch()
    for rule in mg.RULES:
        batch.node("Rule", rule)
    for key, field, op, value, _value_key in mg.VALUES:
        batch.node("Value", {"key": key, "field": field, "op": op, "value": value})
    for rule, value, native, native_op, negated in mg.CHECKS:
        batch.rel("CHECKS", rule, value, native_field=native, native_op=native_op, negated=negated)
    for rule, value, native, native_op in mg.EXCLUDES:
        batch.rel("EXCLUDES", rule, value, native_field=native, native_op=native_op)
    derive.add_derived(batch)
    got = {
        key: tuple(row[col] for col in mg.REACH_COLUMNS)
        for key, row in batch.nodes["Value"].items()
    }
    assert got == mg.REACH
