"""The OpenAPI 3.1 description of the JSON API, as a page for people (/api) and as JSON
(/api/v1/openapi.json, served by kb.web.api)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, render_template

from indexer.index.changes import KINDS as CHANGE_KINDS
from indexer.index.engine import FACET_SIZE, MAX_FACET_SIZE, MAX_LIMIT, MAX_OFFSET
from kb.core.models import STATUSES
from kb.records import component_schemas
from kb.responses import DUTY_KINDS, RESPONSES
from kb.search import DEFAULT_LIMIT, STALE_VALUES
from kb.web.changes import API_LIMIT as CHANGES_LIMIT
from kb.web.changes import MAX_LIMIT as CHANGES_MAX_LIMIT
from kb.web.headers import API_MAX_AGE_S
from kb.web.limits import MAX_PATH_BYTES, MAX_QUERY_BYTES

bp = Blueprint("openapi", __name__)

KNOWN_FILTERS = {"doc_type", "status", "document"}
EXTRA_FILTERS = {
    "duty": (
        "Only provisions that impose a duty or confer a power (`duty=true` means duties only).",
        {"type": "string", "enum": [*DUTY_KINDS, "true", "false"]},
    ),
    "holder": ("Only duties held by this body (e.g. `employer`).", {"type": "string"}),
    "extent": (
        "Only passages that extend to this nation: E (England), W (Wales), S (Scotland), NI "
        "(Northern Ireland); a provision extending to E+W matches `W`. Case and dots are "
        "ignored (`N.I.` is `NI`). Passages with no recorded extent (most guidance) are left "
        "out.",
        {"$ref": "#/components/schemas/Nation"},
    ),
    "stale": (
        "`stale=true`: only guidance passages citing a provision amended, substituted or "
        "repealed (in force) after the guidance was issued or last updated; `stale` (the facet "
        "value) means the same.",
        {"type": "string", "enum": list(STALE_VALUES)},
    ),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# Response headers (OpenAPI header objects, checked by schemathesis's headers conformance).
ETAG = {
    "description": "Changes when the body does (timings aside); send it back as If-None-Match.",
    "required": True,
    "schema": {"type": "string", "minLength": 3},
}
CACHE_PUBLIC = {
    "description": f"`public, max-age={API_MAX_AGE_S}`.",
    "required": True,
    "schema": {"type": "string", "pattern": r"^public, max-age=[0-9]+$"},
}
NO_STORE = {
    "description": "`no-store`: errors and health checks are never cached.",
    "required": True,
    "schema": {"type": "string", "const": "no-store"},
}
CACHED = {"ETag": ETAG, "Cache-Control": CACHE_PUBLIC}


def _json(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": CACHED if headers is None else headers,
        "content": {"application/json": {"schema": _ref(schema)}},
    }


def _error(description: str, schema: str = "Error") -> dict[str, Any]:
    return _json(description, schema, {"Cache-Control": NO_STORE})


ERRORS = {
    "400": _error("The request was refused; `message` says why."),
    "404": _error("No such passage or document."),
    "503": _error("No index has been built yet."),
    "414": _error(
        f"The path is longer than {MAX_PATH_BYTES:,} bytes or the query string longer than "
        f"{MAX_QUERY_BYTES:,} bytes (`error`: `uri_too_long`)."
    ),
}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again; sent when the server was busy.",
    "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
SEARCH_503 = _json(
    "No index has been built yet, or the server is busy with other searches (`error`: `busy`): "
    "every search slot was taken and the queue was full, or the search waited too long for "
    "its turn. Then `Retry-After` says in how many seconds to try again.",
    "Error",
    {"Cache-Control": NO_STORE, "Retry-After": RETRY_AFTER},
)
NOT_MODIFIED = {
    "description": "Not modified: the `If-None-Match` ETag still matches.",
    "headers": {"ETag": ETAG},
}
MERGED_SLASHES = {
    "description": "An id with an empty segment (`a//b`, or one starting with `/`): redirected "
    "to the same URL with the slashes merged, given in `Location`.",
    "headers": {
        "Location": {"required": True, "schema": {"type": "string"}},
        "Cache-Control": NO_STORE,
    },
}

# Every response body's schema, and those they refer to, generated from kb.responses.
SCHEMAS: dict[str, Any] = component_schemas(*RESPONSES)


def _list_param(name: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description + " Repeat the parameter or separate values with commas.",
        "schema": {"type": "array", "items": items},
        "style": "form",
        "explode": True,
    }


def _query_param(name: str, description: str, schema: dict[str, Any], **extra) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


def _search_parameters(extra_filters: list[str]) -> list[dict[str, Any]]:
    return [
        _query_param(
            "q",
            'Words, "quoted phrases", AND/OR/NOT, brackets, consult*, field filters (title:, '
            "heading:, text:, cite:, type:, status:, doc:) or a citation. At most 500 "
            "characters and 40 terms.",
            {"type": "string", "maxLength": 500},
            required=True,
            examples={
                "words": {"value": "duty to consult"},
                "citation": {"value": "s 2(2) ECA 2031"},
            },
        ),
        *_filter_parameters(extra_filters),
        _query_param(
            "as_at",
            "Only text that applied on this date: for legislation held at several points in "
            "time, the version in force that day (without `as_at`, only current text is "
            "searched).",
            {"type": "string", "format": "date"},
        ),
        _query_param(
            "mode",
            "`keyword`, or `hybrid`: the keyword ranking fused with dense retrieval (reciprocal "
            "rank fusion; the citation look-up and status rules kept). Hybrid needs the semantic "
            "extra and an index built with it (`hybrid_available` in the response and "
            "`/healthz`); asked for without them, a 400 `hybrid_unavailable`. Default: the "
            "server's KB_SEARCH_MODE.",
            {"type": "string", "enum": ["keyword", "hybrid"]},
        ),
        *_paging_parameters(),
    ]


def _filter_parameters(extra_filters: list[str]) -> list[dict[str, Any]]:
    """doc_type, status and document, then the facet filters the engine adds."""
    params = [
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
    return params


def _paging_parameters() -> list[dict[str, Any]]:
    return [
        _query_param(
            "limit",
            "Results per page.",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
        _query_param(
            "offset",
            "Results to skip.",
            {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        ),
        _query_param(
            "facet_size",
            "Values listed per facet, most passages first; counts are over every match. A facet "
            "with more values is named in `facets_truncated`.",
            {"type": "integer", "minimum": 1, "maximum": MAX_FACET_SIZE, "default": FACET_SIZE},
        ),
    ]


def _id_param(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description + " It contains slashes, which are sent as they are.",
        "schema": {"type": "string"},
        "examples": {"example": {"value": example}},
    }


def _get(operation_id: str, summary: str, responses: dict[str, Any], **more) -> dict[str, Any]:
    """A GET operation: its id, summary and responses (and a description or parameters)."""
    return {
        "get": {"operationId": operation_id, "summary": summary, **more, "responses": responses}
    }


def _answers(
    ok: dict[str, Any],
    errors: dict[str, Any] | None = None,
    cached: bool = True,
    unavailable: dict[str, Any] | None = ERRORS["503"],
) -> dict[str, Any]:
    """An operation's responses: 200, 304 (when `cached`), the errors it may give, and 503."""
    answers = {"200": ok, **({"304": NOT_MODIFIED} if cached else {}), **(errors or {})}
    return answers | ({"503": unavailable} if unavailable else {})


