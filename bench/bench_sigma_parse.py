"""Cold parse of the Sigma corpus (rules* folders) by kg's loader vs pySigma's load_ruleset.

Run: .venv/bin/python bench/bench_sigma_parse.py [SIGMA_ROOT]
(default: $KG_CORPORA/sigma).  Prints seconds for each and their ratio; files are read
into memory first so both sides time parsing, not disk.  Single process.
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

    started = time.perf_counter()
    results = [LOADER.parse(f, d, None) for f, d in data]
    ours = time.perf_counter() - started

    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("rules"))
    started = time.perf_counter()
    collection = SigmaCollection.load_ruleset([str(p) for p in folders], collect_errors=True)
    theirs = time.perf_counter() - started

    status = Counter(r.status for r in results)
    print(f"files under rules*: {len(files)}  results: {dict(status)}")
    print(f"kg sigma loader parse: {ours:.2f} s")
    print(f"pySigma load_ruleset:  {theirs:.2f} s  ({len(collection.rules)} rules)")
    print(f"ratio: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
