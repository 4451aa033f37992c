"""The OpenAPI 3.1 description of the JSON API, as a page for people (/api) and as JSON
(/api/v1/openapi.json, served by kb.web.api)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, render_template

from indexer.index.engine import (
    FACET_SIZE,
    FACETS,
    MAX_FACET_SIZE,
    MAX_OFFSET,
    MAX_PREFIX_TERMS,
    SEARCH_BUDGET_S,
)
from kb.core.models import DOC_TYPES, NATIONS, STATUSES
from kb.search import DUTY_KINDS, STALE_VALUES
from kb.web.headers import API_MAX_AGE_S
from kb.web.limits import MAX_PATH_BYTES, MAX_QUERY_BYTES

bp = Blueprint("openapi", __name__)

KNOWN_FILTERS = {"doc_type", "status", "document"}
EXTRA_FILTERS = {
    "duty": (
        "Only provisions that impose a duty or confer a power (`duty=true` means duties only).",
        {"type": "string", "enum": ["duty", "power", "none", "true", "false"]},
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


def _nullable(kind: str, **extra) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _closed(properties: dict[str, Any], optional: tuple[str, ...] = (), **extra) -> dict[str, Any]:
    """An object with exactly these properties: each is always present unless named optional,
    and any other property is drift (`additionalProperties: false`), which the schemathesis
    conformance check and tests/test_openapi.py then catch."""
    return {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _strings(description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    return {**schema, "description": description} if description else schema


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

DATE = _nullable("string", format="date")
LINK_KINDS = ("cited_by", "cites", "amended_by", "amends")

_ERROR_FIELDS = {
    "error": {
        "type": "string",
        "description": "A stable code: bad_request, invalid_query, not_found, unresolved, "
        "method_not_allowed, index_unavailable…",
        "examples": ["invalid_query"],
    },
    "message": {"type": "string", "description": "What went wrong, for a person."},
}

_CITE_FIELDS = {
    "ref": {"type": "string", "description": "The citation as given."},
    "id": {"type": "string", "examples": ["ukpga/1999/27/section/3/2"]},
    "citation": {"type": "string", "description": "OSCOLA citation."},
    "short_citation": {"type": "string"},
    "url": _nullable("string", description="The provision at its authoritative source."),
    "in_index": {"type": "boolean", "description": "Whether this knowledge base holds it."},
}

_LAW_FIELDS = {
    "operative": {
        "type": "boolean",
        "description": "False for text that is part of the document but not its law: "
        "prelims (long title, preamble, enacting formula), signatures, explanatory notes.",
    },
    "extent": {
        "type": "array",
        "items": _ref("Nation"),
        "description": "The nations it extends to (empty when none is recorded).",
    },
}

_DOCUMENT_FIELDS = {
    "id": {"type": "string"},
    "title": {"type": "string"},
    "short_title": _nullable("string"),
    "doc_type": _ref("DocType"),
    "identifier": _nullable("string"),
    "aliases": _nullable("array", items={"type": "string"}),
    "publisher": _nullable("string"),
    "source_url": _nullable("string"),
    "status": _ref("Status"),
    "status_date": DATE,
    "status_note": _nullable("string"),
    "valid_from": DATE,
    "valid_to": DATE,
    "published": DATE,
    "extent": _nullable("string"),
    "licence": _nullable("string"),
    "attribution": _nullable("string"),
    "retrieved_at": _nullable("string", description="When it was fetched from its source."),
    "sha256": _nullable("string"),
    "sample": _nullable("boolean", description="An invented sample document."),
    "passage_count": _nullable("integer", minimum=0),
    "url": {"type": "string", "description": "The document's page, relative to the API."},
    "version_of": _nullable(
        "string",
        description="For an earlier version of a legislation document (a point in time), the "
        "current document's id; null for a current document.",
    ),
    "version_date": _nullable(
        "string",
        format="date",
        description="For legislation held at several points in time, the day this text "
        "started to apply.",
    ),
    "versions": _ref("VersionsSummary"),
}

_EFFECT_FIELDS = {
    "effects": {
        "type": "array",
        "items": _ref("Effect"),
        "description": "legislation.gov.uk's effects on it (for documents with an effects "
        "feed): what changed it, when in force, and whether applied to this text.",
    },
    "stale_citations": {
        "type": "array",
        "items": _ref("StaleCitation"),
        "description": "Guidance only: cited provisions changed since it was issued.",
    },
}

SCHEMAS: dict[str, Any] = {
    "Error": _closed(_ERROR_FIELDS),
    "Status": {"type": "string", "enum": list(STATUSES)},
    "DocType": {"type": "string", "enum": list(DOC_TYPES)},
    "Nation": {
        "type": "string",
        "enum": list(NATIONS),
        "description": "A nation a provision extends to: E England, W Wales, S Scotland, "
        "NI Northern Ireland.",
    },
    "OutstandingChange": _closed(
        {
            "affected": _nullable(
                "string",
                description="The provision changed, as legislation.gov.uk names it.",
                examples=["s. 86(9A)"],
            ),
            "pin": _nullable(
                "string",
                description="Its pin in this document (`section/86/9A`); null when it is "
                "not one provision (the change is then shown on the document only).",
            ),
            "type": _nullable(
                "string",
                description="What the change does.",
                examples=["inserted", "words substituted"],
            ),
            "by": _nullable(
                "string", description="The amending instrument's id.", examples=["uksi/2019/707"]
            ),
            "by_provisions": _nullable(
                "string",
                description="The provisions of it that make the change.",
                examples=["reg. 8(9)"],
            ),
            "note": _nullable("string"),
            "by_citation": _nullable(
                "string", description="The amending instrument cited (or its number)."
            ),
            "by_url": _nullable(
                "string",
                description="The amending instrument's page here (relative) when "
                "`by_in_index`, else its legislation.gov.uk address.",
            ),
            "by_in_index": {
                "type": "boolean",
                "description": "Whether this knowledge base holds the amending instrument.",
            },
        },
        description="An effect legislation.gov.uk records as not yet made to the text.",
    ),
    "EffectEnd": _closed(
        {
            "id": {
                "type": "string",
                "description": "The passage id when the provision is held here, else its "
                "legislation.gov.uk path.",
                "examples": ["ukpga/2007/28/section/138"],
            },
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "url": {
                "type": "string",
                "description": "Its page here (relative) when `in_index`, else its "
                "legislation.gov.uk address.",
            },
            "in_index": {"type": "boolean"},
        }
    ),
    "InForce": _closed(
        {
            "date": DATE,
            "qualification": _nullable(
                "string", examples=["wholly in force", "for E."], description="How far."
            ),
            "applied": {"type": "boolean"},
            "prospective": {"type": "boolean"},
        }
    ),
    "Effect": _closed(
        {
            "id": {"type": "string", "description": "legislation.gov.uk's effect id."},
            "type": {
                "type": "string",
                "description": "As legislation.gov.uk gives it.",
                "examples": ["inserted", "words substituted", "repealed"],
            },
            "affected": _ref("EffectEnd"),
            "affecting": _ref("EffectEnd"),
            "affected_provisions": {"type": "string", "examples": ["s. 3(4)"]},
            "affecting_provisions": {"type": "string", "examples": ["s. 137(2)"]},
            "in_force": {"type": "array", "items": _ref("InForce")},
            "applied": {
                "type": "boolean",
                "description": "Whether the text held here has been changed by it.",
            },
            "outstanding": {
                "type": "boolean",
                "description": "Still to be made to the text held here.",
            },
            "notes": _nullable("string"),
        },
        description="An effect legislation.gov.uk lists on this provision, one enclosing it "
        "or one inside it.",
    ),
    "StaleCitation": _closed(
        {
            "cited": {"type": "string", "description": "Id of the cited provision."},
            "affected": {
                "type": "string",
                "description": "The provision the effect changed: `cited`, one enclosing it "
                "or one inside it (`…/section/3/5` for guidance citing s 3).",
            },
            "affected_provisions": {
                "type": "string",
                "description": "The effect's own words for it.",
                "examples": ["s. 3(5)"],
            },
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "type": {"type": "string", "description": "The effect's type."},
            "date": {"type": "string", "format": "date", "description": "It came into force."},
            "effect": {"type": "string", "description": "The effect's id."},
            "affecting": _closed(
                {
                    "id": {"type": "string"},
                    "citation": {"type": "string"},
                    "short_citation": {"type": "string"},
                    "in_index": {"type": "boolean"},
                }
            ),
            "since": {
                "type": "string",
                "format": "date",
                "description": "The guidance's date the change came after.",
            },
            "since_basis": {
                "type": "string",
                "enum": ["issued", "last updated"],
                "description": "Whether `since` is when it was issued or last updated.",
            },
        },
        description="A provision the passage cites that was changed after the guidance's date.",
    ),
    "DutyKind": {
        "type": "string",
        "enum": list(DUTY_KINDS),
        "description": "Whether the passage imposes a duty, confers a power, or neither.",
    },
    "SearchResult": _closed(
        {
            "id": {"type": "string", "examples": ["ukpga/2031/12/section/2/2"]},
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
            "status_date": DATE,
            "score": _nullable(
                "number",
                description="Relevance; null for a cited provision put first without matching.",
            ),
            "label": {"type": "string"},
            "pin": {"type": "string"},
            "anchor": {"type": "string"},
            "order": {"type": "integer", "description": "Position in its document."},
            "valid_from": DATE,
            "valid_to": DATE,
            "sample": {"type": "boolean", "description": "An invented sample document."},
            "duty": _ref("DutyKind"),
            "holders": _strings("Who the duty or power falls on (e.g. `employer`)."),
            "cites": _strings("Ids of the provisions this passage cites."),
            **_LAW_FIELDS,
            "outstanding_changes": {
                "type": "integer",
                "minimum": 0,
                "description": "How many outstanding changes (not yet made to the text) are "
                "shown on this provision; `/api/v1/passages/{id}` lists them.",
            },
            **_EFFECT_FIELDS,
        }
    ),
    "FacetValue": _closed(
        {
            "value": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "label": {
                "type": "string",
                "description": "A readable name, where the value is an id (document_id).",
            },
        },
        optional=("label",),
    ),
    "Facets": _closed(
        {name: {"type": "array", "items": _ref("FacetValue")} for name in FACETS},
        description="Counts per facet over every match, with every filter applied except "
        "the facet's own (so `doc_type=act` keeps the other types listed, with their counts); "
        "each facet's values can be passed back as a filter (`holder` values as `holder=`, "
        "`extent` values as `extent=`).",
    ),
    "SearchCitation": _closed(
        {
            **_CITE_FIELDS,
            "url": _nullable(
                "string",
                description="The provision's page here (relative) when `in_index`, otherwise "
                "its authoritative source.",
            ),
            "source_url": _nullable("string", description="The authoritative source."),
            "text": {"type": "string", "description": "The provision's whole text."},
            "status": _ref("Status"),
            "heading": {"type": "string"},
            "note": {
                "type": "string",
                "description": "With `as_at` before the earliest version held of the "
                "instrument: 'No version held for 1 March 1999; the earliest is 10 May 2031.' "
                "Then there is no `text`, `status`, `heading` or `source_url`, and `url` is the "
                "current text's page.",
            },
        },
        optional=("source_url", "text", "status", "heading", "note"),
        description="The provision a query names; `source_url`, `text`, `status` and "
        "`heading` are given when it is in the index and held for the `as_at` day.",
        **{
            "if": {
                "properties": {"in_index": {"const": True}},
                "not": {"required": ["note"]},
            },
            "then": {"required": ["source_url", "text", "status", "heading"]},
        },
    ),
    "SearchResponse": _closed(
        {
            "query": {"type": "string", "description": "The query as given."},
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "relaxed": {
                "type": "boolean",
                "description": "No passage had every word, so passages with any are shown.",
            },
            "suggestion": _nullable("string", description="A spelling to try instead."),
            "took_ms": {"type": "number"},
            "results": {"type": "array", "items": _ref("SearchResult")},
            "facets": _ref("Facets"),
            "facets_truncated": {
                "type": "array",
                "items": {"type": "string", "enum": list(FACETS)},
                "description": "Facets with more values than `facet_size`; their lists show the "
                "values with most passages.",
            },
            "truncated_prefixes": {
                "type": "array",
                "items": _closed(
                    {
                        "prefix": {"type": "string", "description": "The wildcard (`tok*`)."},
                        "kept": {"type": "integer", "minimum": 0},
                        "matched": {"type": "integer", "minimum": 0},
                    }
                ),
                "description": f"Wildcards that matched more than {MAX_PREFIX_TERMS} indexed "
                "words: each was searched as the `kept` words in most passages, of `matched`.",
            },
            "partial": {
                "type": "boolean",
                "description": f"The search ran out of its {SEARCH_BUDGET_S:g} s budget: "
                "`results`, `total` and `facets` are what was found by then, and `relaxed` and "
                "`suggestion` were not worked out.",
            },
            "as_at": _nullable("string", format="date", description="The `as_at` date used."),
            "as_at_notes": {
                "type": "array",
                "items": _ref("AsAtNote"),
                "description": "With `as_at`: each instrument held at several points in time "
                "(within the `document` and `doc_type` filters) of which no text is held for "
                "that day, so none of it is in `results`; empty otherwise.",
            },
            "citation": {
                "description": "Set when the query is itself a citation of a provision.",
                "oneOf": [_ref("SearchCitation"), {"type": "null"}],
            },
        }
    ),
    "PassageLink": _closed(
        {
            "id": {"type": "string"},
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "title": {"type": "string"},
            "status": _ref("Status"),
            "url": {"type": "string", "description": "Its page here, relative to the API."},
            "source_url": _nullable("string", description="Its authoritative source."),
            "in_index": {"type": "boolean", "description": "Whether this knowledge base holds it."},
            "change": _nullable(
                "string",
                description="For `amended_by` and `amends`: what the amendment does.",
                examples=["inserted", "substituted", "words inserted"],
            ),
            "date": _nullable(
                "string", format="date", description="For `amended_by` and `amends`: when."
            ),
        },
        optional=("short_citation", "title", "status", "url", "source_url", "change", "date"),
        description="A cross-reference. An indexed passage has `status` and `url`; a provision "
        "of a known instrument that is not a passage itself has `url` and `source_url`; "
        "anything else only `id`, `citation` and `in_index`.",
    ),
    "Passage": _closed(
        {
            "id": {"type": "string"},
            "document_id": {"type": "string"},
            "title": {"type": "string", "description": "The document's title."},
            "pin": {"type": "string"},
            "label": {"type": "string"},
            "heading": {"type": "string"},
            "citation": {"type": "string"},
            "short_citation": {"type": "string"},
            "url": {"type": "string"},
            "source_url": _nullable("string"),
            "doc_type": _ref("DocType"),
            "status": _ref("Status"),
            "status_date": DATE,
            "status_note": _nullable("string"),
            "indexed": {
                "type": "boolean",
                "description": "False for a provision that only groups indexed passages.",
            },
            "text": {"type": "string"},
            "markdown": {"type": "string"},
            "contains": _strings("Ids of the passages it is made of."),
            "parent": _nullable("string", description="Id of the enclosing provision."),
            "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
            "sample": {"type": "boolean"},
            "duty": _ref("DutyKind"),
            "holders": _strings("Who the duty or power falls on."),
            **_LAW_FIELDS,
            "notes": {
                "type": "string",
                "description": "Annotations and footnotes shown with the text (in `markdown`), "
                "never searched.",
            },
            "outstanding_changes": {
                "type": "array",
                "items": _ref("OutstandingChange"),
                "description": "Changes not yet made to the text of this provision, of one "
                "enclosing it, or of one inside it.",
            },
            **_EFFECT_FIELDS,
            **{kind: {"type": "array", "items": _ref("PassageLink")} for kind in LINK_KINDS},
            "versions": {
                "type": "array",
                "items": _ref("ProvisionVersion"),
                "description": "Every point in time of this provision held here (the current "
                "text and each earlier version crawled from legislation.gov.uk), oldest first; "
                "empty when only the current text is held.",
            },
        }
    ),
    "ProvisionVersion": _closed(
        {
            "id": {"type": "string", "description": "The passage id of this version."},
            "url": {"type": "string", "description": "Its page here (relative)."},
            "valid_from": _nullable(
                "string", format="date", description="The day this text started to apply."
            ),
            "valid_to": _nullable(
                "string",
                format="date",
                description="The day the next version started (exclusive); null for the "
                "current text.",
            ),
            "current": {"type": "boolean", "description": "True for the current text."},
        },
        description="One version of a provision: the text as it stood between two dates.",
    ),
    "DocumentSummary": _closed(_DOCUMENT_FIELDS),
    "VersionsSummary": _closed(
        {
            "count": {
                "type": "integer",
                "minimum": 0,
                "description": "How many earlier versions of the document are held.",
            },
            "earliest": _nullable(
                "string", format="date", description="The earliest one's date; null when none."
            ),
        },
        description="The earlier versions held of a document (for an earlier version, of the "
        "current document it belongs to).",
    ),
    "EarlierVersion": _closed(
        {
            "id": {"type": "string", "description": "The document id of this version."},
            "url": {"type": "string", "description": "Its page here (relative)."},
            "valid_from": _nullable(
                "string", format="date", description="The day this text started to apply."
            ),
            "valid_to": _nullable(
                "string",
                format="date",
                description="The day the next version started (exclusive).",
            ),
        },
        description="An earlier version of a document: the text as it stood between two dates.",
    ),
    "AsAtNote": _closed(
        {
            "document_id": {"type": "string"},
            "title": {"type": "string"},
            "earliest": {
                "type": "string",
                "format": "date",
                "description": "The first day of the earliest text held of it.",
            },
            "note": {
                "type": "string",
                "description": "For a person: 'No version of Example Registers Act 2031 "
                "held for 21 October 2008; the earliest is 10 May 2031.'",
            },
        },
        description="An instrument held at several points in time that the search covers but "
        "holds no text of for the `as_at` day.",
    ),
    "ChangeList": _closed(
        {
            "since": _nullable("string", format="date", description="The `since` date used."),
            "kind": _strings("The kinds asked for (`kind`); empty means every kind."),
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
            "changes": {"type": "array", "items": _ref("Change")},
        }
    ),
    "Change": _closed(
        {
            "id": {"type": "string", "description": "Unique: the build's time, kind, document."},
            "date": {"type": "string", "description": "When the build that saw it ran (UTC)."},
            "kind": {"enum": ["new", "amended", "repealed", "withdrawn", "removed"]},
            "document": _closed(
                {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "doc_type": _nullable("string"),
                    "status": _nullable("string"),
                    "url": _nullable("string", description="Null once a document is removed."),
                }
            ),
            "provisions": {
                "type": "array",
                "description": "The provisions amended or repealed (at most 50).",
                "items": _closed(
                    {
                        "id": {"type": "string"},
                        "label": {"type": "string"},
                        "url": _nullable("string"),
                    }
                ),
            },
            "provisions_total": {"type": "integer", "minimum": 0},
            "removed_provisions": {
                "type": "array",
                "description": "Provisions no longer in the amended text.",
                "items": _closed({"id": {"type": "string"}, "label": {"type": "string"}}),
            },
        }
    ),
    "DocumentList": _closed(
        {
            "total": {"type": "integer", "minimum": 0},
            "documents": {"type": "array", "items": _ref("DocumentSummary")},
        }
    ),
    "ContentsEntry": _closed(
        {
            "id": {"type": "string"},
            "pin": {"type": "string"},
            "label": {"type": "string"},
            "title": {"type": "string"},
            "depth": {"type": "integer", "minimum": 0},
            "heading": {"type": "boolean"},
            "has_text": {"type": "boolean"},
            "operative": {
                "type": "boolean",
                "description": "False for prelims, signatures and explanatory notes.",
            },
        }
    ),
    "Document": _closed(
        {
            **_DOCUMENT_FIELDS,
            "outstanding_changes": {
                "type": "array",
                "items": _ref("OutstandingChange"),
                "description": "Every change legislation.gov.uk records as not yet made to "
                "the text.",
            },
            "contents": {"type": "array", "items": _ref("ContentsEntry")},
            "earlier_versions": {
                "type": "array",
                "items": _ref("EarlierVersion"),
                "description": "The earlier versions held (of the current document, for an "
                "earlier version), oldest first; empty when none.",
            },
        },
        description="Everything in DocumentSummary, its outstanding changes, its contents and "
        "its earlier versions.",
    ),
    "Health": _closed(
        {
            "status": {"type": "string", "enum": ["ok"]},
            "index_version": {"type": "string"},
            "engine": _nullable("string"),
            "documents": {"type": "integer", "minimum": 0},
            "passages": {"type": "integer", "minimum": 0},
        }
    ),
    "CiteResult": _closed(_CITE_FIELDS),
    "PassageNotFound": _closed(
        {
            **_ERROR_FIELDS,
            "citation": _nullable(
                "string",
                description="For a legislation id the index does not hold (not crawled yet, "
                "e.g. ukpga/1999/27/section/3/2): its OSCOLA citation, from the instrument's "
                "name where known, else its number ('2099 c 1, s 1').",
                examples=["Local Government Act 1999, s 3(2)"],
            ),
            "source_url": {
                "type": "string",
                "description": "For a legislation id: where to read it on legislation.gov.uk "
                "(KB_LEGISLATION_URL).",
            },
        },
        optional=("citation", "source_url"),
    ),
    "CiteError": _closed(
        {
            **_ERROR_FIELDS,
            "candidates": {
                "type": "array",
                "description": "Instruments with similar names.",
                "items": _closed({"id": {"type": "string"}, "title": {"type": "string"}}),
            },
        }
    ),
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
            "examples": {
                "words": {"value": "duty to consult"},
                "citation": {"value": "s 2(2) ECA 2031"},
            },
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
            "description": "Only text that applied on this date: for legislation held at "
            "several points in time, the version in force that day (without `as_at`, only "
            "current text is searched).",
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
                    "503": SEARCH_503,
                },
            }
        },
        "/api/v1/passages/{passage_id}": {
            "get": {
                "operationId": "getPassage",
                "summary": "A passage or a provision",
                "description": "A passage, or a provision that groups passages (s 3 made of "
                "s 3(1) and s 3(2)) with its whole text.",
                "parameters": [_id_param("passage_id", "Passage id.", "ukpga/2031/12/section/2/2")],
                "responses": {
                    "200": _json("The passage.", "Passage"),
                    "304": NOT_MODIFIED,
                    "308": MERGED_SLASHES,
                    "404": _error(
                        "No such passage. For a legislation id, `citation` and `source_url` "
                        "say how to cite it and where to read it.",
                        "PassageNotFound",
                    ),
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
                "parameters": [_id_param("document_id", "Document id.", "ukpga/2031/12")],
                "responses": {
                    "200": _json("The document.", "Document"),
                    "304": NOT_MODIFIED,
                    "308": MERGED_SLASHES,
                    "404": ERRORS["404"],
                    "503": ERRORS["503"],
                },
            }
        },
        "/api/v1/changes": {
            "get": {
                "operationId": "listChanges",
                "summary": "What each build changed, newest first (also /changes.atom)",
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "description": "Only changes on or after this date (YYYY-MM-DD).",
                        "schema": {"type": "string", "format": "date"},
                    },
                    _list_param(
                        "kind",
                        "Only these kinds of change.",
                        {"enum": ["new", "amended", "repealed", "withdrawn", "removed"]},
                    ),
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "At most this many changes (default 100).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
                "responses": {
                    "200": _json("The changes.", "ChangeList"),
                    "304": NOT_MODIFIED,
                    "400": ERRORS["400"],
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
                        "examples": {
                            "provision": {"value": "s 3(2) LGA 1999"},
                            "unknown": {"value": "s 3 Nonexistent Act 1999"},
                        },
                    }
                ],
                "responses": {
                    "200": _json("The provision cited.", "CiteResult"),
                    "304": NOT_MODIFIED,
                    "400": ERRORS["400"],
                    "404": _error("No known instrument is named; near misses.", "CiteError"),
                    "503": ERRORS["503"],
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
                        "headers": CACHED,
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
                "responses": {
                    "200": _json("Serving.", "Health", {"Cache-Control": NO_STORE}),
                    "503": ERRORS["503"],
                },
            }
        },
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
