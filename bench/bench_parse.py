"""Benchmark: parsing each rule corpus, cold and warm, next to its peer in the same run.

    python bench/bench_parse.py [--runs 5] [--workers 2] [--source sigma --source elastic ...]

Peers, timed on the same files in the same process:
  sigma    pySigma's own ``SigmaCollection.load_ruleset`` over the rules* folders
  elastic  ``tomllib`` reading every rule TOML
  splunk   PyYAML's libyaml loader reading every detection YAML

cold = no parse cache (every file parsed, in --workers processes);
warm = every file found in the parse cache.  Figures are medians of --runs.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import yaml

from kg import settings
from kg.build import BuildOptions, parse_rule_sources


def median_time(func: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        values.append(time.perf_counter() - started)
    return statistics.median(values), values


def peer_sigma(root: Path) -> Callable[[], object]:
    from sigma.collection import SigmaCollection

    folders = sorted(str(p) for p in root.glob("rules*") if p.is_dir())
    return lambda: SigmaCollection.load_ruleset(folders, collect_errors=True)


def peer_elastic(root: Path) -> Callable[[], object]:
    files = sorted(root.glob("rules*/**/*.toml"))
    return lambda: [tomllib.loads(f.read_text(encoding="utf-8")) for f in files]


def peer_splunk(root: Path) -> Callable[[], object]:
    files = sorted((root / "detections").rglob("*.yml"))
    return lambda: [yaml.load(f.read_bytes(), Loader=yaml.CSafeLoader) for f in files]


PEERS = {
    "sigma": ("pySigma SigmaCollection.load_ruleset", peer_sigma),
    "elastic": ("tomllib alone", peer_elastic),
    "splunk": ("libyaml alone", peer_splunk),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--source", action="append", choices=sorted(PEERS), default=[])
    parser.add_argument("--corpora", type=Path, default=settings.corpora_dir())
    args = parser.parse_args()
    if not args.corpora.exists():
        raise SystemExit(f"corpora not found at {args.corpora} (set KG_CORPORA)")
    for name in args.source or sorted(PEERS):
        root = args.corpora / name
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["KG_CACHE"] = tmp
            cold_opts = BuildOptions(workers=args.workers, use_cache=False)
            warm_opts = BuildOptions(workers=args.workers, use_cache=True)
            sources = {name: root}
            cold, cold_runs = median_time(
                functools.partial(parse_rule_sources, sources, cold_opts), args.runs
            )
            parse_rule_sources(sources, warm_opts)  # fill the cache
            warm, warm_runs = median_time(
                functools.partial(parse_rule_sources, sources, warm_opts), args.runs
            )
        peer_label, make_peer = PEERS[name]
        peer, _ = median_time(make_peer(root), max(1, min(args.runs, 3)))
        report = parse_rule_sources(
            {name: root}, BuildOptions(workers=args.workers, use_cache=False)
        )[0]
        rules = report.rules
        print(
            f"{name:8} files {len(report.files):5}  rules {len(rules):5}  "
            f"with tree {sum(1 for r in rules if r.condition is not None):5}  "
            f"failed {report.count('failed'):3}  skipped {report.count('skipped'):3}"
        )
        print(
            f"{name:8} cold {cold:6.2f} s ({args.workers} workers)  warm {warm:6.3f} s  "
            f"{peer_label} {peer:6.2f} s  cold/peer {cold / peer:5.2f}"
        )
        print(
            f"{name:8}   cold runs {', '.join(f'{v:.2f}' for v in cold_runs)}; "
            f"warm runs {', '.join(f'{v:.3f}' for v in warm_runs)}"
        )


if __name__ == "__main__":
    main()
