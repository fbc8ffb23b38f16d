"""Cold parse of the Sigma corpus (rules* folders) by kg's loader vs pySigma's load_ruleset.

Run: .venv/bin/python bench/bench_sigma_parse.py [SIGMA_ROOT]
(default: $KG_CORPORA/sigma).  Prints seconds for each and their ratio; files are read
into memory first so our side times parsing, not disk (load_ruleset reads its own files,
from the page cache after our read).  Single process.  CPU time is printed beside wall
time because a shared machine's load skews wall time.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from sigma.collection import SigmaCollection

from kg.loaders.sigma import LOADER
from kg.settings import corpora_dir


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else corpora_dir() / "sigma"
    files = [
        f for f in LOADER.discover(root) if not f.skip_reason and f.relpath.startswith("rules")
    ]
    data = [(f, Path(f.path).read_bytes()) for f in files]

    started, cpu = time.perf_counter(), time.process_time()
    results = [LOADER.parse(f, d, None) for f, d in data]
    ours, ours_cpu = time.perf_counter() - started, time.process_time() - cpu

    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("rules"))
    started, cpu = time.perf_counter(), time.process_time()
    collection = SigmaCollection.load_ruleset([str(p) for p in folders], collect_errors=True)
    theirs, theirs_cpu = time.perf_counter() - started, time.process_time() - cpu

    status = Counter(r.status for r in results)
    print(f"files under rules*: {len(files)}  results: {dict(status)}")
    print(f"kg sigma loader parse: {ours:.2f} s wall, {ours_cpu:.2f} s CPU")
    print(
        f"pySigma load_ruleset:  {theirs:.2f} s wall, {theirs_cpu:.2f} s CPU"
        f"  ({len(collection.rules)} rules)"
    )
    print(f"ratio: {ours / theirs:.2f} wall, {ours_cpu / theirs_cpu:.2f} CPU")


if __name__ == "__main__":
    main()
