"""Search over the sample corpus: ranking, phrases, operators, filters, facets, highlights.

Every test asking for sample_kb (or tmp_kb with the engine fixture) runs against each engine.
"""

import re
import threading

import pytest

from indexer.index.engine import ENGINES, SearchRequest, SearchResponse
from kb.core.query import QueryError, check
from kb.search import run_search


def search(kb, q, **kw):
    return kb.current().engine.search(SearchRequest(q=check(q).text, **kw))


def ids(response):
    return [hit["id"] for hit in response.results]


def test_build_records_the_engine_and_opens_it(engine, sample_kb):
    version = sample_kb.current()
    assert version.manifest["engine"] == engine
    assert type(version.engine).__name__ == ENGINES[engine][1]
    assert version.engine.count() == 47


def test_duty_to_consult_finds_the_guidance_and_the_statutory_duty(sample_kb):
    top = ids(search(sample_kb, "duty to consult"))[:2]
    assert set(top) == {
        "guidance/example-commissioning-guidance-2031/para/2.1",
        "ukpga/2031/12/section/2/2",
    }


def test_new_joiners_terms_puts_current_law_above_the_withdrawn_code(sample_kb):
    results = search(sample_kb, "new joiners terms").results
    assert results[0]["id"] == "ukpga/2031/12/section/4/2"
    withdrawn = [i for i, h in enumerate(results) if h["status"] == "withdrawn"]
    current = [i for i, h in enumerate(results) if h["status"] == "in_force"]
    assert withdrawn and min(withdrawn) > min(current)


def test_quoted_phrase_needs_the_words_together(sample_kb):
    assert ids(search(sample_kb, '"duty to consult"')) == [
        "guidance/example-commissioning-guidance-2031/para/2.1"
    ]


def test_boolean_operators(sample_kb):
    both = set(ids(search(sample_kb, "consult AND unions", limit=50)))
    assert "ukpga/2031/12/section/4/3" in both
    without = set(ids(search(sample_kb, "consult NOT unions", limit=50)))
    assert "ukpga/2031/12/section/4/3" not in without
    assert "ukpga/2031/12/section/2/2" in without
    either = set(ids(search(sample_kb, "pension OR tenders", limit=50)))
    assert {
        "ukpga/2031/12/section/4/3",
        "guidance/example-commissioning-guidance-2031/para/3.2",
    } <= either


def test_stemming_matches_word_forms(sample_kb):
    assert "guidance/example-commissioning-guidance-2031/para/2.3" in ids(
        search(sample_kb, "consulting")
    )


def test_heading_words_find_the_provisions_under_them(sample_kb):
    found = ids(search(sample_kb, "protection transferred staff"))
    assert found[0].startswith("ukpga/2031/12/section/4/")


def test_wildcards_match_word_forms_and_field_values(sample_kb):
    wild = search(sample_kb, "consult*", limit=50)
    assert set(ids(search(sample_kb, "consult", limit=50))) <= set(ids(wild))
    assert "<mark>consulted</mark>" in " ".join(h["snippet_html"] for h in wild.results)
    acts = search(sample_kb, "type:act*", limit=50)
    assert acts.total == search(sample_kb, "type:act").total > 0
    assert {h["doc_type"] for h in acts.results} == {"act"}


def test_field_filters_in_the_query_and_as_parameters(sample_kb):
    typed = search(sample_kb, "consult type:act").results
    assert typed and all(h["doc_type"] == "act" for h in typed)
    filtered = search(sample_kb, "consult", status=["withdrawn"])
    assert filtered.results and all(h["status"] == "withdrawn" for h in filtered.results)
    current = search(sample_kb, "joiners", status=["current"])
    assert current.results and all(h["status"] != "withdrawn" for h in current.results)
    doc = search(sample_kb, "consult", document=["ukpga/2031/12"])
    assert doc.results and {h["document_id"] for h in doc.results} == {"ukpga/2031/12"}


def test_facets_count_every_match_not_just_the_page(sample_kb):
    response = search(sample_kb, "consult", limit=1)
    assert len(response.results) == 1
    counts = {f["value"]: f["count"] for f in response.facets["doc_type"]}
    assert sum(counts.values()) == response.total > 1
    assert {"act", "statutory_guidance"} <= set(counts)
    for values in response.facets.values():  # most passages first, ties alphabetically
        assert values == sorted(values, key=lambda v: (-v["count"], v["value"]))
    holders = search(sample_kb, "authority", limit=1).facets["holder"]
    assert holders and all(v["value"] for v in holders)


