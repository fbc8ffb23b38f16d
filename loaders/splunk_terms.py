"""SPL search terms (``field=value``, ``IN``, ``NOT``, ``OR``...) into a condition tree.

Used by the first stage of a search, ``| search`` and ``tstats ... where``.
Values match case-insensitively unless wrapped in ``CASE()``; ``*`` is the only
wildcard, so a literal ``?`` is escaped in the kg glob.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError

from kg.model import And, Comparison, Condition, Not, Op, Or

SUBSEARCH_MARK = "__kg_subsearch__"
_IN_TAIL = re.compile(r"\s+in\s*\($", re.IGNORECASE)

# time bounds and tstats node selectors narrow the events, they test no field
_NOT_FIELDS = frozenset(
    {
        "earliest", "latest", "starthoursago", "endhoursago", "startdaysago", "enddaysago",
        "startminutesago", "endminutesago", "starttime", "endtime", "timeformat", "nodename",
        "_index_earliest", "_index_latest",
    }
)  # fmt: skip


class TermsError(Exception):
    """The text is not SPL search terms kg can read."""


def _always_raw(_field: str) -> bool:
    return False


def unquote(text: str) -> str:
    """A quoted SPL string without its quotes, ``\\\\`` and ``\\"`` resolved."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in '\\"':
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def join(kind: type[And | Or], items: Sequence[Condition | None]) -> Condition | None:
    """And/Or of the children that exist; one child stands alone, none is None."""
    kept: list[Condition] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, kind):
            kept.extend(item.children)
        else:
            kept.append(item)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else kind(tuple(kept))


def negate(item: Condition | None) -> Condition | None:
    return None if item is None else Not(item)


def glob_of(value: str) -> str:
    """An SPL wildcard value as a kg glob: ``*`` stays, a literal ``?`` is escaped."""
    return value.replace("?", "[?]")


def value_comparison(
    field: str, op: str, value: str, case_sensitive: bool, derived: bool
) -> Condition | None:
    """``field <op> value`` as SPL search reads it."""
    if field.casefold() in _NOT_FIELDS:
        return None
    if op in ("<", ">", "<=", ">="):
        return Comparison(field, Op.RANGE, f"{op}{value}", op, (), case_sensitive, derived)
    native = "!=" if op == "!=" else "="
    if value == "*":
        cmp = Comparison(field, Op.EXISTS, "", native, (), case_sensitive, derived)
    elif "*" in value:
        cmp = Comparison(field, Op.WILDCARD, glob_of(value), native, (), case_sensitive, derived)
    else:
        cmp = Comparison(field, Op.EQ, value, native, (), case_sensitive, derived)
    return Not(cmp) if op == "!=" else cmp


def _value(token: Token) -> tuple[str, bool]:
    """The human value of a value token, and whether it matches case-sensitively."""
    text = str(token)
    if token.type == "CASE_VALUE":
        inner = text[text.index("(") + 1 : -1]
        return unquote(inner), text.upper().startswith("CASE")
    return unquote(text), False


@v_args(inline=True)
class _ToCondition(Transformer[Token, Condition | None]):
    def __init__(self) -> None:
        super().__init__()
        # set per parse: the transformer runs inside the LALR parser (no tree is built)
        self.is_derived: Callable[[str], bool] = _always_raw

    def start(self, conj: Condition | None = None) -> Condition | None:
        return conj

    def and_(self, left: Condition | None, *rest: Any) -> Condition | None:
        right: Condition | None = rest[-1]  # ``conj AND? disj``: the AND token is optional
        return join(And, [left, right])

    def or_(self, left: Condition | None, _op: Token, right: Condition | None) -> Condition | None:
        # a branch kg cannot read (a subsearch) would widen the OR: keep what is readable
        return join(Or, [left, right])

    def not_(self, _op: Token, child: Condition | None) -> Condition | None:
        return negate(child)

    def value(self, token: Token) -> Token:
        return token

    def compare(self, field_op: Token, token: Token) -> Condition | None:
        text = str(field_op).rstrip()
        op = text[-2:] if text[-2:] in ("!=", "<=", ">=", "==") else text[-1]
        field = text[: -len(op)].strip().strip('"')
        value, case_sensitive = _value(token)
        op = "=" if op == "==" else op
        return value_comparison(field, op, value, case_sensitive, self.is_derived(field))

    def empty(self) -> None:
        return None

    def in_list(self, field_in: Token, *values: Token) -> Condition | None:
        field = _IN_TAIL.sub("", str(field_in)).strip('"')
        # security_content has stray commas in lists: IN (,"a","b",)
        items = [unquote(str(v)) for v in values if v.type != "COMMA"]
        derived = self.is_derived(field)
        return join(Or, [value_comparison(field, "=", v, False, derived) for v in items])

    def term(self, token: Token) -> Condition | None:
        value, case_sensitive = _value(token)
        if value in ("*", SUBSEARCH_MARK, ""):
            return None
        return Comparison(None, Op.MATCH, value, "term", (), case_sensitive, False)


def parse_terms(text: str, is_derived: Callable[[str], bool]) -> Condition | None:
    """Search terms as a condition tree (None when they test nothing)."""
    parser, transformer = _parser()
    transformer.is_derived = is_derived
    try:
        # typed as returning a Tree, but an inline transformer's result comes back instead
        return cast(Condition | None, parser.parse(text))
    except LarkError as exc:
        raise TermsError(str(exc).splitlines()[0]) from exc
    finally:
        transformer.is_derived = _always_raw


@cache
def _parser() -> tuple[Lark, _ToCondition]:
    grammar = (Path(__file__).parent / "grammars" / "spl_search.lark").read_text("utf-8")
    transformer = _ToCondition()
    return Lark(grammar, parser="lalr", transformer=transformer), transformer
