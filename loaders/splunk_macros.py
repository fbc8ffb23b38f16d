"""Splunk search macros: reading security_content's macro YAML and expanding calls.

Splunk expands macros as text before it parses a search, so a macro may stand
for search terms (`` `sysmon` ``), tstats options (`` `security_content_summariesonly` ``)
or whole pipeline stages (`` `security_content_ctime(firstTime)` ``).  A macro
taking arguments is addressed as ``name(N)``; security_content writes the bare
name plus an ``arguments`` list, so both spellings are indexed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from kg.errors import SourceError

log = logging.getLogger(__name__)

MAX_DEPTH = 12

# ```text``` is SPL's inline comment
_COMMENT = re.compile(r"```.*?```", re.DOTALL)
# quoted strings pass through whole, so a backtick inside one is no macro call
_MACRO_SCAN = re.compile(
    r'(?P<quoted>"(?:\\.|[^"\\])*"?)|(?P<call>`[^`]*`)|(?P<tick>`)|(?P<text>(?:\\.|[^"`\\])+|\\)',
    re.DOTALL,
)
_ARITY = re.compile(r"^(?P<name>[^()]+)\((?P<n>\d+)\)$")


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    definition: str
    arguments: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return macro_key(self.name, len(self.arguments))


@dataclass(frozen=True, slots=True)
class Expansion:
    text: str
    notes: tuple[str, ...]  # counted shortcomings: unknown macros, depth limit


def macro_key(name: str, arity: int) -> str:
    return f"{name}({arity})" if arity else name


def _builtin_drop_dm_object_name(args: list[str]) -> str:
    # Splunk ES ships this one: it strips a data-model prefix from field names
    node = args[0].strip().strip('"') if args else ""
    return f"rename {node}.* as *" if node else ""


_BUILTINS = {"drop_dm_object_name(1)": _builtin_drop_dm_object_name}


def read_macro(path: Path, data: bytes) -> Macro:
    """One macro YAML file; raises SourceError naming the file when it is not one."""
    try:
        doc = yaml.load(data, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise SourceError(str(path), f"invalid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise SourceError(str(path), "not a macro: no name")
    name = doc["name"].strip()
    arguments = tuple(str(a) for a in doc.get("arguments") or ())
    match = _ARITY.match(name)
    if match:
        name = match["name"]
    definition = doc.get("definition")
    return Macro(name, "" if definition is None else str(definition), arguments)


def read_macros(folder: Path) -> tuple[dict[str, Macro], list[str]]:
    """Every macro under ``folder`` keyed by ``name`` / ``name(N)``, and the errors met."""
    macros: dict[str, Macro] = {}
    errors: list[str] = []
    for path in sorted(folder.glob("*.yml")):
        try:
            macro = read_macro(path, path.read_bytes())
        except (SourceError, OSError) as exc:
            log.warning("splunk macro skipped: %s", exc)
            errors.append(str(exc))
            continue
        macros[macro.key] = macro
    return macros, errors


def strip_comments(text: str) -> str:
    return _COMMENT.sub(" ", text)


def _split_args(text: str) -> list[str]:
    """Macro arguments: commas outside quotes and parentheses separate them."""
    args: list[str] = []
    depth, quoted, start = 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    args.append(text[start:].strip())
    return args


def _parse_call(call: str) -> tuple[str, list[str]]:
    call = call.strip()
    if call.endswith(")") and "(" in call:
        name, _, rest = call.partition("(")
        return name.strip(), _split_args(rest[:-1])
    return call, []


class _Expander:
    def __init__(self, macros: Mapping[str, Macro]) -> None:
        self.macros = macros
        self.notes: list[str] = []

    def expand(self, text: str, depth: int) -> str:
        if "`" not in text:
            return text
        out: list[str] = []
        for match in _MACRO_SCAN.finditer(text):
            piece = match.group(0)
            if match.lastgroup == "call":
                out.append(" " + self._call(piece[1:-1], depth) + " ")
            else:
                if match.lastgroup == "tick":
                    self.notes.append("unbalanced backtick")
                out.append(piece)
        return "".join(out)

    def _call(self, call: str, depth: int) -> str:
        name, args = _parse_call(call)
        key = macro_key(name, len(args))
        if depth >= MAX_DEPTH:
            self.notes.append("macro depth limit")
            return ""
        macro = self.macros.get(key)
        if macro is None:
            builtin = _BUILTINS.get(key)
            if builtin is not None:
                return builtin(args)
            if name.endswith("_filter"):
                # contentctl generates each detection's filter macro as `search *`
                self.notes.append("filter macro not shipped (empty)")
            else:
                self.notes.append(f"unknown macro: {key}")
            return ""
        body = macro.definition
        for param, value in zip(macro.arguments, args, strict=False):
            body = body.replace(f"${param}$", value)
        return self.expand(body, depth + 1)


def expand(text: str, macros: Mapping[str, Macro]) -> Expansion:
    """``text`` with comments removed and every macro call expanded, recursively."""
    expander = _Expander(macros)
    result = expander.expand(strip_comments(text), 0)
    return Expansion(result, tuple(expander.notes))
