"""An SPL search (macros expanded) into one condition tree, group-by fields and event hints.

The pipeline is split on ``|`` outside quotes and subsearch brackets; each stage
is read by its command.  Filtering stages (the first search, ``| search``,
``tstats``/``mstats ... where``, ``| where``, ``| regex``) contribute a tree;
the rule's condition is the AND of them.  Stages that create fields (``eval``,
``rex``, ``rename``, ``stats``, ``lookup``...) record those fields so later
comparisons on them are marked ``derived``.  Every other command is skipped
and counted in a note; subsearches stay opaque and are counted too, except an
inner ``join``'s, whose filter is ANDed (the join keeps only matching events).

What kg cannot read (a subsearch, ``where len(x) > 100``) tests nothing: an AND
drops it, an OR keeps its readable branches (the rule does test those values),
a NOT of nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kg.model import And, Comparison, Condition, Not, Op

from .splunk_macros import Macro, expand
from .splunk_terms import SUBSEARCH_MARK, TermsError, join, parse_terms
from .splunk_where import parse_where

_DATAMODEL = re.compile(r"datamodel\s*[=:]?\s*\"?([A-Za-z_][\w.]*)", re.IGNORECASE)
_AGG = re.compile(
    r"([A-Za-z_]\w*)(\([^()]*\))?(?:\s+as\s+(\"[^\"]+\"|'[^']+'|[^\s,]+))?", re.IGNORECASE
)
_EVAL_TARGET = re.compile(r"^\s*(\"[^\"]+\"|'[^']+'|[^\s=,\"']+)\s*=(?!=)")
_REX_GROUP = re.compile(r"\(\?P?<([A-Za-z_]\w*)>")
_HINT_FIELDS = {
    "eventcode": "EventCode",
    "eventid": "EventID",
    "sourcetype": "sourcetype",
    "source": "source",
    "eventtype": "eventtype",
}
_AGGREGATIONS = frozenset(
    {"stats", "eventstats", "streamstats", "chart", "timechart", "top", "rare", "sistats"}
)
_IPLOCATION = ("City", "Country", "Region", "lat", "lon")


@dataclass(frozen=True)
class SplReading:
    condition: Condition | None
    group_by: tuple[str, ...]
    event_hints: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    unparsed: tuple[str, ...]  # stages whose filter kg could not parse, with why
    summary: str  # what the search does when it filters on nothing


# a backslash escapes the next character outside quotes too: *\"privileged\":true*
_PIPE_SCAN = re.compile(r'\\.|"(?:\\.|[^"\\])*"?|\[|\]|\||[^"\[\]|\\]+', re.DOTALL)
_WORD_SCAN = re.compile(r'"(?:\\.|[^"\\])*"?|\(|\)|(?:\\.|[^\s"()\\])+|\s+|\\', re.DOTALL)


def split_pipeline(text: str) -> list[str]:
    """Stages of a search, split on ``|`` outside quotes and subsearch brackets.

    The first stage is the implicit search (empty when the text starts with ``|``).
    """
    stages: list[str] = []
    current: list[str] = []
    depth = 0
    for match in _PIPE_SCAN.finditer(text):
        piece = match.group(0)
        if piece == "[":
            depth += 1
        elif piece == "]" and depth:
            depth -= 1
        elif piece == "|" and depth == 0:
            stages.append("".join(current).strip())
            current = []
            continue
        current.append(piece)
    stages.append("".join(current).strip())
    return stages


def hide_subsearches(text: str) -> tuple[str, int]:
    """Top-level ``[...]`` replaced by an opaque mark, and how many there were."""
    out: list[str] = []
    depth, count = 0, 0
    for match in _PIPE_SCAN.finditer(text):
        piece = match.group(0)
        if piece == "[":
            depth += 1
            if depth == 1:
                count += 1
                out.append(f" {SUBSEARCH_MARK} ")
        elif piece == "]" and depth:
            depth -= 1
        elif depth == 0:
            out.append(piece)
    return "".join(out), count


def _top_keywords(text: str, words: tuple[str, ...]) -> list[tuple[int, str]]:
    """Positions of whole keywords outside quotes and parentheses."""
    found: list[tuple[int, str]] = []
    depth = 0
    for match in _WORD_SCAN.finditer(text):
        piece = match.group(0)
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and piece.lower() in words:
            found.append((match.start(), piece.lower()))
    return found


def aggregate_outputs(text: str) -> list[str]:
    """Fields an aggregation creates: ``count``, ``values(x) as y`` → y, ``dc(x)``."""
    names = []
    for match in _AGG.finditer(text):
        func, args, alias = match.groups()
        if alias:
            names.append(alias.strip("\"'"))
        elif args:
            names.append(f"{func}{args}")
        elif func.lower() in ("count", "dc", "sum", "avg", "values", "latest", "earliest"):
            names.append(func)
    return names


def _field_list(text: str) -> list[str]:
    return [f for f in re.split(r"[\s,]+", text) if f and "=" not in f and "(" not in f]


class _Pipeline:
    def __init__(self) -> None:
        self.trees: list[Condition] = []
        self.derived: set[str] = set()
        self.all_derived = False
        self.group_by: list[str] = []
        self.hints: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.unparsed: list[str] = []
        self.summary: list[str] = []

    def is_derived(self, name: str) -> bool:
        return self.all_derived or name in self.derived

    def add(self, tree: Condition | None) -> None:
        if tree is not None:
            self.trees.append(tree)

    def terms(self, command: str, text: str) -> None:
        text, subsearches = hide_subsearches(text)
        if subsearches:
            self.notes.append(f"subsearch kept opaque ({command})")
        if not text.strip():
            return
        try:
            self.add(parse_terms(text, self.is_derived))
        except TermsError as exc:
            self.unparsed.append(f"{command}: {exc}")

    def read(self, text: str) -> None:
        """Run every stage of a pipeline (macros already expanded)."""
        stages = split_pipeline(text)
        first, rest = stages[0], stages[1:]
        if first:
            command, args = _command(first)
            self.terms("search", args if command == "search" else first)
        for stage in rest:
            if stage:
                self.run(*_command(stage))

    def run(self, command: str, args: str) -> None:
        if command in _AGGREGATIONS:
            self.aggregate(command, args)
            return
        handler = getattr(self, f"cmd_{command}", None)
        if handler is None:
            self.notes.append(f"skipped command: {command}")
            return
        handler(args)

    def cmd_search(self, args: str) -> None:
        self.terms("search", args)

    def cmd_join(self, args: str) -> None:
        """An inner join keeps only events its subsearch also finds: its filter is ANDed."""
        start, end = args.find("["), args.rfind("]")
        if start < 0 or end < start:
            self.notes.append("join without subsearch")
            return
        if re.search(r"\btype\s*=\s*\"?(left|outer)", args[:start], re.IGNORECASE):
            self.notes.append("subsearch kept opaque (outer join)")
            return
        inner = _Pipeline()
        inner.read(args[start + 1 : end])
        self.add(join(And, inner.trees))
        self.hints.extend(inner.hints)
        self.notes.extend(inner.notes)
        self.unparsed.extend(f"join {u}" for u in inner.unparsed)

    def cmd_where(self, args: str) -> None:
        try:
            tree, notes = parse_where(args, self.is_derived)
        except TermsError as exc:
            self.unparsed.append(f"where: {exc}")
            return
        self.notes.extend(notes)
        self.add(tree)

    def cmd_regex(self, args: str) -> None:
        match = re.match(r"\s*([\w.{}]+)\s*(!?=)\s*(.+)$", args, re.DOTALL)
        field_name, op, pattern = match.groups() if match else ("_raw", "=", args)
        pattern = pattern.strip()
        if pattern.startswith('"') and pattern.endswith('"'):
            pattern = pattern[1:-1].replace('\\"', '"')
        derived = self.is_derived(field_name)
        cmp = Comparison(field_name, Op.REGEX, pattern, "regex", (), True, derived)
        self.add(Not(cmp) if op == "!=" else cmp)

    def cmd_tstats(self, args: str) -> None:
        self._stats_with_where("tstats", args)

    def cmd_mstats(self, args: str) -> None:
        self._stats_with_where("mstats", args)

    def _stats_with_where(self, command: str, args: str) -> None:
        marks = _top_keywords(args, ("from", "where", "by", "groupby"))
        cut = [i for i, _ in marks] + [len(args)]
        head = args[: cut[0]]
        self.derived.update(aggregate_outputs(head))
        has_where = False
        for (start, word), end in zip(marks, cut[1:], strict=True):
            body = args[start + len(word) : end]
            if word == "from":
                self._datamodel_hint(body)
            elif word == "where":
                has_where = True
                self.terms(command, body)
            elif not self.group_by:
                self.group_by = _field_list(body)
        if not has_where:
            by = f" by {', '.join(self.group_by)}" if self.group_by else ""
            self.summary.append(f"{command} without where{by}")

    def _datamodel_hint(self, text: str) -> None:
        match = _DATAMODEL.search(text)
        if match:
            self.hints.append(("datamodel", match.group(1)))

    def cmd_from(self, args: str) -> None:
        if "datamodel" in args.lower():
            self._datamodel_hint(args)
        else:
            self.notes.append("skipped command: from (not a data model)")

    def cmd_datamodel(self, args: str) -> None:
        words = args.split()
        if len(words) >= 2:
            self.hints.append(("datamodel", f"{words[0]}.{words[1]}"))
        if len(words) > 2 and words[2].lower() != "search":
            self.notes.append("skipped command: datamodel (mode)")

    def cmd_eval(self, args: str) -> None:
        for part in _top_commas(args):
            match = _EVAL_TARGET.match(part)
            if match:
                self.derived.add(match.group(1).strip("\"'"))

    def cmd_rex(self, args: str) -> None:
        self.derived.update(_REX_GROUP.findall(args))

    def cmd_rename(self, args: str) -> None:
        # pairs may be separated by commas or only by spaces: rename a as b c as d
        words = [w.strip("\"'") for w in re.split(r"[\s,]+", args) if w]
        for i in range(1, len(words) - 1):
            if words[i].lower() != "as":
                continue
            old, new = words[i - 1], words[i + 1]
            if old.endswith(".*") and new == "*":
                continue  # drops a data-model prefix: the fields stay what they were
            self.derived.add(new)

    def cmd_lookup(self, args: str) -> None:
        match = re.search(r"\boutput(?:new)?\b(.*)$", args, re.IGNORECASE | re.DOTALL)
        if not match:
            self.notes.append("lookup without OUTPUT: fields unknown")
            return
        words = [w.strip('",') for w in re.split(r"[\s,]+", match.group(1)) if w]
        for i, word in enumerate(words):
            if word.lower() == "as" or (i + 1 < len(words) and words[i + 1].lower() == "as"):
                continue
            self.derived.add(word)

    def cmd_spath(self, args: str) -> None:
        match = re.search(r"\boutput\s*=\s*\"?([\w.{}]+)", args)
        if match:
            self.derived.add(match.group(1))

    def cmd_iplocation(self, _args: str) -> None:
        self.derived.update(_IPLOCATION)

    def cmd_inputlookup(self, _args: str) -> None:
        # rows come from a lookup table, not from events
        self.all_derived = True
        self.summary.append("reads a lookup table")

    def aggregate(self, command: str, args: str) -> None:
        marks = _top_keywords(args, ("by",))
        head = args[: marks[0][0]] if marks else args
        self.derived.update(aggregate_outputs(head))
        if marks and not self.group_by:
            self.group_by = _field_list(args[marks[0][0] + 2 :])
        self.summary.append(command)

    def name_datasets(self) -> None:
        """``datamodel=Network_Resolution`` with fields ``DNS.*`` is Network_Resolution.DNS."""
        prefixes = [f.split(".", 1)[0] for f in self.group_by if "." in f]
        for tree in self.trees:
            prefixes.extend(_field_prefixes(tree))
        if not prefixes:
            return
        self.hints = [
            (kind, f"{value}.{prefixes[0]}" if kind == "datamodel" and "." not in value else value)
            for kind, value in self.hints
        ]

    def hint_walk(self, node: Condition, negated: bool = False) -> None:
        if isinstance(node, Comparison):
            name = (node.field or "").rsplit(".", 1)[-1].casefold()
            kind = _HINT_FIELDS.get(name)
            if kind and not negated and not node.derived and node.op in (Op.EQ, Op.WILDCARD):
                self.hints.append((kind, node.value))
        elif isinstance(node, Not):
            self.hint_walk(node.child, not negated)
        else:
            for child in node.children:
                self.hint_walk(child, negated)


def _field_prefixes(node: Condition) -> list[str]:
    if isinstance(node, Comparison):
        name = node.field or ""
        return [name.split(".", 1)[0]] if "." in name and name[:1].isupper() else []
    if isinstance(node, Not):
        return _field_prefixes(node.child)
    return [p for child in node.children for p in _field_prefixes(child)]


def _top_commas(text: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _command(stage: str) -> tuple[str, str]:
    word, _, rest = stage.partition(" ")
    if "\n" in word or "\t" in word:
        word, _, more = word.replace("\t", " ").replace("\n", " ").partition(" ")
        rest = f"{more} {rest}"
    return word.lower(), rest


def read_search(search: str, macros: Mapping[str, Macro]) -> SplReading:
    """The condition tree and hints of one SPL search, macros expanded from ``macros``."""
    expansion = expand(search, macros)
    pipe = _Pipeline()
    pipe.notes.extend(expansion.notes)
    pipe.read(expansion.text)
    condition = join(And, list(pipe.trees))
    if condition is not None:
        pipe.hint_walk(condition)
    pipe.name_datasets()
    return SplReading(
        condition=condition,
        group_by=tuple(dict.fromkeys(pipe.group_by)),
        event_hints=tuple(dict.fromkeys(pipe.hints)),
        notes=tuple(pipe.notes),
        unparsed=tuple(pipe.unparsed),
        summary="; ".join(dict.fromkeys(pipe.summary)),
    )
