"""Hybrid search's parts that need no model (issue #19), and what a knowledge base without
embeddings says: exact cosine top-k with a filter mask, reciprocal rank fusion, the status
rules kept after fusion, the filter mask against the engines' own filters, and mode=hybrid
refused clearly where it cannot run. These run with and without the semantic extra."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from indexer.corpus import read_document, select_corpus
from indexer.index import dense
from indexer.index.build import build
from indexer.index.engine import SearchRequest
from indexer.passages import parse_document
from kb import hybrid
from kb.cli import cli
from kb.service import KnowledgeBase
from kb.web import create_app
from tests.conftest import SAMPLES, make_settings


def unit(*rows):
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_top_k_is_exact_cosine_best_first_within_the_mask():
    vectors = unit([1, 0], [0.9, 0.1], [0, 1], [0.7, 0.7])
    query = unit([1, 0])[0]
    assert [row for row, _ in dense.top_k(vectors, query, 3)] == [0, 1, 3]
    mask = np.array([False, True, True, True])
    found = dense.top_k(vectors, query, 10, mask)
    assert [row for row, _ in found] == [1, 3, 2]  # only allowed rows, never more than there are
    assert found[0][1] == pytest.approx(float(vectors[1] @ query))
    assert dense.top_k(vectors, query, 5, np.zeros(4, dtype=bool)) == []


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = hybrid.rrf(["a", "b", "c"], ["c", "d", "a"], k=60)
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert scores["d"] == pytest.approx(1 / 62)
    assert [pid for pid, _ in fused] == ["a", "c", "b", "d"]


def record(status="in_force", operative=True):
    return {"status": status, "operative": operative}


def test_ended_text_never_above_current_text_that_matched_as_well():
    records = {
        "ended-kw": record("withdrawn"),  # keyword rank 0: matched best, may stay first
        "cur-kw": record(),  # keyword rank 1
        "ended-kw2": record("repealed"),  # keyword rank 2: below cur-kw, whatever the fusion says
        "ended-dense": record("superseded"),  # dense only: below every current passage
        "cur-dense": record(),
    }
    keyword_rank = {"ended-kw": 0.0, "cur-kw": 1.0, "ended-kw2": 2.0}
    fused = ["ended-dense", "ended-kw2", "ended-kw", "cur-dense", "cur-kw"]
    order = hybrid.rank_rules(fused, keyword_rank, records)
    assert order.index("ended-kw") < order.index("cur-dense")
    assert order.index("ended-kw2") > order.index("cur-kw")
    assert order.index("ended-dense") > max(order.index("cur-kw"), order.index("cur-dense"))
    assert [p for p in order if records[p]["status"] == "in_force"] == ["cur-dense", "cur-kw"]


def test_operative_text_before_notes_after_fusion():
    records = {"note": record(operative=False), "law": record()}
    assert hybrid.rank_rules(["note", "law"], {"note": 0.0}, records) == ["law", "note"]


@pytest.fixture(scope="module")
def plain_kb(tmp_path_factory):
    """The samples built with KB_EMBEDDINGS=off: a version with no vectors, extra or not."""
    settings = make_settings(tmp_path_factory.mktemp("plain"), SAMPLES)
    settings.engine = "tantivy"
    settings.embeddings = "off"
    build(settings, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)
    yield settings, kb
    kb.close()


def test_filter_mask_allows_what_the_engine_filters_allow(plain_kb):
    """The dense side's filters are the keyword engine's: over every sample passage, the rows
    DenseIndex.allowed keeps are those the engine returns for the same filters."""
    settings, kb = plain_kb
    version = kb.current()
    passages = [p for doc in version.documents for p in version.engine.passages_of(doc["id"])]
    files = [read_document(path) for path in select_corpus([SAMPLES], None).paths]
    parsed = [parse_document(f.document, f.body) for f in files]
    rows = [dense.row_of(p) for doc in parsed for p in doc.passages]
    zeros = np.zeros((len(rows), dense.DIM), np.float32)
    index = dense.DenseIndex(zeros, [r["id"] for r in rows], rows)
    assert {r["id"] for r in rows} == {p["id"] for p in passages}
    cases = [
        {"status": ["current"]},
        {"doc_type": ["act"], "duty": ["duty"]},
        {"status": ["withdrawn"]},
        {"holder": ["employer"]},
        {"extent": ["W"]},
        {"as_at": "2031-06-01"},
    ]
    for filters in cases:
        request = SearchRequest(q="the OR a OR of OR to OR and OR in", limit=100, **filters)
        engine_ids = {hit["id"] for hit in version.engine.search(request).results}
        mask = index.allowed(request)
        allowed = {pid for pid, ok in zip(index.ids, mask, strict=True) if ok}
        # every passage the engine matched is allowed, and nothing the filters exclude
        assert engine_ids <= allowed, filters
        unfiltered = SearchRequest(q=request.q, limit=100)
        everything = {hit["id"] for hit in version.engine.search(unfiltered).results}
        assert allowed & everything == engine_ids, filters


def test_hybrid_asked_for_without_embeddings_is_a_clear_400(plain_kb):
    settings, kb = plain_kb
    client = create_app(settings, kb=kb).test_client()
    answer = client.get("/api/v1/search?q=duty+to+consult&mode=hybrid")
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["error"] == "hybrid_unavailable"
    assert body["message"].startswith("Hybrid search is unavailable: ")
    assert "semantic" in body["message"]
    assert client.get("/healthz").get_json()["hybrid_available"] is False
    plain = client.get("/api/v1/search?q=duty+to+consult").get_json()
    assert plain["mode"] == "keyword" and plain["hybrid_available"] is False
    bad = client.get("/api/v1/search?q=duty&mode=semantic")
    assert bad.status_code == 400 and "Use one of: keyword, hybrid" in bad.get_json()["message"]


def test_a_hybrid_default_falls_back_to_keyword_where_it_cannot_run(plain_kb):
    settings, kb = plain_kb
    settings_hybrid = make_settings(settings.home.parent, SAMPLES)
    settings_hybrid.search_mode = "hybrid"
    client = create_app(settings_hybrid, kb=kb).test_client()
    body = client.get("/api/v1/search?q=duty+to+consult").get_json()
    assert body["mode"] == "keyword" and body["total"] > 0
    assert client.get("/api/v1/search?q=duty&mode=keyword").get_json()["mode"] == "keyword"


def test_the_search_page_offers_no_ranking_choice_without_embeddings(plain_kb):
    settings, kb = plain_kb
    client = create_app(settings, kb=kb).test_client()
    page = client.get("/?q=duty+to+consult").get_data(as_text=True)
    assert "passages found" in page
    assert 'name="mode"' not in page
    refused = client.get("/?q=duty+to+consult&mode=hybrid")
    assert refused.status_code == 400
    assert "Hybrid search is unavailable" in refused.get_data(as_text=True)


def test_cli_search_and_eval_say_hybrid_is_unavailable(plain_kb, tmp_path):
    settings, _ = plain_kb
    env = {"KB_HOME": str(settings.home), "KB_CORPUS": str(SAMPLES)}
    runner = CliRunner()
    found = runner.invoke(cli, ["search", "--mode", "hybrid", "duty"], env=env, obj={})
    assert found.exit_code == 1
    assert "Hybrid search is unavailable" in found.output
    qrels = tmp_path / "q.tsv"
    qrels.write_text("q1\tduty to consult\tukpga/2031/12/section/2/2\n", encoding="utf-8")
    measured = runner.invoke(cli, ["eval", "--mode", "hybrid", str(qrels)], env=env, obj={})
    assert measured.exit_code == 2
    assert "Hybrid search is unavailable" in measured.output
    keyword = runner.invoke(cli, ["eval", "--json", str(qrels)], env=env, obj={})
    assert keyword.exit_code == 0 and json.loads(keyword.output)["mode"] == "keyword"


def test_kb_embeddings_setting_is_checked():
    from kb.core.config import Settings

    assert Settings.from_env({"KB_EMBEDDINGS": "off"}).embeddings == "off"
    assert Settings.from_env({"KB_SEARCH_MODE": "Hybrid"}).search_mode == "hybrid"
    with pytest.raises(ValueError, match="KB_SEARCH_MODE must be one of keyword, hybrid"):
        Settings.from_env({"KB_SEARCH_MODE": "dense"})
