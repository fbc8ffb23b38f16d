"""Elastic EQL queries → condition trees.

``<category> where <condition>``, ``sequence`` (with ``by``, ``maxspan``,
``runs`` and ``until``) and ``sample``.  A sequence becomes the And of its
steps in step order; its ``by`` fields are its grouping; an ``until`` step is a
negated conjunct (events that cancel the sequence).

Operators, as Elastic documents them: ``==`` and ``!=`` are case-sensitive,
``:`` and every ``~`` variant are not; ``:`` and ``like`` take ``*`` and ``?``
wildcards; ``in``/``like``/``regex`` take a list, read as an Or with one
comparison per value.  ``field != null`` is an exists test.  Functions of one
field and constants become the operator they amount to: ``startsWith`` a glob
``x*``, ``cidrMatch`` a ``cidr`` test; ``length(f) > 3`` is a range on ``f``
with modifier ``length``, flagged derived, as is any other function of a
field.  A field compared with another field is an ``eq`` with modifier
``fieldref`` whose value is the other field's name.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Unpack

from lark import Token, Transformer

from kg.model import And, Comparison, Condition, Not, Op, Or
from kg.normalise import escape_glob

from .elastic_tree import (
    Call,
    ComparisonExtra,
    FieldRef,
    Literal,
    LiteralRules,
    ParsedQuery,
    QueryParser,
    all_of,
    any_of,
    first_field,
    glob_or_eq,
    negate,
)

GRAMMAR = r"""
start: query pipe*
?query: event_query | sequence | sample
pipe: "|" NAME (NAME | NUMBER | STRING | ",")*

event_query: category "where" expr
category: NAME | ANY | STRING

sequence: "sequence" _seq_opt* step+ until_step?
sample: "sample" _seq_opt* step+
_seq_opt: by_clause | maxspan
maxspan: "with" "maxspan" "=" TIMESPAN
by_clause: "by" operand ("," operand)*
step: "[" event_query "]" _step_opt*
    | "!" "[" event_query "]" _step_opt* -> missing_step
_step_opt: by_clause | runs
runs: "with" "runs" "=" NUMBER
until_step: "until" "[" event_query "]" by_clause?

?expr: and_expr | expr "or" and_expr -> or_
?and_expr: not_expr | and_expr "and" not_expr -> and_
?not_expr: "not" not_expr -> not_ | predicate
?predicate: "(" expr ")" | comparison | operand -> bare
comparison: operand CMP rhs -> compare
    | operand SETOP rhs -> compare
    | operand NOT SETOP rhs -> compare_not
?rhs: operand | values
values: "(" operand ("," operand)* ","? ")"
?operand: term | operand ARITH term -> arith | operand ARITH "(" operand ")" -> arith
?term: field | literal | call
field: NAME -> field | BACKQ -> field | OPTFIELD -> optfield
literal: STRING -> string
    | RAWSTRING -> rawstring
    | NUMBER -> number
    | "true" -> true
    | "false" -> false
    | "null" -> null
call: FUNC "(" [operand ("," operand)*] ")"

ANY: "any"
NOT: "not"
CMP: "==" | "!=" | "<=" | ">=" | "<" | ">" | ":"
SETOP: "in~" | "in" | "like~" | "like" | "regex~" | "regex" | ":"
FUNC.2: /(?!(?:not|and|or|in|like|regex|where|by)\b)[A-Za-z_][A-Za-z0-9_]*~?(?=\s*\()/
KW_GUARD: /(?!(?:and|or|not|in|like|regex|where|by|with|until|sequence|sample)(?![\w@.\-]))/
LIT_GUARD: /(?!(?:true|false|null)(?![\w@.\-]))/
NAME: KW_GUARD LIT_GUARD /[A-Za-z_@][A-Za-z0-9_@.\-]*(?:`[^`]*`[A-Za-z0-9_@.\-]*)*/
ARITH: /[-+*\/%]/
BACKQ: /`[^`]+`/
OPTFIELD: /\?[A-Za-z_@`][A-Za-z0-9_@.\-`]*/
STRING.3: /"{3}(?:.|\n)*?"{3}/s | /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/
RAWSTRING.3: /\?"{3}(?:.|\n)*?"{3}/s | /\?"(?:[^"\\\n]|\\.)*"/
NUMBER: /-?\d+(?:\.\d+)?/
TIMESPAN: /\d+(?:\.\d+)?\s*[A-Za-z]*/

COMMENT: /\/\/[^\n]*/ | /\/\*(?:.|\n)*?\*\//s
%import common.WS
%ignore WS
%ignore COMMENT
"""

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "0": "\0"}
_ESCAPE = re.compile(r"\\(.)", re.S)
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!=", ":": ":"}


def _unescape(body: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def _string(token: str) -> str:
    if token.startswith('"""'):
        return token[3:-3]
    return _unescape(token[1:-1])


