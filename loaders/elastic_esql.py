"""ES|QL queries → condition trees.

The pipeline is split on ``|`` outside strings and comments (plain Python),
then read stage by stage.  ``FROM`` gives the index patterns.  Every ``WHERE``
condition is parsed with a lark grammar; the conditions of all stages are one
And.  Fields the query computes itself are derived: the names an ``EVAL``,
``STATS``, ``DISSECT``, ``GROK``, ``ENRICH`` or ``COMPLETION`` writes, and a
later comparison on one of them has ``derived=True``.  ``RENAME a AS b`` sends
later comparisons on ``b`` back to ``a``.  ``STATS ... BY f`` groups by ``f``.
``KEEP``, ``DROP``, ``SORT``, ``LIMIT``, ``MV_EXPAND`` and ``SAMPLE`` change no
condition; any other command is skipped and named in the notes.

Operators: ``==``/``!=`` and ``LIKE``/``RLIKE`` are case-sensitive unless the
field is wrapped in ``TO_LOWER``/``TO_UPPER`` (then recorded on the field with
that modifier, case-insensitive); ``:`` is ES|QL's full-text match.  ``LIKE``
takes ``*`` and ``?`` with ``\\`` escapes; ``IN`` is an Or of eq; ``IS NOT
NULL`` is an exists test.  Any other function of a field is recorded on its
first field, with the function as modifier, flagged derived.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput

from kg.model import And, Comparison, Condition, Not, Op, Or

from .elastic_tree import (
    Call,
    FieldRef,
    Literal,
    LiteralRules,
    ParsedQuery,
    QuerySyntaxError,
    all_of,
    any_of,
    backslash_glob,
    first_field,
    glob_or_eq,
    map_comparisons,
    negate,
    syntax_error,
)

GRAMMAR = r"""
start: expr
?expr: and_expr | expr OR and_expr -> or_
?and_expr: not_expr | and_expr AND not_expr -> and_
?not_expr: NOT not_expr -> not_ | pred
?pred: sum CMP sum -> compare
    | sum ":" sum -> fulltext
    | sum LIKE pattern -> like
    | sum NOT LIKE pattern -> not_like
    | sum RLIKE pattern -> like
    | sum NOT RLIKE pattern -> not_like
    | sum IN "(" sum ("," sum)* ")" -> in_
    | sum NOT IN "(" sum ("," sum)* ")" -> not_in
    | sum IS NULL -> is_null
    | sum IS NOT NULL -> is_not_null
    | sum
?pattern: STRING | "(" STRING ("," STRING)* ")" -> patterns
?sum: product | sum ADD product -> arith
?product: unary | product MUL unary -> arith
?unary: "-" unary -> neg | atom | atom "::" NAME -> cast
?atom: field | literal | call | map | "(" expr ")"
map: "{" [STRING ":" sum ("," STRING ":" sum)*] "}"
field: NAME | QNAME
literal: STRING -> string
    | NUMBER -> number
    | NUMBER NAME -> timespan
    | TRUE -> true
    | FALSE -> false
    | NULL -> null
    | PARAM -> param
call: NAME "(" [expr ("," expr)*] ")" | NAME "(" "*" ")"

