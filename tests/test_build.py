"""The build step end to end on a small hand-made corpus, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.build import BuildOptions, build, report_json
from kg.digest import graph_digest

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "corpora_mini"


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BuildOptions:
    monkeypatch.setenv("KG_CACHE", str(tmp_path / "cache"))
    return BuildOptions(
        source_dir=MINI,
        paths={"attack": FIXTURES / "attack_mini.json"},
        workers=1,
    )


def _one(store, query: str, **params):
    rows = store.run(query, params)
    assert len(rows) == 1, rows
    return rows[0]


def test_every_file_is_accounted_for(store, options):
    result = build(store, options)
    report = {src["source"]: src for src in report_json(result)["sources"]}
    sigma = report["sigma"]
    assert sigma["files_seen"] == 5
    assert sigma["files_loaded"] == 3
    assert [s["path"] for s in sigma["skipped"]] == ["unsupported/aggregation.yml"]
    assert [f["path"] for f in sigma["failed"]] == ["rules/windows/broken_rule.yml"]
    assert "notamodifier" in sigma["failed"][0]["reason"]
    assert report["elastic"]["rules_loaded"] == 1
    assert report["splunk"]["rules_loaded"] == 1
    assert report["splunk"]["rules_with_condition_tree"] == 1


def test_one_indicator_written_by_three_vendors_is_one_value(store, options):
    build(store, options)
    row = _one(
        store,
        "MATCH (v:Value {field: 'process.name', op: 'eq', value_key: 'python.exe'}) "
        "MATCH (r:Rule)-[:CHECKS]->(v) "
        "RETURN count(DISTINCT r) AS reach, collect(DISTINCT r.vendor) AS vendors",
    )
    # Sigma Image|endswith, the deprecated Sigma rule, EQL process.executable, SPL process_name
    assert row["reach"] == 4
    assert sorted(row["vendors"]) == ["elastic", "sigma", "splunk"]


def test_top_level_not_becomes_an_exclusion_shared_by_two_vendors(store, options):
    build(store, options)
    row = _one(
        store,
        "MATCH (r:Rule)-[:EXCLUDES]->(v:Value) "
        "WHERE v.field = 'process.parent.executable' "
        "RETURN v.op AS op, v.value_key AS value, count(DISTINCT r) AS rules",
    )
    assert row == {
        "op": "wildcard",
        "value": "c:\\program files\\microsoft vs code\\*",
        "rules": 2,
    }


def test_v19_technique_is_kept_and_flagged_unknown(store, options):
    result = build(store, options)
    assert result.unknown_techniques == {"T1685": 1}
    row = _one(
        store,
        "MATCH (r:Rule)-[:DETECTS]->(t:Technique {id: 'T1685'})"
        " RETURN t.known AS known, r.title AS title",
    )
    assert row == {"known": False, "title": "Stealthy Python Child"}


def test_rules_link_to_the_pinned_commit(store, options):
    build(store, options)
    row = _one(store, "MATCH (r:Rule {vendor: 'elastic'}) RETURN r.url AS url, r.author AS author")
    assert row["url"] == (
        "https://github.com/elastic/detection-rules/blob/14cf530f0d2177023092449cd9d9348b4a8884c2/"
        "rules/windows/execution_python_inline.toml"
    )
    assert row["author"] == "Elastic"


def test_loading_twice_gives_the_same_graph(store, options):
    build(store, options)
    first = graph_digest(store)
    options.force = True
    build(store, options)
    assert graph_digest(store) == first
    assert first["Rule"][0] == 5


def test_unchanged_sources_are_not_loaded_again(store, options):
    build(store, options)
    before = graph_digest(store)
    again = build(store, options)
    assert again.up_to_date
    assert graph_digest(store) == before


def test_a_changed_rule_is_parsed_again(store, options, tmp_path):
    import shutil

    corpora = tmp_path / "corpora"
    shutil.copytree(MINI, corpora)
    options.source_dir = corpora
    build(store, options)
    rule = corpora / "sigma/rules/windows/proc_creation_win_v19_tag.yml"
    rule.write_text(rule.read_text().replace("cmd.exe", "powershell.exe"))
    result = build(store, options)
    assert not result.up_to_date
    rows = store.run(
        "MATCH (r:Rule {title: 'Stealthy Python Child'})"
        "-[:CHECKS]->(v:Value {field: 'process.name'}) "
        "RETURN v.value_key AS value ORDER BY value"
    )
    assert [r["value"] for r in rows] == ["powershell.exe"]
