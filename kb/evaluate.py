"""`kb eval`: relevance figures (nDCG@10, MRR, Recall@10) for judged queries, via ir-measures.

Queries go through the same path as the search page (kb.search.run_search), so citation
look-ups, synonyms and the ranking of non-current text are all measured.

Each TSV file is one judged set, named by its file name without `.tsv` (`qrels`, `questions`,
`questions-real`), and measured on its own. Grades run from 0 to 3 and are nDCG's gains;
MRR and Recall@10 count any grade of 1 or more as relevant.

The baseline file holds one set's figures at its top level (the set named by its "set" key,
`qrels` when it has none) and any other set's under "sets". A file with no "sets" (the format
before there were several sets) is the baseline of every set measured against it.
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
GRADES = range(0, 4)
DEFAULT_SET = "qrels"


@dataclass
class Judged:
    qid: str
    query: str
    relevant: dict[str, int]


@dataclass
class JudgedSet:
    """One file of judged queries, measured on its own."""

    name: str
    path: Path
    judged: list[Judged]


class QrelsError(ValueError):
    pass


def _grades(relevant: str, where: str) -> dict[str, int]:
    grades = {}
    for item in relevant.split():
        pid, _, grade = item.partition("=")
        if grade and not (grade.isdigit() and int(grade) in GRADES):
            raise QrelsError(f"{where}: grade {grade!r} of {pid} is not 0, 1, 2 or 3")
        grades[pid] = int(grade or 1)
    return grades


def read_qrels(path: Path) -> list[Judged]:
    judged = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        where = f"{path}:{number}"
        if len(parts) != 3:
            raise QrelsError(f"{where}: expected 3 tab-separated columns, got {len(parts)}")
        qid, query, relevant = parts
        grades = _grades(relevant, where)
        if not any(grades.values()):
            raise QrelsError(f"{where}: no relevant passages for {qid}")
        judged.append(Judged(qid, query, grades))
    return judged


def set_name(path: Path) -> str:
    return path.name.removesuffix(".tsv")


def read_sets(paths: list[Path]) -> list[JudgedSet]:
    """Each file as a set; two files with one name are refused (their figures would merge)."""
    sets: dict[str, JudgedSet] = {}
    for path in paths:
        name = set_name(path)
        if name in sets:
            raise QrelsError(f"{path} and {sets[name].path} are both the set {name!r}")
        sets[name] = JudgedSet(name, path, read_qrels(path))
    return list(sets.values())


def _ranked(version, query: str, mode: str = "keyword") -> list[str]:
    try:
        response = run_search(version, {"q": query, "limit": DEPTH, "mode": mode})
    except RequestError:
        return []
    return [hit["id"] for hit in response["results"]]


def evaluate(version, judged: list[Judged], mode: str = "keyword") -> dict:
    """A set's figures with each query searched in `mode` (keyword or hybrid)."""
    qrels, run, per_query = [], [], {}
    for item in judged:
        for pid, grade in item.relevant.items():
            qrels.append(ir_measures.Qrel(item.qid, pid, grade))
        ranked = _ranked(version, item.query, mode)
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


def evaluate_sets(version, sets: list[JudgedSet], mode: str = "keyword") -> dict[str, dict]:
    """Each set's figures, by set name, in the order given."""
    return {judged_set.name: evaluate(version, judged_set.judged, mode) for judged_set in sets}


def baseline_for(baseline: dict, name: str) -> dict | None:
    """The figures set `name` must hold, or None when the baseline names none for it."""
    if "sets" not in baseline:
        return baseline
    if name == baseline.get("set", DEFAULT_SET):
        return baseline
    return baseline["sets"].get(name)


def below(figures: dict, entry: dict) -> list[str]:
    return [
        f"{name} {figures[name]:.4f} is below the baseline {entry[name]:.4f}"
        for name in MEASURES
        if name in entry and figures[name] + 1e-9 < entry[name]
    ]


def check_baseline(figures: dict, baseline_path: Path, name: str = DEFAULT_SET) -> list[str]:
    """The measures of set `name` that fell below the committed baseline."""
    entry = baseline_for(json.loads(baseline_path.read_text(encoding="utf-8")), name)
    return below(figures, entry) if entry is not None else []
