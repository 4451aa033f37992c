"""Relevance on the judged queries in eval/qrels.tsv must not fall below the committed baseline."""

import json

from click.testing import CliRunner

from kb.cli import cli
from kb.core.config import PROJECT_ROOT
from kb.evaluate import check_baseline, evaluate, read_qrels

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
