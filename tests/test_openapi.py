"""The OpenAPI document describes exactly the API the app serves, and is valid OpenAPI 3."""

import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from kb.web.openapi import _operations, api_routes, openapi_path


@pytest.fixture()
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def test_it_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_api_route_is_described(app, spec):
    routes = api_routes(app)
    assert "/api/v1/search" in routes and "/healthz" in routes
    for path, methods in routes.items():
        assert path in spec["paths"], f"{path} is served but not in the OpenAPI document"
        assert set(spec["paths"][path]) == methods, path


def test_every_described_route_is_served(app, spec):
    routes = api_routes(app)
    for path, methods in spec["paths"].items():
        assert path in routes, f"{path} is described but not served"
        assert set(methods) == routes[path]


def test_every_route_we_know_how_to_describe_is_served(app):
    """The description table has nothing stale: each entry is a route the app registers."""
    missing = set(_operations([])) - set(api_routes(app))
    if missing == {"/api/v1/cite"}:
        pytest.skip("GET /api/v1/cite (lead's citation route) is not registered yet")
    assert not missing


def test_flask_rules_become_openapi_paths():
    assert openapi_path("/api/v1/passages/<path:passage_id>") == "/api/v1/passages/{passage_id}"
    assert openapi_path("/api/v1/x/<int:n>/<name>") == "/api/v1/x/{n}/{name}"


def test_search_documents_every_parameter_the_api_accepts(spec, client):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "doc_type", "status", "document", "duty", "holder", "limit", "offset"} <= set(
        params
    )
    assert params["q"]["required"] is True
    assert params["limit"]["schema"]["maximum"] == 100
    assert "current" in params["status"]["schema"]["items"]["enum"]
    # The documented limits are the enforced ones.
    assert client.get("/api/v1/search?q=duty&limit=100").status_code == 200
    assert client.get("/api/v1/search?q=duty&limit=101").status_code == 400


def test_error_shape_is_described_and_matches_a_real_error(spec, client):
    responses = spec["paths"]["/api/v1/search"]["get"]["responses"]
    ref = responses["400"]["content"]["application/json"]["schema"]["$ref"]
    error_schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    body = client.get("/api/v1/search?q=%22open").get_json()
    assert set(error_schema["required"]) == set(body)


def test_a_real_search_response_has_the_described_required_fields(spec, client):
    schemas = spec["components"]["schemas"]
    body = client.get("/api/v1/search?q=consult").get_json()
    assert set(schemas["SearchResponse"]["required"]) <= set(body)
    assert set(schemas["SearchResult"]["required"]) <= set(body["results"][0])
    passage = client.get(body["results"][0]["url"].replace("/p/", "/api/v1/passages/")).get_json()
    assert set(schemas["Passage"]["required"]) <= set(passage)


def test_the_api_page_lists_every_operation(client, spec):
    response = client.get("/api")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for path, methods in spec["paths"].items():
        for method in methods:
            assert f"{method.upper()} {path}" in page
    assert 'href="/api/v1/openapi.json"' in page
    assert 'id="schema-SearchResult"' in page


# --- real responses against the schema of their operation and status ----------------------------
#
# Independent of schemathesis's random requests: representative answers of every operation, each
# validated (body, media type and headers) against what the document says for that status. The
# objects are closed (`additionalProperties: false`), so a field the API adds without describing
# it fails here, with the path of the field.

