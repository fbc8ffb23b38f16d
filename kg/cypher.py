"""Canned queries from ``cypher/`` and the one place where Cypher dialects are translated.

A canned query is one ``.cypher`` file in the folder ``cypher/`` at the top of the
checkout, installed as the data package :data:`PACKAGE`.  Its header is a block of ``//``
comment lines::

    // name: technique_rules
    // params: technique (string) — ATT&CK id, e.g. T1059.006; include_deprecated (bool)
    // row: one rule that DETECTS the technique: vendor, uid, title, ...
    //      (an indented comment line continues the key above it)

``params`` items are separated by ``,`` or ``;`` outside parentheses; the parenthesis
holds a type (string, bool, int, float, list) or, when it is not a type word, a short
description.  ``params: none`` declares none.  Loading checks that the ``$parameters``
the body uses and the ones the header declares are the same.

The canonical dialect is Neo4j 5 Cypher: a query runs unchanged on Neo4j and in Neo4j
Browser.  :func:`translate` rewrites it for the embedded engine (LadybugDB, a Kùzu
fork), outside string literals:

* comments are removed;
* list indexes and slices are 0-based on Neo4j and 1-based on the embedded engine:
  ``xs[0]`` → ``xs[1]``, ``xs[$i]`` → ``xs[$i + 1]``, ``xs[2..5]`` → ``xs[3..5]``
  (``xs[..n]`` and negative positions mean the same on both);
* ``type(r)`` → ``label(r)``; ``labels(n)`` → ``[label(n)]`` (embedded nodes carry one
  label, and the list form keeps ``labels(n)[0]`` working);
* ``toString``/``toInteger``/``toFloat``/``split`` → ``to_string``/``to_int64``/
  ``to_double``/``string_split``; ``head(xs)``/``last(xs)`` → a guarded index (null on
  an empty list, as on Neo4j); ``isEmpty(xs)`` → ``size(xs) = 0``; one-argument
  ``round(x)`` → ``round(x, 0)``; ``substring(s, start[, n])`` shifts ``start`` by one;
* list comprehensions ``[x IN xs WHERE p | e]`` → ``list_transform(list_filter(...))``;
* ``WITH ... ORDER BY ...`` without ``SKIP``/``LIMIT`` gets ``SKIP 0``, which the
  embedded engine requires.

Not translatable, so not allowed in ``cypher/``: ``reduce``, ``CALL { }`` subqueries,
``id``/``elementId``, ``reverse``, and relying on the order of ``collect()`` (the
embedded engine does not keep a ``WITH ... ORDER BY`` order inside ``collect``).
Reserved words (``end``, ``any``, ``desc``...) cannot be variable names on the embedded
engine; ``MATCH (a {..}), (b {..})`` with a comma is a cross product on both.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from kg.errors import QueryError

log = logging.getLogger(__name__)

#: The installed package holding the ``.cypher`` files.  It cannot be ``kg.cypher``: that
#: name is this module, and a package of the same name would hide it in a wheel install.
PACKAGE = "kg.queries"
DIALECTS = ("neo4j", "embedded")

_TYPE_WORDS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "str": str,
    "bool": bool,
    "boolean": bool,
    "int": int,
    "integer": int,
    "float": (int, float),
    "number": (int, float),
    "list": list,
    "strings": list,
    "list[string]": list,
    "list of string": list,
    "list of strings": list,
}
_HEADER_KEY = re.compile(r"^//\s?([a-z_]+):\s*(.*)$")
_PARAM_ITEM = re.compile(r"^\s*\$?([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*[—–:-]*\s*(.*)$", re.S)
_PARAM_START = re.compile(r"^\s*\$?[A-Za-z_]\w*\s*(\(|[—–-]|$)")
_SIGIL_TYPED = re.compile(r"\$([A-Za-z_]\w*)\s*\(([^)]*)\)")
_SIGIL_NOTE = re.compile(r"^\s*(\$\w+(?:\s*,\s*\$\w+)*)\s*:\s*(.*)$")
_PARAM_USE = re.compile(r"\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # a key of _TYPE_WORDS, or "" when the header gives none
    description: str = ""


@dataclass(frozen=True)
class CannedQuery:
    """One ``.cypher`` file: its name, Cypher text (header included) and declared params."""

    name: str
    text: str
    params: tuple[Param, ...]
    description: str  # the header's ``row:`` line and any other header text

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def params_text(self) -> str:
        """The params as one line: ``technique (string), limit``."""
        return ", ".join(f"{p.name} ({p.type})" if p.type else p.name for p in self.params)

    @property
    def row_text(self) -> str:
        """What one row means, from the header's ``row:`` line."""
        return _one_line(_header(self.text).get("row", ""))

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``values`` against the declared params; return exactly those."""
        missing = [p.name for p in self.params if p.name not in values]
        extra = sorted(set(values) - set(self.param_names))
        if missing or extra:
            raise QueryError(
                f"{self.name}: missing params {missing or '[]'}, unknown params {extra or '[]'}"
                f" (declared: {', '.join(self.param_names) or 'none'})"
            )
        for param in self.params:
            want = _TYPE_WORDS.get(param.type)
            value = values[param.name]
            bad_bool = want is not bool and isinstance(value, bool)
            if want and value is not None and (not isinstance(value, want) or bad_bool):
                raise QueryError(
                    f"{self.name}: param {param.name} must be {param.type}, "
                    f"got {type(value).__name__}"
                )
        return {name: values[name] for name in self.param_names}


def _root() -> Traversable:
    try:
        return importlib.resources.files(PACKAGE)
    except (ModuleNotFoundError, TypeError):
        # Run from a checkout or an editable install: the folder beside the kg package.
        return Path(__file__).resolve().parents[1] / "cypher"


def names() -> list[str]:
    """The names of all canned queries, sorted."""
    return sorted(
        entry.name[: -len(".cypher")]
        for entry in _root().iterdir()
        if entry.name.endswith(".cypher")
    )


def load(name: str) -> CannedQuery:
    """The canned query ``name`` (file ``cypher/<name>.cypher``)."""
    resource = _root() / f"{name}.cypher"
    if not resource.is_file():
        raise QueryError(f"unknown query {name!r}; known: {', '.join(names())}")
    return parse(name, resource.read_text(encoding="utf-8"))


def resolve(name_or_file: str) -> str:
    """The Cypher text of a canned query name, or of a ``.cypher`` file given by path."""
    path = Path(name_or_file)
    if path.suffix == ".cypher" or len(path.parts) > 1:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise QueryError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return load(name_or_file).text


def parse(name: str, text: str) -> CannedQuery:
    """Read a canned query's header and check it against the body."""
    where = f"cypher/{name}.cypher"
    header = _header(text)
    declared = header.get("name", name).strip()
    if declared != name:
        raise QueryError(f"{where}: header names {declared!r}, file is {name!r}")
    params = _parse_params(where, header.get("params", ""))
    used = set(_PARAM_USE.findall(_strip_comments(_protect(text)[0])))
    names_declared = {p.name for p in params}
    if used != names_declared:
        raise QueryError(
            f"{where}: params used {sorted(used)} but declared {sorted(names_declared)}"
        )
    description = " ".join(
        f"{key}: {_one_line(value)}"
        for key, value in header.items()
        if key not in ("name", "params")
    )
    return CannedQuery(name, text, params, description)


