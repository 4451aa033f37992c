"""One function per resource: the data a page renders and its JSON twin returns as it is.

Search, a passage or provision, a document and the list of documents are built here once; the
page (kb.web.pages) puts the result into its template and the API (kb.web.api) returns its JSON
part unchanged, so the two cannot drift apart. The change log's data is kb.web.changes'.

Every URL of this knowledge base in the data is built with `url_for` from an id when the response
is made, never read back from the index (the `url` a passage was indexed with is not used here).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, url_for

from kb.core import legislation, pins
from kb.core.cite import cite_path, resolve, unresolved
from kb.core.models import Document, change_affects, extent_codes
from kb.responses import (
    CiteError,
    CiteResult,
    ContentsEntry,
    DocumentList,
    DocumentSummary,
    EarlierVersion,
    Health,
    OutstandingChange,
    Passage,
    SearchResponse,
)
from kb.responses import Document as DocumentRecord
from kb.search import make_request, run_search
from kb.web.limits import gate


def current_version():
    """The index version this request is answered from: one for the whole request, even if a
    build switches CURRENT while it runs."""
    if "kb_version" not in g:
        g.kb_version = current_app.extensions["kb"].current()
    return g.kb_version


def _legislation_url() -> str:
    return current_app.config["KB_SETTINGS"].legislation_url


def passage_url(passage_id: str) -> str:
    """A passage's or provision's page here (/p/<id>)."""
    return url_for("pages.passage_page", passage_id=passage_id)


def document_url(document_id: str) -> str:
    """A document's page here (/d/<id>)."""
    return url_for("pages.document_page", document_id=document_id)


def filter_names() -> list[str]:
    """The list filters search accepts (doc_type, status, document, and any the engine adds).

    Read from make_request's signature so that a new facet filter works in the API, the page
    and the OpenAPI description as soon as search accepts it.
    """
    return [name for name in inspect.signature(make_request).parameters if name != "params"]


def filter_args(args) -> dict[str, list[str]]:
    return {name: args.getlist(name) for name in filter_names()}


# --- search ---------------------------------------------------------------------------------


def search(params, filters: dict[str, list[str]]) -> SearchResponse:
    """A search's response (the API's body), run in one of the server's search slots.

    Raises kb.search.RequestError (bad input) and kb.web.limits.SearchBusy (no slot free)."""
    mode = current_app.config["KB_SETTINGS"].search_mode
    return run_search(
        current_version(), params, slot=gate().slot, url=passage_url, default_mode=mode, **filters
    )


# --- citations ------------------------------------------------------------------------------


def citation(ref: str) -> tuple[CiteResult | CiteError, int]:
    """What a citation names ({ref, id, citation, short_citation, url, in_index}) and 200, or the
    instruments it might have meant and 404."""
    version = current_version()
    found = resolve(ref, version.registry)
    if found is None:
        return CiteError.from_dict(unresolved(ref, version.registry)), 404
    canonical = version.canonical_id(found.id)
    indexed = version.engine.passage(canonical) if canonical else None
    body = found.to_dict(canonical is not None, _legislation_url(), indexed)
    if canonical:
        body["id"] = canonical
        if body["url"] == passage_url(found.id):
            body["url"] = passage_url(canonical)
    return CiteResult.from_dict(body), 200


def missing_legislation(passage_id: str) -> dict[str, Any] | None:
    """A legislation id the index does not hold: how to cite it and where to read it."""
    return cite_path(passage_id, current_version().registry, _legislation_url())


# --- passages and provisions ----------------------------------------------------------------


@dataclass
class Provision:
    """A passage or a provision that groups passages: `json` is the API's body; `found` is
    IndexVersion.provision()'s record (document, record, node, passage, members) that the
    reader page draws the rest of the document from."""

    found: dict[str, Any]
    json: Passage


def provision(passage_id: str) -> Provision | None:
    found = current_version().provision(passage_id)
    if found is None:
        return None
    return Provision(found=found, json=provision_json(found))


def provision_json(found: dict[str, Any], version=None) -> Passage:
    """The API shape of a passage or grouping provision (shared with the page's JSON link)."""
    version = version or current_version()
    return Passage.from_dict(
        _naming(found)
        | _standing(found)
        | _law(found)
        | _changes_to(version, found)
        | _references(version, found)
    )


