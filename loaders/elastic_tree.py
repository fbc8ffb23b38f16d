"""Pieces the Elastic query parsers (EQL, KQL, ES|QL, Lucene) share.

Each parser turns a query string into a :class:`ParsedQuery`: the condition
tree of native comparisons plus what the query itself says about grouping,
event categories and indices.  Syntax errors become :class:`QuerySyntaxError`
with the line and column inside the query, so the loader can name them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack, cast

from lark import Lark, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kg.errors import KgError
from kg.model import And, Comparison, Condition, Not, Op, Or


class QuerySyntaxError(KgError):
    """A query its grammar rejects; ``line`` and ``column`` count from 1 in the query."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        where = f"line {line} column {column}: " if line else ""
        super().__init__(f"{where}{reason}")


@dataclass(frozen=True)
class ParsedQuery:
    condition: Condition | None
    group_by: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # EQL event categories (``process where``)
    indices: tuple[str, ...] = ()  # ES|QL ``FROM`` patterns
    notes: tuple[str, ...] = ()  # named shortcomings met while reading the query


class ComparisonExtra(TypedDict, total=False):
    """Optional Comparison fields a parser passes through to the comparison it builds."""

    modifiers: tuple[str, ...]
    derived: bool


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # string, number, bool, null
    value: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # as written, without a trailing ``~``
    args: tuple[object, ...]
    insensitive: bool = False  # EQL ``startsWith~``


def syntax_error(
    exc: UnexpectedInput, line_offset: int = 0, col_offset: int = 0
) -> QuerySyntaxError:
    """A lark error as a QuerySyntaxError; offsets place a fragment inside its query."""
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedEOF) or line is None or line < 1:
        return QuerySyntaxError("unexpected end of query")
    if line == 1:
        column = (column or 0) + col_offset
    line += line_offset
    if isinstance(exc, UnexpectedCharacters):
        reason = f"unexpected character {exc.char!r}"
    elif isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        reason = "unexpected end of query"
    elif isinstance(exc, UnexpectedToken):
        reason = f"unexpected {exc.token.type} {str(exc.token)[:40]!r}"
    else:
        reason = type(exc).__name__
    return QuerySyntaxError(reason, line, column)


class QueryParser:
    """A query language's lark LALR parser, built on first use, not at import.

    Calling it parses one whole query into a :class:`ParsedQuery`; a syntax error
    becomes a :class:`QuerySyntaxError` naming the line and column.
    """

    def __init__(self, grammar: str, builder: Callable[[], Transformer[Any, Any]]) -> None:
        self._grammar = grammar
        self._builder = builder
        self._lark: Lark | None = None

    def __call__(self, query: str) -> ParsedQuery:
        if self._lark is None:
            self._lark = Lark(
                self._grammar,
                parser="lalr",
                transformer=self._builder(),
                maybe_placeholders=False,
            )
        try:
            # typed as returning a Tree, but an inline transformer's result comes back instead
            return cast(ParsedQuery, self._lark.parse(query))
        except UnexpectedInput as exc:
            raise syntax_error(exc) from None


def all_of(children: Sequence[Condition | None]) -> Condition | None:
    """And of the children, flattening nested Ands and dropping empty ones."""
    flat: list[Condition] = []
    for child in children:
        if child is None:
            continue
        flat.extend(child.children if isinstance(child, And) else (child,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def any_of(children: Sequence[Condition | None]) -> Condition | None:
    """Or of the children, flattening nested Ors and dropping empty ones."""
    flat: list[Condition] = []
    for child in children:
        if child is None:
            continue
        flat.extend(child.children if isinstance(child, Or) else (child,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def negate(child: Condition | None) -> Condition | None:
    return None if child is None else Not(child)


def has_wildcard(glob: str) -> bool:
    stripped = glob.replace("[*]", "").replace("[?]", "")
    return "*" in stripped or "?" in stripped


def glob_or_eq(
    name: str | None,
    glob: str,
    native_op: str,
    case_sensitive: bool,
    **extra: Unpack[ComparisonExtra],
) -> Comparison:
    """A wildcard comparison, or an eq when the glob holds no wildcard."""
    if has_wildcard(glob):
        return Comparison(
            name, Op.WILDCARD, glob, native_op, case_sensitive=case_sensitive, **extra
        )
    literal = glob.replace("[*]", "*").replace("[?]", "?")
    return Comparison(name, Op.EQ, literal, native_op, case_sensitive=case_sensitive, **extra)


def backslash_glob(pattern: str, marks: str = "*?", keep_unknown: bool = True) -> str:
    """A pattern where ``\\`` escapes the next character, as a kg glob.

    ``marks`` are the pattern's wildcard characters; an escaped mark is a
    literal one.  With ``keep_unknown`` a backslash before any other character
    is kept, because in ES|QL patterns it is almost always a Windows path
    separator written once; without it (Lucene) it escapes that character.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in "*?":
                out.append(f"[{nxt}]")
            elif nxt == "\\":
                out.append("\\")
            else:
                out.append("\\" + nxt if keep_unknown else nxt)
            i += 2
            continue
        if ch in "*?" and ch not in marks:
            out.append(f"[{ch}]")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def map_comparisons(
    node: Condition | None, fn: Callable[[Comparison], Condition]
) -> Condition | None:
    """The tree with every comparison replaced by ``fn(comparison)``."""
    return None if node is None else _map_tree(node, fn)


def _map_tree(node: Condition, fn: Callable[[Comparison], Condition]) -> Condition:
    if isinstance(node, Comparison):
        return fn(node)
    if isinstance(node, Not):
        return Not(_map_tree(node.child, fn))
    kind = type(node)
    return kind(tuple(_map_tree(child, fn) for child in node.children))


def prefix_fields(node: Condition | None, prefix: str) -> Condition | None:
    """KQL nested queries name fields relative to the nested path."""
    return map_comparisons(
        node,
        lambda c: dataclasses.replace(c, field=f"{prefix}.{c.field}" if c.field else prefix),
    )


def first_field(args: tuple[object, ...]) -> FieldRef | None:
    """The first field a function reads, looking inside nested calls."""
    for arg in args:
        if isinstance(arg, FieldRef):
            return arg
        if isinstance(arg, Call):
            found = first_field(arg.args)
            if found:
                return found
    return None


class LiteralRules:
    """Transformer callbacks for the literals EQL and ES|QL share: true, false, null."""

    def true(self, _items: list[Any]) -> Literal:
        return Literal("bool", "true")

    def false(self, _items: list[Any]) -> Literal:
        return Literal("bool", "false")

    def null(self, _items: list[Any]) -> Literal:
        return Literal("null", "")