def _header(text: str) -> dict[str, str]:
    """Header keys and their text; continuation lines are kept as separate lines."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("//"):
            break
        match = _HEADER_KEY.match(stripped)
        if match:
            key = match.group(1)
            fields[key] = match.group(2).strip()
        elif key is not None:
            fields[key] = f"{fields[key]}\n{stripped[2:].strip()}"
    return fields


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parse_params(where: str, spec: str) -> tuple[Param, ...]:
    if spec.strip().lower() in ("", "none", "-"):
        return ()
    if "$" in spec:
        return _parse_sigil_params(spec)
    items: list[str] = []
    for line in spec.splitlines():
        for piece in _split_top(line, ",;"):
            # A piece that does not start like "name (", "name —" or a bare name is the rest
            # of the previous description, which may itself hold commas.
            if _PARAM_START.match(piece) or not items:
                items.append(piece)
            elif piece.strip():
                items[-1] = f"{items[-1]},{piece}"
    params = []
    for item in filter(str.strip, items):
        match = _PARAM_ITEM.match(item)
        if not match:
            raise QueryError(f"{where}: cannot read param {item.strip()!r} in the header")
        pname, paren, rest = match.group(1), (match.group(2) or "").strip(), match.group(3)
        ptype = paren.lower() if paren.lower() in _TYPE_WORDS else ""
        desc = " ".join(part for part in (paren if not ptype else "", rest) if part)
        params.append(Param(pname, ptype, _one_line(desc)))
    return tuple(params)


def _parse_sigil_params(spec: str) -> tuple[Param, ...]:
    """Headers that write ``$name (type)`` and explain on ``$a, $b: text`` lines."""
    types = {m.group(1): m.group(2).strip().lower() for m in _SIGIL_TYPED.finditer(spec)}
    notes: dict[str, list[str]] = {}
    current: list[str] = []
    for line in spec.splitlines()[1:]:
        note = _SIGIL_NOTE.match(line)
        if note:
            current = re.findall(r"\$(\w+)", note.group(1))
            for pname in current:
                notes.setdefault(pname, []).append(note.group(2))
        else:
            for pname in current:
                notes[pname].append(line)
    order = dict.fromkeys(re.findall(r"\$(\w+)", spec))
    return tuple(
        Param(
            pname,
            types.get(pname, "") if types.get(pname, "") in _TYPE_WORDS else "",
            _one_line(" ".join(notes.get(pname, []))),
        )
        for pname in order
    )


def _split_top(text: str, separators: str) -> list[str]:
    """Split on separator characters that stand outside (), [] and {}."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in separators and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


