"""The full load run: 50 clients for 60 s on loopback against `kb serve`, optionally with a
rebuild and switch in the middle.

    python -m bench.load --passages 10000 --clients 50 --seconds 60
    python -m bench.load --passages 10000 --clients 50 --seconds 60 --rebuild-at 20
    python -m bench.load --passages 10000 --clients 50 --seconds 60 --engine tantivy
    python -m bench.load --passages 10000 --clients 20 --seconds 60 --expensive-clients 16

`--expensive-clients N` adds N clients looping on the costliest searches the API accepts
(bench.loadgen.expensive_probes); the server's search gate queues them or refuses them with 503
and Retry-After, and the output's "health" section shows how /healthz answered meanwhile
(p50/p95/max, how many within a second, and how many while searches were being refused).

Builds a KB_HOME from a generated Markdown corpus with `kb build` (cached under
bench/results/load-<passages>), serves it with waitress and prints requests/s, p50/p95/p99 and
errors as JSON (also written to bench/results/load-*.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.corpus import write_markdown_corpus
from bench.loadgen import Probe, default_probes, expensive_probes, run_load
from bench.serve import kb_serve

RESULTS = Path(__file__).resolve().parent / "results"


def kb_build(home: Path, corpus: Path, engine: str, extra: dict[str, str] | None = None) -> float:
    """Seconds a `kb build` of the corpus into home takes (extra: more environment)."""
    started = time.perf_counter()
    env = {**os.environ, "KB_HOME": str(home), "KB_ENGINE": engine, **(extra or {})}
    subprocess.run(
        [sys.executable, "-m", "kb", "build", "--quiet", "--no-samples", "--corpus", str(corpus)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    # Load the search itself, not the response cache (the clients repeat a small query mix).
    os.environ["KB_QUERY_CACHE"] = "0"
    parser = argparse.ArgumentParser(description="Bounded load test on 127.0.0.1.")
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--engine", default="whoosh", help="KB_ENGINE for `kb build`")
    parser.add_argument(
        "--expensive-clients",
        type=int,
        default=0,
        help="extra clients looping on the costliest accepted searches (plus one health prober)",
    )
    parser.add_argument(
        "--rebuild-at",
        type=float,
        default=None,
        help="run `kb build` this many seconds in, switching mid-run",
    )
    args = parser.parse_args(argv)
    work = RESULTS / f"load-{args.passages}"
    corpus = work / "corpus"
    home = work / ("home" if args.engine == "whoosh" else f"home-{args.engine}")
    if not corpus.exists():
        write_markdown_corpus(corpus, args.passages)
    if not (home / "index" / "CURRENT").exists():
        print(
            f"kb build of {args.passages:,} passages: {kb_build(home, corpus, args.engine):.1f}s",
            flush=True,
        )
    rebuild_seconds: list[float] = []

    def rebuild(_live):
        time.sleep(args.rebuild_at)
        rebuild_seconds.append(kb_build(home, corpus, args.engine))

    with kb_serve(home, threads=args.threads) as port:
        result = run_load(
            port,
            default_probes(),
            clients=args.clients,
            seconds=args.seconds,
            during=rebuild if args.rebuild_at is not None else None,
            groups=[(args.expensive_clients, expensive_probes()), (1, [Probe("/healthz")])]
            if args.expensive_clients
            else None,
        )
    summary = {
        "command": "python -m bench.load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "passages": args.passages,
        "threads": args.threads,
        "engine": args.engine,
        "expensive_clients": args.expensive_clients,
        **result.summary(),
        "rebuild_seconds": rebuild_seconds,
        "error_samples": result.errors[:10],
    }
    name = f"load-{args.engine}-{args.passages}-{args.clients}x{int(args.seconds)}"
    name += "-rebuild" if args.rebuild_at is not None else ""
    name += f"-expensive{args.expensive_clients}" if args.expensive_clients else ""
    (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary, indent=1))
    sys.exit(1 if result.error_count else 0)


if __name__ == "__main__":
    main()
