"""One engine at one size, in a fresh process: build, then answer the query mix in-process.

    python -m bench.measure --engine whoosh --data bench/results/data/passages-10000.jsonl \
        --out bench/results/work/whoosh-10000 --rounds 5

Prints one JSON object. Running each engine in its own process makes peak memory its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

from bench.corpus import documents_path, read_jsonl
from bench.peers import Fts5Engine, TantivyEngine
from bench.queries import query_mix
from indexer.index import store
from indexer.index.engine import SearchRequest
from kb.core.query import check
from kb.search import run_search
from kb.service import IndexVersion

# Engines served by the app through indexer/index/engine.py's seam (a KB_HOME is written, as `kb build`
# does), and the peers measured beside them. "kb-tantivy" is indexer/index/tantivy_engine.py.
APP_ENGINES = {"whoosh": "whoosh", "kb-tantivy": "tantivy"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else list(path.rglob("*"))
    return sum(p.stat().st_size for p in files if p.is_file()) / 1e6


def build_app_engine(engine: str, data: Path, out: Path) -> tuple[int, float, Path]:
    """Writes a KB_HOME (out/home) holding one published version, as `kb build` leaves it."""
    from indexer.index.engine import writer_for

    name = APP_ENGINES[engine]
    index_dir = out / "home" / "index"
    build_dir = store.start_build(index_dir)
    started = time.perf_counter()
    count = writer_for(name)(build_dir / "engine", read_jsonl(data), None)
    seconds = time.perf_counter() - started
    documents = json.loads(documents_path(data).read_text(encoding="utf-8"))
    store.write_json(build_dir / "documents.json", documents)
    for document in documents:  # a version lists each document's record (store.verify_version)
        record = {"document": document, "nodes": []}
        store.write_json(build_dir / "docs" / f"{store.doc_key(document['id'])}.json", record)
    store.publish(
        index_dir,
        build_dir,
        {
            "engine": name,
            "documents": len(documents),
            "passages": count,
            "problems": [],
            "seconds": seconds,
        },
    )
    return count, seconds, store.current_dir(index_dir) / "engine"


def build_peer(engine: str, data: Path, out: Path) -> tuple[int, float, Path]:
    target = out / ("fts5.db" if engine == "fts5" else "tantivy")
    writer = Fts5Engine.write if engine == "fts5" else TantivyEngine.write
    started = time.perf_counter()
    count = writer(target, read_jsonl(data))
    return count, time.perf_counter() - started, target


def plain_request(params) -> SearchRequest:
    """The request every engine answers alike: the checked query text and the filters.

    The app adds synonym expansion and citation lookup on top (kb/search.py); those are measured
    in the Whoosh app path, not here.
    """
    lists = {k: list(params[k]) for k in ("doc_type", "status", "document")}
    return SearchRequest(q=check(params["q"]).text, **lists)


def searchers(engine: str, out: Path, index_path: Path) -> dict:
    """Functions params -> response dict: "engine" for all, and "app" (run_search) for Whoosh."""
    if engine in APP_ENGINES:
        # searching is measured, not the response cache (the mix repeats its queries)
        version = IndexVersion.open(store.current_dir(out / "home" / "index"), cache_size=0)

        def app(params):
            lists = {k: params[k] for k in ("doc_type", "status", "document")}
            return run_search(version, {"q": params["q"]}, **lists)

        return {
            "engine": lambda params: version.engine.search(plain_request(params)).to_dict(),
            "app": app,
        }
    peer = Fts5Engine(index_path) if engine == "fts5" else TantivyEngine(index_path)
    return {"engine": lambda params: peer.search(plain_request(params))}


def run_mix(search, mix, rounds: int) -> tuple[dict[str, list[float]], list[int]]:
    for q in mix:  # warm caches and lazily opened readers, as a serving process would be
        search(q.params())
    latencies: dict[str, list[float]] = {}
    totals = []
    for _ in range(rounds):
        totals = []
        for q in mix:
            started = time.perf_counter()
            response = search(q.params())
            latencies.setdefault(q.kind, []).append((time.perf_counter() - started) * 1000)
            totals.append(response["total"])
    return latencies, totals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=(*APP_ENGINES, "fts5", "tantivy"), required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    if args.engine in APP_ENGINES:
        count, seconds, index_path = build_app_engine(args.engine, args.data, args.out)
    else:
        count, seconds, index_path = build_peer(args.engine, args.data, args.out)
    build_peak = peak_rss_mb()
    first_doc = json.loads(documents_path(args.data).read_text(encoding="utf-8"))[0]["id"]
    paths = searchers(args.engine, args.out, index_path)
    mix = query_mix(first_doc)
    latencies, totals = run_mix(paths["engine"], mix, args.rounds)
    app_latencies = run_mix(paths["app"], mix, args.rounds)[0] if "app" in paths else None
    json.dump(
        {
            "engine": args.engine,
            "passages": count,
            "build_seconds": seconds,
            "build_rate": count / seconds,
            "build_peak_rss_mb": build_peak,
            "peak_rss_mb": peak_rss_mb(),
            "disk_mb": disk_mb(index_path),
            "latencies_ms": latencies,
            "app_latencies_ms": app_latencies,
            "totals": totals,
            "index_path": str(index_path),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
