"""Both graph stores: schema, writes, parameters, plain rows and errors."""

from __future__ import annotations

import pytest

from kg import schema, settings
from kg.errors import StoreAuthError, StoreError
from kg.stores import describe_query, open_store
from kg.stores.base import GraphStore
from kg.stores.embedded import EmbeddedStore


def node(label: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(schema.NODE_BY_LABEL[label].columns)
    row.update(values)
    return row


def check(src: str, dst: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {"src": src, "dst": dst}
    row.update(dict.fromkeys(schema.REL_BY_NAME["CHECKS"].columns))
    row.update(values)
    return row


def write_small_graph(store: GraphStore) -> None:
    store.write_nodes(
        "Rule",
        [
            node(
                "Rule",
                uid="sigma:a",
                vendor="sigma",
                title="A",
                data_sources=["sysmon"],
                deprecated=False,
            ),
            node("Rule", uid="elastic:b", vendor="elastic", title="B", deprecated=True),
        ],
    )
    store.write_nodes(
        "Value",
        [node("Value", key="process.name eq python", field="process.name", op="eq")],
    )
    store.write_rels(
        "CHECKS",
        "Rule",
        "Value",
        [
            check("sigma:a", "process.name eq python", modifiers=["endswith"], negated=False),
            check("elastic:b", "process.name eq python", modifiers=[], negated=True),
        ],
    )


def test_schema_lays_every_label_and_type(store: GraphStore) -> None:
    for label in schema.NODE_BY_LABEL:
        assert store.run(f"MATCH (n:{label}) RETURN count(n) AS n") == [{"n": 0}]
    for rel in schema.RELS:
        src, dst = rel.pairs[0]
        query = f"MATCH (:{src})-[r:{rel.name}]->(:{dst}) RETURN count(r) AS n"
        assert store.run(query) == [{"n": 0}]


def test_written_nodes_and_relationships_read_back_as_plain_python(store: GraphStore) -> None:
    write_small_graph(store)
    rows = store.run(
        "MATCH (r:Rule)-[c:CHECKS]->(v:Value) "
        "RETURN r.uid AS uid, r.data_sources AS sources, r.deprecated AS old, "
        "c.modifiers AS mods, c.negated AS negated, v.key AS key ORDER BY uid"
    )
    assert rows == [
        {
            "uid": "elastic:b",
            "sources": None,
            "old": True,
            "mods": [],
            "negated": True,
            "key": "process.name eq python",
        },
        {
            "uid": "sigma:a",
            "sources": ["sysmon"],
            "old": False,
            "mods": ["endswith"],
            "negated": False,
            "key": "process.name eq python",
        },
    ]


def test_sums_are_plain_ints_not_decimals(store: GraphStore) -> None:
    write_small_graph(store)
    rows = store.run("MATCH (r:Rule) RETURN sum(CASE WHEN r.deprecated THEN 1 ELSE 0 END) AS n")
    assert rows == [{"n": 1}] and type(rows[0]["n"]) is int


def test_nodes_come_back_as_dicts_with_label_and_every_column(store: GraphStore) -> None:
    write_small_graph(store)
    (row,) = store.run("MATCH (v:Value) RETURN v")
    value = row["v"]
    assert value["_label"] == "Value" and value["key"] == "process.name eq python"
    assert set(value) == {"_id", "_label", *schema.NODE_BY_LABEL["Value"].columns}
    assert value["value"] is None


def test_parameters_carry_strings_lists_and_bools(store: GraphStore) -> None:
    write_small_graph(store)
    rows = store.run(
        "MATCH (r:Rule) WHERE r.uid IN $uids AND ($with_old OR NOT r.deprecated) "
        "RETURN r.uid AS uid",
        {"uids": ["sigma:a", "elastic:b"], "with_old": False},
    )
    assert rows == [{"uid": "sigma:a"}]


def test_a_bad_query_is_a_store_error_naming_the_query(store: GraphStore) -> None:
    with pytest.raises(StoreError, match="query broken_one"):
        store.run("// name: broken_one\nMATCH (r:Rule) RETURN r.uid AS uid, nowhere")


def test_a_relationship_to_a_missing_node_is_refused(store: GraphStore) -> None:
    write_small_graph(store)
    with pytest.raises(StoreError):
        store.write_rels("CHECKS", "Rule", "Value", [check("sigma:a", "no such value")])


def test_rows_with_columns_the_schema_lacks_are_refused(store: GraphStore) -> None:
    with pytest.raises(StoreError, match="colour"):
        store.write_nodes("Field", [{"name": "x", "mapped": True, "colour": "red"}])


def test_a_pair_the_schema_does_not_declare_is_refused(store: GraphStore) -> None:
    with pytest.raises(StoreError, match="does not join"):
        store.write_rels("CHECKS", "Value", "Rule", [])


def test_reset_empties_the_store(store: GraphStore) -> None:
    write_small_graph(store)
    store.reset()
    assert store.run("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]


def test_describe_query_prefers_the_header_name() -> None:
    assert describe_query("// name: card_rules\nMATCH (n) RETURN n") == "query card_rules"
    assert describe_query("\nMATCH (n)\nRETURN n") == "query 'MATCH (n)'"


def test_embedded_read_only_refuses_writes_and_allows_two_readers(tmp_path) -> None:
    path = tmp_path / "g.lbug"
    writer = EmbeddedStore(path)
    writer.reset()
    write_small_graph(writer)
    writer.close()
    first, second = EmbeddedStore(path, read_only=True), EmbeddedStore(path, read_only=True)
    try:
        assert first.run("MATCH (r:Rule) RETURN count(r) AS n") == [{"n": 2}]
        assert second.run("MATCH (r:Rule) RETURN count(r) AS n") == [{"n": 2}]
        with pytest.raises(StoreError, match="read-only"):
            first.reset()
        with pytest.raises(StoreError):
            first.run("MATCH (r:Rule) SET r.title = 'x' RETURN r.uid")
    finally:
        first.close()
        second.close()


def test_embedded_read_only_on_a_missing_file_says_build_first(tmp_path) -> None:
    with pytest.raises(StoreError, match="build it first"):
        EmbeddedStore(tmp_path / "absent.lbug", read_only=True)


def test_open_store_defaults_to_the_embedded_path(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KG_DB", str(tmp_path / "default.lbug"))
    opened = open_store()
    try:
        assert opened.name == "embedded"
        assert str(settings.embedded_path()) == str(tmp_path / "default.lbug")
    finally:
        opened.close()


def neo4j_or_skip() -> tuple[str, str, str]:
    uri, user, password = settings.neo4j_settings()
    if not uri or not password:
        pytest.skip("NEO4J_URI and NEO4J_PASSWORD are not set: no Neo4j server to test against")
    return uri, user, password


@pytest.mark.neo4j
def test_neo4j_wrong_password_is_one_clear_line() -> None:
    uri, user, password = neo4j_or_skip()
    with pytest.raises(StoreAuthError) as caught:
        open_store(uri, user, password + "-wrong")
    message = str(caught.value)
    assert "\n" not in message and uri in message and "password" in message


@pytest.mark.neo4j
def test_neo4j_unreachable_names_the_uri() -> None:
    neo4j_or_skip()
    with pytest.raises(StoreError, match="bolt://127.0.0.1:9") as caught:
        open_store("bolt://127.0.0.1:9", "neo4j", "irrelevant")
    assert not isinstance(caught.value, StoreAuthError)


@pytest.mark.neo4j
def test_neo4j_canned_reads_cannot_write() -> None:
    uri, user, password = neo4j_or_skip()
    opened = open_store(uri, user, password)
    try:
        with pytest.raises(StoreError):
            opened.run("CREATE (n:Field {name: 'written by a read'}) RETURN n.name AS name")
    finally:
        opened.close()