OR.2: /or(?![\w.@])/i
AND.2: /and(?![\w.@])/i
NOT.2: /not(?![\w.@])/i
LIKE.2: /like(?![\w.@])/i
RLIKE.2: /rlike(?![\w.@])/i
IN.2: /in(?![\w.@])/i
IS.2: /is(?![\w.@])/i
NULL.2: /null(?![\w.@])/i
TRUE.2: /true(?![\w.@])/i
FALSE.2: /false(?![\w.@])/i
CMP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD: "+" | "-"
MUL: "*" | "/" | "%"
NAME: /[A-Za-z_@][A-Za-z0-9_@.]*(?:`[^`]*`[A-Za-z0-9_@.]*)*/
QNAME: /`[^`]+`(?:[A-Za-z0-9_@.]|`[^`]*`)*/
PARAM: /\?[A-Za-z_0-9]*/
STRING.3: /"{3}(?:.|\n)*?"{3}/s | /"(?:[^"\\\n]|\\.)*"/
NUMBER: /\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/

%import common.WS
%ignore WS
"""

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)", re.S)
_CASE_FOLDS = ("to_lower", "to_upper")
_PASSIVE = {"keep", "drop", "sort", "limit", "mv_expand", "sample", "lookup", "where", "from"}
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _string(token: str) -> str:
    if token.startswith('"""'):
        return token[3:-3]
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), token[1:-1])


@dataclasses.dataclass(frozen=True, slots=True)
class _Operand:
    """What a comparison's left side reads: a field, perhaps through a function."""

    field: str
    modifiers: tuple[str, ...] = ()
    folded: bool = False  # TO_LOWER / TO_UPPER: the test ignores case
    derived: bool = False


def _target(operand: object) -> _Operand | None:
    if isinstance(operand, FieldRef):
        return _Operand(operand.name)
    if isinstance(operand, Call):
        name = operand.name.lower()
        inner = _target(operand.args[0]) if len(operand.args) == 1 else None
        if name in _CASE_FOLDS and inner:
            return dataclasses.replace(inner, modifiers=inner.modifiers + (name,), folded=True)
        if inner and (name.startswith("to_") or name.startswith("::")):
            # a type conversion still tests the field's own value
            return dataclasses.replace(inner, modifiers=inner.modifiers + (name,))
        found = first_field(operand.args)
        if found:
            return _Operand(found.name, (name,), derived=True)
    return None


def _make(target: _Operand, op: Op, value: str, native: str, cs: bool) -> Comparison:
    return Comparison(
        target.field,
        op,
        value,
        native,
        target.modifiers,
        case_sensitive=cs and not target.folded,
        derived=target.derived,
    )


class _Builder(LiteralRules, Transformer[Token, Condition | None]):
    def start(self, items: list[Any]) -> Condition | None:
        return _condition(items[0])

    def or_(self, items: list[Any]) -> Condition | None:
        return any_of([_condition(items[0]), _condition(items[2])])

    def and_(self, items: list[Any]) -> Condition | None:
        return all_of([_condition(items[0]), _condition(items[2])])

    def not_(self, items: list[Any]) -> Condition | None:
        return negate(_condition(items[1]))

    def compare(self, items: list[Any]) -> Condition | None:
        left, op, right = items
        return _compare(left, str(op), right)

    def fulltext(self, items: list[Any]) -> Condition | None:
        target = _target(items[0])
        if target is None or not isinstance(items[1], Literal):
            return None
        return _make(target, Op.MATCH, items[1].value, ":", False)

    def like(self, items: list[Any]) -> Condition | None:
        left, keyword, pattern = items
        return _like(left, str(keyword).lower(), pattern)

    def not_like(self, items: list[Any]) -> Condition | None:
        left, _not, keyword, pattern = items
        return negate(_like(left, str(keyword).lower(), pattern))

    def patterns(self, items: list[Any]) -> list[Token]:
        return list(items)

    def in_(self, items: list[Any]) -> Condition | None:
        left, _in, *values = items
        return any_of([_compare(left, "==", value, "in") for value in values])

    def not_in(self, items: list[Any]) -> Condition | None:
        left, _not, _in, *values = items
        return negate(any_of([_compare(left, "==", value, "in") for value in values]))

    def is_null(self, items: list[Any]) -> Condition | None:
        target = _target(items[0])
        return negate(_make(target, Op.EXISTS, "", "is null", False)) if target else None

    def is_not_null(self, items: list[Any]) -> Condition | None:
        target = _target(items[0])
        return _make(target, Op.EXISTS, "", "is not null", False) if target else None

    def arith(self, items: list[Any]) -> Call:
        left, op, right = items
        return Call(str(op), (left, right))

    def neg(self, items: list[Any]) -> object:
        item = items[0]
        return Literal("number", f"-{item.value}") if isinstance(item, Literal) else item

    def cast(self, items: list[Any]) -> Call:
        return Call(f"::{items[1]}", (items[0],))

    def field(self, items: list[Any]) -> FieldRef:
        return FieldRef(str(items[0]).replace("`", ""))

    def string(self, items: list[Any]) -> Literal:
        return Literal("string", _string(str(items[0])))

    def number(self, items: list[Any]) -> Literal:
        return Literal("number", str(items[0]))

    def timespan(self, items: list[Any]) -> Literal:
        return Literal("timespan", f"{items[0]} {items[1]}")

    def param(self, items: list[Any]) -> Literal:
        return Literal("param", str(items[0]))

    def map(self, _items: list[Any]) -> Literal:
        return Literal("map", "")

    def call(self, items: list[Any]) -> Call:
        return Call(str(items[0]), tuple(arg for arg in items[1:] if arg is not None))


def _condition(item: object) -> Condition | None:
    """An operand standing alone as a test: a boolean field or function."""
    if isinstance(item, FieldRef):
        return Comparison(item.name, Op.EQ, "true", "bool")
    if isinstance(item, Call):
        return _call_predicate(item)
    if isinstance(item, Literal):
        return None
    return item if isinstance(item, Comparison | And | Or | Not) else None


def _like(left: object, keyword: str, pattern: object) -> Condition | None:
    target = _target(left)
    if target is None:
        return None
    tokens = pattern if isinstance(pattern, list) else [pattern]
    parts = []
    for token in tokens:
        text = _string(str(token))
        if keyword == "rlike":
            parts.append(_make(target, Op.REGEX, text, "rlike", True))
        else:
            glob = backslash_glob(text)
            parts.append(
                glob_or_eq(
                    target.field,
                    glob,
                    "like",
                    not target.folded,
                    modifiers=target.modifiers,
                    derived=target.derived,
                )
            )
    return any_of(parts)


def _compare(left: object, op: str, right: object, native: str = "") -> Condition | None:
    if isinstance(left, Literal) and not isinstance(right, Literal):
        left, right, op = right, left, _FLIP[op]
    target = _target(left)
    if target is None:
        return None
    native = native or op
    if isinstance(right, (FieldRef, Call)):
        other = _target(right)
        value = other.field if other else ""
        test = _make(target, Op.EQ, value, native, True)
        test = dataclasses.replace(test, modifiers=test.modifiers + ("fieldref",))
        return negate(test) if op == "!=" else test
    if not isinstance(right, Literal):
        raise TypeError(f"cannot compare a field with {type(right).__name__}")
    if right.kind == "null":
        return None  # ``x == null`` is never true in ES|QL
    if op in ("<", "<=", ">", ">="):
        return _make(target, Op.RANGE, f"{op}{right.value}", native, False)
    test = _make(target, Op.EQ, right.value, native, right.kind == "string")
    return negate(test) if op == "!=" else test


def _call_predicate(call: Call) -> Condition | None:
    """A boolean function used on its own: ``STARTS_WITH(f, "x")``, ``CIDR_MATCH``..."""
    name = call.name.lower()
    target = _target(call.args[0]) if call.args else None
    constants = [a.value for a in call.args[1:] if isinstance(a, Literal) and a.kind != "map"]
    if target is None:
        return None
    if name in ("match", "match_phrase", "qstr", "kql") and constants:
        return _make(target, Op.MATCH, constants[0], name, False)
    shapes = {"starts_with": "{}*", "ends_with": "*{}", "contains": "*{}*"}
    if name in shapes and constants:
        glob = shapes[name].format(constants[0].replace("*", "[*]").replace("?", "[?]"))
        return glob_or_eq(target.field, glob, name, not target.folded, modifiers=target.modifiers)
    if name == "cidr_match" and constants:
        return any_of([_make(target, Op.CIDR, v, name, False) for v in constants])
    if name == "mv_contains" and constants:
        return _make(target, Op.EQ, constants[0], name, True)
    return Comparison(target.field, Op.MATCH, ",".join(constants), name, (name,), derived=True)


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", transformer=_Builder(), maybe_placeholders=False)


def parse_condition(text: str, line_offset: int = 0, col_offset: int = 0) -> Condition | None:
    try:
        # typed as returning a Tree, but an inline transformer's result comes back instead
        return cast(Condition | None, _parser().parse(text))
    except UnexpectedInput as exc:
        raise syntax_error(exc, line_offset, col_offset) from None


# --- the pipeline ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Stage:
    command: str  # lower case: where, eval, inline stats...
    body: str
    line: int  # 0-based line of the body's start within the query
    column: int  # 0-based column of the body's start on that line


def _blank_comments(query: str) -> str:
    """The query with comments replaced by spaces, keeping every offset."""
    out = list(query)
    i, n = 0, len(query)
    while i < n:
        if query.startswith('"""', i):
            end = query.find('"""', i + 3)
            i = n if end < 0 else end + 3
        elif query[i] == '"':
            i += 1
            while i < n and query[i] not in '"\n':
                i += 2 if query[i] == "\\" else 1
            i += 1
        elif query.startswith("//", i):
            end = query.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out[i:end] = [ch if ch == "\n" else " " for ch in query[i:end]]
            i = end
        else:
            i += 1
    return "".join(out)


def _split_top(text: str, sep: str) -> list[tuple[int, str]]:
    """``text`` split on ``sep`` outside strings, parentheses and braces, with offsets."""
    parts: list[tuple[int, str]] = []
    depth, start, i, n = 0, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith('"""', i):
            end = text.find('"""', i + 3)
            i = n if end < 0 else end + 3
            continue
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append((start, text[start:i]))
            start = i + 1
        i += 1
    parts.append((start, text[start:]))
    return parts


_COMMAND = re.compile(r"\s*(inline\s+stats|lookup\s+join|[A-Za-z_]+)", re.I)


def split_pipeline(query: str) -> list[Stage]:
    clean = _blank_comments(query)
    stages = []
    for offset, text in _split_top(clean, "|"):
        match = _COMMAND.match(text)
        if not match:
            continue
        start = offset + match.end()
        line = clean.count("\n", 0, start)
        column = start - (clean.rfind("\n", 0, start) + 1)
        command = re.sub(r"\s+", " ", match.group(1).lower())
        stages.append(Stage(command, text[match.end() :], line, column))
    return stages


def _assigned(body: str) -> list[str]:
    """The names ``a = ...`` assigns in a comma-separated list."""
    names = []
    for _offset, part in _split_top(body, ","):
        left, eq, _right = part.partition("=")
        if eq and not _right.startswith("="):
            names.append(left.strip().strip("`"))
    return names


_GROK = re.compile(r"%\{[^}:]+:([^}:]+)(?::[^}]*)?\}")
_DISSECT = re.compile(r"%\{[+?&*]?([^}\->]+)(?:->)?\}")
_BY = re.compile(r"\bby\b", re.I)


class _Reader:
    """Walks the stages, tracking derived and renamed fields."""

    def __init__(self) -> None:
        self.derived: set[str] = set()
        self.renamed: dict[str, str] = {}
        self.group_by: list[str] = []
        self.indices: list[str] = []
        self.conditions: list[Condition | None] = []
        self.notes: list[str] = []

    def stage(self, stage: Stage) -> None:
        body = stage.body
        command = stage.command
        if command == "from":
            head = re.split(r"\bmetadata\b", body, maxsplit=1, flags=re.I)[0]
            self.indices += [p.strip().strip('"') for p in head.split(",") if p.strip()]
        elif command == "where":
            tree = parse_condition(body, stage.line, stage.column)
            self.conditions.append(map_comparisons(tree, self._resolve))
        elif command == "eval":
            self.derived.update(_assigned(body))
        elif command in ("stats", "inline stats", "inlinestats"):
            self._stats(body)
        elif command == "dissect":
            self.derived.update(name.strip() for name in _DISSECT.findall(body))
        elif command == "grok":
            self.derived.update(_GROK.findall(body))
        elif command == "rename":
            self._rename(body)
        elif command in ("enrich", "completion"):
            target = body.split(" with ", 1)[-1] if command == "enrich" else body
            self.derived.update(_assigned(target) or ["completion"])
        elif command not in _PASSIVE:
            self.notes.append(f"esql command skipped: {command}")

    def _stats(self, body: str) -> None:
        aggregates, *by = _BY.split(body, maxsplit=1)
        self.derived.update(_assigned(aggregates))
        if by:
            for _offset, part in _split_top(by[0], ","):
                name, eq, _expr = part.partition("=")
                name = name.strip().strip("`")
                if eq:
                    self.derived.add(name)
                if name:
                    self.group_by.append(self.renamed.get(name, name))

    def _rename(self, body: str) -> None:
        for _offset, part in _split_top(body, ","):
            words = part.split()
            if len(words) == 3 and words[1].lower() == "as":
                old, new = words[0].strip("`"), words[2].strip("`")
            elif "=" in part:
                new, old = (w.strip().strip("`") for w in part.split("=", 1))
            else:
                continue
            self.renamed[new] = self.renamed.get(old, old)
            if old in self.derived:
                self.derived.add(new)

    def _resolve(self, comparison: Comparison) -> Comparison:
        name = comparison.field or ""
        if name in self.derived:
            return dataclasses.replace(comparison, derived=True)
        if name in self.renamed:
            return dataclasses.replace(comparison, field=self.renamed[name])
        return comparison


def parse(query: str) -> ParsedQuery:
    """One ES|QL query; raises QuerySyntaxError naming the line and column."""
    reader = _Reader()
    stages = split_pipeline(query)
    if not stages:
        raise QuerySyntaxError("empty query")
    for stage in stages:
        reader.stage(stage)
    return ParsedQuery(
        all_of(reader.conditions),
        group_by=tuple(dict.fromkeys(reader.group_by)),
        indices=tuple(reader.indices),
        notes=tuple(dict.fromkeys(reader.notes)),
    )