def test_facet_lists_are_cut_but_counts_cover_every_match(sample_kb):
    full = search(sample_kb, "consult")
    assert len(full.facets["document_id"]) > 2 and full.facets_truncated == []
    cut = search(sample_kb, "consult", facet_size=2)
    assert cut.facets["document_id"] == full.facets["document_id"][:2]
    assert "document_id" in cut.facets_truncated
    assert cut.total == full.total
    exact = search(sample_kb, "consult", facet_size=len(full.facets["document_id"]))
    assert "document_id" not in exact.facets_truncated


def test_may_not_and_can_are_searchable_words(sample_kb):
    # Whoosh drops these as stop words; in law they decide between a power and a duty.
    may = search(sample_kb, "may", limit=50)
    assert may.total >= 5
    assert all(re.search(r"\bmay\b", hit["text"], re.I) for hit in may.results)
    phrase = search(sample_kb, '"Secretary of State may"', limit=50)
    assert phrase.total >= 2
    assert all("Secretary of State may" in hit["text"] for hit in phrase.results)
    assert ids(search(sample_kb, '"is not met"')) == [
        "guidance/example-commissioning-guidance-2031/para/2.1"
    ]


@pytest.mark.parametrize(
    "q",
    [
        "consult",
        "duty to consult",
        "consult NOT unions",
        '"new joiners"',
        "consult* review",
        "(staff OR workforce) AND transfer",
        "TUPE",
        "s 3 LGA 1999",
        "zebra unions",
    ],
)
@pytest.mark.parametrize(
    "params", [{}, {"doc_type": ["act"]}, {"status": ["current"]}, {"as_at": "2031-06-01"}]
)
def test_whoosh_facet_counting_finds_exactly_the_matching_passages(q, params, whoosh_kb):
    # The facet pass finds matches with set algebra; it must agree with Whoosh's own matcher.
    from whoosh import query as wq

    from indexer.index.plan import for_request
    from indexer.index.whoosh_engine import _Compiler, _doc_set, _filters
    from kb.search import make_request

    engine = whoosh_kb.current().engine
    request = make_request(
        {"q": q, "as_at": params.get("as_at")},
        doc_type=params.get("doc_type"),
        status=params.get("status"),
    )
    searcher = engine._searcher()
    schema, planned = engine.ix.schema, for_request(request)
    parsed, loose = _Compiler(schema, True)(request.q), _Compiler(schema, False)(request.q)
    matching = wq.Or([parsed, loose, *engine._exact_phrase(planned.exact)])
    if (filter_q := _filters(request)) is not None:
        matching = wq.And([matching, filter_q])
    assert _doc_set(searcher, matching) == set(searcher.docs_for_query(matching))


def test_pagination_walks_through_all_results(sample_kb):
    everything = ids(search(sample_kb, "consult", limit=50))
    pages = ids(search(sample_kb, "consult", limit=2)) + ids(
        search(sample_kb, "consult", limit=2, offset=2)
    )
    assert pages == everything[:4]


def test_passages_with_every_word_come_first_then_any_word(sample_kb):
    response = search(sample_kb, "consult unions", limit=50)
    both = set(ids(search(sample_kb, "consult AND unions", limit=50)))
    assert both and set(ids(response)[: len(both)]) == both
    assert response.total > len(both) and not response.relaxed


def test_no_passage_with_every_word_falls_back_to_any_word(sample_kb):
    response = search(sample_kb, "unions zebra")
    assert response.relaxed and response.results


def test_only_common_words_are_refused_and_find_nothing_if_sent(sample_kb):
    with pytest.raises(QueryError, match="too common"):  # the service refuses it first
        check("the")
    assert sample_kb.current().engine.search(SearchRequest(q="the")).total == 0


@pytest.mark.parametrize("q", ["(duty", "duty)", "duty AND", "AND duty", "duty OR ) x"])
def test_an_engine_given_a_malformed_query_does_not_crash(q, sample_kb):
    # kb.core.query.check refuses these first; an engine given them directly (the string parsed
    # by kb.core.query.parse) refuses them with a QueryError, or reads them, but never crashes.
    try:
        response = sample_kb.current().engine.search(SearchRequest(q=q))
    except QueryError:
        return
    assert isinstance(response, SearchResponse)


