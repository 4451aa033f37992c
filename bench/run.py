"""Run the benchmark: Whoosh, SQLite FTS5 and tantivy on the same passages and queries.

    python -m bench.run --sizes 10000 100000 --rounds 5

For each size: generate passages (cached under bench/results/data), then for each engine a fresh
process builds the index and answers the query mix in-process (bench/measure.py); then the Whoosh
version is served by `kb serve` (waitress) and the same mix goes through /api/v1/search, after
which the server's peak RSS is read from /proc (the report's "kb serve peak RSS MB" column).
`--engines whoosh fts5 tantivy kb-tantivy` adds the project's tantivy engine (indexer/index/tantivy_engine.py)
behind the same seam, in-process and through `kb serve`.
Writes bench/results/bench-<stamp>.json and .md (and latest.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.corpus import documents_path, write_jsonl
from bench.queries import query_mix
from bench.report import write_report
from bench.serve import Client, kb_serve_process, rss_mb, search_path

RESULTS = Path(__file__).resolve().parent / "results"
ENGINES = ("whoosh", "fts5", "tantivy", "kb-tantivy")
SERVED = ("whoosh", "kb-tantivy")  # engines the app serves: also measured through kb serve


def ensure_data(size: int) -> Path:
    path = RESULTS / "data" / f"passages-{size}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        write_jsonl(path, size)
        print(f"  generated {size:,} passages in {time.perf_counter() - started:.1f}s", flush=True)
    return path


def measure(engine: str, data: Path, size: int, rounds: int) -> dict:
    out = RESULTS / "work" / f"{engine}-{size}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.measure",
            "--engine",
            engine,
            "--data",
            str(data),
            "--out",
            str(out),
            "--rounds",
            str(rounds),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout)


def end_to_end(engine: str, size: int, data: Path, rounds: int, threads: int) -> dict:
    """The query mix through a real `kb serve`, and that process's memory: resident when it is
    first healthy (idle), its peak once the mix has run, and then how much of it is the heap
    (anonymous) and how much mapped files."""
    home = RESULTS / "work" / f"{engine}-{size}" / "home"
    first_doc = json.loads(documents_path(data).read_text(encoding="utf-8"))[0]["id"]
    mix = query_mix(first_doc)
    latencies: dict[str, list[float]] = {}
    with kb_serve_process(home, threads=threads) as (port, proc):
        idle = rss_mb(proc.pid, "VmRSS")
        client = Client(port)
        for q in mix:
            client.get(search_path(q.params()))
        for _ in range(rounds):
            for q in mix:
                started = time.perf_counter()
                status, _ = client.get(search_path(q.params()))
                latencies.setdefault(q.kind, []).append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise RuntimeError(f"{q.q!r} answered {status}")
        client.close()
        memory = {field: rss_mb(proc.pid, field) for field in ("VmHWM", "RssAnon", "RssFile")}
    return {
        "latencies_ms": latencies,
        "threads": threads,
        "serve_idle_rss_mb": idle,
        "serve_peak_rss_mb": memory["VmHWM"],
        # at the end: heap, and pages of files mapped (the index; shared with the page cache)
        "serve_anon_rss_mb": memory["RssAnon"],
        "serve_file_rss_mb": memory["RssFile"],
    }


def main(argv: list[str] | None = None) -> None:
    # Measure searching, not the response cache: the mix repeats its queries every round.
    os.environ["KB_QUERY_CACHE"] = "0"
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the query mix")
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["whoosh", "fts5", "tantivy"],
        choices=ENGINES,
        help="kb-tantivy is indexer/index/tantivy_engine.py via the seam",
    )
    parser.add_argument("--threads", type=int, default=8, help="waitress threads for kb serve")
    parser.add_argument("--no-e2e", action="store_true")
    args = parser.parse_args(argv)
    run = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        },
        "code": _git_state(),
        "sizes": {},
    }
    for size in args.sizes:
        print(f"{size:,} passages", flush=True)
        data = ensure_data(size)
        results = {}
        for engine in args.engines:
            results[engine] = measure(engine, data, size, args.rounds)
            print(
                f"  {engine}: built at {results[engine]['build_rate']:,.0f} passages/s", flush=True
            )
        for engine in SERVED:
            if engine in results and not args.no_e2e:
                results[engine]["e2e"] = end_to_end(engine, size, data, args.rounds, args.threads)
                print(f"  {engine} end to end done", flush=True)
        run["sizes"][str(size)] = results
    json_path, md_path = write_report(run, RESULTS)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}")


def _git_state() -> str:
    """The commit measured, and whether the working tree had changes on top of it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "kb", "indexer"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in kb/ indexer/" if dirty else "")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
