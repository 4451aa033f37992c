"""Relevance on each judged set (eval/qrels.tsv, eval/questions.tsv, eval/questions-real.tsv)
must not fall below its entry in the committed baseline."""

import json

import pytest
from click.testing import CliRunner

from eval import real_kb
from kb.cli import cli
from kb.core.config import PROJECT_ROOT, Settings
from kb.evaluate import QrelsError, check_baseline, evaluate, read_qrels, read_sets, set_name
from kb.search import run_search
from kb.service import KnowledgeBase
from tests.conftest import LEGISLATION_RESPONSES

QRELS = PROJECT_ROOT / "eval" / "qrels.tsv"
BASELINE = PROJECT_ROOT / "eval" / "baseline.json"


def test_judged_set_is_realistic_and_large_enough():
    judged = read_qrels(QRELS)
    kinds = {item.qid.rstrip("0123456789") for item in judged}
    assert len(judged) >= 40
    assert kinds == {"kw", "cite", "q"}


def test_relevance_holds_the_baseline(sample_kb):
    figures = evaluate(sample_kb.current(), read_qrels(QRELS))
    print(
        f"\nnDCG@10 {figures['nDCG@10']:.4f}  MRR {figures['MRR']:.4f}  "
        f"Recall@10 {figures['Recall@10']:.4f} on {figures['queries']} queries"
    )
    assert check_baseline(figures, BASELINE) == []


def test_every_judged_passage_exists(sample_kb):
    version = sample_kb.current()
    missing = [
        pid
        for item in read_qrels(QRELS)
        for pid in item.relevant
        if version.engine.passage(pid) is None
    ]
    assert missing == []


def test_kb_eval_fails_below_a_baseline(sample_settings, tmp_path):
    strict = tmp_path / "baseline.json"
    strict.write_text(json.dumps({"nDCG@10": 1.01}))
    env = {"KB_HOME": str(sample_settings.home)}
    result = CliRunner().invoke(
        cli, ["eval", str(QRELS), "--baseline", str(strict)], env=env, obj={}
    )
    assert result.exit_code == 1
    assert "is below the baseline" in result.output


# --- the plain-English sets (issue #19), each measured and checked on its own -----------------

QUESTIONS = PROJECT_ROOT / "eval" / "questions.tsv"
QUESTIONS_REAL = PROJECT_ROOT / "eval" / "questions-real.tsv"


@pytest.mark.parametrize(("path", "at_least"), [(QUESTIONS, 60), (QUESTIONS_REAL, 20)])
def test_the_question_sets_are_large_graded_and_apart_from_the_keyword_set(path, at_least):
    judged = read_qrels(path)
    keyword_queries = {item.query for item in read_qrels(QRELS)}
    assert len(judged) >= at_least
    assert len({item.qid for item in judged}) == len(judged)
    assert not keyword_queries & {item.query for item in judged}
    for item in judged:
        assert set(item.relevant.values()) <= {0, 1, 2, 3}, item.qid
        assert 3 in item.relevant.values(), f"{item.qid} has no passage that answers it"


def _missing(version, path):
    return [
        (i.qid, pid)
        for i in read_qrels(path)
        for pid in i.relevant
        if not version.engine.passage(pid)
    ]


def test_every_judged_question_passage_exists(sample_kb):
    assert _missing(sample_kb.current(), QUESTIONS) == []


def test_plain_english_questions_hold_their_own_baseline(sample_kb):
    figures = evaluate(sample_kb.current(), read_qrels(QUESTIONS))
    assert check_baseline(figures, BASELINE, "questions") == []
    # the set can tell: keyword search is far from answering everyday questions yet
    assert figures["nDCG@10"] < json.loads(BASELINE.read_text())["nDCG@10"] - 0.2


@pytest.fixture(scope="module")
def real_kb_version(tmp_path_factory):
    """The shared legislation crawled from a mirror and built, as `python -m eval.real_kb` does."""
    home = tmp_path_factory.mktemp("real") / "home"
    try:
        real_kb.build_real_kb(home, LEGISLATION_RESPONSES)
    except real_kb.SharedMissing as exc:
        pytest.skip(str(exc))
    settings = Settings.from_env({"KB_HOME": str(home), "KB_CORPUS": str(home / "corpus")})
    kb = KnowledgeBase(settings, check_interval=0)
    yield kb.current()
    kb.close()


def test_every_judged_real_passage_exists(real_kb_version):
    assert _missing(real_kb_version, QUESTIONS_REAL) == []


def test_real_questions_hold_their_own_baseline(real_kb_version):
    figures = evaluate(real_kb_version, read_qrels(QUESTIONS_REAL))
    assert check_baseline(figures, BASELINE, "questions-real") == []


def test_the_real_kb_holds_every_kind_of_legislation_it_names(real_kb_version):
    held = {doc["id"] for doc in real_kb_version.documents}
    assert held == {item.path for item in real_kb.ITEMS}
    assert {"asp/2023/5", "asc/2025/1", "nia/2022/21", "uksi/2015/1669", "aep/Ann/6/11"} <= held


