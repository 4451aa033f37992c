"""KB_ENGINE=tantivy against the Whoosh reference engine, and what only tantivy does.

The API, page and search tests run against both engines through the parametrised `engine`
fixture (tests/conftest.py); this file keeps the direct comparisons (stored passages, results,
facets, relevance, API shape, speed) and tantivy's own analysers.
"""

from __future__ import annotations

import statistics
import time

import pytest

from indexer.index.engine import SearchRequest
from kb.core.config import PROJECT_ROOT
from kb.core.query import QueryError, check
from kb.evaluate import MEASURES, evaluate, read_qrels
from kb.search import make_request
from kb.web import create_app
from tests.conftest import generated_engine

QRELS = PROJECT_ROOT / "eval" / "qrels.tsv"
SLACK = 0.03  # how far tantivy's relevance figures may be from Whoosh's


def run(kb, q, **kw):
    """A search as the service makes it: checked, synonyms expanded, filters validated."""
    request = make_request({"q": q, "limit": kw.pop("limit", 10), **kw.pop("params", {})}, **kw)
    return kb.current().engine.search(request)


def ids(response):
    return [hit["id"] for hit in response.results]


def client_of(kb):
    app = create_app(kb.settings, kb=kb)
    app.testing = True
    return app.test_client()


# --- The index version ------------------------------------------------------------------


def test_rank_factors_are_exact_in_tantivy():
    """tantivy's log2(2 + w) weighting gives back every factor, down to the smallest one (a
    non-operative, non-current passage of the lowest document type)."""
    import math

    from indexer.index.ranking import rank_factor
    from indexer.index.tantivy_engine import RANK_SCALE, _rank_weight
    from kb.core.models import Passage

    base = dict(id="x", document_id="x", pin="x", anchor="x", label="", title="", heading="",
                citation="", short_citation="", source_url=None, status_date=None,
                text="", order=0)  # fmt: skip
    for status in ("in_force", "repealed"):
        for doc_type in ("act", "correspondence"):
            for operative in (True, False):
                passage = Passage(**base, status=status, doc_type=doc_type, operative=operative)
                factor = rank_factor(passage)
                weight = math.log2(2 + _rank_weight(factor)) / RANK_SCALE
                assert weight == pytest.approx(factor, rel=1e-9), (status, doc_type, operative)
    assert rank_factor(Passage(**base, status="in_force", doc_type="act", operative=False)) < 1


def test_stored_passages_are_identical_to_whoosh(tantivy_kb, whoosh_kb):
    whoosh, tantivy = whoosh_kb.current(), tantivy_kb.current()
    assert tantivy.manifest["engine"] == "tantivy" and whoosh.manifest["engine"] == "whoosh"
    assert tantivy.engine.count() == whoosh.engine.count() == 47
    for doc in whoosh.documents:
        expected = whoosh.engine.passages_of(doc["id"])
        got = tantivy.engine.passages_of(doc["id"])
        assert got == expected  # same keys, values, value types and order
        for record in expected:
            assert tantivy.engine.passage(record["id"]) == record
    # The fields this stores for every passage, whichever engine wrote it.
    intro = whoosh.engine.passage("ukpga/2031/12/introduction")
    assert intro["operative"] is False and intro["extent"] == ["E", "W"] and intro["notes"] == ""
    assert whoosh.engine.passage("ukpga/2031/12/section/1/1")["extent"] == ["E"]
    assert tantivy.engine.passage("no/such/passage") is None
    assert tantivy.engine.passages_of("no/such/document") == []


# --- Relevance ---------------------------------------------------------------------------


def test_relevance_agrees_with_whoosh(tantivy_kb, whoosh_kb):
    # Each engine holding the committed baseline is tests/test_eval.py's test, run per engine.
    judged = read_qrels(QRELS)
    figures = {name: evaluate(kb.current(), judged) for name, kb in
               (("whoosh", whoosh_kb), ("tantivy", tantivy_kb))}  # fmt: skip
    for name, f in figures.items():
        print(
            f"\n{name:8} nDCG@10 {f['nDCG@10']:.4f}  MRR {f['MRR']:.4f}  "
            f"Recall@10 {f['Recall@10']:.4f} on {f['queries']} queries"
        )
    assert figures["tantivy"]["queries"] == figures["whoosh"]["queries"] == len(judged)
    for measure in MEASURES:
        assert abs(figures["tantivy"][measure] - figures["whoosh"][measure]) <= SLACK, measure


