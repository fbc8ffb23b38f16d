"""``kg build``: every configured source, parsed, normalised and written to a store.

The build step is the only part of kg's library that knows the loaders.  It
owns what they share: finding each source's files, a parse cache keyed by file
content, parsing in worker processes, the load report, and deciding that
nothing changed since the last build (then it writes nothing).
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from kg import derive, schema, settings, sources, writer
from kg.errors import KgError, SourceError
from kg.model import (
    AttackRecords,
    EventLink,
    EventRecord,
    FileResult,
    RuleLoader,
    RuleRecord,
    SourceFile,
    SourceReport,
)
from kg.sources import Pin
from kg.stores.base import GraphStore

log = logging.getLogger(__name__)

KG_BUILD_VERSION = "2"
CHUNK = 150

#: rule sources and the loader module that reads each
RULE_LOADERS = {
    "sigma": "kg.loaders.sigma",
    "elastic": "kg.loaders.elastic",
    "splunk": "kg.loaders.splunk",
}

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildOptions:
    source_dir: Path | None = None  # a folder laid out like the shared corpora
    paths: dict[str, Path] = field(default_factory=dict)  # per-source overrides
    only: tuple[str, ...] = ()  # load just these sources (names of kg.sources pins)
    workers: int = 0  # 0: one per core
    use_cache: bool = True
    force: bool = False
    progress: Progress | None = None


@dataclass
class BuildResult:
    reports: list[SourceReport]
    attack_version: str = ""
    attack_errors: tuple[str, ...] = ()
    unknown_techniques: dict[str, int] = field(default_factory=dict)
    unknown_tactics: dict[str, int] = field(default_factory=dict)
    event_mapping: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    up_to_date: bool = False


# --- finding sources ------------------------------------------------------------


def source_root(pin: Pin, options: BuildOptions) -> Path | None:
    if pin.name in options.paths:
        return options.paths[pin.name]
    if options.source_dir is not None:
        return options.source_dir / pin.folder
    return None


def attack_bundle(root: Path) -> Path:
    """The enterprise bundle inside an ``attack/`` folder, or the file itself."""
    if root.is_file():
        return root
    names = ("enterprise-attack.json.gz", "enterprise-attack.json", "enterprise-attack-18.1.json")
    for name in names:
        if (root / name).exists():
            return root / name
    raise SourceError(str(root), "no enterprise-attack.json(.gz) in this folder")


def fingerprint(root: Path, salt: str) -> str:
    """Names, sizes and modification times of every file: cheap, and enough to see a change."""
    digest = hashlib.sha1(salt.encode())
    if root.is_file():
        st = root.stat()
        digest.update(f"{root.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        return digest.hexdigest()
    entries = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            st = os.stat(os.path.join(dirpath, name))
            entries.append(f"{dirpath}/{name}\0{st.st_size}\0{st.st_mtime_ns}")
    for entry in sorted(entries):
        digest.update(entry.encode())
    return digest.hexdigest()


# --- parsing with a cache and worker processes -----------------------------------


def _loader(name: str) -> RuleLoader:
    # a module found by name is untyped; its LOADER is held to the RuleLoader protocol here
    loader: RuleLoader = importlib.import_module(RULE_LOADERS[name]).LOADER
    return loader


def _parse_chunk(
    name: str, chunk: Sequence[tuple[SourceFile, bytes]], context: object
) -> list[FileResult]:
    loader = _loader(name)
    results = []
    for file, data in chunk:
        try:
            results.append(loader.parse(file, data, context))
        except Exception as exc:  # a loader bug must not lose the file or stop the build
            log.exception("%s: loader %s raised", file.relpath, name)
            results.append(FileResult(file.relpath, "failed", f"loader error: {exc!r}"))
    return results


class ParseCache:
    """Parsed FileResults per source, keyed by the file's bytes and the loader's context."""

    def __init__(self, name: str, loader_version: str, enabled: bool) -> None:
        stem = f"{name}-v{loader_version}-b{KG_BUILD_VERSION}"
        self.path = settings.cache_dir() / "parse" / f"{stem}.pickle"
        self.enabled = enabled
        self.entries: dict[str, tuple[str, FileResult]] = {}
        self.context_digest = ""
        self.dirty = False

    def open(self, context_digest: str) -> None:
        if not self.enabled or not self.path.exists():
            self.context_digest = context_digest
            return
        try:
            with self.path.open("rb") as fh:
                stored_digest, entries = pickle.load(fh)
        except Exception as exc:  # a damaged cache is only a slower build
            log.warning("ignoring unreadable parse cache %s: %s", self.path, exc)
            stored_digest, entries = "", {}
        self.context_digest = context_digest
        if stored_digest == context_digest:
            self.entries = entries

    def get(self, relpath: str, digest: str) -> FileResult | None:
        hit = self.entries.get(relpath)
        return hit[1] if hit and hit[0] == digest else None

    def put(self, relpath: str, digest: str, result: FileResult) -> None:
        self.entries[relpath] = (digest, result)
        self.dirty = True

    def save(self, keep: Iterable[str]) -> None:
        if not self.enabled:
            return
        keep = set(keep)
        if set(self.entries) - keep:
            self.entries = {k: v for k, v in self.entries.items() if k in keep}
            self.dirty = True
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump((self.context_digest, self.entries), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self.path)


@dataclass
class _SourceJob:
    name: str
    report: SourceReport
    cache: ParseCache
    results: dict[str, FileResult]
    pending: list[tuple[Future[list[FileResult]] | None, list[tuple[SourceFile, bytes, str]]]]
    order: list[str]


def _start_source(
    name: str, root: Path, options: BuildOptions, pool: ProcessPoolExecutor | None
) -> _SourceJob:
    loader = _loader(name)
    pin = sources.BY_NAME[name]
    report = SourceReport(name=name, version=pin.version)
    files = loader.discover(root)
    context = loader.context(root)
    cache = ParseCache(name, loader.version, options.use_cache)
    cache.open(hashlib.sha1(pickle.dumps(context)).hexdigest())
    job = _SourceJob(name, report, cache, {}, [], [f.relpath for f in files])
    misses: list[tuple[SourceFile, bytes, str]] = []
    for file in files:
        if file.skip_reason:
            job.results[file.relpath] = FileResult(file.relpath, "skipped", file.skip_reason)
            continue
        try:
            data = Path(file.path).read_bytes()
        except OSError as exc:
            job.results[file.relpath] = FileResult(file.relpath, "failed", f"cannot read: {exc}")
            continue
        digest = hashlib.sha1(data).hexdigest()
        hit = cache.get(file.relpath, digest)
        if hit is not None:
            job.results[file.relpath] = hit
        else:
            misses.append((file, data, digest))
    for start in range(0, len(misses), CHUNK):
        chunk = misses[start : start + CHUNK]
        payload = [(f, d) for f, d, _ in chunk]
        future = pool.submit(_parse_chunk, name, payload, context) if pool else None
        if future is None:
            with _gc_running():
                parsed = _parse_chunk(name, payload, context)
            for (file, _, digest), result in zip(chunk, parsed, strict=False):
                job.results[file.relpath] = result
                cache.put(file.relpath, digest, result)
        else:
            job.pending.append((future, chunk))
    return job


def _finish_source(job: _SourceJob, progress: Progress | None) -> SourceReport:
    done = len(job.results)
    total = len(job.order)
    for future, chunk in job.pending:
        assert future is not None
        for (file, _, digest), result in zip(chunk, future.result(), strict=False):
            job.results[file.relpath] = result
            job.cache.put(file.relpath, digest, result)
        done += len(chunk)
        if progress:
            progress(job.name, done, total)
    job.cache.save(job.order)
    job.report.files = [job.results[relpath] for relpath in job.order]
    for result in job.report.files:
        for note in result.notes:
            job.report.note(note)
    return job.report


def _pool(workers: int, names: Iterable[str] = ()) -> ProcessPoolExecutor | None:
    """Parser processes, forked once every loader named is imported in this process.

    The pool forks on its first submit; importing the loaders first means no worker
    imports pySigma, lark or a grammar again.  Workers collect garbage even when the
    parent paused it (see :func:`_gc_paused`): a parse makes cyclic trees.
    """
    if workers <= 1:
        return None
    for name in names:
        _loader(name)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("fork"), initializer=gc.enable
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the build holds millions of live objects.

    Every few thousand allocations CPython's collector walks the young objects, and
    now and then all of them: with the parsed corpora and the graph batch alive that
    costs seconds and frees nothing, as records and rows form no garbage cycles.
    Freezing what exists also keeps a forked worker's collector off the parent's
    pages, which it would otherwise copy.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


@contextmanager
def _gc_running() -> Iterator[None]:
    """Collection back on for parsing in this process: parsers leave cyclic garbage."""
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was_enabled:
            gc.disable()


def parse_rule_sources(roots: dict[str, Path], options: BuildOptions) -> list[SourceReport]:
    """Parse every rule source; cached files are not parsed again."""
    pool = _pool(options.workers or os.cpu_count() or 1, roots)
    try:
        with _gc_paused():
            jobs = [_start_source(name, root, options, pool) for name, root in roots.items()]
            return [_finish_source(job, options.progress) for job in jobs]
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)


# --- the build --------------------------------------------------------------------


def _load_attack(path: Path) -> AttackRecords:
    from kg.loaders import attack

    return attack.load_bundle(path, version=sources.ATTACK.version)


def _load_events(root: Path | None) -> tuple[list[EventRecord], SourceReport]:
    from kg.loaders import events

    catalogue, report = events.load_catalogue(root)
    return list(catalogue), report


@dataclass
class _EventMapping:
    rule_links: list[EventLink]
    analytic_links: list[EventLink]
    resolved: dict[str, int]  # analytic id -> log-source references that named an event
    stats: dict[str, dict[str, int]]  # per vendor (and "attack-analytics"), what mapped and why not


def _map_events(
    rules: Sequence[RuleRecord], attack: AttackRecords | None, catalogue: Sequence[EventRecord]
) -> _EventMapping:
    from kg import events as event_map

    rule_links: list[EventLink] = []
    resolved: dict[str, int] = {}
    stats: dict[str, dict[str, int]] = {}
    known = frozenset(event.key for event in catalogue)
    for rule in rules:
        vendor_stats = stats.setdefault(rule.vendor, {"rules": 0, "mapped": 0})
        vendor_stats["rules"] += 1
        keys, reason = event_map.rule_events(rule, known)
        if keys:
            vendor_stats["mapped"] += 1
            rule_links.extend(EventLink(rule.uid, key, via) for key, via in keys)
        else:
            why = f"unmapped: {reason}"
            vendor_stats[why] = vendor_stats.get(why, 0) + 1
    analytic_links: list[EventLink] = []
    if attack is not None:
        a_stats = stats.setdefault("attack-analytics", {"log_sources": 0, "resolved": 0})
        for an in attack.analytics:
            for ref in an.log_sources:
                a_stats["log_sources"] += 1
                event_keys = event_map.analytic_events(ref, known)
                if event_keys:
                    a_stats["resolved"] += 1
                    resolved[an.id] = resolved.get(an.id, 0) + 1
                    via = f"{ref.name} {ref.channel}".strip()
                    analytic_links.extend(EventLink(an.id, key, via) for key in event_keys)
                else:
                    why = f"unresolved: {ref.name}"
                    a_stats[why] = a_stats.get(why, 0) + 1
    return _EventMapping(rule_links, analytic_links, resolved, stats)


def stored_fingerprints(store: GraphStore) -> dict[str, str]:
    try:
        rows = store.run("MATCH (s:Source) RETURN s.name AS name, s.fingerprint AS fingerprint")
    except KgError:
        return {}
    return {row["name"]: row["fingerprint"] for row in rows}


def build(store: GraphStore, options: BuildOptions) -> BuildResult:
    """Load every source into ``store``; nothing is written when nothing changed."""
    started = time.perf_counter()
    wanted = [p for p in sources.ALL if not options.only or p.name in options.only]
    roots: dict[str, Path] = {}
    for pin in wanted:
        root = source_root(pin, options)
        if root is None:
            from kg import fetch

            root = fetch.fetch_all([pin]) / pin.folder
        if not root.exists():
            if pin.name == sources.OSSEM_DD.name:
                continue  # the authored catalogue still loads without OSSEM files
            raise SourceError(str(root), f"{pin.name} source not found")
        roots[pin.name] = root

    salt = f"kg{KG_BUILD_VERSION}-schema{schema.SCHEMA_VERSION}"
    prints = {}
    for name, root in roots.items():
        loader_version = _loader(name).version if name in RULE_LOADERS else ""
        prints[name] = fingerprint(root, f"{salt}-{loader_version}")
    result = BuildResult(reports=[], fingerprints=prints)
    if not options.force and prints and stored_fingerprints(store) == prints:
        result.up_to_date = True
        result.timings["total"] = time.perf_counter() - started
        return result

    with _gc_paused():
        return _build(store, options, roots, prints, result, started)


def _build(
    store: GraphStore,
    options: BuildOptions,
    roots: dict[str, Path],
    prints: dict[str, str],
    result: BuildResult,
    started: float,
) -> BuildResult:
    rule_roots = {n: r for n, r in roots.items() if n in RULE_LOADERS}
    t0 = time.perf_counter()
    batch = writer.GraphBatch()
    reports: list[SourceReport] = []
    all_rules: list[RuleRecord] = []
    pool = _pool(options.workers or os.cpu_count() or 1, rule_roots)
    try:
        jobs = [_start_source(name, root, options, pool) for name, root in rule_roots.items()]
        # ATT&CK and the event catalogue load here while the workers parse rules
        t1 = time.perf_counter()
        attack = _load_attack(attack_bundle(roots["attack"])) if "attack" in roots else None
        catalogue, events_report = _load_events(roots.get(sources.OSSEM_DD.name))
        if attack is not None:
            writer.add_attack(batch, attack)
        writer.add_events(batch, catalogue)
        result.timings["attack+events"] = time.perf_counter() - t1
        for job in jobs:
            # a source is normalised as soon as it is parsed, while workers parse the next;
            # sources keep their order, so the first-seen values in the batch are the same
            report = _finish_source(job, options.progress)
            if pool and job is jobs[-1]:
                pool.shutdown()  # every result is in: free the workers' memory now
            reports.append(report)
            rules = report.rules
            all_rules.extend(rules)
            writer.add_rules(batch, rules, sources.BY_NAME[report.name])
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    reports.append(events_report)
    result.timings["parse+normalise"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if attack is not None:
        result.attack_version = attack.version
        result.attack_errors = attack.errors
    _link(batch, reports, all_rules, attack, catalogue, result)
    for name, fp in prints.items():
        found = next((r for r in reports if r.name == name), None)
        files = len(found.files) if found else 1
        loaded = len(found.rules) if found else 0
        writer.add_source(batch, sources.BY_NAME[name], fp, files, loaded)
    result.timings["link"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    store.reset()
    derive.add_derived(batch)
    batch.write(store)
    result.timings["write"] = time.perf_counter() - t0
    result.reports = reports
    result.unknown_techniques = dict(sorted(batch.unknown_techniques.items()))
    result.unknown_tactics = dict(sorted(batch.unknown_tactics.items()))
    result.counts = batch.counts()
    result.timings["total"] = time.perf_counter() - started
    return result


def _link(
    batch: writer.GraphBatch,
    reports: list[SourceReport],
    all_rules: list[RuleRecord],
    attack: AttackRecords | None,
    catalogue: Sequence[EventRecord],
    result: BuildResult,
) -> None:
    """What needs every rule: correlations between rules, and rules and analytics to events."""
    unresolved = writer.add_correlations(batch, all_rules)
    if unresolved:
        for report in reports:
            if report.name == "sigma":
                report.note("correlation references not found", unresolved)
    mapping = _map_events(all_rules, attack, catalogue)
    result.event_mapping = mapping.stats
    writer.add_rule_events(batch, mapping.rule_links)
    if attack is not None:
        writer.add_analytic_events(batch, attack, mapping.analytic_links, mapping.resolved)


def report_json(result: BuildResult) -> dict[str, object]:
    """The load report as written by ``kg build --report``: every file accounted for."""
    out_sources = []
    for report in result.reports:
        rules = report.rules
        out_sources.append(
            {
                "source": report.name,
                "version": report.version,
                "files_seen": len(report.files),
                "files_loaded": report.count("loaded"),
                "rules_loaded": len(rules),
                "rules_with_condition_tree": sum(1 for r in rules if r.condition is not None),
                "skipped": [
                    {"path": f.relpath, "reason": f.reason}
                    for f in report.files
                    if f.status == "skipped"
                ],
                "failed": [
                    {"path": f.relpath, "line": f.line, "reason": f.reason}
                    for f in report.files
                    if f.status == "failed"
                ],
                "rules_without_tree": [
                    {"path": r.path, "id": r.id, "status": r.parse_status, "reason": r.parse_reason}
                    for r in rules
                    if r.condition is None
                ],
                "notes": dict(sorted(report.notes.items())),
            }
        )
    return {
        "up_to_date": result.up_to_date,
        "attack_version": result.attack_version,
        "attack_errors": list(result.attack_errors),
        "unknown_techniques": result.unknown_techniques,
        "unknown_tactics": result.unknown_tactics,
        "event_mapping": result.event_mapping,
        "counts": result.counts,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "sources": out_sources,
    }
