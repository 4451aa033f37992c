"""bench/profile.py on a tiny corpus: it runs, and its stage mapping (bench/stages.py) still
names where the time goes, so the tables in bench/profiles/ stay true as the code moves.

No timing is asserted: only how the time measured is shared between the stages.
"""

from __future__ import annotations

import json
import pstats
import shutil

import pytest

from bench import profile, stages

# What no rule names is the own time of the glue between stages (each engine's search(),
# run_search, the Flask view): 1-8% of a query on 200 passages. A rule that stops matching
# after a rename hands its whole stage to "other", and the stages this test requires below
# (ranked pass, highlighting, parsing) are each 5-50% of a query: so 15% is above what glue
# costs, and below what losing any of the large stages would add.
MAX_OTHER_SHARE = 0.15
REQUIRED = {
    "engine": (stages.PARSE, stages.RANKED, stages.HIGHLIGHT, stages.GROUPS, stages.SHAPING),
    "api": (stages.CITATION, stages.JSON, stages.ETAG, stages.FLASK),
}


def _run(tmp_path, engine: str, *extra: str) -> dict:
    profiles = tmp_path / "profiles"
    profile.main(
        [
            "--engine",
            engine,
            "--size",
            "200",
            "--rounds",
            "1",
            "--results",
            str(tmp_path / "results"),
            "--profiles",
            str(profiles),
            *extra,
        ]
    )
    found = tmp_path / "results" / "profiles" / f"{engine}-200.json"
    return json.loads(found.read_text(encoding="utf-8"))


def _shares(summary: dict) -> dict[str, float]:
    return {stage: summary[stage]["share"] for stage in stages.STAGES}


@pytest.mark.parametrize("engine", ["whoosh", "kb-tantivy"])
def test_the_stages_cover_the_time_of_both_paths(tmp_path, engine):
    report = _run(tmp_path, engine, "--no-sampler")
    assert report["passages"] == 200
    assert report["queries"] == 35
    for name, result in report["paths"].items():
        shares = _shares(result["stages"])
        assert shares[stages.OTHER] < MAX_OTHER_SHARE, (name, shares)
        # Rules never nest, so no time is counted twice: "other" is never below zero.
        assert shares[stages.OTHER] >= -1e-9, (name, shares)
        assert len(result["per_query"]) == 35
        for stage in REQUIRED["engine"] + (REQUIRED["api"] if name == "api" else ()):
            assert shares[stage] > 0, (name, stage, shares)
    engine_path = _shares(report["paths"]["engine"]["stages"])
    assert engine_path[stages.FLASK] == engine_path[stages.JSON] == 0  # no Flask in the seam


@pytest.mark.parametrize("engine", ["whoosh", "kb-tantivy"])
def test_the_profile_writes_its_tables_and_pstats(tmp_path, engine):
    _run(tmp_path, engine, "--no-sampler")
    table = (tmp_path / "profiles" / f"{engine}-200.md").read_text(encoding="utf-8")
    assert table.count("| **total** |") == 2  # the API path and the engine seam
    for stage in stages.STAGES:
        assert f"| {stage} |" in table
    assert "Top 15 functions by own time" in table
    for path, root in profile.PATHS.items():
        pstats_file = tmp_path / "results" / "profiles" / f"{engine}-200-{path}.pstats"
        functions = {name for _, _, name in pstats.Stats(str(pstats_file)).stats}
        assert root.rpartition(":")[2] in functions  # every query's calls, under its root
        assert "search" in functions


def test_the_split_passes_are_told_apart_by_call_site(tmp_path):
    """The Whoosh engine's all-words check and its ranked pass are one function (_top): the
    dispatcher names them apart, and the check runs only for some queries."""
    report = _run(tmp_path, "whoosh", "--no-sampler")
    per_query = report["paths"]["engine"]["per_query"]
    assert all(q[stages.RANKED] > 0 for q in per_query)
    checked = [q for q in per_query if q[stages.STRICT] > 0]
    assert 0 < len(checked) < len(per_query)


def test_a_stack_is_given_to_the_first_rule_below_its_root():
    root = profile.ENGINE_ROOT
    stack = [
        "engine_query (bench/profile.py)",
        "WhooshEngine.search (indexer/index/whoosh_engine.py)",
        "WhooshEngine._suggest (indexer/index/whoosh_engine.py)",
        "IndexSearcher.suggest (whoosh/searching.py)",
    ]
    frames = [stages.parse_frame(f) for f in stack]
    assert stages.stack_stage(frames, root) == stages.SPELLING
    assert stages.stack_stage(frames[1:], root) is None  # not a query's stack
    assert stages.stack_stage(frames[:2], root) == stages.OTHER
    collapsed = [";".join(stack) + " 7", ";".join(stack[:2]) + " 3"]
    sampled = stages.sampled_stages(collapsed, root)
    assert (sampled[stages.SPELLING], sampled[stages.OTHER], sampled["total"]) == (7, 3, 10)


def test_stacks_too_big_to_commit_are_cut_at_a_depth_keeping_every_sample():
    deep = [
        f"engine_query (bench/profile.py);{';'.join(f'f{i} (x.py)' for i in range(d))} 2"
        for d in range(1, 60)
    ]
    whole, depth = profile.fit(deep, 10**9)
    assert depth is None and whole.count("\n") == len(deep)
    cut, depth = profile.fit(deep, 20_000)
    assert depth is not None and len(cut.encode()) <= 20_000
    lines = cut.splitlines()
    assert sum(int(line.rpartition(" ")[2]) for line in lines) == 2 * len(deep)
    assert max(len(line.rpartition(" ")[0].split(";")) for line in lines) == depth


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("py-spy") is None, reason="py-spy is in the test extra")
def test_py_spy_samples_agree_that_the_stages_cover_the_time(tmp_path):
    report = _run(tmp_path, "kb-tantivy", "--sample-seconds", "2")
    collapsed = tmp_path / "profiles" / "kb-tantivy-200.collapsed.txt"
    lines = collapsed.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.startswith(("engine_query (", "api_query (")) for line in lines)
    for result in report["paths"].values():
        sampled = result["sampled"]
        assert sampled["total"] > 100
        assert sampled[stages.OTHER] / sampled["total"] < MAX_OTHER_SHARE