PARITY_QUERIES = [
    "duty to consult",
    "may",
    "may issue guidance",
    "authority must not",
    "new joiners terms",
    "consult trade unions before tender",
    "pension protection transferred staff",
    "information about transferring employees",
    "dismissal because of transfer",
    "continuous improvement economy efficiency effectiveness",
    "duty to involve",
    "have regard to guidance",
    "broadly comparable pension",
    "consultation",
    "protection transferred staff",
    "recognised trade union elected representatives",
    "TUPE",
    "consulting",
    '"duty to consult"',
    "consult AND unions",
    "consult NOT unions",
    "pension OR tenders",
    "consult*",
    "(pension OR tenders) AND staff",
    "consult type:act",
    "title:regulations transfer",
]
FILTERED = [
    ("consult", {"status": ["withdrawn"]}),
    ("joiners", {"status": ["current"]}),
    ("consult", {"document": ["ukpga/2031/12"]}),
    ("consult", {"doc_type": ["act", "si"]}),
    ("consult", {"duty": ["duty"], "holder": ["authority"]}),
    ("joiners", {"params": {"as_at": "2025-01-01"}}),
    ("joiners", {"params": {"as_at": "2031-06-01"}}),
    ("authority", {"extent": ["E"]}),
    ("authority", {"extent": ["W"]}),
    ("authority", {"extent": ["S", "W"]}),
]


@pytest.mark.parametrize("q", PARITY_QUERIES)
def test_parity_with_whoosh(q, tantivy_kb, whoosh_kb):
    whoosh, tantivy = run(whoosh_kb, q, limit=10), run(tantivy_kb, q, limit=10)
    assert tantivy.total == whoosh.total
    assert tantivy.facets == whoosh.facets
    assert tantivy.relaxed == whoosh.relaxed
    assert tantivy.suggestion == whoosh.suggestion
    top_w, top_t = ids(whoosh)[:3], ids(tantivy)[:3]
    assert top_t[:1] == top_w[:1], (top_w, top_t)
    # One highlighter (indexer/index/highlight.py) for both: the same hit shows the same.
    shown = {hit["id"]: (hit["snippet_html"], hit["heading_html"]) for hit in whoosh.results}
    for hit in tantivy.results:
        if hit["id"] in shown:
            assert (hit["snippet_html"], hit["heading_html"]) == shown[hit["id"]], hit["id"]
    assert len(set(top_w) & set(top_t)) >= min(2, len(top_w)), (top_w, top_t)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_cut_facet_lists_agree_with_whoosh(size, tantivy_kb, whoosh_kb):
    whoosh = run(whoosh_kb, "authority", params={"facet_size": size})
    tantivy = run(tantivy_kb, "authority", params={"facet_size": size})
    assert tantivy.facets == whoosh.facets
    assert tantivy.facets_truncated == whoosh.facets_truncated != []


@pytest.mark.parametrize("q,kw", FILTERED, ids=[f"{q}-{sorted(kw)}" for q, kw in FILTERED])
def test_filter_parity_with_whoosh(q, kw, tantivy_kb, whoosh_kb):
    whoosh, tantivy = run(whoosh_kb, q, limit=50, **kw), run(tantivy_kb, q, limit=50, **kw)
    assert tantivy.total == whoosh.total > 0
    assert set(ids(tantivy)) == set(ids(whoosh))
    assert tantivy.facets == whoosh.facets


# --- The page taken from the ranked pass -------------------------------------------------


def _responses(engine, requests) -> list[dict]:
    found = []
    for request in requests:
        response = engine.search(request).to_dict()
        response.pop("took_ms")
        found.append(response)
    return found


def _pages(queries, params=({},)) -> list[SearchRequest]:
    requests = []
    for q in queries:
        for extra in params:
            for limit, offset in ((10, 0), (3, 0), (5, 5)):
                try:
                    requests.append(
                        make_request({"q": q, "limit": limit, "offset": offset, **extra})
                    )
                except QueryError:
                    continue
    return requests