def _field_name(token: str) -> str:
    return token.replace("`", "").lstrip("?")


#: a sequence step as the builder hands it on: kind, the step's query, its options
_Step = tuple[str, ParsedQuery, list[Any]]


class _Builder(LiteralRules, Transformer[Token, ParsedQuery]):
    """Lark callbacks building kg conditions from EQL; one instance serves every parse."""

    def start(self, items: list[Any]) -> ParsedQuery:
        query: ParsedQuery
        query, *pipes = items
        if pipes:
            notes = tuple(f"eql pipe ignored: {name}" for _kind, name in pipes)
            return dataclasses.replace(query, notes=query.notes + notes)
        return query

    # --- structure ---------------------------------------------------------

    def event_query(self, items: list[Any]) -> ParsedQuery:
        category, condition = items
        return ParsedQuery(condition, categories=(category,) if category != "any" else ())

    def category(self, items: list[Any]) -> str:
        token = items[0]
        return _string(token) if token.type == "STRING" else str(token)

    def by_clause(self, items: list[Any]) -> tuple[str, tuple[str, ...]]:
        return ("by", tuple(_operand_field(op) for op in items if _operand_field(op)))

    def maxspan(self, items: list[Any]) -> tuple[str, str]:
        return ("maxspan", str(items[0]))

    def runs(self, items: list[Any]) -> tuple[str, str]:
        return ("runs", str(items[0]))

    def step(self, items: list[Any]) -> _Step:
        query, *options = items
        return ("step", query, options)

    def until_step(self, items: list[Any]) -> _Step:
        query, *options = items
        return ("until", query, options)

    def missing_step(self, items: list[Any]) -> _Step:
        query, *options = items
        return ("missing", query, options)

    def pipe(self, items: list[Any]) -> tuple[str, str]:
        return ("pipe", str(items[0]))

    def arith(self, items: list[Any]) -> Call:
        left, op, right = items
        return Call(str(op), (left, right))

    def sequence(self, items: list[Any]) -> ParsedQuery:
        return _join_steps(items)

    def sample(self, items: list[Any]) -> ParsedQuery:
        return _join_steps(items)

    # --- conditions --------------------------------------------------------

    def or_(self, items: list[Any]) -> Condition | None:
        return any_of(items)

    def and_(self, items: list[Any]) -> Condition | None:
        return all_of(items)

    def not_(self, items: list[Any]) -> Condition | None:
        return negate(items[0])

    def bare(self, items: list[Any]) -> Condition | None:
        return _bare(items[0])

    def compare(self, items: list[Any]) -> Condition | None:
        left, op, right = items
        return _compare(left, str(op), right)

    def compare_not(self, items: list[Any]) -> Condition | None:
        left, _not, op, right = items
        return negate(_compare(left, str(op), right))

    def values(self, items: list[Any]) -> list[object]:
        return list(items)

    # --- operands ----------------------------------------------------------

    def field(self, items: list[Any]) -> FieldRef:
        return FieldRef(_field_name(items[0]))

    def optfield(self, items: list[Any]) -> FieldRef:
        return FieldRef(_field_name(items[0]), optional=True)

    def string(self, items: list[Any]) -> Literal:
        return Literal("string", _string(items[0]))

    def rawstring(self, items: list[Any]) -> Literal:
        token = str(items[0])[1:]
        return Literal("string", token[3:-3] if token.startswith('"""') else token[1:-1])

    def number(self, items: list[Any]) -> Literal:
        return Literal("number", str(items[0]))

    def call(self, items: list[Any]) -> Call:
        name = str(items[0])
        args = tuple(arg for arg in items[1:] if arg is not None)
        return Call(name.rstrip("~"), args, insensitive=name.endswith("~"))


def _operand_field(operand: object) -> str:
    if isinstance(operand, FieldRef):
        return operand.name
    if isinstance(operand, Call):
        found = first_field(operand.args)
        return found.name if found else ""
    return ""


def _join_steps(items: list[Any]) -> ParsedQuery:
    group_by: list[str] = []
    steps: list[Condition | None] = []
    categories: list[str] = []
    until: Condition | None = None
    for kind, *rest in items:
        if kind == "by":
            group_by.extend(rest[0])
        elif kind in ("step", "until", "missing"):
            query, options = rest
            for option in options:
                if option[0] == "by":
                    group_by.extend(option[1])
            categories.extend(c for c in query.categories if c not in categories)
            if kind == "until":
                until = query.condition
            elif kind == "missing":
                steps.append(negate(query.condition))
            else:
                steps.append(query.condition)
    condition = all_of([*steps, negate(until)])
    return ParsedQuery(condition, tuple(dict.fromkeys(group_by)), tuple(categories))


