"""A prototype of cheaper Whoosh searching, measured against kb/whoosh_engine.py on the same index.

    python -m bench.fast_whoosh --size 100000

Two changes, each measured separately:

1. Split facets from ranking. `searcher.search(groupedby=...)` scores every matching passage to
   count facets, which defeats Whoosh's block-max skipping. Here the top hits come from a plain
   scored search, and facet counts from an unscored pass over the matching doc numbers, looked up
   in per-version arrays of the facet columns (read once when the version is opened).
2. A per-version LRU cache of whole responses. The cache lives on the engine object, and a new
   index version is a new engine object, so a switch invalidates it without any bookkeeping.

It checks that the top ids, totals and facet counts are the same as the current engine's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter, OrderedDict
from pathlib import Path

from whoosh import query
from whoosh.highlight import ContextFragmenter, WholeFragmenter

from bench.corpus import documents_path
from bench.measure import plain_request
from bench.queries import query_mix
from kb import store
from kb.engine import SearchRequest
from kb.service import IndexVersion
from kb.whoosh_engine import (
    ALL_WORDS_BOOST,
    FACETS,
    SHORT_PASSAGE_CHARS,
    WhooshEngine,
    _explicit,
    _filters,
    _lead,
    _MarkFormatter,
)

MULTI_VALUED = ("holder",)
RESULTS = Path(__file__).resolve().parent / "results"


class FacetArrays:
    """Each facet column as a list indexed by doc number, read once per index version."""

    def __init__(self, engine: WhooshEngine):
        reader = engine._searcher().reader()
        self.columns = {name: list(reader.column_reader(name, translate=True))
                        for name in FACETS if name not in MULTI_VALUED}
        # Multi-valued facets: doc number -> its values, from the postings of each value.
        self.multi = {}
        for name in MULTI_VALUED:
            values: dict[int, list[str]] = {}
            if name in reader.schema:
                for term in reader.lexicon(name):
                    value = term.decode("utf-8") if isinstance(term, bytes) else term
                    for docnum in reader.postings(name, term).all_ids():
                        values.setdefault(docnum, []).append(value)
            self.multi[name] = values

    def count(self, docnums) -> tuple[int, dict[str, list[dict]]]:
        docs = list(docnums)
        counts = {name: Counter(map(column.__getitem__, docs))
                  for name, column in self.columns.items()}
        for name, values in self.multi.items():
            counts[name] = Counter(v for d in docs for v in values.get(d, ()))
        facets = {
            name: [{"value": v, "count": c}
                   for v, c in sorted(found.items(), key=lambda kv: (-kv[1], str(kv[0] or "")))
                   if v or name not in MULTI_VALUED]
            for name, found in counts.items()
        }
        return len(docs), facets


def split_search(engine: WhooshEngine, arrays: FacetArrays, request: SearchRequest,
                 terms: bool = True) -> dict:
    """terms=False skips recording the matched terms of every match (terms=True), which only
    the highlighter of the top hits uses; it then highlights the query's own terms."""
    searcher = engine._searcher()
    parsed = engine._parser_all.parse(request.q)
    filter_q = _filters(request)
    wanted = request.offset + request.limit
    any_words = engine._parser_any.parse(request.q)
    if any_words != parsed and not _explicit(request.typed or request.q):
        parsed.boost = ALL_WORDS_BOOST  # as the engine does: all words first, then any
        parsed = query.Or([parsed, any_words])
    results = searcher.search(parsed, limit=max(wanted, 1), filter=filter_q, terms=terms)
    matching = parsed if filter_q is None else query.And([parsed, filter_q])
    total, facets = arrays.count(searcher.docs_for_query(matching))
    results.formatter = _MarkFormatter()
    hits = []
    for hit in results[request.offset : wanted]:
        item = engine._record(hit.fields())
        short = len(item["text"]) <= SHORT_PASSAGE_CHARS
        results.fragmenter = WholeFragmenter() if short else ContextFragmenter(240, 70)
        item["score"] = round(hit.score, 4)
        item["snippet_html"] = hit.highlights("body", top=2) or _lead(item["text"])
        hits.append(item)
    return {"total": total, "results": hits, "facets": facets}


class CachedSearch:
    """Whole responses for repeated requests, per engine (so per index version)."""

    def __init__(self, search, size: int = 512):
        self.search = search
        self.size = size
        self.entries: OrderedDict = OrderedDict()

    def __call__(self, request: SearchRequest) -> dict:
        key = (request.q, tuple(request.doc_type), tuple(request.status),
               tuple(request.document), request.limit, request.offset)
        if key in self.entries:
            self.entries.move_to_end(key)
            return self.entries[key]
        response = self.search(request)
        self.entries[key] = response
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return response


def timed(search, requests, rounds: int) -> list[float]:
    for r in requests:
        search(r)
    out = []
    for _ in range(rounds):
        for r in requests:
            started = time.perf_counter()
            search(r)
            out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    data = RESULTS / "data" / f"passages-{args.size}.jsonl"
    home = RESULTS / "work" / f"whoosh-{args.size}" / "home"
    version = IndexVersion.open(store.current_dir(home / "index"))
    engine = version.engine
    first = json.loads(documents_path(data).read_text(encoding="utf-8"))[0]["id"]
    requests = [plain_request(q.params()) for q in query_mix(first)]
    started = time.perf_counter()
    arrays = FacetArrays(engine)
    load_ms = (time.perf_counter() - started) * 1000

    mismatches = []
    for r in requests:
        base = engine.search(r).to_dict()
        fast = split_search(engine, arrays, r)
        same = ([h["id"] for h in base["results"]] == [h["id"] for h in fast["results"]]
                and base["total"] == fast["total"]
                and all(base["facets"][f] == fast["facets"][f] for f in FACETS))
        if not same and not mismatches:
            print("first mismatch", r.q, base["total"], fast["total"],
                  [h["id"] for h in base["results"]][:3], [h["id"] for h in fast["results"]][:3])
        if not same:
            mismatches.append(r.q)

    baseline = timed(lambda r: engine.search(r), requests, args.rounds)
    split = timed(lambda r: split_search(engine, arrays, r), requests, args.rounds)
    no_terms = timed(lambda r: split_search(engine, arrays, r, terms=False), requests,
                     args.rounds)
    cached = timed(CachedSearch(lambda r: engine.search(r)), requests, args.rounds)
    rows = {"baseline engine.search": baseline, "split facets": split,
            "split facets, no per-match terms": no_terms,
            "LRU cache (repeat requests)": cached}
    report = {"size": args.size, "facet_arrays_load_ms": round(load_ms, 1),
              "mismatches": mismatches,
              "latency_ms": {name: {"p50": round(statistics.median(v), 2),
                                    "p95": round(p(v, 95), 2), "p99": round(p(v, 99), 2)}
                             for name, v in rows.items()}}
    (RESULTS / f"fast-whoosh-{args.size}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
