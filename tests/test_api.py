"""The JSON API v1 contract, and every bad input it must refuse with a 4xx and a reason."""

import json

import pytest

RESULT_KEYS = {
    "id",
    "document_id",
    "title",
    "heading",
    "citation",
    "short_citation",
    "url",
    "source_url",
    "snippet_html",
    "text",
    "doc_type",
    "status",
    "score",
}


def test_search_contract(client):
    response = client.get("/api/v1/search?q=duty+to+consult")
    assert response.status_code == 200
    body = response.get_json()
    assert body["query"] == "duty to consult"
    assert body["total"] >= 2
    assert set(body["facets"]) == {
        "document_id",
        "doc_type",
        "status",
        "duty",
        "holder",
        "extent",
        "stale",
    }
    first = body["results"][0]
    assert RESULT_KEYS <= set(first)
    assert first["url"] == f"/p/{first['id']}"
    assert first["status_date"] is not None or first["status"] == "in_force"


def test_search_filters_and_pagination(client):
    body = client.get("/api/v1/search?q=consult&doc_type=act&limit=2&offset=1").get_json()
    assert body["limit"] == 2 and body["offset"] == 1
    assert len(body["results"]) == 2
    assert all(r["doc_type"] == "act" for r in body["results"])
    everything = client.get("/api/v1/search?q=consult&limit=50").get_json()["results"]
    pages = [
        r["id"]
        for offset in (0, 2)
        for r in client.get(f"/api/v1/search?q=consult&limit=2&offset={offset}").get_json()[
            "results"
        ]
    ]
    assert pages == [r["id"] for r in everything[:4]]
    current = client.get("/api/v1/search?q=joiners&status=current").get_json()
    assert current["results"] and all(r["status"] != "withdrawn" for r in current["results"])


def test_facet_size_cuts_the_lists_and_says_which(client):
    full = client.get("/api/v1/search?q=consult").get_json()
    assert full["facets_truncated"] == []
    cut = client.get("/api/v1/search?q=consult&facet_size=1").get_json()
    assert cut["facets"]["document_id"] == full["facets"]["document_id"][:1]
    assert cut["facets"]["document_id"][0]["label"]
    assert {"document_id", "doc_type"} <= set(cut["facets_truncated"])
    assert cut["total"] == full["total"]


@pytest.mark.parametrize(
    "query,message",
    [
        ("q=%22duty", "quotation mark"),
        ("q=duty+AND", "needs words"),
        ("q=id:*", "field 'id'"),
        ("q=(duty", "not closed"),
        ("q=duty)", "no opening bracket"),
        ("q=NOT+NOT+duty", "Two operators in a row"),
        ("q=" + "a" * 600, "characters long"),  # a longer URI is a 414 (test_serving_limits)
        ("q=duty&limit=-1", "'limit' must be between"),
        ("q=duty&limit=100000", "'limit' must be between"),
        ("q=duty&offset=-5", "'offset' must be between"),
        ("q=duty&offset=99999999", "'offset' must be between"),
        ("q=duty&limit=ten", "whole number"),
        ("q=duty&facet_size=0", "'facet_size' must be between"),
        ("q=duty&facet_size=5000", "'facet_size' must be between"),
        ("q=duty&status=alive", "Unknown status"),
        ("q=duty&doc_type=poem", "Unknown doc_type"),
        ("q=", "Type some words"),
        ("q=of+the", "only words too common to search for"),
        ("q=%22to+the%22", "only words too common to search for"),
        ("", "Type some words"),
    ],
)
def test_bad_search_input_is_a_400_with_a_message(client, query, message):
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] in ("invalid_query", "bad_request")
    assert message in body["message"]


def test_passage_endpoint(client):
    body = client.get("/api/v1/passages/ukpga/2031/12/section/2/2").get_json()
    assert body["citation"] == "Example Commissioning Act 2031, s 2(2)"
    assert body["short_citation"] == "ECA 2031 s 2(2)"
    assert body["indexed"] is True
    assert body["text"].startswith("(2) For the purpose")
    assert body["contains"] == [
        "ukpga/2031/12/section/2/2/a",
        "ukpga/2031/12/section/2/2/b",
        "ukpga/2031/12/section/2/2/c",
    ]
    assert body["parent"] == "ukpga/2031/12/section/2"


