"""Normalisation of fields and values: how the same indicator becomes one node.

Corpus reach counts rules per Value node, so these rules decide whether the
numbers are true.  They are, in order:

1. **Field.**  A vendor-native field name becomes a canonical field through the
   reviewed tables ``kg/data/fields_<vendor>.tsv``.  Canonical names are ECS
   names (``process.executable``, ``process.command_line``...).  Elastic's ECS
   names are canonical already.  Splunk data-model prefixes
   (``Processes.process_name``) are looked up whole first, then without the
   prefix.  A field no table maps stays itself and is flagged unmapped.
   A comparison without a field (a Sigma keyword, KQL free text) gets the
   canonical field ``keyword``.
2. **Operator.**  One vocabulary (:class:`kg.model.Op`).  A ``wildcard`` whose
   glob holds no wildcard is an ``eq``; ``contains x`` and ``*x*`` are the same
   glob.
3. **Path to name.**  On a path field that has a name companion
   (``kg/data/field_pairs.tsv``: ``process.executable`` → ``process.name``...),
   a glob ``*\\python.exe`` or ``*/python.exe`` whose tail holds no separator
   and no wildcard is the companion's ``eq python.exe``: Sigma
   ``Image|endswith: '\\python.exe'``, EQL ``process.executable : "*\\python.exe"``,
   ``process.name == "python.exe"`` and Splunk ``process_name=python.exe`` all
   check one Value.
4. **Value key.**  Case-folded, because Sigma, EQL ``:`` and SPL match
   case-insensitively, unless the rule matches case-sensitively and the value
   has upper-case letters (a case-sensitive ``foo`` and an insensitive ``foo``
   match the same strings on a lower-case value, so they share a node).
   Regular expressions are kept as written.  Runs of ``*`` collapse to one.
   Escapes are resolved by the loaders before this point: values arrive as
   the human string.
5. **Key.**  A Value node's key is ``"<field> <op> <value_key>"``; field and op
   hold no spaces, so the key is unambiguous.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kg.model import Comparison, Op

KEYWORD_FIELD = "keyword"

_STAR_RUN = re.compile(r"\*{2,}")


@dataclass(frozen=True, slots=True)
class Check:
    """A comparison after normalisation: what a CHECKS/EXCLUDES edge records."""

    field: str
    mapped: bool
    op: Op
    value: str
    value_key: str
    native_field: str
    native_op: str
    modifiers: tuple[str, ...]
    case_sensitive: bool
    derived: bool

    @property
    def key(self) -> str:
        return value_node_key(self.field, self.op, self.value_key)


def value_node_key(field: str, op: Op | str, value_key: str) -> str:
    return f"{field} {op.value if isinstance(op, Op) else op} {value_key}"


def _read_tsv(name: str) -> list[list[str]]:
    try:
        text = resources.files("kg.data").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = []
    for row in csv.reader(text.splitlines(), delimiter="\t"):
        if not row or row[0].startswith("#"):
            continue
        rows.append(row)
    return rows[1:] if rows and rows[0][:2] == ["native", "canonical"] else rows


@cache
def field_table(vendor: str) -> dict[str, str]:
    """native → canonical for one vendor, from ``kg/data/fields_<vendor>.tsv``.

    Keys are case-folded: Sigma and SPL field names are case-insensitive in
    practice (``CommandLine`` / ``commandline``).
    """
    return {row[0].casefold(): row[1] for row in _read_tsv(f"fields_{vendor}.tsv") if len(row) >= 2}


@cache
def name_companions() -> dict[str, str]:
    """path field → name field, from ``kg/data/field_pairs.tsv``."""
    return {row[0]: row[1] for row in _read_tsv("field_pairs.tsv") if len(row) >= 2}


def canonical_field(vendor: str, native: str | None) -> tuple[str, bool]:
    """The canonical field for a vendor-native name, and whether a table mapped it."""
    if not native:
        return KEYWORD_FIELD, True
    table = field_table(vendor)
    folded = native.casefold()
    if folded in table:
        return table[folded], True
    if vendor == "splunk" and "." in native:
        # Processes.process_name → process_name; CIM fields are data-model scoped
        tail = native.split(".", 1)[1].casefold()
        if tail in table:
            return table[tail], True
    if vendor == "elastic":
        return native, True  # ECS is the canonical vocabulary
    return native, False


def fold_glob(value: str) -> str:
    return _STAR_RUN.sub("*", value)


def _has_wildcard(glob: str) -> bool:
    return any(ch in glob for ch in "*?") and any(
        ch in glob.replace("[*]", "").replace("[?]", "") for ch in "*?"
    )


def unescape_glob(glob: str) -> str:
    """The literal string of a glob whose only stars and marks are escaped."""
    return glob.replace("[*]", "*").replace("[?]", "?")


def escape_glob(literal: str) -> str:
    """A literal string as a kg glob: ``*`` → ``[*]``, ``?`` → ``[?]``.

    kg globs escape with brackets, not backslashes, because a backslash is a
    Windows path separator: ``C:\\Windows\\*`` is a folder and a wildcard.
    """
    return literal.replace("*", "[*]").replace("?", "[?]")


def _path_tail(glob: str) -> str | None:
    """``python.exe`` for ``*\\python.exe`` or ``*/python.exe``; None otherwise."""
    if not glob.startswith("*") or len(glob) < 3:
        return None
    if glob[1] not in "\\/":
        return None
    tail = glob[2:]
    if not tail or any(ch in tail for ch in "\\/*?"):
        return None
    return tail


def value_key(op: Op, value: str, case_sensitive: bool = False) -> str:
    if op is Op.REGEX:
        return value
    if op is Op.WILDCARD:
        value = fold_glob(value)
    if case_sensitive and value != value.casefold():
        return value
    return value.casefold()


def normalise(vendor: str, comparison: Comparison) -> Check:
    """One native comparison → the Check whose key names its Value node."""
    field, mapped = canonical_field(vendor, comparison.field)
    op = comparison.op
    value = comparison.value
    if op is Op.WILDCARD:
        value = fold_glob(value)
        if not _has_wildcard(value):
            op, value = Op.EQ, unescape_glob(value)
        else:
            companion = name_companions().get(field)
            tail = _path_tail(value) if companion else None
            if companion and tail:
                field, op, value = companion, Op.EQ, tail
    return Check(
        field=field,
        mapped=mapped,
        op=op,
        value=value,
        value_key=value_key(op, value, comparison.case_sensitive),
        native_field=comparison.field or "",
        native_op=comparison.native_op or str(comparison.op),
        modifiers=comparison.modifiers,
        case_sensitive=comparison.case_sensitive,
        derived=comparison.derived,
    )
