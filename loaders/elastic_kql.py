"""Kibana Query Language (``kuery``) → condition trees.

``field : value``, ``field : (a or b and not c)``, ``field : *`` (exists),
``field >= 10`` (range), ``field : { nested query }`` (fields relative to the
nested path), ``not``/``and``/``or`` in any case, parentheses, and free text
without a field (a ``match`` with no field).  A quoted value is a phrase: its
``*`` is a literal star.  An unquoted value's ``*`` is a wildcard, ``?`` is
not one, and a backslash escapes the next character (``\\:`` ``\\\\`` ``\\*``).

KQL matches keyword fields exactly and text fields by analysis; which is which
depends on the index mapping, which a rule does not carry.  kg records every
KQL comparison as case-insensitive, the common reading in the corpora.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Transformer

from kg.model import And, Comparison, Condition, Not, Op, Or

from .elastic_tree import (
    ParsedQuery,
    QueryParser,
    all_of,
    any_of,
    glob_or_eq,
    negate,
    prefix_fields,
)

GRAMMAR = r"""
start: expr?
?expr: and_expr | expr OR and_expr -> or_
?and_expr: not_expr | and_expr AND not_expr -> and_
?not_expr: NOT not_expr -> not_ | primary
?primary: "(" expr ")"
    | name ":" vexpr -> match
    | name RANGEOP value -> range
    | name ":" "{" expr "}" -> nested
    | value -> free
name: WORD
?vexpr: value | "(" vor ")"
?vor: vand | vor OR vand -> or_
?vand: vnot | vand AND vnot -> and_
?vnot: NOT vnot -> not_ | value | "(" vor ")"
value: QUOTED -> quoted | WORD+ -> words

OR.2: /or(?=[\s()]|$)/i
AND.2: /and(?=[\s()]|$)/i
NOT.2: /not(?=[\s()]|$)/i
RANGEOP: "<=" | ">=" | "<" | ">"
QUOTED: /"(?:[^"\\]|\\.)*"/s
WORD: /(?:[^\s\\():<>"{}]|\\.)+/s

%import common.WS
%ignore WS
"""

_QUOTED_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.S)


def _unquote(token: str) -> str:
    def repl(match: re.Match[str]) -> str:
        body = match.group(1)
        if len(body) == 5:
            return chr(int(body[1:], 16))
        return _QUOTED_ESCAPES.get(body, body)

    return _ESCAPE.sub(repl, token[1:-1])


def _unquoted_glob(text: str) -> str:
    """An unquoted KQL value as a kg glob: ``*`` wild, ``?`` literal, ``\\`` escapes."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            ch = text[i + 1]
            out.append(f"[{ch}]" if ch in "*?" else ch)
            i += 2
            continue
        out.append("[?]" if ch == "?" else ch)
        i += 1
    return "".join(out)


def _unescape_name(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class _Value:
    """A KQL value before it meets its field."""

    __slots__ = ("text", "quoted")

    def __init__(self, text: str, quoted: bool) -> None:
        self.text = text
        self.quoted = quoted

    def compare(self, name: str | None) -> Condition | None:
        if self.quoted:
            op = Op.MATCH if name is None else Op.EQ
            return Comparison(name, op, self.text, ":")
        if self.text == "*":
            return Comparison(name, Op.EXISTS, "", ":") if name not in (None, "*") else None
        glob = _unquoted_glob(self.text)
        if name is None:
            return Comparison(None, Op.MATCH, glob.replace("[*]", "*").replace("[?]", "?"), ":")
        return glob_or_eq(name, glob, ":", False)


#: boolean structure as the builder hands it on: ``("or" | "and" | "not", [children])``
_Tree = tuple[str, list[Any]]


def _bind(tree: _Value | _Tree, name: str | None) -> Condition | None:
    """A value expression (``(a or not b)``) bound to its field."""
    if isinstance(tree, _Value):
        return tree.compare(name)
    kind, children = tree
    if kind == "not":
        return negate(_bind(children[0], name))
    parts = [_bind(child, name) for child in children]
    return any_of(parts) if kind == "or" else all_of(parts)


class _Builder(Transformer[Token, ParsedQuery]):
    """Lark callbacks: values stay unbound until ``match`` gives them a field."""

    def start(self, items: list[Any]) -> ParsedQuery:
        return ParsedQuery(_bind_all(items[0]) if items else None)

    def or_(self, items: list[Any]) -> _Tree:
        return ("or", [items[0], items[2]])

    def and_(self, items: list[Any]) -> _Tree:
        return ("and", [items[0], items[2]])

    def not_(self, items: list[Any]) -> _Tree:
        return ("not", [items[1]])

    def name(self, items: list[Any]) -> str:
        return _unescape_name(str(items[0]))

    def quoted(self, items: list[Any]) -> _Value:
        return _Value(_unquote(str(items[0])), True)

    def words(self, items: list[Any]) -> _Value:
        return _Value(" ".join(str(t) for t in items), False)

    def match(self, items: list[Any]) -> Condition | None:
        name, value = items
        return _bind(value, name)

    def range(self, items: list[Any]) -> Comparison:
        name, op, value = items
        text = value.text if value.quoted else re.sub(r"\\(.)", r"\1", value.text)
        return Comparison(name, Op.RANGE, f"{op}{text}", str(op))

    def nested(self, items: list[Any]) -> Condition | None:
        name, inner = items
        return prefix_fields(_bind_all(inner), name)

    def free(self, items: list[Any]) -> Condition | None:
        value: _Value = items[0]
        return value.compare(None)


def _bind_all(tree: object) -> Condition | None:
    """The query-level boolean structure, whose leaves are already conditions."""
    if isinstance(tree, tuple) and len(tree) == 2 and tree[0] in ("or", "and", "not"):
        kind, children = tree
        parts = [_bind_all(child) for child in children]
        if kind == "not":
            return negate(parts[0])
        return any_of(parts) if kind == "or" else all_of(parts)
    return tree if isinstance(tree, Comparison | And | Or | Not) else None


_PARSER = QueryParser(GRAMMAR, _Builder)


def parse(query: str) -> ParsedQuery:
    """One KQL query; raises QuerySyntaxError naming the line and column."""
    return _PARSER(query)
