"""The OpenAPI 3.1 description of the JSON API, served as JSON and as a page for people."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from kb.engine import FACET_SIZE, MAX_FACET_SIZE, MAX_OFFSET
from kb.models import DOC_TYPES, STATUSES

bp = Blueprint("openapi", __name__)

SPEC_PATH = "/api/v1/openapi.json"
KNOWN_FILTERS = {"doc_type", "status", "document"}
EXTRA_FILTERS = {
    "duty": (
        "Only provisions that impose a duty or confer a power (`duty=true` means duties only).",
        {"type": "string", "enum": ["duty", "power", "none", "true", "false"]},
    ),
    "holder": ("Only duties held by this body (e.g. `employer`).", {"type": "string"}),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _nullable(kind: str, **extra) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


ERRORS = {
    "400": _json("The request was refused; `message` says why.", "Error"),
    "404": _json("No such passage or document.", "Error"),
    "503": _json("No index has been built yet.", "Error"),
}
NOT_MODIFIED = {"description": "Not modified: the `If-None-Match` ETag still matches."}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "type": "string",
                "description": "A stable code: bad_request, invalid_query, not_found, "
                "method_not_allowed, index_unavailable…",
                "examples": ["invalid_query"],
            },
            "message": {"type": "string", "description": "What went wrong, for a person."},
        },
    },
    "Status": {"type": "string", "enum": list(STATUSES)},
    "DocType": {"type": "string", "enum": list(DOC_TYPES)},
    "SearchResult": {
        "type": "object",
        "required": ["id", "document_id", "title", "citation", "short_citation", "url"],
        "properties": {
            "id": {"type": "string", "examples": ["ukpga/2031/7/section/2/2"]},
            "document_id": {"type": "string"},
            "title": {"type": "string", "description": "The document's title."},
            "heading": {"type": "string", "description": "Heading path, joined with ›."},
            "citation": {"type": "string", "description": "OSCOLA citation."},
            "short_citation": {"type": "string"},
            "url": {"type": "string", "description": "The passage's page, relative to the API."},
            "source_url": _nullable("string", description="The authoritative source."),
            "snippet_html": {
                "type": "string",
                "description": "HTML-escaped text; only matched terms are wrapped in <mark>.",
            },
            "heading_html": {
                "type": "string",
                "description": "The heading path, HTML-escaped, with matched terms in <mark>: "
                "shows when a passage matched by its heading.",
            },
            "text": {"type": "string"},
            "doc_type": _ref("DocType"),
            "status": _ref("Status"),
            "status_date": _nullable("string", format="date"),
            "score": {"type": "number"},
            "label": {"type": "string"},
            "pin": {"type": "string"},
            "anchor": {"type": "string"},
            "order": {"type": "integer"},
            "valid_from": _nullable("string", format="date"),
            "valid_to": _nullable("string", format="date"),
            "sample": {"type": "boolean", "description": "An invented sample document."},
        },
    },
    "FacetValue": {
        "type": "object",
        "required": ["value", "count"],
        "properties": {
            "value": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "label": {
                "type": "string",
                "description": "A readable name, where the value is an id.",
            },
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["query", "total", "limit", "offset", "results", "facets", "facets_truncated"],
        "properties": {
            "query": {"type": "string"},
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "relaxed": {
                "type": "boolean",
                "description": "No passage had every word, so passages with any are shown.",
            },
            "took_ms": {"type": "number"},
            "results": {"type": "array", "items": _ref("SearchResult")},
            "facets": {
                "type": "object",
                "description": "Counts per facet (document_id, doc_type, status and any others "
                "the index provides); each facet's values can be passed back as a filter.",
                "additionalProperties": {"type": "array", "items": _ref("FacetValue")},
            },
            "facets_truncated": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Facets with more values than `facet_size`; their lists show the "
                "values with most passages.",
            },
            "suggestion": _nullable("string", description="A spelling to try instead."),
            "citation": {
                "description": "Set when the query is itself a citation of a provision.",
                "oneOf": [_ref("CiteResult"), {"type": "null"}],
            },
        },
    },
    "PassageLink": {
        "type": "object",
        "required": ["id", "citation"],
        "properties": {
            "id": {"type": "string"},
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "title": {"type": "string"},
            "status": _ref("Status"),
        },
    },
    "Passage": {
        "type": "object",
        "required": ["id", "document_id", "citation", "short_citation", "status", "text"],
        "properties": {
            "id": {"type": "string"},
            "document_id": {"type": "string"},
            "title": {"type": "string"},
            "pin": {"type": "string"},
            "label": {"type": "string"},
            "heading": {"type": "string"},
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "url": {"type": "string"},
            "source_url": _nullable("string"),
            "doc_type": _ref("DocType"),
            "status": _ref("Status"),
            "status_date": _nullable("string", format="date"),
            "status_note": _nullable("string"),
            "indexed": {
                "type": "boolean",
                "description": "False for a provision that only groups indexed passages.",
            },
            "text": {"type": "string"},
            "markdown": {"type": "string"},
            "contains": {"type": "array", "items": {"type": "string"}},
            "parent": _nullable("string"),
            "attributes": {"type": "object"},
            "sample": {"type": "boolean"},
            "cited_by": {"type": "array", "items": _ref("PassageLink")},
            "cites": {"type": "array", "items": _ref("PassageLink")},
            "amended_by": {"type": "array", "items": _ref("PassageLink")},
            "amends": {"type": "array", "items": _ref("PassageLink")},
        },
    },
    "DocumentSummary": {
        "type": "object",
        "required": ["id", "title", "doc_type", "status", "url"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "short_title": _nullable("string"),
            "doc_type": _ref("DocType"),
            "identifier": _nullable("string"),
            "aliases": _nullable("array", items={"type": "string"}),
            "publisher": _nullable("string"),
            "source_url": _nullable("string"),
            "status": _ref("Status"),
            "status_date": _nullable("string"),
            "status_note": _nullable("string"),
            "valid_from": _nullable("string"),
            "valid_to": _nullable("string"),
            "published": _nullable("string"),
            "extent": _nullable("string"),
            "licence": _nullable("string"),
            "attribution": _nullable("string"),
            "retrieved_at": _nullable("string"),
            "sha256": _nullable("string"),
            "sample": _nullable("boolean"),
            "passage_count": _nullable("integer"),
            "url": {"type": "string"},
        },
    },
    "DocumentList": {
        "type": "object",
        "required": ["total", "documents"],
        "properties": {
            "total": {"type": "integer"},
            "documents": {"type": "array", "items": _ref("DocumentSummary")},
        },
    },
    "ContentsEntry": {
        "type": "object",
        "required": ["id", "pin", "depth"],
        "properties": {
            "id": {"type": "string"},
            "pin": {"type": "string"},
            "label": {"type": "string"},
            "title": {"type": "string"},
            "depth": {"type": "integer"},
            "heading": {"type": "boolean"},
            "has_text": {"type": "boolean"},
        },
    },
    "Document": {
        "allOf": [
            _ref("DocumentSummary"),
            {
                "type": "object",
                "required": ["contents"],
                "properties": {"contents": {"type": "array", "items": _ref("ContentsEntry")}},
            },
        ]
    },
    "Health": {
        "type": "object",
        "required": ["status", "index_version", "documents", "passages"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "index_version": {"type": "string"},
            "engine": _nullable("string"),
            "documents": {"type": "integer"},
            "passages": {"type": "integer"},
        },
    },
    "CiteResult": {
        "type": "object",
        "required": ["ref", "id", "citation", "short_citation", "in_index"],
        "properties": {
            "ref": {"type": "string", "description": "The citation as given."},
            "id": {"type": "string", "examples": ["ukpga/1999/27/section/3/2"]},
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "url": _nullable("string", description="The provision at its authoritative source."),
            "in_index": {"type": "boolean", "description": "Whether this knowledge base holds it."},
        },
    },
    "CiteError": {
        "allOf": [
            _ref("Error"),
            {
                "type": "object",
                "properties": {
                    "candidates": {
                        "type": "array",
                        "description": "Instruments with similar names.",
                        "items": {
                            "type": "object",
                            "properties": {"id": {"type": "string"}, "title": {"type": "string"}},
                        },
                    }
                },
            },
        ]
    },
}


def _list_param(name: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description + " Repeat the parameter or separate values with commas.",
        "schema": {"type": "array", "items": items},
        "style": "form",
        "explode": True,
    }


def _search_parameters(extra_filters: list[str]) -> list[dict[str, Any]]:
    params = [
        {
            "name": "q",
            "in": "query",
            "required": True,
            "description": 'Words, "quoted phrases", AND/OR/NOT, brackets, consult*, field '
            "filters (title:, heading:, text:, cite:, type:, status:, doc:) or a citation. "
            "At most 500 characters and 40 terms.",
            "schema": {"type": "string", "maxLength": 500},
        },
        _list_param("doc_type", "Only these document types.", _ref("DocType")),
        _list_param(
            "status",
            "Only these statuses; `current` means in force, partially in force or prospective.",
            {"type": "string", "enum": [*STATUSES, "current"]},
        ),
        _list_param("document", "Only these documents (document ids).", {"type": "string"}),
    ]
    for name in extra_filters:
        description, items = EXTRA_FILTERS.get(
            name, (f"Only passages with this {name} facet value.", {"type": "string"})
        )
        params.append(_list_param(name, description, items))
    params += [
        {
            "name": "as_at",
            "in": "query",
            "description": "Only text that applied on this date.",
            "schema": {"type": "string", "format": "date"},
        },
        {
            "name": "limit",
            "in": "query",
            "description": "Results per page.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        },
        {
            "name": "offset",
            "in": "query",
            "description": "Results to skip.",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        },
        {
            "name": "facet_size",
            "in": "query",
            "description": "Values listed per facet, most passages first; counts are over every "
            "match. A facet with more values is named in `facets_truncated`.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_FACET_SIZE,
                "default": FACET_SIZE,
            },
        },
    ]
    return params


def _id_param(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description + " It contains slashes, which are sent as they are.",
        "schema": {"type": "string"},
        "examples": {"example": {"value": example}},
    }


def _operations(extra_filters: list[str]) -> dict[str, dict[str, Any]]:
    """Every API route, keyed by its OpenAPI path."""
    return {
        "/api/v1/search": {
            "get": {
                "operationId": "search",
                "summary": "Search passages",
                "description": "Ranked passages with citations, status, highlighted snippets "
                "and facet counts.",
                "parameters": _search_parameters(extra_filters),
                "responses": {
                    "200": _json("A page of results.", "SearchResponse"),
                    "304": NOT_MODIFIED,
                    "400": ERRORS["400"],
                    "503": ERRORS["503"],
                },
            }
        },
        "/api/v1/passages/{passage_id}": {
            "get": {
                "operationId": "getPassage",
                "summary": "A passage or a provision",
                "description": "A passage, or a provision that groups passages (s 3 made of "
                "s 3(1) and s 3(2)) with its whole text.",
                "parameters": [_id_param("passage_id", "Passage id.", "ukpga/2031/7/section/2/2")],
                "responses": {
                    "200": _json("The passage.", "Passage"),
                    "304": NOT_MODIFIED,
                    "404": ERRORS["404"],
                    "503": ERRORS["503"],
                },
            }
        },
        "/api/v1/documents": {
            "get": {
                "operationId": "listDocuments",
                "summary": "Every document",
                "responses": {
                    "200": _json("Documents with type, status and passage count.", "DocumentList"),
                    "304": NOT_MODIFIED,
                    "503": ERRORS["503"],
                },
            }
        },
        "/api/v1/documents/{document_id}": {
            "get": {
                "operationId": "getDocument",
                "summary": "A document and its contents",
                "parameters": [_id_param("document_id", "Document id.", "ukpga/2031/7")],
                "responses": {
                    "200": _json("The document.", "Document"),
                    "304": NOT_MODIFIED,
                    "404": ERRORS["404"],
                    "503": ERRORS["503"],
                },
            }
        },
        "/api/v1/cite": {
            "get": {
                "operationId": "resolveCitation",
                "summary": "Resolve a citation to a passage id",
                "parameters": [
                    {
                        "name": "ref",
                        "in": "query",
                        "required": True,
                        "description": 'A citation as people write it: "s 3(2) LGA 1999".',
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json("The provision cited.", "CiteResult"),
                    "304": NOT_MODIFIED,
                    "400": ERRORS["400"],
                    "404": _json("No known instrument is named; near misses.", "CiteError"),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "304": NOT_MODIFIED,
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Health check",
                "description": "Index version and counts; never cached.",
                "responses": {"200": _json("Serving.", "Health"), "503": ERRORS["503"]},
            }
        },
    }


def openapi_path(rule: str) -> str:
    """A Flask rule (`/api/v1/passages/<path:passage_id>`) as an OpenAPI path."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def api_routes(app) -> dict[str, set[str]]:
    """The app's JSON routes: OpenAPI path -> lower-case methods (without HEAD and OPTIONS)."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") or rule.rule == "/healthz":
            methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
            routes.setdefault(openapi_path(rule.rule), set()).update(methods)
    return routes


def build_spec(app) -> dict[str, Any]:
    from kb.web.api import filter_names

    extra = [name for name in filter_names() if name not in KNOWN_FILTERS]
    registered = api_routes(app)
    # Describe what this server serves: a route another module has not registered yet is left
    # out rather than advertised.
    paths = {path: ops for path, ops in _operations(extra).items() if path in registered}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Statutory guidance knowledge base API",
            "version": "1.0.0",
            "summary": "Search UK legislation and guidance passage by passage, with pinpoint "
            "citations and the status of every passage.",
            "description": "Read-only JSON. Every GET response has an ETag and Cache-Control; "
            "send If-None-Match to get 304 Not Modified. Browsers may call it from the origins "
            'the operator lists in KB_CORS_ORIGINS. Errors are `{"error", "message"}` '
            "with a 4xx or 503 status.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }


def spec(app) -> dict[str, Any]:
    cached = app.extensions.get("kb_openapi")
    if cached is None:
        cached = app.extensions["kb_openapi"] = build_spec(app)
    return cached


@bp.get(SPEC_PATH)
def openapi_json():
    return jsonify(spec(current_app))


def _operation_rows(document: dict[str, Any]):
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            yield {"path": path, "method": method.upper(), "anchor": op["operationId"], **op}


def schema_name(schema: dict[str, Any] | None) -> str:
    """A short readable name for a parameter or response schema."""
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {schema_name(schema.get('items'))}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else kind


@bp.get("/api")
def api_page():
    document = spec(current_app)
    return render_template(
        "api.html",
        spec=document,
        operations=list(_operation_rows(document)),
        schemas=document["components"]["schemas"],
        schema_name=schema_name,
    )