@functools.lru_cache(maxsize=512)
def translate(text: str, dialect: str) -> str:
    """Rewrite canonical (Neo4j 5) Cypher for ``dialect``: ``neo4j`` or ``embedded``."""
    if dialect == "neo4j":
        return text
    if dialect != "embedded":
        raise QueryError(f"unknown Cypher dialect {dialect!r}; expected one of {DIALECTS}")
    code, literals = _protect(text)
    code = _strip_comments(code)
    code = _rewrite_indexes(code)
    code = _rewrite_comprehensions(code)
    code = _rewrite_calls(code)
    code = _order_by_needs_skip(code)
    translated = _restore(code, literals).strip()
    log.debug("translated for %s:\n%s", dialect, translated)
    return translated


_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", re.S)
_MARK = "\x00"


def _protect(text: str) -> tuple[str, list[str]]:
    """Replace string literals and quoted names by numbered markers no rewrite touches."""
    literals: list[str] = []

    def keep(match: re.Match[str]) -> str:
        literals.append(match.group(0))
        return f"{_MARK}{len(literals) - 1}{_MARK}"

    # Comments can hold quotes, so a comment is cut before literals are looked for.
    pieces = []
    for line in text.splitlines():
        pieces.append(_cut_line_comment(line))
    return _LITERAL.sub(keep, "\n".join(pieces)), literals


def _cut_line_comment(line: str) -> str:
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
        elif line.startswith("//", i):
            return line[:i]
    return line


def _restore(code: str, literals: list[str]) -> str:
    return re.sub(f"{_MARK}(\\d+){_MARK}", lambda m: literals[int(m.group(1))], code)


def _strip_comments(code: str) -> str:
    return re.sub(r"/\*.*?\*/", " ", code, flags=re.S)


# An index follows a name, a closing bracket or a closing parenthesis with no space;
# a list literal never does, and a relationship pattern starts with '-[' or '[:'.
_INDEX = re.compile(r"(?<=[\w)\]])\[\s*(\d+|\$\w+)\s*\]")
_SLICE = re.compile(r"(?<=[\w)\]])\[\s*(\d+|\$\w+)\s*\.\.")


def _shift(position: str) -> str:
    return str(int(position) + 1) if position.isdigit() else f"{position} + 1"


def _rewrite_indexes(code: str) -> str:
    code = _INDEX.sub(lambda m: f"[{_shift(m.group(1))}]", code)
    return _SLICE.sub(lambda m: f"[{_shift(m.group(1))}..", code)