def _search_operation(extra_filters: list[str]) -> dict[str, dict[str, Any]]:
    return {
        "/api/v1/search": _get(
            "search",
            "Search passages",
            _answers(
                _json("A page of results.", "SearchResponse"),
                {"400": ERRORS["400"]},
                unavailable=SEARCH_503,
            ),
            description="Ranked passages with citations, status, highlighted snippets and facet "
            "counts.",
            parameters=_search_parameters(extra_filters),
        ),
    }


def _cite_operation() -> dict[str, dict[str, Any]]:
    return {
        "/api/v1/cite": _get(
            "resolveCitation",
            "Resolve a citation to a passage id",
            _answers(
                _json("The provision cited.", "CiteResult"),
                {
                    "400": ERRORS["400"],
                    "404": _error("No known instrument is named; near misses.", "CiteError"),
                },
            ),
            parameters=[
                _query_param(
                    "ref",
                    'A citation as people write it: "s 3(2) LGA 1999".',
                    {"type": "string"},
                    required=True,
                    examples={
                        "provision": {"value": "s 3(2) LGA 1999"},
                        "unknown": {"value": "s 3 Nonexistent Act 1999"},
                    },
                )
            ],
        ),
    }


def _reading_operations() -> dict[str, dict[str, Any]]:
    """A passage, a document and the list of documents."""
    return {
        "/api/v1/passages/{passage_id}": _get(
            "getPassage",
            "A passage or a provision",
            _answers(
                _json("The passage.", "Passage"),
                {
                    "308": MERGED_SLASHES,
                    "404": _error(
                        "No such passage. For a legislation id, `citation` and `source_url` say "
                        "how to cite it and where to read it.",
                        "PassageNotFound",
                    ),
                },
            ),
            description="A passage, or a provision that groups passages (s 3 made of s 3(1) and "
            "s 3(2)) with its whole text.",
            parameters=[_id_param("passage_id", "Passage id.", "ukpga/2031/12/section/2/2")],
        ),
        "/api/v1/documents": _get(
            "listDocuments",
            "Every document",
            _answers(_json("Documents with type, status and passage count.", "DocumentList")),
        ),
        "/api/v1/documents/{document_id}": _get(
            "getDocument",
            "A document and its contents",
            _answers(
                _json("The document.", "Document"),
                {"308": MERGED_SLASHES, "404": ERRORS["404"]},
            ),
            parameters=[_id_param("document_id", "Document id.", "ukpga/2031/12")],
        ),
    }


