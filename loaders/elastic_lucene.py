"""Lucene query syntax (one Elastic rule uses it) → condition trees.

``field:value``, ``field:(a OR b)``, ``field:"phrase"``, ``field:/regex/``,
``field:[1 TO 5]`` and ``{..}`` ranges, ``field:>=10``, ``_exists_:field``,
``AND``/``OR``/``NOT`` (also ``&&``, ``||``, ``!``), ``+``/``-`` prefixes and
juxtaposition (Lucene's default operator is OR).  Unlike KQL, ``?`` is a
wildcard.  Lucene wants its operators in capitals; the one rule writes
``(start or process_started)`` meaning OR, so any case is read as an operator
rather than as a search for the word "or".  Matching is recorded as case-insensitive, as for KQL.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Transformer

from kg.model import Comparison, Condition, Op

from .elastic_tree import (
    ParsedQuery,
    QueryParser,
    all_of,
    any_of,
    backslash_glob,
    glob_or_eq,
    negate,
)

GRAMMAR = r"""
start: expr?
?expr: and_expr | expr OR and_expr -> or_ | expr and_expr -> or_
?and_expr: not_expr | and_expr AND not_expr -> and_
?not_expr: NOT not_expr -> not_ | "-" not_expr -> not_ | "+" not_expr | primary
?primary: "(" expr ")"
    | name ":" vexpr -> match
    | name ":" RANGEOP value -> range
    | name ":" BRACKET value "TO" value CLOSE -> between
    | value -> free
name: WORD
?vexpr: value | "(" vor ")"
?vor: vand | vor OR vand -> vor | vor vand -> vor
?vand: vnot | vand AND vnot -> vand
?vnot: NOT vnot -> vnot | value | "(" vor ")"
value: QUOTED -> quoted | REGEX -> regex | WORD -> word

OR.2: /or(?=[\s()]|$)/i | "||"
AND.2: /and(?=[\s()]|$)/i | "&&"
NOT.2: /not(?=[\s()]|$)/i | "!"
RANGEOP: "<=" | ">=" | "<" | ">"
BRACKET: "[" | "{"
CLOSE: "]" | "}"
QUOTED: /"(?:[^"\\]|\\.)*"/s
REGEX: /\/(?:[^\/\\]|\\.)*\//
WORD: /(?:[^\s\\():<>"{}\[\]\/+\-!]|\\.)(?:[^\s\\():<>"{}\[\]\/]|\\.)*/

%import common.WS
%ignore WS
"""


#: a value as the builder hands it on: ``(kind, text)`` for one value, or
#: ``("vor" | "vand" | "vnot", [value trees])`` for a group of values
_ValueTree = tuple[str, Any]


def _value(kind: str, text: str) -> _ValueTree:
    return (kind, text)


def _compare(value: tuple[str, str], name: str | None) -> Condition | None:
    kind, text = value
    if kind == "regex":
        return Comparison(name, Op.REGEX, text[1:-1], ":")
    if kind == "quoted":
        body = re.sub(r"\\(.)", r"\1", text[1:-1])
        return Comparison(name, Op.MATCH if name is None else Op.EQ, body, ":")
    if name == "_exists_":
        return Comparison(text, Op.EXISTS, "", "_exists_")
    if text == "*":
        return Comparison(name, Op.EXISTS, "", ":") if name else None
    return glob_or_eq(name, backslash_glob(text, keep_unknown=False), ":", False)


def _bind(tree: _ValueTree, name: str | None) -> Condition | None:
    kind, payload = tree
    if kind == "vnot":
        return negate(_bind(payload[0], name))
    if kind in ("vor", "vand"):
        parts = [_bind(child, name) for child in payload]
        return any_of(parts) if kind == "vor" else all_of(parts)
    return _compare(tree, name)


class _Builder(Transformer[Token, ParsedQuery]):
    def start(self, items: list[Any]) -> ParsedQuery:
        return ParsedQuery(items[0] if items else None)

    def or_(self, items: list[Any]) -> Condition | None:
        return any_of([i for i in items if not _is_token(i)])

    def and_(self, items: list[Any]) -> Condition | None:
        return all_of([i for i in items if not _is_token(i)])

    def not_(self, items: list[Any]) -> Condition | None:
        return negate(items[-1])

    def vor(self, items: list[Any]) -> _ValueTree:
        return ("vor", [i for i in items if not _is_token(i)])

    def vand(self, items: list[Any]) -> _ValueTree:
        return ("vand", [i for i in items if not _is_token(i)])

    def vnot(self, items: list[Any]) -> _ValueTree:
        return ("vnot", [items[-1]])

    def name(self, items: list[Any]) -> str:
        return re.sub(r"\\(.)", r"\1", str(items[0]))

    def quoted(self, items: list[Any]) -> _ValueTree:
        return _value("quoted", str(items[0]))

    def regex(self, items: list[Any]) -> _ValueTree:
        return _value("regex", str(items[0]))

    def word(self, items: list[Any]) -> _ValueTree:
        return _value("word", str(items[0]))

    def match(self, items: list[Any]) -> Condition | None:
        return _bind(items[1], items[0])

    def range(self, items: list[Any]) -> Comparison:
        name, op, (_kind, text) = items
        return Comparison(name, Op.RANGE, f"{op}{text.strip(chr(34))}", f":{op}")

    def between(self, items: list[Any]) -> Condition | None:
        name, opening, (_k1, low), (_k2, high), closing = items
        lower = Comparison(name, Op.RANGE, f"{'>=' if opening == '[' else '>'}{low}", ":[]")
        upper = Comparison(name, Op.RANGE, f"{'<=' if closing == ']' else '<'}{high}", ":[]")
        return all_of([lower, upper])

    def free(self, items: list[Any]) -> Condition | None:
        return _compare(items[0], None)


def _is_token(item: object) -> bool:
    return isinstance(item, Token)


_PARSER = QueryParser(GRAMMAR, _Builder)


def parse(query: str) -> ParsedQuery:
    """One Lucene query; raises QuerySyntaxError naming the line and column."""
    return _PARSER(query)
