"""Each rewrite kg.cypher.translate makes for the embedded engine, and what it leaves alone."""

from __future__ import annotations

import pytest

from kg.cypher import parse, translate
from kg.errors import QueryError


def embedded(text: str) -> str:
    return translate(text, "embedded")


def test_neo4j_dialect_is_the_canonical_text_unchanged() -> None:
    text = "// name: q\nMATCH (n) RETURN labels(n)[0] AS l"
    assert translate(text, "neo4j") == text


def test_unknown_dialect_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="dialect"):
        translate("RETURN 1", "sqlite")


@pytest.mark.parametrize(
    ("neo4j", "expected"),
    [
        ("RETURN xs[0] AS a", "RETURN xs[1] AS a"),
        ("RETURN collect(x)[2] AS a", "RETURN collect(x)[3] AS a"),
        ("RETURN xs[$i] AS a", "RETURN xs[$i + 1] AS a"),
        ("RETURN xs[-1] AS a", "RETURN xs[-1] AS a"),
        ("RETURN xs[2..5] AS a", "RETURN xs[3..5] AS a"),
        ("RETURN xs[..5] AS a", "RETURN xs[..5] AS a"),
        ("RETURN xs[1..] AS a", "RETURN xs[2..] AS a"),
        ("RETURN xs[-2..] AS a", "RETURN xs[-2..] AS a"),
    ],
)
def test_list_positions_become_one_based(neo4j: str, expected: str) -> None:
    assert embedded(neo4j) == expected


def test_variable_length_patterns_and_list_literals_keep_their_numbers() -> None:
    text = "MATCH (a)-[:SUBTECHNIQUE_OF*0..1]->(b) WHERE a.id IN [0] RETURN [1, 2] AS xs"
    assert embedded(text) == text


@pytest.mark.parametrize(
    ("neo4j", "expected"),
    [
        ("RETURN type(r) AS t", "RETURN label(r) AS t"),
        ("RETURN labels(n) AS l", "RETURN [label(n)] AS l"),
        ("RETURN labels(n)[0] AS l", "RETURN [label(n)][1] AS l"),
        ("RETURN toString(1) AS s", "RETURN to_string(1) AS s"),
        ("RETURN toInteger(x) AS s", "RETURN to_int64(x) AS s"),
        ("RETURN toFloat(x) AS s", "RETURN to_double(x) AS s"),
        ("RETURN split(x, ',') AS s", "RETURN string_split(x, ',') AS s"),
        ("RETURN isEmpty(xs) AS e", "RETURN (size(xs) = 0) AS e"),
        ("RETURN round(x) AS r", "RETURN round(x, 0) AS r"),
        ("RETURN round(x, 2) AS r", "RETURN round(x, 2) AS r"),
        ("RETURN substring(s, 1, 2) AS s", "RETURN substring(s, (1) + 1, 2) AS s"),
        ("RETURN substring(s, 1) AS s", "RETURN substring(s, (1) + 1, size(s)) AS s"),
    ],
)
def test_functions_are_renamed_or_rewritten(neo4j: str, expected: str) -> None:
    assert embedded(neo4j) == expected


def test_head_and_last_are_guarded_so_an_empty_list_gives_null() -> None:
    assert embedded("RETURN head(xs) AS h") == (
        "RETURN (CASE WHEN size(xs) > 0 THEN (xs)[1] END) AS h"
    )
    assert embedded("RETURN last(collect(x)) AS h") == (
        "RETURN (CASE WHEN size(collect(x)) > 0 THEN (collect(x))[-1] END) AS h"
    )


def test_nested_calls_are_rewritten_inside_out() -> None:
    assert embedded("RETURN toString(toInteger(x)) AS s") == "RETURN to_string(to_int64(x)) AS s"


def test_property_and_relationship_type_names_are_not_function_calls() -> None:
    text = "MATCH (r:Rule) WHERE r.rule_type = 'eql' RETURN r.type AS t"
    assert embedded(text) == text


def test_list_comprehensions_become_filter_and_transform() -> None:
    assert embedded("RETURN [x IN xs WHERE x > 1 | x * 2] AS ys") == (
        "RETURN list_transform(list_filter(xs, x -> x > 1), x -> x * 2) AS ys"
    )
    assert embedded("RETURN [x IN xs WHERE x > 1] AS ys") == (
        "RETURN list_filter(xs, x -> x > 1) AS ys"
    )
    assert embedded("RETURN [x IN xs | x.name] AS ys") == (
        "RETURN list_transform(xs, x -> x.name) AS ys"
    )


def test_with_order_by_without_limit_gets_skip_zero() -> None:
    assert embedded("MATCH (n) WITH n ORDER BY n.x RETURN collect(n.x) AS xs") == (
        "MATCH (n) WITH n ORDER BY n.x SKIP 0 RETURN collect(n.x) AS xs"
    )
    kept = "MATCH (n) WITH n ORDER BY n.x LIMIT 3 RETURN n.x ORDER BY n.x"
    assert embedded(kept) == kept


def test_strings_and_quoted_names_are_never_rewritten() -> None:
    text = "RETURN 'labels(n)[0] // not a comment' AS s, `type(x)` AS t"
    assert embedded(text) == text


def test_comments_are_removed() -> None:
    text = "// name: q\nMATCH (n) // trailing\n/* block\n comment */ RETURN n"
    assert embedded(text) == "MATCH (n) \n  RETURN n"


def test_header_params_in_both_styles_are_read() -> None:
    plain = parse(
        "q",
        "// name: q\n// params: technique (string) — ATT&CK id, e.g. T1059.006;"
        " include_deprecated (bool)\n// row: one rule\n"
        "MATCH (t {id: $technique}) WHERE $include_deprecated RETURN t",
    )
    assert [(p.name, p.type) for p in plain.params] == [
        ("technique", "string"),
        ("include_deprecated", "bool"),
    ]
    assert plain.params[0].description == "ATT&CK id, e.g. T1059.006"
    sigils = parse(
        "q",
        "// name: q\n// params: $technique (string), $limit (int)\n"
        "//   $limit: how many rows\n// row: one rule\n"
        "MATCH (t {id: $technique}) RETURN t LIMIT $limit",
    )
    assert [(p.name, p.type, p.description) for p in sigils.params] == [
        ("technique", "string", ""),
        ("limit", "int", "how many rows"),
    ]


def test_a_param_used_but_not_declared_fails_at_load() -> None:
    with pytest.raises(QueryError, match="params used"):
        parse("q", "// name: q\n// params: none\nMATCH (t {id: $technique}) RETURN t")


def test_bind_rejects_missing_unknown_and_mistyped_params() -> None:
    query = parse("q", "// name: q\n// params: limit (int)\nMATCH (n) RETURN n LIMIT $limit")
    assert query.bind({"limit": 3}) == {"limit": 3}
    with pytest.raises(QueryError, match="missing"):
        query.bind({})
    with pytest.raises(QueryError, match="unknown params \\['x'\\]"):
        query.bind({"limit": 3, "x": 1})
    with pytest.raises(QueryError, match="must be int"):
        query.bind({"limit": "3"})