def _closing(code: str, start: int) -> int:
    """Index of the bracket closing the one opened at ``start``."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] in "([{":
            depth += 1
        elif code[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    raise QueryError(f"unbalanced brackets in Cypher near {code[start : start + 40]!r}")


_COMPREHENSION = re.compile(r"\[\s*([A-Za-z_]\w*)\s+IN\s+", re.I)


def _rewrite_comprehensions(code: str) -> str:
    out, pos = [], 0
    for match in _COMPREHENSION.finditer(code):
        if match.start() < pos:
            continue
        end = _closing(code, match.start())
        var, body = match.group(1), code[match.end() : end]
        source, pred, expr = _comprehension_parts(body)
        source = _rewrite_comprehensions(source)
        result = source
        if pred:
            result = f"list_filter({result}, {var} -> {_rewrite_comprehensions(pred)})"
        if expr:
            result = f"list_transform({result}, {var} -> {_rewrite_comprehensions(expr)})"
        out.append(code[pos : match.start()] + result)
        pos = end + 1
    out.append(code[pos:])
    return "".join(out)


def _comprehension_parts(body: str) -> tuple[str, str, str]:
    depth, where_at, bar_at = 0, -1, -1
    for i, char in enumerate(body):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char == "|" and bar_at < 0:
            bar_at = i
        elif depth == 0 and where_at < 0 and re.match(r"\bWHERE\b", body[i:], re.I):
            if i == 0 or not (body[i - 1].isalnum() or body[i - 1] == "_"):
                where_at = i
    head = body[: bar_at if bar_at >= 0 else len(body)]
    expr = body[bar_at + 1 :].strip() if bar_at >= 0 else ""
    if where_at >= 0 and (bar_at < 0 or where_at < bar_at):
        return head[:where_at].strip(), head[where_at + 5 :].strip(), expr
    return head.strip(), "", expr


def _guarded_index(position: str) -> Callable[[list[str]], str]:
    def build(args: list[str]) -> str:
        xs = args[0]
        return f"(CASE WHEN size({xs}) > 0 THEN ({xs})[{position}] END)"

    return build


def _substring(args: list[str]) -> str:
    if len(args) == 2:
        args = [*args, f"size({args[0]})"]
    return f"substring({args[0]}, ({args[1]}) + 1, {args[2]})"


def _round(args: list[str]) -> str:
    return f"round({', '.join(args if len(args) > 1 else [args[0], '0'])})"


_CALLS: dict[str, Callable[[list[str]], str]] = {
    "type": lambda a: f"label({a[0]})",
    "labels": lambda a: f"[label({a[0]})]",
    "tostring": lambda a: f"to_string({a[0]})",
    "tointeger": lambda a: f"to_int64({a[0]})",
    "tofloat": lambda a: f"to_double({a[0]})",
    "split": lambda a: f"string_split({', '.join(a)})",
    "head": _guarded_index("1"),
    "last": _guarded_index("-1"),
    "isempty": lambda a: f"(size({a[0]}) = 0)",
    "round": _round,
    "substring": _substring,
}
_CALL = re.compile(r"(?<![\w.$:])(" + "|".join(_CALLS) + r")\s*\(", re.I)


def _rewrite_calls(code: str) -> str:
    out, pos = [], 0
    for match in _CALL.finditer(code):
        if match.start() < pos:
            continue
        open_at = match.end() - 1
        end = _closing(code, open_at)
        args = [_rewrite_calls(arg).strip() for arg in _split_top(code[open_at + 1 : end], ",")]
        out.append(code[pos : match.start()] + _CALLS[match.group(1).lower()](args))
        pos = end + 1
    out.append(code[pos:])
    return "".join(out)


_CLAUSE = re.compile(
    r"\b(OPTIONAL\s+MATCH|MATCH|WITH|RETURN|UNWIND|UNION|WHERE|CALL|CREATE|MERGE|SET|"
    r"DELETE|DETACH|REMOVE|ORDER\s+BY|SKIP|LIMIT)\b",
    re.I,
)


def _order_by_needs_skip(code: str) -> str:
    """Add ``SKIP 0`` after a ``WITH ... ORDER BY`` that has neither SKIP nor LIMIT."""
    clauses = [(m.start(), m.group(1).split()[0].upper()) for m in _CLAUSE.finditer(code)]
    inserts = []
    for i, (_, word) in enumerate(clauses):
        if word != "ORDER" or i == 0:
            continue
        owner = _previous_projection(clauses, i)
        following = clauses[i + 1][1] if i + 1 < len(clauses) else None
        if owner == "WITH" and following not in ("SKIP", "LIMIT"):
            inserts.append(clauses[i + 1][0] if following else len(code))
    for at in reversed(inserts):
        code = f"{code[:at].rstrip()} SKIP 0 {code[at:]}"
    return code


def _previous_projection(clauses: list[tuple[int, str]], index: int) -> str | None:
    for _, word in reversed(clauses[:index]):
        if word in ("WITH", "RETURN"):
            return word
    return None