def test_the_ranked_pass_shortcut_gives_the_same_answers_as_ranking_each_group(
    tantivy_kb, monkeypatch
):
    """tantivy takes the page from its single ranked pass when one search over the top hits
    shows it holds it (TantivyEngine._in_rank_groups); ranking each group on its own must
    give exactly the same answers: pages, totals, facets, highlights, relaxed."""
    from indexer.index.tantivy_engine import TantivyEngine

    engine = tantivy_kb.current().engine
    queries = [item.query for item in read_qrels(QRELS)] + PARITY_QUERIES
    requests = _pages(queries, ({}, {"status": ["withdrawn"]}, {"doc_type": ["act", "si"]}))
    fast = _responses(engine, requests)
    monkeypatch.setattr(TantivyEngine, "shortcut", False)
    assert _responses(engine, requests) == fast
    assert sum(bool(r["results"]) for r in fast) > 200


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """1,500 generated passages (bench/corpus.py), where many pages need passages the ranked
    pass ranks below its top hits."""
    engine = generated_engine(tmp_path_factory, "tantivy")
    yield engine
    engine.close()


def test_the_shortcut_gives_the_same_answers_on_a_generated_corpus(generated, monkeypatch):
    from bench.queries import query_mix
    from indexer.index.tantivy_engine import TantivyEngine

    mix = query_mix("x")
    requests = _pages([q.q for q in mix] + PARITY_QUERIES)
    requests += [
        SearchRequest(q=check(q.q).text, doc_type=list(q.doc_type), status=list(q.status))
        for q in mix
    ]
    fast = _responses(generated, requests)
    monkeypatch.setattr(TantivyEngine, "shortcut", False)
    assert _responses(generated, requests) == fast


def _mix_requests(**extra) -> list[SearchRequest]:
    from bench.queries import query_mix

    return [
        SearchRequest(q=check(q.q).text, doc_type=list(q.doc_type), status=list(q.status), **extra)
        for q in query_mix("x")
    ]


def test_facets_counted_beside_the_ranking_give_the_same_answers(generated, monkeypatch):
    """In a large index facets are counted on a second thread while the first ranks
    (TantivyEngine.parallel_from); the answers are those of counting them inline: pages,
    totals, facets (with and without a facet's own filter), highlights, relaxed."""
    from indexer.index.tantivy_engine import TantivyEngine

    filters = ({}, {"status": ["in_force"]}, {"doc_type": ["act"], "status": ["withdrawn"]})
    requests = _pages(PARITY_QUERIES, filters)
    requests += _mix_requests()
    monkeypatch.setattr(TantivyEngine, "parallel_from", 10**9)
    inline = _responses(generated, requests)
    monkeypatch.setattr(TantivyEngine, "parallel_from", 0)
    assert _responses(generated, requests) == inline
    assert sum(r["total"] > 0 for r in inline) > len(inline) // 2