def _changes_operation() -> dict[str, dict[str, Any]]:
    params = [
        _query_param(
            "since",
            "Only changes on or after this date (YYYY-MM-DD).",
            {"type": "string", "format": "date"},
        ),
        _list_param("kind", "Only these kinds of change.", {"enum": list(CHANGE_KINDS)}),
        _query_param(
            "limit",
            f"At most this many changes (default {CHANGES_LIMIT}).",
            {"type": "integer", "minimum": 1, "maximum": CHANGES_MAX_LIMIT},
        ),
    ]
    return {
        "/api/v1/changes": _get(
            "listChanges",
            "What each build changed, newest first (also /changes.atom)",
            _answers(_json("The changes.", "ChangeList"), {"400": ERRORS["400"]}),
            parameters=params,
        )
    }


def _service_operations() -> dict[str, dict[str, Any]]:
    """This description and the health check."""
    openapi_200 = {
        "description": "The OpenAPI 3.1 document.",
        "headers": CACHED,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return {
        "/api/v1/openapi.json": _get(
            "openapi", "This description", _answers(openapi_200, unavailable=None)
        ),
        "/healthz": _get(
            "health",
            "Health check",
            _answers(_json("Serving.", "Health", {"Cache-Control": NO_STORE}), cached=False),
            description="Index version and counts; never cached.",
        ),
    }


def _operations(extra_filters: list[str]) -> dict[str, dict[str, Any]]:
    """Every API route, keyed by its OpenAPI path."""
    return {
        **_search_operation(extra_filters),
        **_reading_operations(),
        **_changes_operation(),
        **_cite_operation(),
        **_service_operations(),
    }


def _with_uri_limit(operations: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every route refuses an over-long URI with 414 (kb.web.limits)."""
    for methods in operations.values():
        for op in methods.values():
            op["responses"].setdefault("414", ERRORS["414"])
    return operations


def openapi_path(rule: str) -> str:
    """A Flask rule (`/api/v1/passages/<path:passage_id>`) as an OpenAPI path."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def api_routes(app) -> dict[str, set[str]]:
    """The app's JSON routes (those of kb.web.api's blueprints): OpenAPI path -> lower-case
    methods (without HEAD and OPTIONS)."""
    from kb.web.api import JSON_BLUEPRINTS

    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in JSON_BLUEPRINTS:
            methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
            routes.setdefault(openapi_path(rule.rule), set()).update(methods)
    return routes


def build_spec(app) -> dict[str, Any]:
    from kb.web.resources import filter_names

    extra = [name for name in filter_names() if name not in KNOWN_FILTERS]
    registered = api_routes(app)
    # Describe what this server serves: a route another module has not registered yet is left
    # out rather than advertised.
    operations = _with_uri_limit(_operations(extra))
    paths = {path: ops for path, ops in operations.items() if path in registered}
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