def _naming(found: dict[str, Any]) -> dict[str, Any]:
    """Which provision it is, how to cite it and where to read it."""
    document, node = found["document"], found["node"]
    doc = Document.from_front_matter(document)
    heading_title = node["title"] if node.get("is_heading") else ""
    return {
        "id": found["id"],
        "document_id": document["id"],
        "title": document["title"],
        "pin": node["pin"],
        "label": node["label"],
        "heading": " › ".join(node.get("heading_path") or []),
        "citation": pins.oscola(doc, node["pin"], heading_title),
        "short_citation": pins.short_citation(doc, node["pin"], heading_title),
        "url": passage_url(found["id"]),
        "source_url": pins.source_url(doc, node["pin"]),
        "doc_type": document["doc_type"],
        "sample": document.get("sample", False),
    }


def _standing(found: dict[str, Any]) -> dict[str, Any]:
    """Its status, its text and where it sits in its document."""
    document, node = found["document"], found["node"]
    passage = found["passage"] or {}
    return {
        "status": passage.get("status") or node.get("status") or document["status"],
        "status_date": passage.get("status_date") or document.get("status_date"),
        "status_note": node.get("status_note") or document.get("status_note"),
        "indexed": found["passage"] is not None,
        "text": passage["text"] if passage else found["text"],
        "markdown": node.get("markdown", ""),
        "contains": [m for m in found["members"] if m != found["id"]],
        "parent": f"{document['id']}/{node['parent']}" if node.get("parent") else None,
        "attributes": node.get("attrs") or {},
        "notes": passage.get("notes") or "",
    }


def _law(found: dict[str, Any]) -> dict[str, Any]:
    """The duty or power it holds, whether it is law at all, and where it extends."""
    node, passage = found["node"], found["passage"] or {}
    nodes = (found.get("record") or {}).get("nodes") or []
    return {
        "duty": passage.get("duty", "none"),
        "holders": passage.get("holders", []),
        "operative": passage.get(
            "operative", (node.get("attrs") or {}).get("operative") != "false"
        ),
        "extent": passage.get("extent") or _extent_of(found["document"], node, nodes),
    }


def _changes_to(version, found: dict[str, Any]) -> dict[str, Any]:
    """Changes made or still to be made to it, stale citations in it, and its versions."""
    document_id, pin = found["document"]["id"], found["node"]["pin"]
    return {
        "outstanding_changes": changes_json(version, document_id, pin),
        "effects": version.effects_json(document_id, pin),
        "stale_citations": (found["passage"] or {}).get("stale_citations") or [],
        "versions": version.versions_of(found["id"]),
    }


