"""Record types that flow from the loaders to the graph writer.

Loaders parse source files into these records and nothing else; the build step
normalises them and the graph writer turns them into nodes and relationships.
All records are frozen so that a cached parse can be shared between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def _reduce(self: DataclassInstance) -> tuple[type, tuple[object, ...]]:
    """Pickle a record as its class and field values.

    Parsed rules travel from parser processes and through the parse cache by
    pickle; dataclasses' own state protocol costs a third more time.
    """
    cls = type(self)
    return cls, tuple(getattr(self, name) for name in cls.__dataclass_fields__)


class Op(StrEnum):
    """The one operator vocabulary shared by every vendor; ``str(op)`` is its value."""

    EQ = "eq"
    WILDCARD = "wildcard"  # contains / startswith / endswith / glob
    REGEX = "regex_match"
    MATCH = "match"  # full text or keyword without a field, or a vendor match op
    CIDR = "cidr"
    RANGE = "range"  # gt / gte / lt / lte, value written as ">=1024"
    EXISTS = "exists"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One test of one field against one constant, as the rule wrote it.

    ``field`` is the vendor-native name (``None`` for a field-less keyword).
    ``value`` is the human value with escapes resolved: for ``wildcard`` a glob
    where ``*`` and ``?`` are wildcards and ``[*]``, ``[?]`` are literal ones
    (see :func:`kg.normalise.escape_glob`; a backslash is a path separator,
    never an escape); for ``range`` the
    comparison and bound (``>=1024``); for ``exists`` the empty string.
    ``native_op`` keeps the vendor's own spelling (``endswith``, ``:``, ``like~``).
    """

    field: str | None
    op: Op
    value: str
    native_op: str = ""
    modifiers: tuple[str, ...] = ()
    case_sensitive: bool = False
    derived: bool = False  # the field is computed by the query itself

    __reduce__ = _reduce


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Condition, ...]

    __reduce__ = _reduce


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Condition, ...]

    __reduce__ = _reduce


@dataclass(frozen=True, slots=True)
class Not:
    child: Condition

    __reduce__ = _reduce


Condition = Comparison | And | Or | Not

ParseStatus = Literal["ok", "no_query", "failed", "unsupported"]


@dataclass(frozen=True)
class RuleRecord:
    """A detection rule of any vendor, with its query parsed into a condition tree."""

    vendor: str
    id: str
    title: str
    path: str  # relative to the source root, POSIX separators
    url: str = ""
    description: str = ""
    status: str = ""
    level: str = ""
    rule_type: str = ""
    author: str = ""
    date: str = ""
    modified: str = ""
    language: str = ""
    query: str = ""
    techniques: tuple[str, ...] = ()  # as tagged, upper-case ids: T1059.006
    tactics: tuple[str, ...] = ()  # as tagged, ATT&CK shortnames: execution
    logsource: tuple[tuple[str, str], ...] = ()  # Sigma product/category/service...
    data_sources: tuple[str, ...] = ()  # Splunk data_source, Elastic index patterns
    event_hints: tuple[tuple[str, str], ...] = ()  # event.category=process, EventID=1...
    deprecated: bool = False
    building_block: bool = False
    condition: Condition | None = None
    group_by: tuple[str, ...] = ()  # threshold / new_terms / correlation fields
    parse_status: ParseStatus = "ok"
    parse_reason: str = ""
    correlates: tuple[str, ...] = ()  # ids or names of rules a correlation joins
    references: tuple[str, ...] = ()
    licence: str = ""

    @property
    def uid(self) -> str:
        return f"{self.vendor}:{self.id}"

    __reduce__ = _reduce


FileStatus = Literal["loaded", "skipped", "failed"]


@dataclass(frozen=True)
class SourceFile:
    """A file a loader found under its source root."""

    path: str  # absolute path on disk
    relpath: str  # relative to the source root, POSIX separators
    skip_reason: str = ""  # set when the loader will not parse it, with why


@dataclass(frozen=True)
class FileResult:
    """What became of one input file: every file seen gets exactly one."""

    relpath: str
    status: FileStatus
    reason: str = ""
    line: int | None = None
    rules: tuple[RuleRecord, ...] = ()
    #: named shortcomings met while reading a loaded file (a skipped SPL command, an
    #: unknown macro); the build counts them into the source's load report
    notes: tuple[str, ...] = ()

    __reduce__ = _reduce


