"""Sigma rules in the SigmaHQ repository layout → :class:`kg.model.RuleRecord`.

Files: every ``*.yml``/``*.yaml`` under a top-level ``rules*`` folder and under
``deprecated/`` (those rules are flagged deprecated); files under
``unsupported/`` are listed but skipped, because they use features outside the
Sigma specification (pipe aggregations, ``near``).  Other files are not rules.

Parsing: the bytes are read with PyYAML's C loader (several times faster than
pySigma's own YAML path) and each document is handed to pySigma, which
validates the rule and builds its detection objects.  The condition tree is
then built from pySigma's parsed condition (``parse(postprocess=False)``) by
resolving each identifier and ``1 of x*`` selector to pySigma's detection
items ourselves, because pySigma's post-processed tree carries the values
*after* its modifiers ran (base64 encodings, windash variants, wildcards),
while kg records the value the author wrote.

How a detection item becomes comparisons:

* plain value → ``eq`` (``wildcard`` when it holds an unescaped ``*``/``?``);
  numbers and booleans → ``eq`` with their text;
* ``contains``/``startswith``/``endswith`` → ``wildcard`` with a kg glob
  (``contains x`` gives ``*x*``, the same glob as a plain ``*x*``);
* ``re`` → ``regex_match``, case-sensitive unless ``re|i``;
* ``cidr`` → ``cidr``; ``gt``/``gte``/``lt``/``lte`` → ``range`` (``>=1024``);
* ``exists: true`` → ``exists``; ``exists: false`` → NOT ``exists``;
* ``null`` (and an empty list) → NOT ``exists`` with native op ``null``: the
  backends test a null value as a missing field, so ``not filter_null`` reads
  as "the field exists", an indicator again;
* ``fieldref`` → ``eq`` whose value is the referenced field's name;
* a field-less value (keyword) → ``match`` with field ``None``, value a glob;
* value-transforming modifiers (``base64``, ``base64offset``, ``windash``,
  ``wide``, ``utf16*``, ``expand``...) keep the author's value (``utf16le``, which
  pySigma 1.5 lacks, is read as its equivalent ``wide`` and recorded so);
  ``cased`` makes the comparison case-sensitive; ``all`` joins the values
  with AND; ``neq`` wraps the item in NOT.  Every modifier the author wrote is
  kept in ``Comparison.modifiers``, in order.

Several conditions in one rule become an OR of them.  Correlation rules carry
no condition tree (they join other rules: ``correlates``, ``group_by``);
filters carry the tree of their own detection and name the rules they filter
in ``correlates``.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConditionError, SigmaError
from sigma.filters import SigmaFilter
from sigma.modifiers import reverse_modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections, SigmaRule
from sigma.rule.base import SigmaRuleBase
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from kg.conditions import positive
from kg.model import And, Comparison, Condition, FileResult, Not, Op, Or, RuleRecord, SourceFile
from kg.normalise import escape_glob, unescape_glob

log = logging.getLogger(__name__)

LICENCE = "DRL-1.1"
QUERY_LIMIT = 16_000  # characters of rule text kept as the query
UNSUPPORTED_REASON = "non-spec Sigma features: unsupported/ folder"

_SUFFIXES = (".yml", ".yaml")
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?")
_TACTIC = re.compile(r"[a-z][a-z_-]*")
_EVENT_FIELDS = frozenset({"eventid", "eventcode"})
_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:", re.MULTILINE)
_DETECTION_KEY = re.compile(r"^detection\s*:", re.MULTILINE)

# pySigma registers several spellings for one modifier class; kg keeps the short one
_SPELLING = {"ignorecase": "i", "multiline": "m", "dotall": "s"}
_POSITION = {"contains": ("*", "*"), "startswith": ("", "*"), "endswith": ("*", "")}
_RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
#: what pySigma's condition parser returns
_SigmaTree = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression | None

_PARSED: dict[str, _SigmaTree] = {}  # condition text → pySigma parse tree, see _parsed()
_PARSED_LIMIT = 4096


class SigmaLoader:
    """The ``LOADER`` of this module: see :class:`kg.model.RuleLoader`."""

    name = "sigma"
    version = "1"

    def discover(self, root: Path) -> list[SourceFile]:
        found: list[SourceFile] = []
        for top in sorted(p for p in root.iterdir() if p.is_dir()):
            if top.name.startswith("rules") or top.name == "deprecated":
                skip = ""
            elif top.name == "unsupported":
                skip = UNSUPPORTED_REASON
            else:
                continue
            for path in sorted(top.rglob("*")):
                if path.suffix.lower() in _SUFFIXES and path.is_file():
                    relpath = path.relative_to(root).as_posix()
                    found.append(SourceFile(str(path), relpath, skip))
        return found

    def context(self, root: Path) -> object:
        return None

    def parse(self, file: SourceFile, data: bytes, context: object) -> FileResult:
        try:
            return _parse_file(file.relpath, data)
        except Exception as exc:  # parse never raises: an unforeseen rule shape is a failure
            log.warning("%s: unexpected %s while parsing", file.relpath, type(exc).__name__)
            return _failed(file.relpath, f"internal error: {type(exc).__name__}: {exc}")


LOADER = SigmaLoader()


class RuleError(Exception):
    """A rule pySigma accepted whose condition kg cannot read (names the place)."""


def _failed(relpath: str, reason: str, line: int | None = None) -> FileResult:
    where = f"{relpath}:{line}" if line else relpath
    return FileResult(relpath, "failed", reason=f"{where}: {reason}", line=line)


def _parse_file(relpath: str, data: bytes) -> FileResult:
    try:
        docs = [doc for doc in yaml.load_all(data, Loader=yaml.CSafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return _failed(relpath, f"invalid YAML: {problem}", line)
    if not docs:
        return _failed(relpath, "no YAML document")
    for number, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            return _failed(relpath, f"YAML document {number} is a {type(doc).__name__}, not a map")
    if b"utf16le" in data:
        for doc in docs:
            _spell_utf16le_as_wide(doc)
    text = data.decode("utf-8", errors="replace")
    try:
        parsed = _pysigma_objects(docs)
        rules = tuple(_record(relpath, obj, text, len(docs) > 1) for obj in parsed)
    except (SigmaError, RuleError) as exc:
        return _failed(relpath, _describe(exc))
    return FileResult(relpath, "loaded", rules=rules)


def _spell_utf16le_as_wide(node: Any) -> None:
    """The spec's ``utf16le`` is pySigma's ``wide`` (the same encoding), which pySigma 1.5
    knows under that name only; rename it in place so the rule loads."""
    if isinstance(node, list):
        for child in node:
            _spell_utf16le_as_wide(child)
    elif isinstance(node, dict):
        for key in list(node):
            child = node[key]
            if isinstance(key, str) and "|utf16le" in key:
                del node[key]
                node[key.replace("|utf16le", "|wide")] = child
            _spell_utf16le_as_wide(child)


def _pysigma_objects(docs: list[dict[str, Any]]) -> list[SigmaRuleBase]:
    """pySigma's rule objects for the documents of one file; raises on the first broken one."""
    if len(docs) == 1:
        doc = docs[0]
        if "correlation" in doc:
            obj: SigmaRuleBase = SigmaCorrelationRule.from_dict(doc, collect_errors=True)
        elif "filter" in doc:
            obj = SigmaFilter.from_dict(doc, collect_errors=True)
        else:
            obj = SigmaRule.from_dict(doc, collect_errors=True)
        objects = [obj]
        errors = list(obj.errors)
    else:
        # several documents may use the old "action: global" collections
        collection = SigmaCollection.from_dicts(
            docs, collect_errors=True, collect_filters=True, resolve_references=False
        )
        objects = [*collection.rules, *collection.filters]
        errors = list(collection.errors)
    if errors:
        raise errors[0] if len(errors) == 1 else RuleError("; ".join(map(_describe, errors)))
    return objects


