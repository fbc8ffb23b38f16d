"""MITRE ATT&CK STIX 2.1 bundle → :class:`kg.model.AttackRecords`.

The bundle is read with :mod:`json` and walked as plain dicts: building a
``stix2`` store for the 25,000 objects of Enterprise ATT&CK costs seconds, a
dict walk costs tens of milliseconds.  ``stix2`` is used only to explain an
object the walk could not read, so the error line says what STIX expects.

ATT&CK ids are taken from the external reference whose ``source_name`` names
ATT&CK (``mitre-attack``; objects older than the 2.1 bundles say
``mitre-mobile-attack`` or ``mitre-ics-attack``), never from a position in the
list.  A broken object becomes one line in ``AttackRecords.errors`` and the
rest loads; a file that cannot be read at all raises :class:`SourceError`.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kg.errors import SourceError
from kg.model import (
    AnalyticRecord,
    AttackRecords,
    DataComponentRecord,
    DetectionStrategyRecord,
    LogSourceRef,
    TacticRecord,
    TechniqueRecord,
)

log = logging.getLogger(__name__)

#: ATT&CK's own source names, preferred first.
_ATTACK_SOURCES = ("mitre-attack", "mitre-mobile-attack", "mitre-ics-attack")

#: The kill chain whose phases are tactic shortnames, per domain.
_KILL_CHAINS = {
    "enterprise-attack": "mitre-attack",
    "mobile-attack": "mitre-mobile-attack",
    "ics-attack": "mitre-ics-attack",
}

_WANTED = frozenset(
    {
        "x-mitre-tactic",
        "attack-pattern",
        "x-mitre-data-source",
        "x-mitre-data-component",
        "x-mitre-detection-strategy",
        "x-mitre-analytic",
        "x-mitre-collection",
        "relationship",
    }
)

_GZIP_MAGIC = b"\x1f\x8b"

Obj = dict[str, Any]


class _Broken(ValueError):
    """An object lacks something the loader needs; the message says what."""


def load_bundle(path: str | Path, version: str | None = None) -> AttackRecords:
    """Read one ATT&CK domain bundle (``.json`` or ``.json.gz``).

    ``version`` is the caller's pinned ATT&CK release (``"18.1"``).  The
    bundle's ``x-mitre-collection`` version wins when the bundle has one; a
    bundle without a collection object (as assembled from mitre/cti) takes the
    pin; with neither, the highest ``x_mitre_attack_spec_version`` stands in
    and a warning says so.
    """
    path = Path(path)
    objects = _read_objects(path)
    bundle = _Bundle(objects)
    records = bundle.records(version)
    log.info(
        "%s: ATT&CK %s %s: %d tactics, %d techniques, %d errors",
        path,
        records.domain,
        records.version,
        len(records.tactics),
        len(records.techniques),
        len(records.errors),
    )
    return records


def _read_objects(path: Path) -> list[Any]:
    try:
        raw = path.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
        bundle = json.loads(raw)
    except FileNotFoundError:
        raise SourceError(str(path), "no such file") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(str(path), f"cannot read: {exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise SourceError(str(path), f"not JSON: {exc}", line) from exc
    if not isinstance(bundle, dict) or not isinstance(bundle.get("objects"), list):
        raise SourceError(str(path), "not a STIX bundle (no 'objects' list)")
    objects: list[Any] = bundle["objects"]
    return objects


# --- field readers: each raises _Broken naming the field -----------------------


def _text(obj: Obj, key: str, default: str | None = None) -> str:
    value = obj.get(key, default)
    if value is None:
        raise _Broken(f"'{key}' is missing")
    if not isinstance(value, str):
        raise _Broken(f"'{key}' is {type(value).__name__}, not a string")
    return value


def _texts(obj: Obj, key: str) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Broken(f"'{key}' is not a list of strings")
    return tuple(value)


def _flag(obj: Obj, key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise _Broken(f"'{key}' is {type(value).__name__}, not a boolean")
    return value


def _dicts(obj: Obj, key: str) -> list[Obj]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _Broken(f"'{key}' is not a list of objects")
    return value


def _attack_ref(obj: Obj) -> tuple[str, str]:
    """The ATT&CK id and page of an object, found by source name."""
    refs = {
        ref["source_name"]: ref
        for ref in _dicts(obj, "external_references")
        if isinstance(ref.get("source_name"), str)
    }
    for source in _ATTACK_SOURCES:
        ref = refs.get(source)
        if ref is not None:
            ext_id, url = ref.get("external_id"), ref.get("url", "")
            if not isinstance(ext_id, str) or not ext_id:
                raise _Broken(f"'{source}' reference has no external_id")
            return ext_id, url if isinstance(url, str) else ""
    raise _Broken("no 'mitre-attack' external reference")


def _stix_reason(obj: Obj) -> str:
    """What stix2 objects to in ``obj``, or "" when it accepts it."""
    import stix2  # imported only here: a clean bundle never pays for it

    try:
        stix2.parse(obj, allow_custom=True, version="2.1")
    except Exception as exc:  # stix2 raises many unrelated types; we only report it
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ""


@dataclass
class _Common:
    """What every ATT&CK object of interest carries."""

    stix_id: str
    attack_id: str
    url: str
    name: str
    revoked: bool
    deprecated: bool


@dataclass
class _Bundle:
    objects: list[Any]
    errors: list[str] = field(default_factory=list)
    by_type: dict[str, list[tuple[int, Obj]]] = field(default_factory=dict)
    #: stix id → ATT&CK id, for every object read
    attack_ids: dict[str, str] = field(default_factory=dict)
    #: stix ids of the attack-patterns flagged ``x_mitre_is_subtechnique``
    subtechniques: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for index, obj in enumerate(self.objects):
            if not isinstance(obj, dict):
                self.errors.append(f"object #{index}: not a JSON object")
                continue
            kind = obj.get("type")
            if not isinstance(kind, str):
                self.errors.append(f"object #{index}: 'type' is missing or not a string")
            elif kind in _WANTED:
                self.by_type.setdefault(kind, []).append((index, obj))

    def records(self, version: str | None) -> AttackRecords:
        domain = self._domain()
        data_sources = {
            stix_id: common.name
            for stix_id, common in self._read("x-mitre-data-source", lambda o, c: c).items()
        }
        tactics = self._read("x-mitre-tactic", lambda o, c: self._tactic(o, c, domain))
        data_components = self._read(
            "x-mitre-data-component", lambda o, c: self._data_component(o, c, data_sources)
        )
        parents, detects = self._relationships()
        techniques = self._read("attack-pattern", lambda o, c: self._technique(o, c, domain))
        self._link_parents(techniques, parents)
        analytics = self._read("x-mitre-analytic", self._analytic)
        strategies = self._read(
            "x-mitre-detection-strategy", lambda o, c: self._strategy(o, c, detects)
        )
        return AttackRecords(
            version=self._version(version),
            domain=domain,
            tactics=_sorted(tactics.values()),
            techniques=_sorted(techniques.values()),
            data_components=_sorted(data_components.values()),
            detection_strategies=_sorted(strategies.values()),
            analytics=_sorted(analytics.values()),
            errors=tuple(self.errors),
        )

    # --- walking objects of one type ------------------------------------------

    def _read(self, kind: str, make: Callable[[Obj, _Common], Any]) -> dict[str, Any]:
        """One record per object of ``kind``, by stix id; broken objects become errors."""
        out: dict[str, Any] = {}
        owners: dict[str, str] = {}  # ATT&CK id → stix id of the object that has it
        for index, obj in self.by_type.get(kind, ()):
            try:
                common = self._common(obj, kind)
                record = make(obj, common)
            except _Broken as exc:
                self._broken(index, obj, str(exc))
                continue
            if common.attack_id in owners:
                first = owners[common.attack_id]
                self.errors.append(f"{common.stix_id}: {common.attack_id} is also {first}; skipped")
                continue
            owners[common.attack_id] = common.stix_id
            self.attack_ids[common.stix_id] = common.attack_id
            out[common.stix_id] = record
        return out

    def _common(self, obj: Obj, kind: str) -> _Common:
        stix_id = _text(obj, "id")
        if not stix_id.startswith(f"{kind}--"):
            raise _Broken(f"id {stix_id!r} is not a {kind} id")
        attack_id, url = _attack_ref(obj)
        return _Common(
            stix_id=stix_id,
            attack_id=attack_id,
            url=url,
            name=_text(obj, "name"),
            revoked=_flag(obj, "revoked"),
            deprecated=_flag(obj, "x_mitre_deprecated"),
        )

    def _broken(self, index: int, obj: Obj, problem: str) -> None:
        stix_id = obj.get("id")
        where = stix_id if isinstance(stix_id, str) and stix_id else f"object #{index}"
        detail = _stix_reason(obj)
        if detail:
            problem = f"{problem} (stix2: {detail})"
        self.errors.append(f"{where}: {problem}")

    # --- one record per object --------------------------------------------------

    @staticmethod
    def _tactic(obj: Obj, c: _Common, domain: str) -> TacticRecord:
        return TacticRecord(
            id=c.attack_id,
            shortname=_text(obj, "x_mitre_shortname"),
            name=c.name,
            stix_id=c.stix_id,
            domain=domain,
            url=c.url,
        )

    @staticmethod
    def _data_component(obj: Obj, c: _Common, sources: dict[str, str]) -> DataComponentRecord:
        source_ref = _text(obj, "x_mitre_data_source_ref", "")
        return DataComponentRecord(
            id=c.attack_id,
            name=c.name,
            stix_id=c.stix_id,
            data_source=sources.get(source_ref, ""),
            revoked=c.revoked,
            deprecated=c.deprecated,
        )

    def _technique(self, obj: Obj, c: _Common, domain: str) -> TechniqueRecord:
        chain = _KILL_CHAINS.get(domain, "mitre-attack")
        tactics: list[str] = []
        for phase in _dicts(obj, "kill_chain_phases"):
            if phase.get("kill_chain_name") == chain:
                shortname = _text(phase, "phase_name")
                if shortname not in tactics:
                    tactics.append(shortname)
        if _flag(obj, "x_mitre_is_subtechnique"):
            self.subtechniques.add(c.stix_id)
        return TechniqueRecord(
            id=c.attack_id,
            name=c.name,
            stix_id=c.stix_id,
            domain=domain,
            tactics=tuple(tactics),
            platforms=_texts(obj, "x_mitre_platforms"),
            url=c.url,
            revoked=c.revoked,
            deprecated=c.deprecated,
        )

    def _analytic(self, obj: Obj, c: _Common) -> AnalyticRecord:
        refs = []
        for ref in _dicts(obj, "x_mitre_log_source_references"):
            dc_ref = _text(ref, "x_mitre_data_component_ref")
            dc_id = self._resolve(dc_ref, "x-mitre-data-component", c.attack_id)
            if dc_id:
                refs.append(LogSourceRef(dc_id, _text(ref, "name", ""), _text(ref, "channel", "")))
        return AnalyticRecord(
            id=c.attack_id,
            name=c.name,
            stix_id=c.stix_id,
            platforms=_texts(obj, "x_mitre_platforms"),
            description=_text(obj, "description", ""),
            log_sources=tuple(refs),
            revoked=c.revoked,
            deprecated=c.deprecated,
        )

    def _strategy(
        self, obj: Obj, c: _Common, detects: dict[str, list[str]]
    ) -> DetectionStrategyRecord:
        analytics = (
            self._resolve(ref, "x-mitre-analytic", c.attack_id)
            for ref in _texts(obj, "x_mitre_analytic_refs")
        )
        techniques = (
            self._resolve(ref, "attack-pattern", c.attack_id) for ref in detects.get(c.stix_id, ())
        )
        return DetectionStrategyRecord(
            id=c.attack_id,
            name=c.name,
            stix_id=c.stix_id,
            techniques=_unique(techniques),
            analytics=_unique(analytics),
            revoked=c.revoked,
            deprecated=c.deprecated,
        )

    def _resolve(self, stix_id: str, kind: str, referrer: str) -> str:
        """The ATT&CK id of a referenced object; a dangling reference is an error."""
        attack_id = self.attack_ids.get(stix_id, "")
        if not attack_id:
            self.errors.append(f"{referrer}: reference to unknown {kind} {stix_id}")
        return attack_id

    # --- relationships and bundle-wide facts --------------------------------

    def _relationships(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """Sub-technique → parent, and detection strategy → detected techniques (stix ids)."""
        parents: dict[str, str] = {}
        detects: dict[str, list[str]] = {}
        for index, rel in self.by_type.get("relationship", ()):
            kind = rel.get("relationship_type")
            if not isinstance(kind, str):
                self._broken(index, rel, "'relationship_type' is missing or not a string")
                continue
            if kind not in ("subtechnique-of", "detects"):
                continue
            if rel.get("revoked") is True or rel.get("x_mitre_deprecated") is True:
                continue
            try:
                source, target = _text(rel, "source_ref"), _text(rel, "target_ref")
            except _Broken as exc:
                self._broken(index, rel, f"{kind} relationship: {exc}")
                continue
            if kind == "subtechnique-of":
                parents[source] = target
            else:
                detects.setdefault(source, []).append(target)
        return parents, detects

    def _link_parents(
        self, techniques: dict[str, TechniqueRecord], parents: dict[str, str]
    ) -> None:
        """Set each sub-technique's parent ATT&CK id, from its relationship.

        Two revoked Enterprise sub-techniques (T1053.001, T1547.011) have no
        ``subtechnique-of`` relationship; their id names the parent, so
        sub-technique counts still agree with ``x_mitre_is_subtechnique``.
        """
        known = {tech.id for tech in techniques.values()}
        for stix_id in sorted(self.subtechniques & techniques.keys()):
            tech = techniques[stix_id]
            parent = self.attack_ids.get(parents.get(stix_id, ""), "")
            prefix = tech.id.split(".")[0]
            if not parent and prefix != tech.id and prefix in known:
                parent = prefix
            if parent:
                techniques[stix_id] = replace(tech, parent_id=parent)
            else:
                self.errors.append(f"{stix_id} ({tech.id}): sub-technique without a parent")

    def _domain(self) -> str:
        """The domain most objects belong to (shared objects list several)."""
        counts: Counter[str] = Counter()
        for kind in ("attack-pattern", "x-mitre-tactic"):
            for _, obj in self.by_type.get(kind, ()):
                domains = obj.get("x_mitre_domains")
                if isinstance(domains, list):
                    counts.update(d for d in domains if isinstance(d, str))
        if not counts:
            self.errors.append("bundle: no x_mitre_domains on any technique or tactic")
            return ""
        return counts.most_common(1)[0][0]

    def _version(self, pinned: str | None) -> str:
        for _, obj in self.by_type.get("x-mitre-collection", ()):
            found = obj.get("x_mitre_version")
            if isinstance(found, str) and found:
                if pinned and pinned != found:
                    log.warning("bundle says ATT&CK %s, the pin says %s", found, pinned)
                return found
        if pinned:
            return pinned
        specs = [
            obj["x_mitre_attack_spec_version"]
            for entries in self.by_type.values()
            for _, obj in entries
            if isinstance(obj.get("x_mitre_attack_spec_version"), str)
        ]
        best = max(specs, key=_version_key, default="")
        log.warning("no ATT&CK version in the bundle or the pin; using spec version %r", best)
        return best


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in text.split("."))


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({i for i in ids if i}))


def _sorted(records: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(records, key=lambda r: r.id))