@pytest.mark.slow
def test_searches_from_many_threads_agree(sample_kb):
    queries = ["duty to consult", "pension", "new joiners terms", "consult*"]
    expected = {q: ids(search(sample_kb, q)) for q in queries}
    assert all(expected.values())
    failures = []

    def work():
        for _ in range(20):
            for q in queries:
                if ids(search(sample_kb, q)) != expected[q]:
                    failures.append(q)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_highlights_mark_matches_escape_html_and_show_short_passages_whole(
    engine, tmp_kb, write_md
):
    write_md(
        "x.md",
        {"id": "guidance/x", "title": "X", "doc_type": "guidance", "status": "in_force"},
        "1.1 Never run <script>alert('consult')</script> & always consult <b>staff</b>.\n\n"
        "1.2 " + "Filler words about procurement. " * 20 + "Then consult the staff. "
        + "More filler about contracts. " * 20 + "\n",
    )  # fmt: skip
    results = {h["id"]: h for h in search(tmp_kb(engine), "consult").results}
    snippet = results["guidance/x/para/1.1"]["snippet_html"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert snippet.count("<mark>") == 2 and "<mark>consult</mark>" in snippet
    long = results["guidance/x/para/1.2"]
    assert len(long["text"]) > 320 and "<mark>consult</mark>" in long["snippet_html"]
    assert len(long["snippet_html"]) < len(long["text"])  # a fragment, not the whole text


def test_a_heading_match_is_marked_in_the_escaped_heading(engine, tmp_kb, write_md):
    write_md(
        "x.md",
        {"id": "guidance/x", "title": "X", "doc_type": "guidance", "status": "in_force"},
        "## Consulting <staff> & unions\n\n1.1 Speak to them early.\n\n1.2 Keep a record.\n",
    )
    hits = search(tmp_kb(engine), "consult record").results
    assert hits[0]["id"] == "guidance/x/para/1.2"  # both words: one in the heading
    assert all(
        hit["heading_html"].endswith("<mark>Consulting</mark> &lt;staff&gt; &amp; unions")
        for hit in hits
    )
    assert "<mark>record</mark>" in hits[0]["snippet_html"]


@pytest.mark.parametrize(
    "q,message",
    [
        ('"duty to consult', "quotation mark is not closed"),
        ("duty AND", "at the end needs words"),
        ("AND duty", "needs words on both sides"),
        ("duty OR OR power", "needs words on both sides"),
        ("(duty", "not closed"),
        ("duty)", "no opening bracket"),
        ("id:*", "can't search the field 'id'"),
        ("body:duty", "can't search the field 'body'"),
        ("*", "wildcard needs at least 3 letters"),
        ("co*", "wildcard needs at least 3 letters"),
        ("x" * 10_000, "10,000 characters long"),
        ("title:", "needs a value"),
        ("()", "Empty brackets"),
        ('""', "empty phrase"),
        ("AND", "needs words"),
        ("NOT NOT duty", "Two operators in a row"),
        ("duty AND OR power", "needs words on both sides"),
    ],
)
def test_malformed_queries_are_refused_with_a_reason(q, message):
    with pytest.raises(QueryError, match=message):
        check(q)


def test_ordinary_punctuation_is_fine():
    assert check("s 3(2) LGA 1999").text
    assert check("Note: consult").terms == ("Note", "consult")
    assert check("https://www.legislation.gov.uk/ukpga/1999/27/section/3").text


def test_a_provision_extending_to_england_only_is_not_law_in_wales(sample_kb):
    """s 1 of the sample Act extends to England only (its anchor says so); the Act to E+W."""
    version = sample_kb.current()
    wales = run_search(version, {"q": "relevant authority", "limit": 50}, extent=["W"])
    england = run_search(version, {"q": "relevant authority", "limit": 50}, extent=["E"])
    assert "ukpga/2031/12/section/1/1" not in {r["id"] for r in wales["results"]}
    assert "ukpga/2031/12/section/1/1" in {r["id"] for r in england["results"]}
    assert all("W" in r["extent"] for r in wales["results"])
    assert england["total"] > wales["total"]


def test_the_sample_long_title_ranks_below_the_duty_it_summarises(sample_kb):
    version = sample_kb.current()
    found = run_search(version, {"q": "involve local people consult", "limit": 50})["results"]
    pins = [r["pin"] for r in found]
    assert found[0]["pin"] == "section/3/1" and found[0]["operative"] is True
    intro = pins.index("introduction")
    assert intro > 2 and found[intro]["operative"] is False


@pytest.mark.parametrize(
    "prefix,word", [("commission*", "commissioning"), ("procure*", "procurement")]
)
def test_a_prefix_finds_the_words_it_starts_even_where_their_stem_is_shorter(
    prefix, word, sample_kb
):
    """ "commission*" finds "commissioning" (indexed as the stem "commiss"): the prefix is
    stemmed, as Whoosh's query parser did."""
    with_word = ids(search(sample_kb, word, limit=100))
    found = ids(search(sample_kb, prefix, limit=100))
    assert with_word and set(with_word) <= set(found)