# --- ATT&CK -----------------------------------------------------------------


@dataclass(frozen=True)
class TacticRecord:
    id: str
    shortname: str
    name: str
    stix_id: str
    domain: str
    url: str = ""


@dataclass(frozen=True)
class TechniqueRecord:
    id: str
    name: str
    stix_id: str
    domain: str
    tactics: tuple[str, ...]  # shortnames
    platforms: tuple[str, ...] = ()
    parent_id: str = ""
    url: str = ""
    revoked: bool = False
    deprecated: bool = False

    @property
    def is_subtechnique(self) -> bool:
        return bool(self.parent_id)


@dataclass(frozen=True)
class DataComponentRecord:
    id: str
    name: str
    stix_id: str
    data_source: str = ""
    revoked: bool = False
    deprecated: bool = False


@dataclass(frozen=True)
class LogSourceRef:
    """An analytic's reference to a log source: a data component, a name, a channel."""

    data_component: str  # DC id
    name: str  # e.g. "WinEventLog:Sysmon"
    channel: str  # e.g. "EventCode=1"


@dataclass(frozen=True)
class AnalyticRecord:
    id: str
    name: str
    stix_id: str
    platforms: tuple[str, ...] = ()
    description: str = ""
    log_sources: tuple[LogSourceRef, ...] = ()
    revoked: bool = False
    deprecated: bool = False


@dataclass(frozen=True)
class DetectionStrategyRecord:
    id: str
    name: str
    stix_id: str
    techniques: tuple[str, ...]  # technique ids it detects
    analytics: tuple[str, ...]  # analytic ids
    revoked: bool = False
    deprecated: bool = False


@dataclass(frozen=True)
class AttackRecords:
    version: str
    domain: str
    tactics: tuple[TacticRecord, ...]
    techniques: tuple[TechniqueRecord, ...]
    data_components: tuple[DataComponentRecord, ...]
    detection_strategies: tuple[DetectionStrategyRecord, ...]
    analytics: tuple[AnalyticRecord, ...]
    errors: tuple[str, ...] = ()  # one line per object that could not be read


# --- Events -------------------------------------------------------------------


@dataclass(frozen=True)
class EventRecord:
    provider: str  # Microsoft-Windows-Sysmon, Microsoft-Windows-Security-Auditing, ...
    event_id: str  # "1", "4688", "ES_EVENT_TYPE_NOTIFY_EXEC", "SYSCALL:execve"
    title: str
    platform: str  # windows, linux, macos
    channel: str = ""
    description: str = ""
    fields: tuple[str, ...] = ()  # native field names the event carries

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.event_id}"


@dataclass(frozen=True)
class EventLink:
    """A rule (by uid) or an analytic (by id) reading an event, and how we know."""

    source: str
    event_key: str
    via: str


@dataclass
class SourceReport:
    """Per source: every file seen, with what became of it."""

    name: str
    version: str = ""
    files: list[FileResult] = field(default_factory=list)
    notes: dict[str, int] = field(default_factory=dict)  # counted, named shortcomings

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rules(self) -> list[RuleRecord]:
        return [rule for f in self.files for rule in f.rules]

    def note(self, what: str, n: int = 1) -> None:
        self.notes[what] = self.notes.get(what, 0) + n


class RuleLoader(Protocol):
    """What a rule loader in ``loaders/`` provides to the build step.

    The build step owns caching and parallelism: it calls ``discover`` once,
    ``context`` once (for what every file needs, e.g. Splunk's macros; it must
    be picklable and is part of the cache key), then ``parse`` for every file
    not skipped, possibly in worker processes and possibly not at all when the
    file's bytes are cached.  ``parse`` never raises: a problem becomes a
    ``FileResult`` with status ``failed`` and a reason naming what went wrong.
    """

    name: str  # "sigma", "elastic", "splunk"
    version: str  # bump to invalidate cached parses

    def discover(self, root: Path) -> list[SourceFile]: ...

    def context(self, root: Path) -> object: ...

    def parse(self, file: SourceFile, data: bytes, context: object) -> FileResult: ...