def _references(version, found: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """What cites it and what it cites, what amended it and what it amends."""
    refs = version.references(found["id"], found["members"])
    return {
        kind: [_link(version, other) | version.change_of(refs, kind, other) for other in refs[kind]]
        for kind in ("cited_by", "cites", "amended_by", "amends")
    }


def _extent_of(document: dict[str, Any], node: dict[str, Any], nodes: list[dict]) -> list[str]:
    """A grouping provision's extent, as indexer/passages.py finds a passage's."""
    by_pin = {n["pin"]: n for n in nodes}
    walk = node
    while walk is not None:
        if (walk.get("attrs") or {}).get("extent"):
            return extent_codes(walk["attrs"]["extent"])
        walk = by_pin.get(walk.get("parent")) if walk.get("parent") else None
    return extent_codes(document.get("extent"))


def _link(version, passage_id: str) -> dict[str, Any]:
    """A cross-reference as the API shows it, whether or not the other end is indexed."""
    hit = version.engine.passage(passage_id)
    if hit:
        keys = ("id", "citation", "short_citation", "title", "status")
        return {key: hit.get(key) for key in keys} | {
            "url": passage_url(hit["id"]),
            "in_index": True,
        }
    return _resolve_id(version, passage_id) or {
        "id": passage_id,
        "citation": passage_id,
        "in_index": False,
    }


def _resolve_id(version, passage_id: str) -> dict[str, Any] | None:
    """A provision id outside the index (an Act not crawled yet): cite it from the registry."""
    parts = passage_id.split("/")
    for cut in range(len(parts) - 1, 0, -1):
        instrument = version.registry.get("/".join(parts[:cut]))
        if instrument:
            doc = instrument.to_document()
            pin = "/".join(parts[cut:])
            return {
                "id": passage_id,
                "citation": pins.oscola(doc, pin),
                "short_citation": pins.short_citation(doc, pin),
                "title": doc.title,
                "in_index": version.canonical_id(passage_id) is not None,
                "url": passage_url(passage_id),
                "source_url": f"{_legislation_url()}/{passage_id}" if doc.is_legislation else None,
            }
    return None


# --- outstanding changes --------------------------------------------------------------------

CHANGE_FIELDS = ("affected", "pin", "type", "by", "by_provisions", "note")


def changes_json(version, document_id: str, pin: str | None = None) -> list[OutstandingChange]:
    """A document's outstanding changes (legislation.gov.uk's effects not yet made to its text),
    or, given a pin, those shown on that provision (kb.core.models.change_affects). A document
    with an effects feed has its outstanding effects instead (IndexVersion.outstanding_changes)."""
    summary = version.by_id.get(document_id) or {}
    derived = version.outstanding_changes(document_id, pin)
    changes = (summary.get("outstanding_changes") or []) if derived is None else derived
    found = []
    for change in changes:
        if derived is None and pin is not None and not change_affects(change.get("pin"), pin):
            continue
        by = change.get("by")
        in_index = bool(by) and by in version.by_id
        if in_index:
            by_url = document_url(by)
        elif by and legislation.parse_path(by):
            by_url = f"{_legislation_url()}/{by}"
        else:
            by_url = None
        found.append(
            OutstandingChange(
                **{key: change.get(key) for key in CHANGE_FIELDS},
                by_citation=_by_citation(version, by) if by else None,
                by_url=by_url,
                by_in_index=in_index,
            )
        )
    return found


def _by_citation(version, instrument_id: str) -> str:
    """How to name the amending instrument: its citation if known, else its number."""
    instrument = version.registry.get(instrument_id)
    if instrument:
        return pins.oscola(instrument.to_document(), "")
    path = legislation.parse_path(instrument_id)
    if path:
        number = (
            legislation.series_number(path)
            or legislation.chapter_citation(path)
            or legislation.running_number(path)
        )
        if number:
            return number
    return instrument_id


# --- documents ------------------------------------------------------------------------------

SUMMARY_FIELDS = (
    "id",
    "title",
    "short_title",
    "doc_type",
    "identifier",
    "aliases",
    "publisher",
    "source_url",
    "status",
    "status_date",
    "status_note",
    "valid_from",
    "valid_to",
    "published",
    "extent",
    "licence",
    "attribution",
    "retrieved_at",
    "sha256",
    "sample",
    "passage_count",
)


def _summary(doc: dict[str, Any], version) -> dict[str, Any]:
    return {key: doc.get(key) for key in SUMMARY_FIELDS} | {
        "url": document_url(doc["id"]),
        "version_of": doc.get("version_of"),
        "version_date": doc.get("version_date"),
        "versions": version.versions_summary(doc["id"]),
    }


def earlier_versions_json(version, document_id: str) -> list[EarlierVersion]:
    """The earlier versions held of a document (or of the one this version belongs to),
    oldest first: {id, url, valid_from, valid_to}."""
    return [
        EarlierVersion(
            id=doc["id"],
            url=document_url(doc["id"]),
            valid_from=doc.get("version_date") or doc.get("valid_from"),
            valid_to=doc.get("valid_to"),
        )
        for doc in version.earlier_versions(document_id)
    ]


def documents() -> DocumentList:
    """Every current document (never an earlier version): {total, documents}."""
    version = current_version()
    docs = [DocumentSummary.from_dict(_summary(d, version)) for d in version.current_documents]
    return DocumentList(total=len(docs), documents=docs)


@dataclass
class DocumentReading:
    """A document: `json` is the API's body; `document` (its front matter as indexed) and
    `nodes` (its text, provision by provision) are what the reader page draws."""

    document: dict[str, Any]
    nodes: list[dict[str, Any]]
    json: DocumentRecord


def _contents_entry(document_id: str, node: dict[str, Any]) -> ContentsEntry:
    return ContentsEntry(
        id=f"{document_id}/{node['pin']}",
        pin=node["pin"],
        label=node["label"],
        title=node["title"],
        depth=node["depth"],
        heading=node.get("is_heading", False),
        has_text=bool(node.get("text")),
        operative=(node.get("attrs") or {}).get("operative") != "false",
    )


def document(document_id: str) -> DocumentReading | None:
    version = current_version()
    if document_id not in version.by_id:
        return None
    nodes = version.document_record(document_id)["nodes"]
    body = DocumentRecord.from_dict(
        _summary(version.by_id[document_id], version)
        | {
            "earlier_versions": earlier_versions_json(version, document_id),
            "outstanding_changes": changes_json(version, document_id),
            "contents": [_contents_entry(document_id, n) for n in nodes],
        }
    )
    return DocumentReading(document=version.by_id[document_id], nodes=nodes, json=body)


def health() -> Health:
    """The version being served and its counts (/healthz)."""
    version = current_version()
    manifest = version.manifest
    return Health(
        status="ok",
        index_version=manifest["version"],
        engine=manifest.get("engine"),
        documents=manifest["documents"],
        passages=version.engine.count(),
        hybrid_available=version.hybrid_unavailable() is None,
    )
