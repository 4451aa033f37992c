"""Limits on what one search may cost: wildcard expansion, the time budget, and boosts refused.

A prefix shared by thousands of words (token…, tokenise…) once made Whoosh score every one of
them: `tok* consult` took 380 s on 15,000 passages. A wildcard now stands for at most
MAX_PREFIX_TERMS words (the same ones in both engines) and the response says which wildcard was
cut; every search also has a time budget, after which it answers with what it has, flagged
`partial`. Both are checked by construction: the cap by what was kept, the budget with a budget
of 0 or a clock the test drives, never with a timing.
"""

from __future__ import annotations

import itertools

import pytest

import indexer.index.engine
from indexer.index.engine import MAX_PREFIX_TERMS, SEARCH_BUDGET_S
from kb.core.query import QueryError, check
from kb.web import create_app
from tests.test_openapi import conformance_errors

WORDS = MAX_PREFIX_TERMS + 36  # token000 … token099: more words than a wildcard may stand for
FREQUENT = 3  # passages with tokenzzz, the word in most passages (kept first despite its name)
CONSULT_EVERY = 4  # every fourth token passage also says "consult"


def _para(number: int, text: str) -> str:
    return f"{number // 100 + 1}.{number % 100 + 1} {text}\n\n"


@pytest.fixture()
def prefix_kb(engine, tmp_kb, write_md, monkeypatch):
    """An invented guidance document: passage i has token{i:03d}, three more have tokenzzz.

    With every token word in one passage but tokenzzz, the words kept for tok* are tokenzzz
    (most passages) then token000 … token062 (ties go alphabetically)."""
    monkeypatch.setenv("KB_QUERY_CACHE", "0")  # each request is searched, never replayed
    body = "".join(
        _para(
            i,
            f"The register records token{i:03d}"
            + (" and we consult." if i % CONSULT_EVERY == 0 else "."),
        )
        for i in range(WORDS)
    )
    body += "".join(_para(WORDS + i, "A note on tokenzzz and its use.") for i in range(FREQUENT))
    meta = {
        "id": "guidance/prefix-example",
        "title": "Example Register Guidance",
        "doc_type": "guidance",
        "status": "in_force",
    }
    write_md("prefix.md", meta, body)
    return tmp_kb(engine)


def _api(kb_, **params):
    client = create_app(kb_.settings, kb=kb_).test_client()
    return client.get("/api/v1/search", query_string=params)


def _token_words(hit) -> set[str]:
    return {w.strip(".") for w in hit["text"].split() if w.startswith("token")}


def _kept() -> set[str]:
    return {"tokenzzz"} | {f"token{i:03d}" for i in range(MAX_PREFIX_TERMS - 1)}


def test_a_prefix_of_many_words_stands_for_the_most_frequent_and_says_it_was_cut(prefix_kb):
    response = _api(prefix_kb, q="tok*", limit=100)
    assert response.status_code == 200
    body = response.get_json()
    assert body["truncated_prefixes"] == [
        {"prefix": "tok*", "kept": MAX_PREFIX_TERMS, "matched": WORDS + 1}
    ]
    assert body["partial"] is False
    # Exactly the passages with a kept word: tokenzzz's three and token000 … token062.
    assert body["total"] == FREQUENT + MAX_PREFIX_TERMS - 1
    found = set().union(*(_token_words(hit) for hit in body["results"]))
    assert found == _kept()  # token063 … token099 were left out


def test_a_cut_prefix_with_another_word_still_answers_and_says_so(prefix_kb):
    body = _api(prefix_kb, q="tok* consult", limit=100).get_json()
    assert body["truncated_prefixes"] == [
        {"prefix": "tok*", "kept": MAX_PREFIX_TERMS, "matched": WORDS + 1}
    ]
    # Passages with both rank first: a kept token word and "consult".
    both = [
        hit for hit in body["results"] if _token_words(hit) & _kept() and "consult" in hit["text"]
    ]
    first = body["results"][: len(both)]
    assert both and first == both
    assert not body["relaxed"]
    # Then passages with either: a kept word, or "consult" (token063 … token099's included).
    with_either = set(range(MAX_PREFIX_TERMS - 1)) | set(range(0, WORDS, CONSULT_EVERY))
    assert body["total"] == FREQUENT + len(with_either)


def test_a_field_wildcard_and_a_wildcard_inside_a_word_are_cut_the_same_way(prefix_kb):
    for q, shown in (("text:tok*", "tok*"), ("tok?n*", "tok?n*")):
        body = _api(prefix_kb, q=q, limit=100).get_json()
        assert body["truncated_prefixes"] == [
            {"prefix": shown, "kept": MAX_PREFIX_TERMS, "matched": WORDS + 1}
        ], q
        assert body["total"] == FREQUENT + MAX_PREFIX_TERMS - 1, q


def test_a_prefix_of_few_words_is_not_cut(prefix_kb):
    body = _api(prefix_kb, q="token00*").get_json()  # token000 … token009
    assert body["truncated_prefixes"] == [] and body["total"] == 10


def test_a_cut_response_conforms_to_the_openapi_document(prefix_kb):
    client = create_app(prefix_kb.settings, kb=prefix_kb).test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    response = client.get("/api/v1/search", query_string={"q": "tok*"})
    assert response.get_json()["truncated_prefixes"]
    assert conformance_errors(spec, "/api/v1/search", response) == []