def test_searches_at_once_get_their_own_facet_counts(generated, monkeypatch):
    """Searches from several threads at once, with one counting thread between them (so most
    count inline, as when a busy server's counting threads are all taken): each gets the
    answer it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    from indexer.index import tantivy_engine
    from indexer.index.tantivy_engine import TantivyEngine, _Parallel

    requests = _mix_requests()
    alone = _responses(generated, requests)
    monkeypatch.setattr(TantivyEngine, "parallel_from", 0)
    monkeypatch.setattr(tantivy_engine, "_PARALLEL", _Parallel(1))
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda r: _responses(generated, [r])[0], requests * 4))
    assert together == alone * 4


def test_words_compiled_by_earlier_searches_give_the_same_answers(generated, monkeypatch):
    """A version's searches share the words and phrases they compile (_Compiler.shared):
    whatever was searched before, each search answers as it does on a freshly opened engine,
    wildcards included (the words each stood for are marked, and a prefix matching too many
    is named in truncated_prefixes, every time). The shared entries are capped: a version
    that forgets them all at once still answers the same."""
    from indexer.index import engine, tantivy_engine
    from indexer.index.tantivy_engine import TantivyEngine

    for module in (engine, tantivy_engine):  # so that some prefix matches too many words
        monkeypatch.setattr(module, "MAX_PREFIX_TERMS", 5)
    queries = PARITY_QUERIES + ["consult* review", "procure* OR commission*", "con*", "pro*"]
    requests = _pages(queries, ({}, {"status": ["in_force"]}))
    fresh = [_responses(TantivyEngine(generated.path), [r])[0] for r in requests]
    assert _responses(generated, requests) == fresh
    assert _responses(generated, requests[::-1]) == fresh[::-1]
    assert any(r["truncated_prefixes"] for r in fresh)
    assert any("<mark>" in hit["snippet_html"] for r in fresh for hit in r["results"])
    monkeypatch.setattr(tantivy_engine._Compiled, "LIMIT", 3)
    assert _responses(TantivyEngine(generated.path), requests) == fresh


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_a_cut_facet_list_is_the_head_of_the_whole_list(size, generated):
    """Only the buckets a facet list can show are read (tantivy_engine._shown): a list cut to
    `size` values is the first `size` of the whole list (most passages first, ties
    alphabetically), and the facet is said to have more exactly when it has."""
    whole = _responses(generated, _mix_requests(facet_size=1000))
    cut = _responses(generated, _mix_requests(facet_size=size))
    checked = 0
    for full, part in zip(whole, cut, strict=True):
        for name, values in full["facets"].items():
            assert part["facets"][name] == values[:size], name
            assert (name in part["facets_truncated"]) == (len(values) > size), name
            checked += len(values) > size + 2  # more buckets than _shown reads whole
    assert checked > 10


# --- Queries an engine is handed directly ---------------------------------------------------


@pytest.mark.parametrize("q", ["(duty", "duty)", "duty AND", "AND duty", "duty OR ) x"])
def test_malformed_raw_queries_raise_query_error(q, tantivy_kb):
    # kb.core.query.check refuses these first; a SearchRequest given them as a string parses
    # them (kb.core.query.parse) and refuses them too, whichever engine it goes to.
    with pytest.raises(QueryError):
        tantivy_kb.current().engine.search(SearchRequest(q=q))


# --- The API over each engine -------------------------------------------------------------


def test_api_results_have_the_same_keys_as_whoosh(tantivy_kb, whoosh_kb):
    tclient, client = client_of(tantivy_kb), client_of(whoosh_kb)
    for q in ("duty+to+consult", "pension", "joiners"):
        mine = tclient.get(f"/api/v1/search?q={q}").get_json()
        reference = client.get(f"/api/v1/search?q={q}").get_json()
        assert mine["results"] and reference["results"]
        assert set(mine) == set(reference)
        assert set(mine["facets"]) == set(reference["facets"])
        for a, b in zip(mine["results"], reference["results"], strict=False):
            assert set(a) == set(b)
            assert {k: type(v) for k, v in a.items() if v is not None} == {
                k: type(v) for k, v in b.items() if v is not None and k in a and a[k] is not None
            }


# --- Speed (printed, not asserted) -------------------------------------------------------


@pytest.mark.slow
def test_print_latency_of_both_engines(tantivy_kb, whoosh_kb):
    queries = [item.query for item in read_qrels(QRELS)]
    for name, kb in (("whoosh", whoosh_kb), ("tantivy", tantivy_kb)):
        engine = kb.current().engine
        requests = []
        for q in queries:
            try:
                requests.append(make_request({"q": q}))
            except QueryError:
                continue
        timings = []
        for _ in range(3):
            for request in requests:
                started = time.perf_counter()
                engine.search(request)
                timings.append((time.perf_counter() - started) * 1000)
        print(f"\n{name:8} median search {statistics.median(timings):.2f} ms "
              f"over {len(requests)} eval queries x3 (47 passages)")  # fmt: skip


def test_spell_field_indexes_the_shared_spelling_words():
    """The "did you mean" words tantivy is handed must be analysis.SPELL's (short ones
    aside)."""
    from bench.corpus import generate
    from indexer.index import analysis
    from indexer.index.tantivy_engine import words_tokenizer

    _, passages = generate(300)
    analyzer = words_tokenizer()
    texts = ["The duty to consult", "a an the", "", "e-mail s.3(2) 1.2.3 café NAÏVE don't"]
    for text in texts + [f"{p.heading} {p.text}" for p in passages]:
        _, spellings = analysis.stems_and_spellings(text)
        words = [word for word in analyzer.analyze(spellings) if len(word) >= 3]
        assert words == [word for word, *_ in analysis.tokens(analysis.SPELL, text)], text
