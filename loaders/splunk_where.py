"""SPL ``where`` expressions into a condition tree.

``where`` is eval syntax: a bare word is a field, a quoted string a constant,
and comparisons are case-sensitive (``==`` and ``=`` alike).  What kg reads:
field against constant (``= == != < > <= >=``), ``like()`` / ``LIKE`` (SQL
``%`` and ``_`` become the glob's ``*`` and ``?``), ``match()`` (regex),
``cidrmatch()``, ``isnull()`` / ``isnotnull()``, ``in()`` / ``IN``, and
``lower(f)`` / ``upper(f)`` compared with a constant, read as a case-insensitive
test of ``f``.  Anything else (arithmetic, field against field, other
functions) tests nothing kg can name and is dropped with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError

from kg.model import And, Comparison, Condition, Not, Op, Or
from kg.normalise import escape_glob

from .splunk_terms import TermsError, join, negate, unquote


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    folded: bool = False  # seen through lower()/upper()


@dataclass(frozen=True, slots=True)
class Const:
    value: str
    number: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Opaque:
    """An expression kg does not read (arithmetic, concatenation...)."""


def like_to_glob(pattern: str) -> str:
    """SQL LIKE → kg glob: ``%`` → ``*``, ``_`` → ``?``, literal ``*``/``?`` escaped."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(pattern[i + 1])
            i += 2
            continue
        out.append("*" if ch == "%" else "?" if ch == "_" else escape_glob(ch))
        i += 1
    return "".join(out)


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "==": "==", "!=": "!="}


class _Reader:
    """Turns the parsed expression into conditions, counting what it drops."""

    def __init__(self, is_derived: Callable[[str], bool]) -> None:
        self.is_derived = is_derived
        self.notes: list[str] = []

    def _cmp(self, field: Field, op: Op, value: str, native: str, sensitive: bool) -> Comparison:
        derived = self.is_derived(field.name)
        return Comparison(
            field.name, op, value, native, (), sensitive and not field.folded, derived
        )

    def compare(self, left: object, op: str, right: object) -> Condition | None:
        if isinstance(left, Const) and isinstance(right, Field):
            left, right, op = right, left, _FLIP[op]
        if not (isinstance(left, Field) and isinstance(right, Const)):
            self.notes.append("where: comparison kg cannot read")
            return None
        if op in ("<", ">", "<=", ">="):
            return self._cmp(left, Op.RANGE, f"{op}{right.value}", op, False)
        cmp = self._cmp(left, Op.EQ, right.value, op, not right.number)
        return negate(cmp) if op == "!=" else cmp

    def like(self, subject: object, pattern: object) -> Condition | None:
        if not (isinstance(subject, Field) and isinstance(pattern, Const)):
            self.notes.append("where: like() kg cannot read")
            return None
        return self._cmp(subject, Op.WILDCARD, like_to_glob(pattern.value), "like", True)

    def call(self, call: Call) -> Condition | None:
        name, args = call.name.lower(), call.args
        fields = [a for a in args if isinstance(a, Field)]
        consts = [a for a in args if isinstance(a, Const)]
        if name == "like" and len(args) == 2:
            return self.like(args[0], args[1])
        if name == "match" and len(args) == 2 and fields and consts:
            return self._cmp(fields[0], Op.REGEX, consts[0].value, "match", True)
        if name == "cidrmatch" and len(args) == 2 and fields and consts:
            return self._cmp(fields[0], Op.CIDR, consts[0].value, "cidrmatch", False)
        if name in ("isnull", "isnotnull") and len(args) == 1 and fields:
            cmp = self._cmp(fields[0], Op.EXISTS, "", name, False)
            return negate(cmp) if name == "isnull" else cmp
        if name == "in" and args and isinstance(args[0], Field):
            return self.members(args[0], list(args[1:]))
        if name == "searchmatch":
            self.notes.append("where: searchmatch() kept opaque")
            return None
        self.notes.append(f"where: function {name}() kg cannot read")
        return None

    def members(self, subject: object, values: list[object]) -> Condition | None:
        if not isinstance(subject, Field) or not all(isinstance(v, Const) for v in values):
            self.notes.append("where: in() kg cannot read")
            return None
        return join(Or, [self.compare(subject, "==", v) for v in values])

    def truth(self, node: object) -> Condition | None:
        """A sub-expression used as a condition (a bare call, a bare field...)."""
        if node is None or isinstance(node, (And, Or, Not, Comparison)):
            return node
        if isinstance(node, Call):
            return self.call(node)
        self.notes.append("where: operand kg cannot read")
        return None


@v_args(inline=True)
class _Build(Transformer[Token, Condition | None]):
    def __init__(self) -> None:
        super().__init__()
        # set per parse: the transformer runs inside the LALR parser (no tree is built)
        self.r = _Reader(lambda _field: False)

    def start(self, expr: object) -> Condition | None:
        return self.r.truth(expr)

    def or_(self, left: object, _op: Token, right: object) -> Condition | None:
        return join(Or, [self.r.truth(left), self.r.truth(right)])

    def and_(self, left: object, _op: Token, right: object) -> Condition | None:
        return join(And, [self.r.truth(left), self.r.truth(right)])

    def not_(self, _op: Token, child: object) -> Condition | None:
        return negate(self.r.truth(child))

    def binop(self, left: object, op: Token, right: object) -> Condition | None:
        return self.r.compare(left, str(op), right)

    def like_op(self, left: object, _op: Token, right: object) -> Condition | None:
        return self.r.like(left, right)

    def in_op(self, left: object, _op: Token, args: list[object]) -> Condition | None:
        return self.r.members(left, list(args))

    def arith(self, *_parts: object) -> Opaque:
        return Opaque()

    def negate(self, operand: object) -> Const | Opaque:
        if isinstance(operand, Const) and operand.number:
            return Const(f"-{operand.value}", True)
        return Opaque()

    def number(self, token: Token) -> Const:
        return Const(str(token), True)

    def string(self, token: Token) -> Const:
        return Const(unquote(str(token)))

    def field(self, token: Token) -> Field:
        return Field(str(token).strip("'"))

    def call(self, name: Token, args: list[object] | None = None) -> Field | Call:
        values = tuple(args) if args is not None else ()
        lowered = str(name).lower()
        if lowered in ("lower", "upper") and len(values) == 1 and isinstance(values[0], Field):
            return Field(values[0].name, folded=True)
        return Call(lowered, values)

    def args(self, *items: object) -> list[object]:
        return list(items)


def parse_where(text: str, is_derived: Callable[[str], bool]) -> tuple[Condition | None, list[str]]:
    """A ``where`` expression as a condition tree, with notes on what was dropped."""
    parser, build = _parser()
    reader = build.r = _Reader(is_derived)
    try:
        # typed as returning a Tree, but an inline transformer's result comes back instead
        return cast(Condition | None, parser.parse(text)), reader.notes
    except LarkError as exc:
        raise TermsError(str(exc).splitlines()[0]) from exc


@cache
def _parser() -> tuple[Lark, _Build]:
    grammar = (Path(__file__).parent / "grammars" / "spl_eval.lark").read_text("utf-8")
    build = _Build()
    return Lark(grammar, parser="lalr", transformer=build), build
