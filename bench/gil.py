"""Does tantivy-py let go of the GIL while it searches and aggregates? Two threads will tell.

    python -m bench.gil --home bench/results/work/kb-tantivy-1000000/home [--calls 10]

Opens the served version of a KB_HOME written with the tantivy engine (bench.run's or
bench.profile's), and times, for `Searcher.search` (ranked, counted, weighted by rank, as the
engine's ranked pass) and `Searcher.aggregate` (the engine's facet counts) over a common
two-word query: `calls` calls on one thread; the same on each of two threads at once; and the
calls on one thread beside a pure-Python loop on another. If the call held the GIL, two
threads would take twice as long as one (ratio 2.0) and the loop beside it would add its own
time; if it lets go, two threads take about as long as one on two cores (ratio ~1.0) and
the loop runs in the calls' shadow.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from pathlib import Path

SPIN = 3_000_000  # iterations of the pure-Python loop (~80 ms)


def spin() -> int:
    total = 0
    for i in range(SPIN):
        total += i
    return total


def timed(fn: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - started


def together(*jobs: Callable[[], object]) -> float:
    """Seconds until every job, each on its own thread, is done."""
    threads = [threading.Thread(target=job) for job in jobs]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def calls_of(home: Path) -> tuple[dict[str, Callable[[], object]], int]:
    """(name -> one call, passages) on the served version of home."""
    from tantivy import Occur, Query

    from indexer.index import store
    from indexer.index.tantivy_engine import FACET_BUCKETS, FACETS, TantivyEngine

    engine = TantivyEngine(store.current_dir(home / "index") / "engine")
    searcher = engine._searcher
    words = [Query.term_query(engine.schema, "body", w) for w in ("author", "contract")]
    query = Query.boolean_query([(Occur.Should, w) for w in words])
    aggs = {n: {"terms": {"field": n, "size": FACET_BUCKETS}} for n in FACETS}
    return {
        "search": lambda: searcher.search(query, limit=10, count=True, weight_by_field="rank_w"),
        "aggregate": lambda: searcher.aggregate(query, aggs),
    }, searcher.num_docs


def measure(fn: Callable[[], object], calls: int) -> dict[str, float]:
    fn()  # warm
    alone = timed(fn, calls)
    spin_alone = timed(spin, 1)
    return {
        "one_thread_ms": alone * 1000,
        "two_threads_ms": together(lambda: timed(fn, calls), lambda: timed(fn, calls)) * 1000,
        "spin_ms": spin_alone * 1000,
        "beside_spin_ms": together(lambda: timed(fn, calls), spin) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a KB_HOME built with tantivy")
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args(argv)
    calls, passages = calls_of(args.home)
    print(f"{passages:,} passages, {args.calls} calls per thread")
    print(
        "| call | 1 thread ms | 2 threads at once ms | ratio | Python loop ms | call beside loop ms |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, fn in calls.items():
        m = measure(fn, args.calls)
        ratio = m["two_threads_ms"] / m["one_thread_ms"]
        print(
            f"| {name} | {m['one_thread_ms']:.0f} | {m['two_threads_ms']:.0f} | {ratio:.2f} | "
            f"{m['spin_ms']:.0f} | {m['beside_spin_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