def _bare(operand: object) -> Condition | None:
    if isinstance(operand, FieldRef):
        return Comparison(operand.name, Op.EQ, "true", "bool")
    if isinstance(operand, Call):
        return _call_predicate(operand)
    if isinstance(operand, Literal):
        return None  # ``any where true``: no test
    return operand if isinstance(operand, Comparison | And | Or | Not) else None


def _call_predicate(call: Call) -> Condition | None:
    """A function used as a test on its own: ``startsWith(f, "x")``."""
    name = call.name.lower()
    target = call.args[0] if call.args else None
    constants = [a.value for a in call.args[1:] if isinstance(a, Literal)]
    if not isinstance(target, FieldRef) or not constants:
        found = first_field(call.args[:1])
        other = first_field(call.args[1:])
        if found is None:
            return None
        if other is not None:  # startsWith~(host.name, user.name): a field against a field
            return Comparison(
                found.name, Op.EQ, other.name, call.name, ("fieldref", name), derived=True
            )
        return Comparison(found.name, Op.MATCH, "", call.name, (name,), derived=True)
    cs = not call.insensitive
    op = call.name + ("~" if call.insensitive else "")
    if name in ("startswith", "endswith", "stringcontains", "wildcard"):
        shape = {
            "startswith": "{}*",
            "endswith": "*{}",
            "stringcontains": "*{}*",
        }.get(name)
        globs = [shape.format(escape_glob(v)) if shape else v for v in constants]
        return any_of([glob_or_eq(target.name, g, op, cs) for g in globs])
    if name == "cidrmatch":
        return any_of([Comparison(target.name, Op.CIDR, v, op) for v in constants])
    return Comparison(target.name, Op.MATCH, ",".join(constants), op, (name,), derived=True)


def _compare(left: object, op: str, right: object) -> Condition | None:
    if isinstance(left, Literal) and not isinstance(right, (Literal, list)):
        left, right, op = right, left, _FLIP.get(op, op)
    if isinstance(right, list):
        return any_of([_compare(left, op, item) for item in right])
    if isinstance(left, Call):
        return _compare_call(left, op, right)
    if not isinstance(left, FieldRef):
        return None  # constant against constant
    if isinstance(right, FieldRef):
        test = Comparison(
            left.name, Op.EQ, right.name, op, ("fieldref",), case_sensitive=op in ("==", "!=")
        )
        return negate(test) if op == "!=" else test
    if isinstance(right, Call):
        found = first_field(right.args)
        value = found.name if found else right.name
        return Comparison(
            left.name, Op.EQ, value, op, ("fieldref", right.name.lower()), derived=True
        )
    if not isinstance(right, Literal):
        raise TypeError(f"cannot compare a field with {type(right).__name__}")
    return _field_literal(left.name, op, right)


def _field_literal(
    name: str, op: str, lit: Literal, **extra: Unpack[ComparisonExtra]
) -> Condition | None:
    if lit.kind == "null":
        exists = Comparison(name, Op.EXISTS, "", op, **extra)
        return exists if op == "!=" else negate(exists)
    value = lit.value
    if op in ("<", "<=", ">", ">="):
        return Comparison(name, Op.RANGE, f"{op}{value}", op, **extra)
    if op == "==":
        return Comparison(name, Op.EQ, value, op, case_sensitive=lit.kind == "string", **extra)
    if op == "!=":
        return negate(Comparison(name, Op.EQ, value, op, case_sensitive=True, **extra))
    if op in ("in", "in~"):
        return Comparison(name, Op.EQ, value, op, case_sensitive=op == "in", **extra)
    if op in ("regex", "regex~"):
        return Comparison(name, Op.REGEX, value, op, case_sensitive=op == "regex", **extra)
    if op in (":", "like", "like~") and lit.kind == "string":
        return glob_or_eq(name, value, op, op == "like", **extra)
    return Comparison(name, Op.EQ, value, op, **extra)


def _compare_call(call: Call, op: str, right: object) -> Condition | None:
    found = first_field(call.args)
    if found is None or not isinstance(right, Literal):
        return None
    name = call.name.lower()
    extra: ComparisonExtra = {"modifiers": (name,), "derived": True}
    if name == "length" and right.kind == "number":
        if op in ("==", ":"):
            return Comparison(found.name, Op.RANGE, f"=={right.value}", op, **extra)
        if op == "!=":
            return negate(Comparison(found.name, Op.RANGE, f"=={right.value}", op, **extra))
    if right.kind == "bool" and name in ("startswith", "endswith", "stringcontains", "cidrmatch"):
        test = _call_predicate(call)
        positive = (right.value == "true") == (op in ("==", ":"))
        return test if positive else negate(test)
    return _field_literal(found.name, op, right, **extra)


_PARSER = QueryParser(GRAMMAR, _Builder)


def parse(query: str) -> ParsedQuery:
    """One EQL query; raises QuerySyntaxError naming the line and column."""
    return _PARSER(query)
