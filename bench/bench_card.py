"""Benchmark: the technique card, overlap and gap answers on a built graph, warm, in process.

    python bench/bench_card.py [--runs 7] [--db PATH] [--neo4j] [T1059.006 T1059.001 ...]

Times the whole card (every section) and the overlap answer for each
technique, the corpus-wide gap answers and the corpus-wide vendor x tactic
overlap table.  Medians after one warm-up run.  The graph
must be built first (``kg build``); --neo4j uses NEO4J_URI / NEO4J_PASSWORD.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

from kg.api import KnowledgeBase

DEFAULT_TECHNIQUES = ("T1059.006", "T1059.001", "T1003.001", "T1547.001", "T1105")


def median_ms(func: Callable[[], object], runs: int) -> tuple[float, float]:
    func()  # warm-up: query plans, page cache
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values), max(values)


def bench(kb: KnowledgeBase, label: str, techniques: list[str], runs: int) -> None:
    for tech in techniques:
        med, worst = median_ms(partial(kb.technique, tech), runs)
        card = kb.technique(tech)
        print(
            f"{label:9} card {tech:10} median {med:7.1f} ms  max {worst:7.1f} ms  "
            f"({card.totals.rules} rules, {card.totals.indicators} indicators)"
        )
        med, worst = median_ms(partial(kb.overlap, tech), runs)
        print(f"{label:9} overlap {tech:7} median {med:7.1f} ms  max {worst:7.1f} ms")
    med, worst = median_ms(kb.gaps, max(3, runs // 2))
    print(f"{label:9} gaps (corpus-wide)   median {med:7.1f} ms  max {worst:7.1f} ms")
    med, worst = median_ms(kb.coverage_by_vendor_tactic, max(3, runs // 2))
    print(f"{label:9} vendor x tactic (corpus-wide) median {med:7.1f} ms  max {worst:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("techniques", nargs="*", default=list(DEFAULT_TECHNIQUES))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", help="embedded database path (default: KG_DB or the data dir)")
    parser.add_argument("--neo4j", action="store_true", help="also run against NEO4J_URI")
    args = parser.parse_args()
    with KnowledgeBase.open(path=args.db) as kb:
        bench(kb, "embedded", args.techniques, args.runs)
    if args.neo4j:
        uri = os.environ.get("NEO4J_URI")
        if not uri:
            raise SystemExit("--neo4j needs NEO4J_URI and NEO4J_PASSWORD")
        with KnowledgeBase.open(
            neo4j_uri=uri,
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=os.environ.get("NEO4J_PASSWORD"),
        ) as kb:
            bench(kb, "neo4j", args.techniques, args.runs)


if __name__ == "__main__":
    main()