def _describe(exc: Exception) -> str:
    message = exc.args[0] if exc.args else str(exc)
    if isinstance(exc, RuleError):
        return str(message)
    return f"{type(exc).__name__}: {message}"


# --- records ---------------------------------------------------------------------------------


def _record(relpath: str, obj: SigmaRuleBase, text: str, multi: bool) -> RuleRecord:
    condition: Condition | None = None
    correlates: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    logsource: tuple[tuple[str, str], ...] = ()
    if isinstance(obj, SigmaCorrelationRule):
        rule_type = "correlation"
        correlates = tuple(ref.reference for ref in obj.rules or ())
        group_by = tuple(obj.group_by or ())
    elif isinstance(obj, SigmaFilter):
        rule_type = "filter"
        condition = _tree(relpath, obj.filter)
        rules = obj.filter.rules
        correlates = (rules,) if isinstance(rules, str) else tuple(r.reference for r in rules)
        logsource = _logsource(obj.logsource)
    else:
        assert isinstance(obj, SigmaRule)
        rule_type = "detection"
        condition = _tree(relpath, obj.detection)
        logsource = _logsource(obj.logsource)
    status = obj.status.name.lower() if obj.status else ""
    return RuleRecord(
        vendor="sigma",
        id=str(obj.id) if obj.id else (obj.name or relpath),
        title=obj.title,
        path=relpath,
        description=(obj.description or "").strip(),
        status=status,
        level=obj.level.name.lower() if obj.level else "",
        rule_type=rule_type,
        author=obj.author or "",
        date=_day(obj.date),
        modified=_day(obj.modified),
        language="sigma",
        query=_query_text(text, multi),
        techniques=_techniques(obj),
        tactics=_tactics(obj),
        logsource=logsource,
        event_hints=_event_hints(condition),
        deprecated=relpath.startswith("deprecated/") or status == "deprecated",
        condition=condition,
        group_by=group_by,
        correlates=correlates,
        references=tuple(str(ref) for ref in obj.references or ()),
        licence=LICENCE,
    )


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _logsource(source: Any) -> tuple[tuple[str, str], ...]:
    keys = ("product", "category", "service", "definition")
    return tuple((key, getattr(source, key)) for key in keys if getattr(source, key, None))


