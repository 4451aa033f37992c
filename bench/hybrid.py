"""What hybrid search costs (issue #19's gate): build time and search latency added.

    python -m bench.hybrid --sizes 1000 10000 --rounds 3

For each size, a Markdown corpus of synthetic guidance (bench/corpus.write_markdown_corpus)
is built twice by `kb build` in a fresh process with tantivy: with KB_EMBEDDINGS=off and with
embeddings (an empty embedding cache, so every passage is embedded: the first build's cost;
a rebuild embeds only changed text). Then the fixed query mix (bench/queries.py) runs
in-process through kb.search.run_search (the API's search path: citation look-up, result
shaping), keyword and hybrid, response cache off and each query's embedding computed afresh.
Writes bench/results/hybrid-<stamp>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from bench import load
from bench.corpus import write_markdown_corpus
from bench.queries import query_mix

RESULTS = Path(__file__).resolve().parent / "results"


def kb_build(home: Path, corpus: Path, embeddings: str) -> float:
    return load.kb_build(home, corpus, "tantivy", {"KB_EMBEDDINGS": embeddings})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latencies(home: Path, rounds: int) -> dict[str, list[float]]:
    os.environ["KB_QUERY_CACHE"] = "0"
    from indexer.index import dense
    from kb.core.config import Settings
    from kb.search import RequestError, run_search
    from kb.service import KnowledgeBase

    settings = Settings.from_env({"KB_HOME": str(home), "KB_QUERY_CACHE": "0"})
    kb = KnowledgeBase(settings)
    version = kb.current()
    mix = query_mix(version.current_documents[0]["id"])
    times: dict[str, list[float]] = {"keyword": [], "hybrid": []}
    for _ in range(rounds):
        for query in mix:
            for mode in times:
                dense.embed_query.cache_clear()  # every query embedded, as a new one would be
                started = time.perf_counter()
                filters = query.params()
                try:
                    run_search(version, {"q": filters.pop("q"), "mode": mode}, **filters)
                except RequestError:
                    continue
                times[mode].append((time.perf_counter() - started) * 1000)
    kb.close()
    return times


def builds(size: int, work: Path) -> dict:
    corpus = work / f"corpus-{size}"
    if not corpus.exists():
        write_markdown_corpus(corpus, size)
    plain_home, dense_home = work / f"home-{size}-plain", work / f"home-{size}-dense"
    for home in (plain_home, dense_home):
        shutil.rmtree(home, ignore_errors=True)
    return {
        "passages": size,
        "build_s": kb_build(plain_home, corpus, "off"),
        "build_dense_s": kb_build(dense_home, corpus, "auto"),
        "rebuild_s": kb_build(dense_home, corpus, "auto"),  # every vector from the cache
    }


def api_latencies(home: Path) -> dict[str, list[float]]:
    """The mix once per mode through `kb serve` (waitress), each query's embedding computed
    afresh (the server keeps recent ones, so the mix is sent once)."""
    from bench.serve import Client, kb_serve, search_path

    os.environ["KB_QUERY_CACHE"] = "0"
    from kb.core.config import Settings
    from kb.service import KnowledgeBase

    kb = KnowledgeBase(Settings.from_env({"KB_HOME": str(home)}))
    mix = query_mix(kb.current().current_documents[0]["id"])
    kb.close()
    times: dict[str, list[float]] = {"keyword": [], "hybrid": []}
    with kb_serve(home) as port:
        client = Client(port)
        client.get(search_path(mix[0].params()) + "&mode=hybrid")  # loads the vectors
        for mode in times:
            for query in mix:
                started = time.perf_counter()
                status, _ = client.get(search_path(query.params()) + f"&mode={mode}")
                if status == 200:
                    times[mode].append((time.perf_counter() - started) * 1000)
    return times


def measure(size: int, rounds: int, work: Path, built: dict | None = None) -> dict:
    """One size's row; with `built` (a row of an earlier run) its builds are not repeated."""
    row = dict(built) if built else builds(size, work)
    for mode, values in api_latencies(work / f"home-{size}-dense").items():
        row[f"api_{mode}"] = {"p50": statistics.median(values), "p95": percentile(values, 0.95)}
    times = latencies(work / f"home-{size}-dense", rounds)
    for mode, values in times.items():
        row[mode] = {"p50": statistics.median(values), "p95": percentile(values, 0.95)}
    return row


def table(rows: list[dict]) -> str:
    lines = [
        "| passages | build s (keyword) | build s (with embeddings) | rebuild s (cached) "
        "| keyword p50 / p95 ms | hybrid p50 / p95 ms | API keyword | API hybrid |",
        "|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['passages']:,} | {r['build_s']:.1f} | {r['build_dense_s']:.1f} "
            f"| {r['rebuild_s']:.1f} | {r['keyword']['p50']:.1f} / {r['keyword']['p95']:.1f} "
            f"| {r['hybrid']['p50']:.1f} / {r['hybrid']['p95']:.1f} "
            f"| {r['api_keyword']['p50']:.1f} / {r['api_keyword']['p95']:.1f} "
            f"| {r['api_hybrid']['p50']:.1f} / {r['api_hybrid']['p95']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=RESULTS / "hybrid")
    parser.add_argument(
        "--latency-only",
        type=Path,
        metavar="JSON",
        help="Keep the builds of this earlier run (its homes in --work) and measure latency again.",
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    earlier = {}
    if args.latency_only:
        rows = json.loads(args.latency_only.read_text(encoding="utf-8"))["rows"]
        earlier = {row["passages"]: row for row in rows}
    rows = []
    for size in args.sizes:
        rows.append(measure(size, args.rounds, args.work, earlier.get(size)))
        print(table(rows[-1:]), flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%z")
    out = RESULTS / f"hybrid-{stamp}.json"
    out.write_text(json.dumps({"rows": rows, "cpus": os.cpu_count()}, indent=1), encoding="utf-8")
    print(table(rows))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
