"""The whole product on the shared corpora, on both stores.

One full build per store kind per session (module-scoped), then: ATT&CK counts
against MITRE's own library, every file accounted for, a second build giving
the same graph.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import STORE_KINDS, open_test_store

from kg import settings
from kg.build import BuildOptions, BuildResult, build, report_json
from kg.digest import graph_digest
from kg.stores.base import GraphStore

pytestmark = pytest.mark.corpora


def _corpora() -> Path:
    root = settings.corpora_dir()
    if not root.is_dir():
        pytest.skip(f"no corpora at {root}; set KG_CORPORA to the shared corpora")
    return root


class FullGraphs:
    """One full build per store kind, made on first use and shared by the module's tests."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.built: dict[str, tuple[GraphStore, BuildResult, BuildOptions]] = {}
        self.monkeypatch = pytest.MonkeyPatch()

    def get(self, kind: str) -> tuple[GraphStore, BuildResult, BuildOptions]:
        if kind not in self.built:
            corpora = _corpora()
            tmp = self.tmp_path_factory.mktemp(f"full-{kind}")
            store = open_test_store(kind, tmp)
            self.monkeypatch.setenv("KG_CACHE", str(self.tmp_path_factory.getbasetemp() / "cache"))
            options = BuildOptions(source_dir=corpora)
            self.built[kind] = (store, build(store, options), options)
        return self.built[kind]

    def close(self) -> None:
        for store, _, _ in self.built.values():
            store.close()
        self.monkeypatch.undo()


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullGraphs]:
    full = FullGraphs(tmp_path_factory)
    yield full
    full.close()


@pytest.fixture(params=STORE_KINDS)
def built(
    request: pytest.FixtureRequest, graphs: FullGraphs
) -> tuple[GraphStore, BuildResult, BuildOptions]:
    return graphs.get(request.param)


@pytest.fixture(scope="module")
def mitre_counts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """What mitreattack-python computes from the same enterprise bundle."""
    from mitreattack.stix20 import MitreAttackData

    bundle = _corpora() / "attack" / "enterprise-attack.json.gz"
    plain = tmp_path_factory.mktemp("attack") / "enterprise-attack.json"
    with gzip.open(bundle, "rb") as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    data = MitreAttackData(str(plain))
    return {
        "techniques_active": len(data.get_techniques(remove_revoked_deprecated=True)),
        "techniques_all": len(data.get_techniques(remove_revoked_deprecated=False)),
        "subtechniques_active": len(data.get_subtechniques(remove_revoked_deprecated=True)),
        "tactics": len(data.get_tactics(remove_revoked_deprecated=True)),
        "data_components_active": len(data.get_datacomponents(remove_revoked_deprecated=True)),
        "detection_strategies": len(data.get_detectionstrategies()),
        "analytics": len(data.get_analytics()),
    }


GRAPH_COUNTS = {
    "techniques_active": "MATCH (t:Technique) WHERE t.known AND NOT t.revoked AND NOT t.deprecated "
    "RETURN count(t) AS n",
    "techniques_all": "MATCH (t:Technique) WHERE t.known RETURN count(t) AS n",
    "subtechniques_active": "MATCH (t:Technique) WHERE t.known AND t.is_subtechnique "
    "AND NOT t.revoked AND NOT t.deprecated RETURN count(t) AS n",
    "tactics": "MATCH (t:Tactic) WHERE t.known RETURN count(t) AS n",
    "data_components_active": "MATCH (d:DataComponent) WHERE NOT d.revoked AND NOT d.deprecated "
    "RETURN count(d) AS n",
    "detection_strategies": "MATCH (d:DetectionStrategy) RETURN count(d) AS n",
    "analytics": "MATCH (a:Analytic) RETURN count(a) AS n",
}


def test_attack_counts_equal_mitres_own_library(built, mitre_counts):
    store, _, _ = built
    graph = {name: store.run(query)[0]["n"] for name, query in GRAPH_COUNTS.items()}
    assert graph == mitre_counts


def test_every_input_file_is_accounted_for(built, corpora):
    _, result, _ = built
    report = {src["source"]: src for src in report_json(result)["sources"]}
    for name, pattern in (("sigma", "*.y*ml"), ("elastic", "*.toml")):
        on_disk = sum(
            1
            for path in (corpora / name).rglob(pattern)
            if path.suffix in (".yml", ".yaml", ".toml")
        )
        assert report[name]["files_seen"] == on_disk, name
    splunk_on_disk = sum(1 for _ in (corpora / "splunk" / "detections").rglob("*.yml"))
    assert report["splunk"]["files_seen"] == splunk_on_disk
    for src in report.values():
        seen = src["files_seen"]
        assert src["files_loaded"] + len(src["skipped"]) + len(src["failed"]) == seen
        assert all(item["reason"] for item in src["skipped"] + src["failed"])


def test_rules_tagged_with_ids_attack_lacks_still_count(built):
    store, result, _ = built
    assert "T1685" in result.unknown_techniques
    rows = store.run(
        "MATCH (r:Rule)-[:DETECTS]->(t:Technique {id: 'T1685'}) "
        "RETURN t.known AS known, count(DISTINCT r) AS rules"
    )
    assert rows[0]["known"] is False and rows[0]["rules"] == result.unknown_techniques["T1685"]


def test_a_second_build_gives_the_same_graph(built):
    store, _, options = built
    first = graph_digest(store)
    again = build(store, options)
    assert again.up_to_date
    rebuilt = build(store, BuildOptions(source_dir=options.source_dir, force=True))
    assert not rebuilt.up_to_date
    assert graph_digest(store) == first


CARD_SAMPLE = ("T1059.006", "T1059.001", "T1003.001", "T1547.001", "T1685", "T1001")


@pytest.mark.neo4j
def test_card_json_is_identical_on_both_stores(graphs):
    from kg.api import KnowledgeBase
    from kg.card import card_to_json

    embedded, _, _ = graphs.get("embedded")
    neo4j, _, _ = graphs.get("neo4j")
    for technique in CARD_SAMPLE:
        for subtechniques in (True, False):
            cards = [
                card_to_json(
                    KnowledgeBase(store).technique(technique, include_subtechniques=subtechniques)
                )
                for store in (embedded, neo4j)
            ]
            assert cards[0] == cards[1], (technique, subtechniques)


@pytest.mark.neo4j
def test_both_stores_hold_the_same_graph(graphs):
    embedded, _, _ = graphs.get("embedded")
    neo4j, _, _ = graphs.get("neo4j")
    assert graph_digest(embedded) == graph_digest(neo4j)