def test_both_engines_keep_the_same_words(write_md, tmp_kb):
    """The cap is part of the meaning of a query, so it must not depend on the engine."""
    body = "".join(_para(i, f"Entry token{i:03d}.") for i in range(WORDS))
    body += "".join(_para(WORDS + i, "Entry tokenzzz.") for i in range(FREQUENT))
    meta = {"id": "guidance/p", "title": "P", "doc_type": "guidance", "status": "in_force"}
    write_md("p.md", meta, body)
    answers = {}
    for name in ("whoosh", "tantivy"):
        found = _api(tmp_kb(name), q="tok*", limit=100).get_json()
        answers[name] = (sorted(h["id"] for h in found["results"]), found["truncated_prefixes"])
    assert answers["whoosh"] == answers["tantivy"]
    assert len(answers["whoosh"][0]) == FREQUENT + MAX_PREFIX_TERMS - 1


# --- the time budget -------------------------------------------------------------------------


def test_the_budget_has_a_documented_default():
    assert SEARCH_BUDGET_S == 10.0 and MAX_PREFIX_TERMS == 64


def test_a_search_out_of_time_answers_with_what_it_has_flagged_partial(prefix_kb, monkeypatch):
    monkeypatch.setattr(indexer.index.engine, "SEARCH_BUDGET_S", 0.0)  # out of time from the start
    client = create_app(prefix_kb.settings, kb=prefix_kb).test_client()
    response = client.get("/api/v1/search", query_string={"q": "tok* consult regster"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["partial"] is True
    # What it had: no more results than it counted, and nothing worked out after time ran out.
    assert len(body["results"]) <= body["total"]
    assert body["suggestion"] is None and body["relaxed"] is False
    spec = client.get("/api/v1/openapi.json").get_json()
    assert conformance_errors(spec, "/api/v1/search", response) == []


def test_in_time_the_same_search_is_whole(prefix_kb):
    body = _api(prefix_kb, q="tok* consult regster").get_json()
    assert body["partial"] is False and body["suggestion"] == "tok* consult register"


def test_whoosh_stops_between_passages_and_keeps_those_it_scored(tmp_kb, write_md, monkeypatch):
    """A clock that moves one second each time it is read, and a budget of five: Whoosh checks
    the clock before each passage it scores, so it stops part way and keeps what it scored."""
    monkeypatch.setenv("KB_QUERY_CACHE", "0")
    body = "".join(_para(i, f"We consult on item {i}.") for i in range(40))
    meta = {"id": "guidance/c", "title": "C", "doc_type": "guidance", "status": "in_force"}
    write_md("c.md", meta, body)
    kb_ = tmp_kb("whoosh")
    whole = _api(kb_, q="consult", limit=100).get_json()
    assert whole["partial"] is False and whole["total"] == 40
    ticks = itertools.count()
    monkeypatch.setattr(indexer.index.engine, "CLOCK", lambda: float(next(ticks)))
    monkeypatch.setattr(indexer.index.engine, "SEARCH_BUDGET_S", 5.0)
    part = _api(kb_, q="consult", limit=100).get_json()
    assert part["partial"] is True
    assert 0 < len(part["results"]) == part["total"] < whole["total"]
    assert {h["id"] for h in part["results"]} < {h["id"] for h in whole["results"]}
    counted = sum(item["count"] for item in part["facets"]["document_id"])
    assert counted == part["total"]  # facets count the passages found, as total does


def test_tantivy_out_of_time_keeps_its_ranked_page_and_skips_the_rest(
    tmp_kb, write_md, monkeypatch
):
    monkeypatch.setenv("KB_QUERY_CACHE", "0")
    body = "".join(_para(i, f"We consult on item {i}.") for i in range(12))
    meta = {"id": "guidance/c", "title": "C", "doc_type": "guidance", "status": "in_force"}
    write_md("c.md", meta, body)
    kb_ = tmp_kb("tantivy")
    monkeypatch.setattr(indexer.index.engine, "SEARCH_BUDGET_S", 0.0)
    part = _api(kb_, q="consult itme").get_json()  # a misspelling: "did you mean" is skipped
    assert part["partial"] is True and part["suggestion"] is None
    assert part["total"] == 12 and len(part["results"]) == 10


# --- boosts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q", ["duty^3 AND consult", "duty^3", '"duty to consult"^2', "(duty power)^0.5", "title:duty^2"]
)
def test_a_boost_is_refused_with_a_message(q):
    with pytest.raises(QueryError, match=r"boosts \(word\^2\) are not part of the search syntax"):
        check(q)


@pytest.mark.parametrize("q", ["caret^ duty", "duty^power"])
def test_a_caret_that_is_no_boost_is_punctuation(q):
    assert check(q).text == q


def test_the_api_and_the_page_refuse_a_boost_under_both_engines(client):
    """`duty^3 AND consult` gave 2 results on Whoosh and 4 on tantivy; now a 400 on both."""
    response = client.get("/api/v1/search", query_string={"q": "duty^3 AND consult"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_query"
    assert "boosts" in response.get_json()["message"]
    page = client.get("/", query_string={"q": "duty^3 AND consult"})
    assert page.status_code == 400 and "boosts" in page.get_data(as_text=True)


def test_an_answer_cut_short_is_not_kept_for_the_next_request(tmp_kb, write_md, monkeypatch):
    # The response cache is on here: a moment of load must not be replayed to later users.
    monkeypatch.setenv("KB_QUERY_CACHE", "64")
    meta = {"id": "guidance/c", "title": "C", "doc_type": "guidance", "status": "in_force"}
    write_md("c.md", meta, "".join(_para(i, f"We consult on item {i}.") for i in range(5)))
    base = tmp_kb("whoosh")
    client = create_app(base.settings, kb=base).test_client()
    monkeypatch.setattr(indexer.index.engine, "SEARCH_BUDGET_S", 0.0)
    assert client.get("/api/v1/search?q=consult").get_json()["partial"] is True
    monkeypatch.setattr(indexer.index.engine, "SEARCH_BUDGET_S", 10.0)
    assert client.get("/api/v1/search?q=consult").get_json()["partial"] is False