def _techniques(obj: SigmaRuleBase) -> tuple[str, ...]:
    found = [
        tag.name.upper()
        for tag in obj.tags
        if tag.namespace == "attack" and _TECHNIQUE.fullmatch(tag.name)
    ]
    return tuple(dict.fromkeys(found))


def _tactics(obj: SigmaRuleBase) -> tuple[str, ...]:
    # ATT&CK shortnames are hyphenated; older Sigma tags use underscores
    found = [
        tag.name.lower().replace("_", "-")
        for tag in obj.tags
        if tag.namespace == "attack" and _TACTIC.fullmatch(tag.name.lower())
    ]
    return tuple(dict.fromkeys(found))


def _query_text(text: str, multi: bool) -> str:
    """The ``detection`` section as written (the whole text for multi-document files)."""
    if not multi:
        start = _DETECTION_KEY.search(text)
        if start:
            end = _TOP_KEY.search(text, start.end())
            text = text[start.start() : end.start() if end else len(text)]
    return text.strip()[:QUERY_LIMIT]


def _event_hints(tree: Condition | None) -> tuple[tuple[str, str], ...]:
    hints = [
        ("EventID", c.value)
        for c in positive(tree)
        if c.field and c.op is Op.EQ and c.field.casefold() in _EVENT_FIELDS
    ]
    return tuple(dict.fromkeys(hints))


def _tree(relpath: str, detections: SigmaDetections) -> Condition | None:
    """The rule's condition tree: an OR when the rule has several conditions."""
    builder = _TreeBuilder(detections)
    trees: list[Condition] = []
    for number, condition in enumerate(detections.parsed_condition, 1):
        try:
            tree = builder.condition(_parsed(condition))
        except SigmaError as exc:
            where = f"condition {number} '{condition.condition}'"
            raise RuleError(f"{where}: {_describe(exc)}") from exc
        if tree is None:
            raise RuleError(f"condition {number} '{condition.condition}' selects no detection")
        trees.append(tree)
    return _join(Or, trees)


def _parsed(condition: SigmaCondition) -> _SigmaTree:
    """pySigma's parse tree of a condition, shared by every rule with the same text.

    The tree is only read here (identifiers and selectors are resolved by
    :class:`_TreeBuilder`), so the copy pySigma makes for its own post-processing
    is not needed; the same few hundred condition texts recur across the corpus.
    """
    tree = _PARSED.get(condition.condition)
    if tree is None:
        tree = condition.parse(postprocess=False)
        if len(_PARSED) < _PARSED_LIMIT:
            _PARSED[condition.condition] = tree
    return tree


def _join(kind: type[And] | type[Or], children: list[Condition]) -> Condition | None:
    """AND/OR of the children, flattening nested nodes of the same kind."""
    flat: list[Condition] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