CITED = "s 2(2) Example Commissioning Act 2031"
REAL_RESPONSES = {
    # name: (path in the spec, URL, status, extra check of the body)
    "search-words-facets": (
        "/api/v1/search",
        "/api/v1/search?q=consult&limit=20",
        200,
        lambda b: b["results"] and b["facets"]["document_id"] and b["citation"] is None,
    ),
    "search-facets-truncated": (
        "/api/v1/search",
        "/api/v1/search?q=consult&facet_size=1",
        200,
        lambda b: b["facets_truncated"],
    ),
    "search-duties-as-at": (
        "/api/v1/search",
        "/api/v1/search?q=authority&duty=duty&as_at=2031-06-01",
        200,
        lambda b: b["as_at"] == "2031-06-01" and any(r["holders"] for r in b["results"]),
    ),
    "search-citation-in-index": (
        "/api/v1/search",
        f"/api/v1/search?q={CITED}",
        200,
        lambda b: b["citation"]["in_index"] and b["results"][0]["id"] == b["citation"]["id"],
    ),
    "search-citation-of-a-grouping-provision": (
        "/api/v1/search",
        "/api/v1/search?q=s 2 ECA 2031&limit=5",
        200,
        lambda b: any(r["score"] is None for r in b["results"]),  # put first, not matched
    ),
    "search-citation-not-in-index": (
        "/api/v1/search",
        "/api/v1/search?q=s 3(2) LGA 1999",
        200,
        lambda b: b["citation"]["in_index"] is False,
    ),
    "search-nothing-found": (
        "/api/v1/search",
        "/api/v1/search?q=zzyzzx",
        200,
        lambda b: b["total"] == 0 and not b["results"],
    ),
    "search-extent-filter": (
        "/api/v1/search",
        "/api/v1/search?q=relevant authority&extent=E,w",
        200,
        lambda b: (
            b["results"]
            and all({"E", "W"} & set(r["extent"]) for r in b["results"])
            and b["facets"]["extent"]
        ),
    ),
    "search-non-operative-and-changes": (
        "/api/v1/search",
        "/api/v1/search?q=consult&limit=50",
        200,
        lambda b: (
            any(r["operative"] is False for r in b["results"])
            and any(r["outstanding_changes"] for r in b["results"])
        ),
    ),
    "search-400-extent": ("/api/v1/search", "/api/v1/search?q=duty&extent=Wales", 400, None),
    "search-400-invalid-query": ("/api/v1/search", "/api/v1/search?q=%22open", 400, None),
    "search-400-limit": ("/api/v1/search", "/api/v1/search?q=duty&limit=101", 400, None),
    "passage-cited-by": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/ukpga/2031/12/section/2/2",
        200,
        lambda b: b["indexed"] and b["cited_by"] and b["holders"],
    ),
    "passage-grouping-provision": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/ukpga/2031/12/section/2",
        200,
        lambda b: not b["indexed"] and b["contains"],
    ),
    "passage-cites-a-provision": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/guidance/example-commissioning-guidance-2031/para/1",
        200,
        lambda b: any("source_url" in link for link in b["cites"]),
    ),
    "passage-with-attributes": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/ukpga/2031/12/section/2/4",
        200,
        lambda b: b["attributes"] and b["status"] == "repealed",
    ),
    "passage-not-operative": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/ukpga/2031/12/introduction",
        200,
        lambda b: b["operative"] is False and b["extent"] == ["E", "W"],
    ),
    "passage-outstanding-change": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/ukpga/2031/12/section/4/3",
        200,
        lambda b: b["outstanding_changes"] and b["outstanding_changes"][0]["by_in_index"],
    ),
    "passage-own-extent": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages/ukpga/2031/12/section/1",
        200,
        lambda b: b["extent"] == ["E"],
    ),
    "passage-404": ("/api/v1/passages/{passage_id}", "/api/v1/passages/no/such/thing", 404, None),
    "passage-308-merged-slashes": (
        "/api/v1/passages/{passage_id}",
        "/api/v1/passages//ukpga/2031/12/section/2",
        308,
        None,
    ),
    "documents": ("/api/v1/documents", "/api/v1/documents", 200, lambda b: b["total"] > 1),
    "document": (
        "/api/v1/documents/{document_id}",
        "/api/v1/documents/ukpga/2031/12",
        200,
        lambda b: (
            b["contents"]
            and len(b["outstanding_changes"]) == 2
            and any(c["pin"] is None for c in b["outstanding_changes"])
        ),
    ),
    "document-404": ("/api/v1/documents/{document_id}", "/api/v1/documents/no/such", 404, None),
    "cite-hit": (
        "/api/v1/cite",
        "/api/v1/cite?ref=s 2(2) ECA 2031",
        200,
        lambda b: b["in_index"] and b["id"] == "ukpga/2031/12/section/2/2",
    ),
    "cite-hit-not-in-index": (
        "/api/v1/cite",
        "/api/v1/cite?ref=s 3(2) LGA 1999",
        200,
        lambda b: b["in_index"] is False,
    ),
    "cite-miss": (
        "/api/v1/cite",
        "/api/v1/cite?ref=s 3 Nonexistent Act 1999",
        404,
        lambda b: b["error"] == "unresolved" and b["candidates"],
    ),
    "cite-400": ("/api/v1/cite", "/api/v1/cite?ref=", 400, None),
    "health": ("/healthz", "/healthz", 200, lambda b: b["status"] == "ok"),
    "openapi": ("/api/v1/openapi.json", "/api/v1/openapi.json", 200, None),
}