def test_a_grouping_provision_returns_its_whole_text(client):
    body = client.get("/api/v1/passages/ukpga/2031/12/section/2").get_json()
    assert body["citation"] == "Example Commissioning Act 2031, s 2"
    assert body["indexed"] is False
    assert "(1) A relevant authority must" in body["text"]
    assert "(c) representatives" in body["text"]


def test_withdrawn_passage_carries_status_and_date(client):
    body = client.get("/api/v1/passages/code/example-workforce-code-2019/para/2.1").get_json()
    assert body["status"] == "withdrawn"
    assert body["status_date"] == "2030-06-30"
    assert "Withdrawn on 30 June 2030" in body["status_note"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/passages/ukpga/2031/12/section/99",
        "/api/v1/passages/nothing/here",
        "/api/v1/documents/ukpga/1066/1",
        "/api/v1/nowhere",
    ],
)
def test_unknown_things_are_json_404s(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"] == "not_found"


def test_documents_and_document(client):
    docs = client.get("/api/v1/documents").get_json()
    assert docs["total"] == 6
    act = next(d for d in docs["documents"] if d["id"] == "ukpga/2031/12")
    assert act["passage_count"] == 18 and act["sample"] is True
    body = client.get("/api/v1/documents/ukpga/2031/12").get_json()
    pins = [c["pin"] for c in body["contents"]]
    assert pins[:3] == ["introduction", "part/1", "crossheading/continuous-improvement"]


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["documents"] == 6 and body["passages"] == 47
    assert body["index_version"].startswith("v")


def test_wrong_method_is_json(client):
    response = client.post("/api/v1/search?q=duty")
    assert response.status_code == 405 and response.is_json


def test_security_headers(client):
    headers = client.get("/api/v1/documents").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_api_responses_have_etag_and_cache_control(client):
    for path in ("/api/v1/search?q=duty", "/api/v1/documents", "/api/v1/openapi.json"):
        response = client.get(path)
        assert response.headers["ETag"], path
        assert "max-age=" in response.headers["Cache-Control"], path


def test_if_none_match_gives_304_without_a_body(client):
    first = client.get("/api/v1/search?q=duty")
    again = client.get("/api/v1/search?q=duty", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    other = client.get("/api/v1/search?q=consult", headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200 and other.headers["ETag"] != first.headers["ETag"]


def test_search_etag_ignores_timing(client):
    # took_ms differs on every call; the ETag must not, or nothing would ever be a 304.
    etags = {client.get("/api/v1/search?q=consult").headers["ETag"] for _ in range(3)}
    assert len(etags) == 1


def test_errors_and_health_are_not_cached(client):
    assert client.get("/api/v1/search?q=%22x").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/documents/no/such").headers["Cache-Control"] == "no-store"
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["/", "/?q=duty", "/documents", "/api", "/api/v1/documents", "/nowhere"]
)
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"


def test_embed_may_be_framed_by_configured_origins(sample_settings, sample_kb, client):
    import dataclasses

    from kb.web import create_app

    assert "frame-ancestors 'self'" in client.get("/embed").headers["Content-Security-Policy"]
    settings = dataclasses.replace(sample_settings, embed_ancestors=["https://intranet.example"])
    app = create_app(settings, kb=sample_kb)
    headers = app.test_client().get("/embed?q=duty").headers
    assert "frame-ancestors 'self' https://intranet.example" in headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in headers
    other = app.test_client().get("/?q=duty").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in other


def test_passage_lists_what_cites_it_and_what_it_cites(client):
    body = client.get("/api/v1/passages/ukpga/2031/12/section/3/1").get_json()
    citing = {link["id"] for link in body["cited_by"]}
    assert "local/exampleton/letter-2032-02-03/heading/commissioning-and-your-workforce" in citing
    letter = client.get(
        "/api/v1/passages/local/exampleton/letter-2032-02-03/heading/commissioning-and-your-workforce"
    ).get_json()
    cited = {link["id"]: link for link in letter["cites"]}
    assert cited["ukpga/2031/12/section/3"]["citation"] == "Example Commissioning Act 2031, s 3"
    assert cited["uksi/2031/300/regulation/4"]["in_index"] is True


def test_duty_and_holder_on_passages_and_as_filters(client):
    body = client.get("/api/v1/passages/ukpga/2031/12/section/4/2").get_json()
    assert body["duty"] == "duty" and body["holders"] == ["contractor"]
    search = client.get("/api/v1/search?q=consult&duty=true&holder=authority").get_json()
    assert search["results"] and all(r["duty"] == "duty" for r in search["results"])
    assert all("authority" in r["holders"] for r in search["results"])
    holders = {f["value"] for f in search["facets"]["holder"]}
    assert "authority" in holders


def test_as_at_keeps_only_text_that_applied_then(client):
    before = client.get("/api/v1/search?q=joiners&as_at=2025-01-01&limit=50").get_json()
    assert before["as_at"] == "2025-01-01"
    assert {r["document_id"] for r in before["results"]} == {"code/example-workforce-code-2019"}
    after = client.get("/api/v1/search?q=joiners&as_at=2031-06-01&limit=50").get_json()
    assert "code/example-workforce-code-2019" not in {r["document_id"] for r in after["results"]}
    bad = client.get("/api/v1/search?q=joiners&as_at=yesterday")
    assert bad.status_code == 400 and "as_at" in bad.get_json()["message"]


def test_cite_resolves_and_says_whether_indexed(client):
    body = client.get("/api/v1/cite?ref=s+2(2)+ECA+2031").get_json()
    assert body == {
        "ref": "s 2(2) ECA 2031",
        "id": "ukpga/2031/12/section/2/2",
        "citation": "Example Commissioning Act 2031, s 2(2)",
        "short_citation": "ECA 2031 s 2(2)",
        "url": "https://www.legislation.gov.uk/ukpga/2031/12/section/2/2",
        "in_index": True,
    }
    outside = client.get("/api/v1/cite?ref=reg+13(2)(a)+TUPE").get_json()
    assert outside["id"] == "uksi/2006/246/regulation/13/2/a" and outside["in_index"] is False
    missing = client.get("/api/v1/cite?ref=s+3+of+the+Imaginary+Act+1066")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "unresolved"
    assert client.get("/api/v1/cite").status_code == 400


def test_a_citation_query_puts_the_provision_first(client):
    body = client.get(
        "/api/v1/search?q=section+4(2)+of+the+Example+Commissioning+Act+2031"
    ).get_json()
    assert body["citation"]["id"] == "ukpga/2031/12/section/4/2"
    assert body["results"][0]["id"] == "ukpga/2031/12/section/4/2"


def test_misspelling_gets_a_suggestion(client):
    body = client.get("/api/v1/search?q=consulation").get_json()
    assert body["suggestion"] == "consultation"


def test_holders_are_one_vocabulary_and_unknown_ones_are_refused(client):
    """'transferring employer' is an employer and 'relevant authority' an authority: the facet
    shows each kind once, the filter finds them by either name, and a name outside the
    vocabulary is a 400 that lists it, as an unknown doc_type is."""
    from kb.core.vocabularies import HOLDERS

    body = client.get("/api/v1/search?q=inform+representatives&duty=true").get_json()
    values = {f["value"] for f in body["facets"]["holder"]}
    assert values <= set(HOLDERS) and "employer" in values
    employer = client.get("/api/v1/search?q=inform&holder=employer").get_json()
    assert "uksi/2031/300/regulation/4/1" in [r["id"] for r in employer["results"]]
    same = client.get("/api/v1/search?q=inform&holder=transferring+employer").get_json()
    assert [r["id"] for r in same["results"]] == [r["id"] for r in employer["results"]]
    wrong = client.get("/api/v1/search?q=inform&holder=landlord")
    assert wrong.status_code == 400
    assert wrong.get_json()["message"] == (
        f"'holder' must be one of {', '.join(HOLDERS)}, not 'landlord'."
    )


def test_cite_search_and_the_passage_give_one_citation(client, sample_settings):
    """One formatter everywhere: /api/v1/cite, `kb cite`, the search's citation box and the
    passage itself cite a guidance paragraph the same way, and its url is its page here."""
    from click.testing import CliRunner

    from kb.cli import cli

    ref = "Commissioning Guidance 2031 para 2.1"
    passage = client.get(
        "/api/v1/passages/guidance/example-commissioning-guidance-2031/para/2.1"
    ).get_json()
    cited = client.get("/api/v1/cite", query_string={"ref": ref}).get_json()
    searched = client.get("/api/v1/search", query_string={"q": ref}).get_json()["citation"]
    assert passage["citation"].startswith("Sample Department for Local Services, ")
    for body in (cited, searched):
        assert body["citation"] == passage["citation"]
        assert body["short_citation"] == passage["short_citation"]
        assert body["url"] == "/p/guidance/example-commissioning-guidance-2031/para/2.1"
    env = {"KB_HOME": str(sample_settings.home), "KB_CORPUS": str(sample_settings.corpus)}
    printed = CliRunner().invoke(cli, ["cite", "--json", ref], env=env, obj={})
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == cited


def test_short_references_in_guidance_mean_the_act_it_named(client):
    """Para 1.1 names the Act; para 1.2's "section 2 of the Act" and para 2.1's bare
    "section 2(2)" then cite it, so the provision lists the guidance that explains it."""
    guide = "guidance/example-commissioning-guidance-2031/para"
    body = client.get("/api/v1/passages/ukpga/2031/12/section/2/2").get_json()
    assert f"{guide}/2.1" in [c["id"] for c in body["cited_by"]]
    para = client.get(f"/api/v1/passages/{guide}/1.2").get_json()
    assert [c["id"] for c in para["cites"]] == [
        "ukpga/2031/12/section/2",
        "ukpga/2031/12/section/3",
    ]


def test_issued_under_gives_short_references_their_instrument(write_md, tmp_kb):
    write_md(
        "act.md",
        {"id": "ukpga/2031/77", "title": "Example Registers Act 2031", "doc_type": "act",
         "identifier": "ukpga/2031/77", "status": "in_force"},
        "{#section-4}\n### 4 Registers\n\nThe authority must keep a register.\n",
    )  # fmt: skip
    meta = {"id": "guidance/registers", "title": "Registers guide", "doc_type": "guidance",
            "status": "in_force"}  # fmt: skip
    body = "## 1. Keeping the register\n\n1.1 The duty in section 4 of the Act is owed by each authority.\n"
    write_md("with.md", {**meta, "issued_under": "Example Registers Act 2031"}, body)
    write_md("without.md", {**meta, "id": "guidance/other"}, body)
    kb = tmp_kb()
    version = kb.current()
    assert version.engine.passage("guidance/registers/para/1.1")["cites"] == [
        "ukpga/2031/77/section/4"
    ]
    assert version.engine.passage("guidance/other/para/1.1")["cites"] == []


def _counts(body, name):
    return {f["value"]: f["count"] for f in body["facets"][name]}


def _search(client, query):
    return client.get(f"/api/v1/search?q=consult&limit=100{query}").get_json()


def test_a_facet_is_counted_without_its_own_filter_but_with_the_others(engine, client):
    everything = _search(client, "")
    acts = _search(client, "&doc_type=act")
    assert acts["total"] == _counts(everything, "doc_type")["act"] < everything["total"]
    # doc_type keeps every type, counted as if doc_type were not chosen ...
    assert _counts(acts, "doc_type") == _counts(everything, "doc_type")
    # ... while the other facets count only the acts
    assert sum(_counts(acts, "status").values()) == acts["total"]
    assert set(_counts(acts, "document_id")) == {r["document_id"] for r in acts["results"]}
    # two filters: each facet respects the other one
    both = _search(client, "&doc_type=act&status=withdrawn")
    withdrawn = _search(client, "&status=withdrawn")
    assert both["total"] == 0
    assert _counts(both, "doc_type") == _counts(withdrawn, "doc_type") == {"code_of_practice": 1}
    assert _counts(both, "status") == _counts(acts, "status")
    # several values of one facet: either, and the facet still lists the rest
    either = _search(client, "&doc_type=act&doc_type=si")
    assert (
        either["total"]
        == _counts(everything, "doc_type")["act"] + _counts(everything, "doc_type")["si"]
    )
    assert _counts(either, "doc_type") == _counts(everything, "doc_type")


def test_the_duties_switch_keeps_powers_and_neither_in_the_duty_facet(engine, client):
    everything = _search(client, "")
    duties = _search(client, "&duty=true")
    assert all(r["duty"] == "duty" for r in duties["results"])
    assert _counts(duties, "duty") == _counts(everything, "duty")


def test_a_legislation_id_not_in_the_index_is_a_404_with_its_citation(client):
    response = client.get("/api/v1/passages/ukpga/1999/27/section/3/2")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "not_found",
        "message": "No passage or provision with id 'ukpga/1999/27/section/3/2'.",
        "citation": "Local Government Act 1999, s 3(2)",
        "source_url": "https://www.legislation.gov.uk/ukpga/1999/27/section/3/2",
    }
    other = client.get("/api/v1/passages/guidance/no-such-guide/para/1")
    assert other.status_code == 404
    assert set(other.get_json()) == {"error", "message"}