class _TreeBuilder:
    """Resolves one rule's parsed conditions against its named detections."""

    def __init__(self, detections: SigmaDetections) -> None:
        self._detections = detections
        self._named: dict[str, Condition | None] = {}

    def condition(self, node: object) -> Condition | None:
        if isinstance(node, ConditionIdentifier):
            return self._named_detection(node.identifier)
        if isinstance(node, ConditionSelector):
            children = [
                self._named_detection(ref.identifier)
                for ref in node.resolve_referenced_detections(self._detections)
            ]
            kind = And if node.cond_class is ConditionAND else Or
            return _join(kind, [c for c in children if c is not None])
        if isinstance(node, ConditionNOT):
            child = self.condition(node.args[0])
            return None if child is None else Not(child)
        if isinstance(node, (ConditionAND, ConditionOR)):
            kind = And if isinstance(node, ConditionAND) else Or
            children = [self.condition(arg) for arg in node.args]
            return _join(kind, [c for c in children if c is not None])
        kind_name = type(node).__name__ if isinstance(node, ConditionItem) else repr(node)
        raise RuleError(f"unexpected condition element {kind_name}")

    def _named_detection(self, name: str) -> Condition | None:
        if name not in self._named:
            detection = self._detections.detections.get(name)
            if detection is None:
                raise SigmaConditionError(f"Detection '{name}' not defined in detections")
            try:
                self._named[name] = _detection(detection)
            except RuleError as exc:
                raise RuleError(f"detection '{name}': {exc}") from exc
        return self._named[name]


def _detection(detection: SigmaDetection) -> Condition | None:
    children: list[Condition] = []
    for item in detection.detection_items:
        child = _detection(item) if isinstance(item, SigmaDetection) else _item(item)
        if child is not None:
            children.append(child)
    kind = And if detection.item_linking is ConditionAND else Or
    return _join(kind, children)


def _modifier_names(item: SigmaDetectionItem) -> tuple[str, ...]:
    names = (reverse_modifier_mapping[m.__name__] for m in item.modifiers)
    return tuple(_SPELLING.get(name, name) for name in names)


def _item(item: SigmaDetectionItem) -> Condition | None:
    modifiers = _modifier_names(item)
    values = item.original_value or []
    if not values:
        values = [SigmaNull()]
    comparisons = [_value(item.field, value, modifiers) for value in values]
    kind = And if item.value_linking is ConditionAND else Or
    tree = _join(kind, comparisons)
    return Not(tree) if item.negated and tree is not None else tree


def _value(field: str | None, value: SigmaType, modifiers: tuple[str, ...]) -> Condition:
    def comparison(op: Op, text: str, native_op: str = "", cased: bool = False) -> Comparison:
        cased = cased or "cased" in modifiers
        return Comparison(field, op, text, native_op, modifiers, cased)

    if "exists" in modifiers:
        exists = comparison(Op.EXISTS, "", "exists")
        return exists if isinstance(value, SigmaBool) and value.boolean else Not(exists)
    if isinstance(value, SigmaNull):
        return Not(comparison(Op.EXISTS, "", "null"))
    if "re" in modifiers:
        return comparison(Op.REGEX, _plain(value), "re", cased="i" not in modifiers)
    if "cidr" in modifiers:
        return comparison(Op.CIDR, _plain(value), "cidr")
    for name, symbol in _RANGE.items():
        if name in modifiers:
            return comparison(Op.RANGE, symbol + _plain(value), name)
    if "fieldref" in modifiers:
        return comparison(Op.EQ, _plain(value), "fieldref")
    if not isinstance(value, SigmaString):
        return comparison(Op.MATCH if field is None else Op.EQ, _plain(value))
    position = next((name for name in _POSITION if name in modifiers), "")
    before, after = _POSITION.get(position, ("", ""))
    glob = before + _glob(value) + after
    if field is None:
        return comparison(Op.MATCH, glob, position)
    if _is_pattern(glob):
        return comparison(Op.WILDCARD, glob, position)
    return comparison(Op.EQ, unescape_glob(glob), position)


def _plain(value: SigmaType) -> str:
    if isinstance(value, SigmaString):
        return value.original
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    if isinstance(value, SigmaNumber):
        return str(value.number)
    return str(value)


def _glob(value: SigmaString) -> str:
    """pySigma's parsed string as a kg glob: its wildcards stay, its literal parts are escaped."""
    parts: list[str] = []
    for part in value.s:
        if isinstance(part, str):
            parts.append(escape_glob(part))
        elif part is SpecialChars.WILDCARD_MULTI:
            parts.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            parts.append("?")
        elif isinstance(part, Placeholder):
            parts.append(f"%{part.name}%")
    return "".join(parts)


def _is_pattern(glob: str) -> bool:
    bare = glob.replace("[*]", "").replace("[?]", "")
    return "*" in bare or "?" in bare