def test_the_real_kb_script_says_why_it_skips_without_the_shared_files(tmp_path, capsys):
    absent = tmp_path / "no-shared"
    assert real_kb.main(["--home", str(tmp_path / "home"), "--responses", str(absent)]) == 3
    assert f"Skipped: the shared legislation.gov.uk responses are not at {absent}." in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "home").exists()


def _eval(settings, *args):
    env = {"KB_HOME": str(settings.home)}
    return CliRunner().invoke(cli, ["eval", *map(str, args)], env=env, obj={})


def test_kb_eval_reports_each_set_separately(sample_settings):
    result = _eval(sample_settings, QRELS, QUESTIONS, "--baseline", BASELINE, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)["sets"]
    assert list(figures) == ["qrels", "questions"]
    assert (figures["qrels"]["queries"], figures["questions"]["queries"]) == (47, 62)
    assert figures["qrels"]["nDCG@10"] > figures["questions"]["nDCG@10"]


def _small_sets(tmp_path):
    """The first queries of the keyword set and of the question set, under the same names."""
    paths = []
    for source in (QRELS, QUESTIONS):
        folder = tmp_path / source.stem
        folder.mkdir(parents=True)
        lines = [line for line in source.read_text().splitlines() if not line.startswith("#")]
        (folder / source.name).write_text("\n".join(lines[:3]) + "\n")
        paths.append(folder / source.name)
    return paths


def test_each_set_is_printed_and_checked_against_its_own_baseline_entry(sample_settings, tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"nDCG@10": 0.1, "sets": {"questions": {"MRR": 1.01}}}))
    result = _eval(sample_settings, *_small_sets(tmp_path), "--baseline", baseline)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("qrels: 3 queries: nDCG@10 ")
    assert lines[1].startswith("questions: 3 queries: nDCG@10 ")
    assert "questions: MRR " in result.output and "is below the baseline 1.0100" in result.output
    assert "qrels: nDCG@10" not in result.output  # the top-level 0.1 is the keyword set's
    keyword_only = _eval(
        sample_settings, _small_sets(tmp_path / "again")[0], "--baseline", baseline
    )
    assert keyword_only.exit_code == 0, keyword_only.output


def test_a_flat_baseline_holds_every_set_and_a_set_it_does_not_name_is_said(
    sample_settings, tmp_path
):
    qrels, questions = _small_sets(tmp_path)
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"Recall@10": 1.01}))  # the format before there were sets
    result = _eval(sample_settings, qrels, questions, "--baseline", flat)
    assert result.exit_code == 1
    assert "qrels: Recall@10" in result.output and "questions: Recall@10" in result.output
    named = tmp_path / "named.json"
    named.write_text(json.dumps({"Recall@10": 1.01, "sets": {}}))
    result = _eval(sample_settings, questions, "--baseline", named)
    assert result.exit_code == 0
    assert f"questions: no baseline for this set in {named}" in result.output


def test_grades_flow_into_ndcg(sample_kb, tmp_path):
    """The same two passages judged 1 then 3, or 3 then 1: nDCG tells them apart, MRR cannot."""
    version = sample_kb.current()
    query = "consult trade unions before tender"
    first, second = [hit["id"] for hit in run_search(version, {"q": query})["results"][:2]]
    figures = {}
    for name, grades in {"worse": (1, 3), "better": (3, 1)}.items():
        path = tmp_path / f"{name}.tsv"
        path.write_text(f"g1\t{query}\t{first}={grades[0]} {second}={grades[1]}\n")
        figures[name] = evaluate(version, read_qrels(path))
    assert figures["better"]["nDCG@10"] > figures["worse"]["nDCG@10"]
    assert figures["better"]["MRR"] == figures["worse"]["MRR"] == 1.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x1\tq\tukpga/2031/12/section/1/1=4", "grade '4' of ukpga/2031/12/section/1/1 is not 0"),
        ("x1\tq\tukpga/2031/12/section/1/1=high", "grade 'high'"),
        ("x1\tq\tukpga/2031/12/section/1/1=0", "no relevant passages for x1"),
    ],
)
def test_a_bad_grade_is_refused_with_its_line(tmp_path, sample_settings, line, message):
    path = tmp_path / "bad.tsv"
    path.write_text(f"# header\n{line}\n")
    with pytest.raises(QrelsError, match=message):
        read_qrels(path)
    result = _eval(sample_settings, path)
    assert result.exit_code == 2 and f"{path}:2: " in result.output


def test_two_files_with_one_set_name_are_refused(tmp_path):
    copy = tmp_path / "qrels.tsv"
    copy.write_text(QRELS.read_text())
    assert set_name(copy) == "qrels"
    with pytest.raises(QrelsError, match="are both the set 'qrels'"):
        read_sets([QRELS, copy])


def test_the_real_kb_script_replaces_only_a_folder_it_made(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert real_kb.main(["--home", str(mine), "--responses", str(tmp_path)]) == 1
    assert "holds files this script did not make" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