def conformance_errors(spec, path: str, response) -> list[str]:
    """What in this response the document does not describe, one readable line each."""
    status = str(response.status_code)
    responses = spec["paths"][path]["get"]["responses"]
    described = responses.get(status)
    if described is None:
        return [f"status {status} is not documented (documented: {', '.join(responses)})"]
    errors = []
    for name, header in described.get("headers", {}).items():
        value = response.headers.get(name)
        if value is None:
            if header.get("required"):
                errors.append(f"header {name}: missing")
            continue
        for error in Draft202012Validator(header["schema"]).iter_errors(value):
            errors.append(f"header {name}: {error.message}")
    content = described.get("content")
    if not content:
        return errors
    if response.mimetype not in content:
        return [*errors, f"media type {response.mimetype} is not one of {', '.join(content)}"]
    schema = {**content[response.mimetype]["schema"], "components": spec["components"]}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    body = json.loads(response.get_data(as_text=True))
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        errors.append(f"body {error.json_path}: {error.message}")
    return errors


@pytest.mark.parametrize("name", list(REAL_RESPONSES))
def test_a_real_response_conforms_to_the_document(spec, client, name):
    path, url, status, check = REAL_RESPONSES[name]
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if check is not None:
        assert check(response.get_json()), f"{url} is not the case this test is about"
    errors = conformance_errors(spec, path, response)
    assert not errors, f"GET {url} ({status}) differs from the OpenAPI document:\n" + "\n".join(
        errors
    )


def test_a_not_modified_answer_conforms_to_the_document(spec, client):
    url = "/api/v1/search?q=consult"
    etag = client.get(url).headers["ETag"]
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert not conformance_errors(spec, "/api/v1/search", response)


def test_an_undescribed_field_is_drift(spec, client):
    """The check above has teeth: objects are closed, also through $ref and arrays."""
    response = client.get("/api/v1/search?q=consult")
    body = response.get_json()
    body["results"][0]["new_field"] = 1
    body["facets"]["doc_type"][0]["new_field"] = 1
    response.set_data(json.dumps(body))
    errors = conformance_errors(spec, "/api/v1/search", response)
    assert any("$.results[0]" in e and "'new_field'" in e for e in errors), errors
    assert any("$.facets.doc_type[0]" in e and "'new_field'" in e for e in errors), errors


def _objects(schema, where):
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            yield where, schema
        for key, sub in schema.items():
            yield from _objects(sub, f"{where}.{key}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            yield from _objects(sub, f"{where}[{i}]")


def test_every_described_object_is_closed(spec):
    """A new field must be described before it is served (the conformance checks see to that)."""
    for where, schema in _objects(spec["components"]["schemas"], "schemas"):
        assert schema.get("additionalProperties") is False, f"{where} allows any other field"
        assert set(schema.get("required", [])) <= set(schema["properties"]), where


def test_cross_references_may_say_how_and_when(spec, client):
    """`change` and `date` on amended_by / amends items are described (nullable, optional)."""
    response = client.get("/api/v1/passages/ukpga/2031/12/section/2/2")
    body = response.get_json()
    body["amended_by"] = [
        {"id": "ukpga/2032/4/section/5", "citation": "Amending Act 2032, s 5",
         "in_index": False, "change": "inserted", "date": "2031-04-01"},
        {"id": "ukpga/2032/4/section/6", "citation": "Amending Act 2032, s 6",
         "in_index": False, "change": None, "date": None},
    ]  # fmt: skip
    response.set_data(json.dumps(body))
    path = "/api/v1/passages/{passage_id}"
    assert not conformance_errors(spec, path, response)
    body["amended_by"][0]["date"] = "1 April 2031"
    response.set_data(json.dumps(body))
    assert any("date" in e for e in conformance_errors(spec, path, response))


def test_the_extent_parameter_lists_the_nations(spec):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    items = params["extent"]["schema"]["items"]
    nation = spec["components"]["schemas"][items["$ref"].rsplit("/", 1)[-1]]
    assert nation["enum"] == ["E", "W", "S", "NI"]
    assert "extent" in spec["components"]["schemas"]["Facets"]["required"]
