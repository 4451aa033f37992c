"""The MCP server's tools and resources, driven in process by the SDK's own client
(`mcp.Client(server)`), on the sample corpus with each engine; and /mcp's Origin and token
checks through the app's WSGI stack. tests/test_mcp_transports.py drives the same over stdio
(`kb mcp`) and over HTTP (`kb serve`)."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from kb.core.config import Settings
from kb.core.vocabularies import DOC_TYPES, HOLDERS, STATUS_LABELS, STATUSES
from kb.mcp_answers import status_warning
from kb.mcp_server import TOOLS, build_server
from kb.web import create_app

WITHDRAWN_CODE = "code/example-workforce-code-2019"
WITHDRAWN_WARNING = "This passage was withdrawn on 30 June 2030; it is not current guidance."
SECTION = "ukpga/2031/12/section/2/2"


@pytest.fixture(scope="module")
def server(app):
    return build_server(app)


def run(server, scenario):
    """Run `scenario(client)` in a session of the SDK's in-process client."""

    async def main():
        async with Client(server) as client:
            return await scenario(client)

    return anyio.run(main)


def call(server, tool: str, arguments: dict[str, Any] | None = None):
    return run(server, lambda client: client.call_tool(tool, arguments or {}))


def answer(server, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    result = call(server, tool, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content | {"_text": result.content[0].text}


def test_every_tool_is_listed_with_a_description_and_its_schema(server):
    async def listed(client):
        return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(server, listed)}
    assert set(tools) == set(TOOLS)
    for tool in tools.values():
        assert len(tool.description) > 80, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.annotations.read_only_hint
    search = tools["search"].input_schema
    assert search["required"] == ["query"]
    props = search["properties"]
    assert set(props) >= {"query", "doc_type", "status", "document", "duty", "holder"}
    assert set(props) >= {"extent", "as_at", "stale", "limit", "offset"}
    assert props["doc_type"]["anyOf"][0]["items"]["enum"] == list(DOC_TYPES)
    assert props["holder"]["anyOf"][0]["items"]["enum"] == list(HOLDERS)
    assert props["as_at"]["format"] == "date"
    assert "ctx" not in props
    assert tools["get_passage"].input_schema["required"] == ["id"]
    assert tools["cite"].input_schema["required"] == ["citation"]
    assert tools["find_duties"].input_schema["properties"]["holder"]["anyOf"][0]["enum"] == list(
        HOLDERS
    )


def test_search_gives_each_passage_with_its_citation_status_text_and_where_to_read_it(server):
    found = answer(server, "search", {"query": "new joiners", "limit": 3})
    assert found["total"] >= 3 and len(found["results"]) == 3
    for hit in found["results"]:
        assert hit["citation"] and hit["short_citation"] and hit["text"]
        assert hit["status"] in STATUSES
        assert hit["status_label"] == STATUS_LABELS[hit["status"]]
        assert hit["permalink"] == f"/p/{hit['id']}"
        assert hit["resource"] == f"kb://passage/{hit['id']}"
        assert f"{hit['citation']} [{hit['status_label']}]" in found["_text"]


def test_search_takes_the_apis_filters(server):
    acts = answer(server, "search", {"query": "authority", "doc_type": ["act"], "limit": 50})
    assert acts["results"] and {hit["doc_type"] for hit in acts["results"]} == {"act"}
    duties = answer(server, "search", {"query": "employer", "duty": "duty", "holder": ["employer"]})
    assert duties["results"]
    assert all(h["duty"] == "duty" and "employer" in h["holders"] for h in duties["results"])
    then = answer(server, "search", {"query": "authority", "as_at": "2031-06-01"})
    assert then["as_at"] == "2031-06-01"


def test_a_withdrawn_passage_is_said_to_be_withdrawn_in_words(server):
    found = answer(server, "search", {"query": "new joiners", "document": [WITHDRAWN_CODE]})
    assert found["results"]
    for hit in found["results"]:
        assert hit["status"] == "withdrawn" and not hit["current"]
        assert hit["warning"] == WITHDRAWN_WARNING
    assert f"WARNING: {WITHDRAWN_WARNING}" in found["_text"]
    passage = answer(server, "get_passage", {"id": f"{WITHDRAWN_CODE}/para/2.1"})
    assert passage["warning"] == WITHDRAWN_WARNING
    assert passage["_text"].splitlines()[1] == f"WARNING: {WITHDRAWN_WARNING}"


def test_a_passage_in_force_carries_its_status_and_no_warning(server):
    passage = answer(server, "get_passage", {"id": SECTION})
    assert passage["citation"] == "Example Commissioning Act 2031, s 2(2)"
    assert (passage["status"], passage["current"], passage["warning"]) == ("in_force", True, None)
    assert "WARNING" not in passage["_text"]
    assert passage["cited_by"] and all(link["citation"] for link in passage["cited_by"])
    assert passage["_text"].startswith("Example Commissioning Act 2031, s 2(2) [In force]")


def test_a_malformed_query_is_a_tool_error_with_the_apis_explanation(server, client):
    api = client.get("/api/v1/search", query_string={"q": "duty AND"}).get_json()
    result = call(server, "search", {"query": "duty AND"})
    assert result.is_error
    assert api["message"] in result.content[0].text
    bad_date = call(server, "search", {"query": "duty", "as_at": "next week"})
    assert bad_date.is_error
    assert "'as_at' must be a date like 2011-03-23" in bad_date.content[0].text


def test_a_value_outside_a_schemas_enum_is_refused(server):
    result = call(server, "search", {"query": "duty", "doc_type": ["novel"]})
    assert result.is_error


def test_an_unknown_passage_id_is_a_tool_error(server):
    result = call(server, "get_passage", {"id": "nothing/here"})
    assert result.is_error
    assert "No passage or provision with id 'nothing/here'." in result.content[0].text


def test_a_legislation_id_not_held_says_how_to_cite_it_and_where_to_read_it(server, client):
    api = client.get("/api/v1/passages/ukpga/1999/27/section/3").get_json()
    result = call(server, "get_passage", {"id": "ukpga/1999/27/section/3"})
    assert result.is_error
    assert api["citation"] in result.content[0].text
    assert api["source_url"] in result.content[0].text


def test_cite_resolves_a_citation_to_the_provision_with_its_status_and_text(server):
    found = answer(server, "cite", {"citation": "s 2(2) ECA 2031"})
    assert found["resolved"] and found["in_index"]
    assert found["id"] == SECTION
    assert found["citation"] == "Example Commissioning Act 2031, s 2(2)"
    assert found["passage"]["status"] == "in_force" and found["passage"]["text"]
    assert found["source_url"].endswith("/ukpga/2031/12/section/2/2")


def test_cite_gives_candidates_for_an_instrument_it_does_not_know(server):
    found = answer(server, "cite", {"citation": "s 2 Example Commissioning Act 2099"})
    assert not found["resolved"]
    assert "ukpga/2031/12" in [c["id"] for c in found["candidates"]]
    assert "Did you mean" in found["_text"]
    assert call(server, "cite", {"citation": "  "}).is_error
    assert call(server, "cite", {"citation": "s 1 " * 100}).is_error


def test_list_documents_gives_every_document_with_its_status(server, client):
    listed = answer(server, "list_documents")
    api = client.get("/api/v1/documents").get_json()
    assert [d["id"] for d in listed["documents"]] == [d["id"] for d in api["documents"]]
    code = next(d for d in listed["documents"] if d["id"] == WITHDRAWN_CODE)
    assert (
        code["warning"]
        == "This document was withdrawn on 30 June 2030; it is not current guidance."
    )
    assert all(d["sample"] for d in listed["documents"])


def test_find_duties_lists_a_holders_duties_and_powers(server):
    listed = answer(server, "find_duties", {"holder": "employer"})
    assert listed["total"] == len(listed["results"]) > 0
    for hit in listed["results"]:
        assert hit["duty"] in ("duty", "power") and "employer" in hit["holders"]
        assert hit["status"] and hit["citation"]
    ranked = answer(server, "find_duties", {"holder": "employer", "query": "inform"})
    assert 0 < ranked["total"] <= listed["total"]
    powers = answer(server, "find_duties", {"kind": "power"})
    assert all(hit["duty"] == "power" for hit in powers["results"])


def test_find_duties_pages_through_the_list(server):
    every = answer(server, "find_duties", {"limit": 50})["results"]
    second = answer(server, "find_duties", {"limit": 1, "offset": 1})["results"]
    assert len(every) > 1 and [h["id"] for h in second] == [every[1]["id"]]


def test_passage_and_document_resources_quote_exactly_with_the_status_first(server):
    async def read(client):
        templates = (await client.list_resource_templates()).resource_templates
        passage = await client.read_resource(f"kb://passage/{WITHDRAWN_CODE}/para/2.1")
        document = await client.read_resource(f"kb://document/{WITHDRAWN_CODE}")
        return templates, passage.contents[0].text, document.contents[0].text

    templates, passage, document = run(server, read)
    assert {t.uri_template for t in templates} == {
        "kb://passage/{+passage_id}",
        "kb://document/{+document_id}",
    }
    assert passage.splitlines()[1] == f"WARNING: {WITHDRAWN_WARNING}"
    assert "2.1 A contractor should offer new joiners" in passage
    assert "WARNING: This document was withdrawn on 30 June 2030" in document
    assert f"kb://passage/{WITHDRAWN_CODE}/para/2.1" in document


def test_an_unknown_passage_resource_is_an_error(server):
    async def read(client):
        with pytest.raises(MCPError) as refused:
            await client.read_resource("kb://passage/nothing/here")
        return refused.value

    assert "No passage or provision with id 'nothing/here'." in str(run(server, read))


@pytest.mark.parametrize(
    ("status", "doc_type", "sentence"),
    [
        ("repealed", "act", "This provision was repealed on 1 April 2032; it is not current law."),
        ("withdrawn", "guidance", WITHDRAWN_WARNING.replace("30 June 2030", "1 April 2032")),
        (
            "superseded",
            "statutory_guidance",
            "This passage was superseded on 1 April 2032; it is not current guidance.",
        ),
        (
            "prospective",
            "si",
            "This provision is prospective (not yet in force); it is not yet law.",
        ),
        (
            "partially_in_force",
            "act",
            "This provision is partially in force: check which parts apply.",
        ),
        ("in_force", "act", None),
    ],
)
def test_a_status_is_said_in_words_with_the_vocabularys_label(status, doc_type, sentence):
    assert status_warning(status, "2032-04-01", doc_type) == sentence
    if sentence:
        assert STATUS_LABELS[status].lower() in sentence


def test_the_token_is_read_from_kb_mcp_token():
    assert Settings.from_env({"KB_MCP_TOKEN": " s3cret "}).mcp_token == "s3cret"
    assert Settings.from_env({"KB_MCP_TOKEN": ""}).mcp_token is None
    assert Settings.from_env({}).mcp_token is None


# --- /mcp through the app's WSGI stack (the transport itself: tests/test_mcp_transports.py) ----

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture()
def guarded(sample_settings, sample_kb):
    """The app with KB_MCP_TOKEN and KB_CORS_ORIGINS set."""
    settings = Settings.from_env(
        {
            "KB_HOME": str(sample_settings.home),
            "KB_ENGINE": sample_settings.engine,
            "KB_MCP_TOKEN": "s3cret",
            "KB_CORS_ORIGINS": "https://intranet.example",
        }
    )
    return create_app(settings, kb=sample_kb).test_client()


def post(client, headers: dict[str, str], body=INITIALIZE):
    return client.post("/mcp", data=json.dumps(body), headers=HEADERS | headers)


def test_without_the_token_mcp_is_refused_with_401_and_why(guarded):
    refused = post(guarded, {})
    assert refused.status_code == 401
    message = "This MCP endpoint needs the header 'Authorization: Bearer <KB_MCP_TOKEN>'."
    assert refused.get_json()["error"] == {
        "code": -32600,
        "message": message,
        "data": {"error": "unauthorized", "message": message},
    }
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert post(guarded, {"Authorization": "Bearer wrong"}).status_code == 401


def test_with_the_token_mcp_answers(guarded):
    answered = post(guarded, {"Authorization": "Bearer s3cret"})
    assert answered.status_code == 200
    assert answered.get_json()["result"]["serverInfo"]["name"] == "statutory-kb"


def test_an_origin_not_listed_is_refused_and_a_listed_one_gets_cors(guarded):
    token = {"Authorization": "Bearer s3cret"}
    refused = post(guarded, token | {"Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert "KB_CORS_ORIGINS" in refused.get_json()["error"]["message"]
    for origin in ("https://intranet.example", "http://127.0.0.1:5173", "http://localhost:3000"):
        answered = post(guarded, token | {"Origin": origin})
        assert answered.status_code == 200, origin
        assert answered.headers["Access-Control-Allow-Origin"] == origin
    preflight = guarded.options(
        "/mcp",
        headers={"Origin": "https://intranet.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_without_a_token_configured_mcp_is_open(client):
    assert post(client, {}).status_code == 200
    assert client.get("/mcp/anything").status_code == 404


def test_mcp_requests_are_counted_in_metrics_and_logged(guarded):
    from tests.test_metrics import Capture, scrape

    answered = 'kb_http_requests_total{route="/mcp",method="POST",status="200"}'
    refused = 'kb_http_requests_total{route="/mcp",method="POST",status="401"}'
    before = scrape(guarded)
    capture = Capture()
    log = logging.getLogger("kb.access")
    log.addHandler(capture)
    try:  # counted when the body has been sent: when the server closes the response
        post(guarded, {"Authorization": "Bearer s3cret"}).close()
        post(guarded, {}).close()
    finally:
        log.removeHandler(capture)
    after = scrape(guarded)
    assert after[answered] - before.get(answered, 0) == 1
    assert after[refused] - before.get(refused, 0) == 1
    first, second = (json.loads(line) for line in capture.lines)
    assert (first["route"], first["path"], first["status"]) == ("/mcp", "/mcp", 200)
    assert first["index_version"].startswith("v") and first["bytes"] > 0
    assert (second["status"], second["method"]) == (401, "POST")
