"""Cold parse time of the Elastic corpus against tomllib alone reading the same files.

Run: .venv/bin/python bench/bench_elastic.py [runs]   (KG_CORPORA or shared/corpora)
Each run is a fresh interpreter, so lark grammars are built inside the timing.
Prints the median CPU seconds (process_time, steadier than wall time on a shared
machine) of the runs for both, and their ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from kg.settings import corpora_dir

_TOML = """
import time, tomllib
from pathlib import Path
from kg.loaders.elastic import LOADER
files = LOADER.discover(Path({root!r}))
blobs = [Path(f.path).read_bytes() for f in files]
t = time.process_time()
for b in blobs:
    tomllib.loads(b.decode("utf-8"))
print(time.process_time() - t)
"""

_LOADER = """
import time
from pathlib import Path
from kg.loaders.elastic import LOADER
files = LOADER.discover(Path({root!r}))
blobs = [(f, Path(f.path).read_bytes()) for f in files]
t = time.process_time()
results = [LOADER.parse(f, b, None) for f, b in blobs]
print(time.process_time() - t)
"""


def _time(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    root = str(corpora_dir() / "elastic")
    tomls, fulls = [], []
    for _ in range(runs):  # interleaved, so a busy machine slows both alike
        tomls.append(_time(_TOML.format(root=root)))
        fulls.append(_time(_LOADER.format(root=root)))
    toml, full = statistics.median(tomls), statistics.median(fulls)
    print(f"elastic corpus, {runs} cold runs, median CPU seconds")
    print(f"  tomllib only      {toml:6.2f}")
    print(f"  elastic loader    {full:6.2f}   ({full / toml:.1f}x tomllib)")


if __name__ == "__main__":
    main()
