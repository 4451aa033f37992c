"""`kb eval`: relevance figures (nDCG@10, MRR, Recall@10) for judged queries, via ir-measures.

Queries go through the same path as the search page (kb.search.run_search), so citation
look-ups, synonyms and the ranking of non-current text are all measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import ir_measures
from ir_measures import RR, R, nDCG

from kb.search import RequestError, run_search

MEASURES = {"nDCG@10": nDCG @ 10, "MRR": RR, "Recall@10": R @ 10}
DEPTH = 10


@dataclass
class Judged:
    qid: str
    query: str
    relevant: dict[str, int]


class QrelsError(ValueError):
    pass


def read_qrels(path: Path) -> list[Judged]:
    judged = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise QrelsError(f"{path}:{number}: expected 3 tab-separated columns, got {len(parts)}")
        qid, query, relevant = parts
        grades = {}
        for item in relevant.split():
            pid, _, grade = item.partition("=")
            grades[pid] = int(grade or 1)
        if not grades:
            raise QrelsError(f"{path}:{number}: no relevant passages for {qid}")
        judged.append(Judged(qid, query, grades))
    return judged


def evaluate(version, judged: list[Judged]) -> dict:
    qrels, run, per_query = [], [], {}
    for item in judged:
        for pid, grade in item.relevant.items():
            qrels.append(ir_measures.Qrel(item.qid, pid, grade))
        try:
            response = run_search(version, {"q": item.query, "limit": DEPTH})
            ranked = [hit["id"] for hit in response["results"]]
        except RequestError:
            ranked = []
        run.extend(
            ir_measures.ScoredDoc(item.qid, pid, float(DEPTH - rank))
            for rank, pid in enumerate(ranked)
        )
        per_query[item.qid] = {"query": item.query, "top": ranked[:3]}
    for measure_name, measure in MEASURES.items():
        for metric in ir_measures.iter_calc([measure], qrels, run):
            per_query[metric.query_id][measure_name] = round(metric.value, 4)
    overall = ir_measures.calc_aggregate(list(MEASURES.values()), qrels, run)
    summary = {name: round(overall[measure], 4) for name, measure in MEASURES.items()}
    for qid in per_query:  # queries with nothing retrieved score zero, not missing
        for name in MEASURES:
            per_query[qid].setdefault(name, 0.0)
    return {"queries": len(judged), **summary, "per_query": per_query}


def check_baseline(figures: dict, baseline_path: Path) -> list[str]:
    """The measures that fell below the committed baseline."""
    baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
    return [
        f"{name} {figures[name]:.4f} is below the baseline {baseline[name]:.4f}"
        for name in MEASURES
        if name in baseline and figures[name] + 1e-9 < baseline[name]
    ]
