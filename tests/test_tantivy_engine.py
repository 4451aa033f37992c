"""KB_ENGINE=tantivy: the same API and (nearly) the same results as the Whoosh reference engine."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from indexer.build import build
from kb.config import PROJECT_ROOT
from kb.engine import SearchRequest
from kb.evaluate import evaluate, read_qrels
from kb.query import QueryError
from kb.search import make_request
from kb.service import KnowledgeBase
from kb.tantivy_engine import TantivyEngine
from kb.web import create_app
from tests.conftest import make_settings

QRELS = PROJECT_ROOT / "eval" / "qrels.tsv"
BASELINE = PROJECT_ROOT / "eval" / "baseline.json"
NDCG_SLACK = 0.03


@pytest.fixture(scope="module")
def tantivy_settings(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("tantivy"))
    settings.engine = "tantivy"
    build(settings, progress=False)
    return settings


@pytest.fixture(scope="module")
def tantivy_kb(tantivy_settings):
    kb = KnowledgeBase(tantivy_settings, check_interval=0)
    yield kb
    kb.close()


@pytest.fixture(scope="module")
def tclient(tantivy_settings, tantivy_kb):
    app = create_app(tantivy_settings, kb=tantivy_kb)
    app.testing = True
    return app.test_client()


def run(kb, q, **kw):
    """A search as the service makes it: checked, synonyms expanded, filters validated."""
    request = make_request({"q": q, "limit": kw.pop("limit", 10), **kw.pop("params", {})}, **kw)
    return kb.current().engine.search(request)


def ids(response):
    return [hit["id"] for hit in response.results]


# --- The index version ------------------------------------------------------------------


def test_build_records_the_engine_and_opens_it(tantivy_kb, sample_kb):
    version = tantivy_kb.current()
    assert version.manifest["engine"] == "tantivy"
    assert isinstance(version.engine, TantivyEngine)
    assert version.engine.count() == sample_kb.current().engine.count() == 47


def test_stored_passages_are_identical_to_whoosh(tantivy_kb, sample_kb):
    whoosh, tantivy = sample_kb.current(), tantivy_kb.current()
    for doc in whoosh.documents:
        expected = whoosh.engine.passages_of(doc["id"])
        got = tantivy.engine.passages_of(doc["id"])
        assert got == expected  # same keys, values, value types and order
        for record in expected:
            assert tantivy.engine.passage(record["id"]) == record
    assert tantivy.engine.passage("no/such/passage") is None
    assert tantivy.engine.passages_of("no/such/document") == []


# --- Relevance ---------------------------------------------------------------------------


def test_relevance_holds_the_baseline(tantivy_kb, sample_kb):
    import json

    judged = read_qrels(QRELS)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    figures = {name: evaluate(kb.current(), judged) for name, kb in
               (("whoosh", sample_kb), ("tantivy", tantivy_kb))}  # fmt: skip
    for name, f in figures.items():
        print(
            f"\n{name:8} nDCG@10 {f['nDCG@10']:.4f}  MRR {f['MRR']:.4f}  "
            f"Recall@10 {f['Recall@10']:.4f} on {f['queries']} queries"
        )
    print(f"baseline nDCG@10 {baseline['nDCG@10']:.4f}")
    assert figures["tantivy"]["nDCG@10"] >= baseline["nDCG@10"] - NDCG_SLACK


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
]


@pytest.mark.parametrize("q", PARITY_QUERIES)
def test_parity_with_whoosh(q, tantivy_kb, sample_kb):
    whoosh, tantivy = run(sample_kb, q, limit=10), run(tantivy_kb, q, limit=10)
    assert tantivy.total == whoosh.total
    assert tantivy.facets == whoosh.facets
    assert tantivy.relaxed == whoosh.relaxed
    assert tantivy.suggestion == whoosh.suggestion
    top_w, top_t = ids(whoosh)[:3], ids(tantivy)[:3]
    assert top_t[:1] == top_w[:1], (top_w, top_t)
    headings = {hit["id"]: hit["heading_html"] for hit in whoosh.results}
    for hit in tantivy.results:
        if hit["id"] in headings:
            assert hit["heading_html"] == headings[hit["id"]], hit["id"]
    assert len(set(top_w) & set(top_t)) >= min(2, len(top_w)), (top_w, top_t)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_cut_facet_lists_agree_with_whoosh(size, tantivy_kb, sample_kb):
    whoosh = run(sample_kb, "authority", params={"facet_size": size})
    tantivy = run(tantivy_kb, "authority", params={"facet_size": size})
    assert tantivy.facets == whoosh.facets
    assert tantivy.facets_truncated == whoosh.facets_truncated != []


@pytest.mark.parametrize("q,kw", FILTERED, ids=[f"{q}-{sorted(kw)}" for q, kw in FILTERED])
def test_filter_parity_with_whoosh(q, kw, tantivy_kb, sample_kb):
    whoosh, tantivy = run(sample_kb, q, limit=50, **kw), run(tantivy_kb, q, limit=50, **kw)
    assert tantivy.total == whoosh.total > 0
    assert set(ids(tantivy)) == set(ids(whoosh))
    assert tantivy.facets == whoosh.facets


# --- Query semantics ---------------------------------------------------------------------


def test_all_words_first_then_some(tantivy_kb):
    response = run(tantivy_kb, "consult unions", limit=50)
    both = set(ids(run(tantivy_kb, "consult AND unions", limit=50)))
    assert set(ids(response)[: len(both)]) == both and response.total > len(both)
    assert not response.relaxed
    relaxed = run(tantivy_kb, "unions zebra")
    assert relaxed.relaxed and relaxed.results


def test_operators_phrases_and_wildcards(tantivy_kb):
    assert ids(run(tantivy_kb, '"duty to consult"')) == [
        "guidance/example-commissioning-guidance-2031/para/2.1"
    ]
    without = set(ids(run(tantivy_kb, "consult NOT unions", limit=50)))
    assert "ukpga/2031/12/section/4/3" not in without and without
    wild = run(tantivy_kb, "consult*", limit=50)
    assert wild.total >= run(tantivy_kb, "consult", limit=50).total
    assert "<mark>consulted</mark>" in " ".join(h["snippet_html"] for h in wild.results)
    assert all(h["doc_type"] == "act" for h in run(tantivy_kb, "consult type:act").results)
    acts = run(tantivy_kb, "type:act*", limit=50)
    assert acts.total == run(tantivy_kb, "type:act").total > 0
    assert {h["doc_type"] for h in acts.results} == {"act"}
    with pytest.raises(QueryError, match="too common"):  # the service refuses it first
        run(tantivy_kb, "the")
    assert tantivy_kb.current().engine.search(SearchRequest(q="the")).total == 0


@pytest.mark.parametrize("q", ["(duty", "duty)", "duty AND", "AND duty", "duty OR ) x"])
def test_malformed_raw_queries_raise_query_error(q, tantivy_kb):
    # kb.query.check refuses these first; an engine given them directly must not crash.
    with pytest.raises(QueryError):
        tantivy_kb.current().engine.search(SearchRequest(q=q))


def test_facets_count_every_match(tantivy_kb):
    response = run(tantivy_kb, "consult", limit=1)
    counts = {f["value"]: f["count"] for f in response.facets["doc_type"]}
    assert len(response.results) == 1 and sum(counts.values()) == response.total > 1
    for values in response.facets.values():
        assert values == sorted(values, key=lambda v: (-v["count"], v["value"]))
    holders = run(tantivy_kb, "authority", limit=1).facets["holder"]
    assert holders and all(v["value"] for v in holders)


def test_highlights_escape_html_and_show_short_passages_whole(tmp_kb, write_md):
    write_md(
        "x.md",
        {"id": "guidance/x", "title": "X", "doc_type": "guidance", "status": "in_force"},
        "1.1 Never run <script>alert('consult')</script> & always consult <b>staff</b>.\n\n"
        "1.2 " + "Filler words about procurement. " * 20 + "Then consult the staff. "
        + "More filler about contracts. " * 20 + "\n",
    )  # fmt: skip
    results = {h["id"]: h for h in run(tmp_kb("tantivy"), "consult").results}
    snippet = results["guidance/x/para/1.1"]["snippet_html"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert snippet.count("<mark>") == 2 and "<mark>consult</mark>" in snippet
    long = results["guidance/x/para/1.2"]
    assert len(long["text"]) > 320 and "<mark>consult</mark>" in long["snippet_html"]
    assert len(long["snippet_html"]) < len(long["text"])  # a fragment, not the whole text


def test_searches_from_many_threads_agree(tantivy_kb):
    queries = ["duty to consult", "pension", "new joiners terms", "consult*"]
    expected = {q: ids(run(tantivy_kb, q)) for q in queries}
    failures = []

    def work():
        for _ in range(20):
            for q in queries:
                if ids(run(tantivy_kb, q)) != expected[q]:
                    failures.append(q)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- The API over a tantivy index ---------------------------------------------------------


def test_api_results_have_the_same_keys_as_whoosh(tclient, client):
    for q in ("duty+to+consult", "pension", "joiners"):
        mine = tclient.get(f"/api/v1/search?q={q}").get_json()
        reference = client.get(f"/api/v1/search?q={q}").get_json()
        assert set(mine) == set(reference)
        assert set(mine["facets"]) == set(reference["facets"])
        for a, b in zip(mine["results"], reference["results"], strict=False):
            assert set(a) == set(b)
            assert {k: type(v) for k, v in a.items() if v is not None} == {
                k: type(v) for k, v in b.items() if v is not None and k in a and a[k] is not None
            }


def test_api_filters_pagination_and_dates(tclient):
    body = tclient.get("/api/v1/search?q=consult&doc_type=act&limit=2&offset=1").get_json()
    assert body["limit"] == 2 and body["offset"] == 1 and len(body["results"]) == 2
    assert all(r["doc_type"] == "act" for r in body["results"])
    everything = tclient.get("/api/v1/search?q=consult&limit=50").get_json()["results"]
    pages = [
        r["id"]
        for offset in (0, 2)
        for r in tclient.get(f"/api/v1/search?q=consult&limit=2&offset={offset}").get_json()[
            "results"
        ]
    ]
    assert pages == [r["id"] for r in everything[:4]]
    current = tclient.get("/api/v1/search?q=joiners&status=current").get_json()
    assert current["results"] and all(r["status"] != "withdrawn" for r in current["results"])
    duties = tclient.get("/api/v1/search?q=consult&duty=true&holder=authority").get_json()
    assert duties["results"] and all(r["duty"] == "duty" for r in duties["results"])
    assert all("authority" in r["holders"] for r in duties["results"])
    before = tclient.get("/api/v1/search?q=joiners&as_at=2025-01-01&limit=50").get_json()
    assert {r["document_id"] for r in before["results"]} == {"code/example-workforce-code-2019"}
    after = tclient.get("/api/v1/search?q=joiners&as_at=2031-06-01&limit=50").get_json()
    assert "code/example-workforce-code-2019" not in {r["document_id"] for r in after["results"]}


def test_api_citation_suggestion_and_endpoints(tclient):
    body = tclient.get("/api/v1/search?q=section+4(2)+of+the+Example+Commissioning+Act+2031")
    assert body.get_json()["results"][0]["id"] == "ukpga/2031/12/section/4/2"
    assert tclient.get("/api/v1/search?q=consulation").get_json()["suggestion"] == "consultation"
    passage = tclient.get("/api/v1/passages/ukpga/2031/12/section/4/2").get_json()
    assert passage["duty"] == "duty" and passage["holders"] == ["contractor"]
    assert passage["indexed"] is True
    docs = tclient.get("/api/v1/documents").get_json()
    assert docs["total"] == 6
    act = tclient.get("/api/v1/documents/ukpga/2031/12").get_json()
    assert [c["pin"] for c in act["contents"]][:2] == ["preamble", "part/1"]
    health = tclient.get("/healthz").get_json()
    assert health["status"] == "ok" and health["passages"] == 47


@pytest.mark.parametrize(
    "query", ["q=%22duty", "q=duty+AND", "q=id:*", "q=(duty", "q=duty)", "q=NOT+NOT+duty", "q="]
)
def test_api_malformed_queries_are_400s(tclient, query):
    response = tclient.get(f"/api/v1/search?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_query", "bad_request")


# --- Speed (printed, not asserted) -------------------------------------------------------


def test_print_latency_of_both_engines(tantivy_kb, sample_kb):
    queries = [item.query for item in read_qrels(QRELS)]
    for name, kb in (("whoosh", sample_kb), ("tantivy", tantivy_kb)):
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


TOKEN_TEXTS = [
    "The duty to consult",
    "a an the",
    "",
    "e-mail s.3(2) 1.2.3 café NAÏVE don't",
    "*wild*",
    "İstanbul ǅemal Straße ﬁnance",  # lower() changes the length or the letters
    "under_score a.b. ..x.. 3.  2.1.",
]


def test_fast_index_tokens_match_whooshs_analysers_token_for_token():
    """The build's one-loop tokenizer must index exactly what Whoosh's analyser produces."""
    from bench.corpus import generate
    from kb.tantivy_engine import _STEM, WORD, _parts, _stem_tokens, _tokens

    # The same pattern as Whoosh's tokenizer, its group made non-capturing for findall.
    assert WORD.replace("(?:", "(") == _parts(_STEM)["RegexTokenizer"].expression.pattern
    _, passages = generate(300)
    texts = list(TOKEN_TEXTS)
    for passage in passages:
        texts += [passage.text, passage.heading, passage.title, passage.citation]
    for text in texts:
        fast = [(token.text, token.position) for token in _stem_tokens(text)]
        assert fast == [(word, pos) for word, pos, _, _ in _tokens(_STEM, text)], text


def test_spell_field_indexes_whooshs_spelling_words():
    """tantivy makes the "did you mean" words itself; they must be _SPELL's (short ones aside)."""
    from bench.corpus import generate
    from kb.tantivy_engine import _SPELL, _tokens, spell_analyzer

    _, passages = generate(300)
    analyzer = spell_analyzer()
    for text in TOKEN_TEXTS + [f"{p.heading} {p.text}" for p in passages]:
        words = [word for word in analyzer.analyze(text) if len(word) >= 3]
        assert words == [word for word, *_ in _tokens(_SPELL, text)], text
