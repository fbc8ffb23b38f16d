"""Cold parse time of the Splunk corpus (macros included) against libyaml alone.

Run: .venv/bin/python bench/bench_splunk.py [runs]   (KG_CORPORA or shared/corpora)
Each run is a fresh interpreter, so imports, lark grammars and the macro context are
built inside the timing.  Prints medians of wall and CPU seconds for both.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from kg.settings import corpora_dir

_YAML = """
import time, yaml
from pathlib import Path
files = sorted(Path({root!r}, "detections").rglob("*.yml"))
blobs = [f.read_bytes() for f in files]
w, c = time.perf_counter(), time.process_time()
for b in blobs:
    yaml.load(b, Loader=yaml.CSafeLoader)
print(time.perf_counter() - w, time.process_time() - c)
"""

_LOADER = """
import time
from pathlib import Path
root = Path({root!r})
blobs = [p.read_bytes() for p in sorted((root / "detections").rglob("*.yml"))]
w, c = time.perf_counter(), time.process_time()
from kg.loaders.splunk import LOADER
files = LOADER.discover(root)
context = LOADER.context(root)
results = [LOADER.parse(f, b, context) for f, b in zip(files, blobs)]
print(time.perf_counter() - w, time.process_time() - c)
"""


def _time(code: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def _median(code: str, runs: int) -> tuple[float, float]:
    samples = [_time(code) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    root = str(corpora_dir() / "splunk")
    yaml_wall, yaml_cpu = _median(_YAML.format(root=root), runs)
    wall, cpu = _median(_LOADER.format(root=root), runs)
    print(f"splunk corpus (1,711 detections, 189 macros), {runs} cold runs, median seconds")
    print(f"  libyaml only              wall {yaml_wall:5.2f}  cpu {yaml_cpu:5.2f}")
    print(
        f"  splunk loader + macros    wall {wall:5.2f}  cpu {cpu:5.2f}  ({wall / yaml_wall:.1f}x)"
    )


if __name__ == "__main__":
    main()
