"""Benchmark: ``kg build`` cold, warm (parse cache) and unchanged, on both stores.

Prints medians of several runs and the peak resident memory of the whole
process tree (the build and its parser workers, sampled every 20 ms).

    python bench/bench_build.py [--runs 3] [--only attack] [--neo4j]

Uses $KG_CORPORA (default: shared/corpora beside the checkout).  Neo4j runs
when --neo4j is given and NEO4J_URI / NEO4J_PASSWORD are set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kg import settings


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    total = 0
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
        stack.extend(children.get(current, []))
    return total


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak tree RSS (MiB) of one command; fails loudly on a non-zero exit."""
    peak = 0
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode(errors='replace')}")
    return elapsed, peak // 1024


def bench_store(
    label: str, store_args: list[str], args: argparse.Namespace, env: dict[str, str]
) -> None:
    kg = [sys.executable, "-m", "kg"]
    base = kg + ["build", "--source-dir", str(args.corpora), *store_args]
    base += [x for name in args.only for x in ("--only", name)]
    runs = {"cold (no cache)": [], "warm (parse cache)": [], "unchanged": []}
    peaks = {key: 0 for key in runs}
    for _ in range(args.runs):
        for key, extra in (
            ("cold (no cache)", ["--force", "--no-cache"]),
            ("warm (parse cache)", ["--force"]),
            ("unchanged", []),
        ):
            seconds, peak = timed(base + extra, env)
            runs[key].append(seconds)
            peaks[key] = max(peaks[key], peak)
    for key, values in runs.items():
        print(
            f"{label:9} build {key:20} median {statistics.median(values):6.2f} s  "
            f"(runs: {', '.join(f'{v:.2f}' for v in values)})  peak RSS {peaks[key]} MiB"
        )
    for name, params in QUERIES:
        cmd = kg + ["query", name, *store_args, "--format", "json"]
        for key, value in params.items():
            cmd += ["--param", f"{key}={value}"]
        values = [timed(cmd, env)[0] for _ in range(args.runs)]
        median = statistics.median(values)
        print(f"{label:9} query {name:24} median {median:6.2f} s (incl. process start)")


QUERIES: list[tuple[str, dict[str, str]]] = [
    ("info_counts", {}),
    ("info_rules", {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], help="sources to load (default all)")
    parser.add_argument("--neo4j", action="store_true", help="also run against NEO4J_URI")
    parser.add_argument("--corpora", type=Path, default=settings.corpora_dir())
    args = parser.parse_args()
    if not args.corpora.exists():
        raise SystemExit(f"corpora not found at {args.corpora} (set KG_CORPORA)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, KG_CACHE=str(Path(tmp) / "cache"), KG_HOME=str(Path(tmp) / "home"))
        embedded_env = {k: v for k, v in env.items() if k != "NEO4J_URI"}
        bench_store("embedded", ["--db", str(Path(tmp) / "graph.lbug")], args, embedded_env)
        if args.neo4j:
            if not os.environ.get("NEO4J_URI"):
                raise SystemExit("--neo4j needs NEO4J_URI and NEO4J_PASSWORD")
            bench_store("neo4j", [], args, env)


if __name__ == "__main__":
    main()
