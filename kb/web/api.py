"""JSON API v1: every page has its JSON twin here."""

from __future__ import annotations

import inspect
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request

from kb.core import legislation, pins
from kb.core.cite import cite_path, resolve, unresolved
from kb.core.models import Document, change_affects, extent_codes
from kb.search import RequestError, make_request, run_search
from kb.web.headers import json_with_etag
from kb.web.limits import gate

bp = Blueprint("api", __name__)


def _kb():
    return current_app.extensions["kb"].current()


def filter_names() -> list[str]:
    """The list filters search accepts (doc_type, status, document, and any the engine adds).

    Read from make_request's signature so that a new facet filter works in the API, the page
    and the OpenAPI description as soon as search accepts it.
    """
    return [name for name in inspect.signature(make_request).parameters if name != "params"]


def filter_args(args) -> dict[str, list[str]]:
    return {name: args.getlist(name) for name in filter_names()}


@bp.get("/api/v1/search")
def search():
    version = _kb()
    try:
        body = run_search(version, request.args, slot=gate().slot, **filter_args(request.args))
    except RequestError as exc:
        return jsonify(exc.to_dict()), exc.status
    return json_with_etag(body)


def _link(version, passage_id: str) -> dict[str, Any]:
    """A cross-reference as the API shows it, whether or not the other end is indexed."""
    hit = version.engine.passage(passage_id)
    if hit:
        keys = ("id", "citation", "short_citation", "title", "status")
        return {key: hit.get(key) for key in keys} | {"url": hit["url"], "in_index": True}
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
                "url": f"/p/{passage_id}",
                "source_url": f"{current_app.config['KB_SETTINGS'].legislation_url}/{passage_id}"
                if doc.is_legislation
                else None,
            }
    return None


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


CHANGE_FIELDS = ("affected", "pin", "type", "by", "by_provisions", "note")


def changes_json(version, document_id: str, pin: str | None = None) -> list[dict[str, Any]]:
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
            by_url = f"/d/{by}"
        elif by and legislation.parse_path(by):
            by_url = f"{current_app.config['KB_SETTINGS'].legislation_url}/{by}"
        else:
            by_url = None
        found.append(
            {key: change.get(key) for key in CHANGE_FIELDS}
            | {
                "by_citation": _by_citation(version, by) if by else None,
                "by_url": by_url,
                "by_in_index": in_index,
            }
        )
    return found


def _extent_of(document: dict[str, Any], node: dict[str, Any], nodes: list[dict]) -> list[str]:
    """A grouping provision's extent, as indexer/passages.py finds a passage's."""
    by_pin = {n["pin"]: n for n in nodes}
    walk = node
    while walk is not None:
        if (walk.get("attrs") or {}).get("extent"):
            return extent_codes(walk["attrs"]["extent"])
        walk = by_pin.get(walk.get("parent")) if walk.get("parent") else None
    return extent_codes(document.get("extent"))


def provision_json(found: dict[str, Any], version=None) -> dict[str, Any]:
    """The API shape of a passage or grouping provision (shared with the page's JSON link)."""
    document, node = found["document"], found["node"]
    passage = found["passage"]
    doc = Document.from_front_matter(document)
    heading_title = node["title"] if node.get("is_heading") else ""
    body = {
        "id": found["id"],
        "document_id": document["id"],
        "title": document["title"],
        "pin": node["pin"],
        "label": node["label"],
        "heading": " › ".join(node.get("heading_path") or []),
        "citation": pins.oscola(doc, node["pin"], heading_title),
        "short_citation": pins.short_citation(doc, node["pin"], heading_title),
        "url": f"/p/{found['id']}",
        "source_url": pins.source_url(doc, node["pin"]),
        "doc_type": document["doc_type"],
        "status": (passage or {}).get("status") or node.get("status") or document["status"],
        "status_date": (passage or {}).get("status_date") or document.get("status_date"),
        "status_note": node.get("status_note") or document.get("status_note"),
        "indexed": passage is not None,
        "text": passage["text"] if passage else found["text"],
        "markdown": node.get("markdown", ""),
        "contains": [m for m in found["members"] if m != found["id"]],
        "parent": f"{document['id']}/{node['parent']}" if node.get("parent") else None,
        "attributes": node.get("attrs") or {},
        "sample": document.get("sample", False),
        "duty": (passage or {}).get("duty", "none"),
        "holders": (passage or {}).get("holders", []),
        "operative": (passage or {}).get(
            "operative", (node.get("attrs") or {}).get("operative") != "false"
        ),
        "extent": (passage or {}).get("extent")
        or _extent_of(document, node, (found.get("record") or {}).get("nodes") or []),
        "notes": (passage or {}).get("notes") or "",
    }
    version = version or _kb()
    body["outstanding_changes"] = changes_json(version, document["id"], node["pin"])
    body["effects"] = version.effects_json(document["id"], node["pin"])
    body["stale_citations"] = (passage or {}).get("stale_citations") or []
    body["versions"] = version.versions_of(found["id"])
    refs = version.references(found["id"], found["members"])
    for kind in ("cited_by", "cites", "amended_by", "amends"):
        body[kind] = [
            _link(version, other) | version.change_of(refs, kind, other) for other in refs[kind]
        ]
    return body


@bp.get("/api/v1/cite")
def cite():
    ref = request.args.get("ref", "").strip()
    if not ref:
        return jsonify(
            error="bad_request", message="Give a citation as ?ref=, e.g. s 3(2) LGA 1999."
        ), 400
    if len(ref) > 300:
        return jsonify(error="bad_request", message="A citation is at most 300 characters."), 400
    version = _kb()
    found = resolve(ref, version.registry)
    if found is None:
        return jsonify(unresolved(ref, version.registry)), 404
    canonical = version.canonical_id(found.id)
    indexed = version.engine.passage(canonical) if canonical else None
    base = current_app.config["KB_SETTINGS"].legislation_url
    body = found.to_dict(canonical is not None, base, indexed)
    if canonical:
        body["id"] = canonical
        if body["url"] == f"/p/{found.id}":
            body["url"] = f"/p/{canonical}"
    return json_with_etag(body)


@bp.get("/api/v1/passages/<path:passage_id>")
def passage(passage_id: str):
    version = _kb()
    found = version.provision(passage_id)
    if found is None:
        message = f"No passage or provision with id {passage_id!r}."
        legislation_url = current_app.config["KB_SETTINGS"].legislation_url
        missing = cite_path(passage_id, version.registry, legislation_url)
        if not missing:
            abort(404, description=message)
        # Legislation not (yet) in the index: how to cite it and where to read it.
        return jsonify(error="not_found", message=message, **missing), 404
    return jsonify(provision_json(found))


def _summary(doc: dict[str, Any], version) -> dict[str, Any]:
    keys = (
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
    return {key: doc.get(key) for key in keys} | {
        "url": f"/d/{doc['id']}",
        "version_of": doc.get("version_of"),
        "version_date": doc.get("version_date"),
        "versions": version.versions_summary(doc["id"]),
    }


def earlier_versions_json(version, document_id: str) -> list[dict[str, Any]]:
    """The earlier versions held of a document (or of the one this version belongs to),
    oldest first: {id, url, valid_from, valid_to}."""
    return [
        {
            "id": doc["id"],
            "url": f"/d/{doc['id']}",
            "valid_from": doc.get("version_date") or doc.get("valid_from"),
            "valid_to": doc.get("valid_to"),
        }
        for doc in version.earlier_versions(document_id)
    ]


@bp.get("/api/v1/documents")
def documents():
    version = _kb()
    docs = [_summary(d, version) for d in version.current_documents]
    return jsonify({"total": len(docs), "documents": docs})


@bp.get("/api/v1/documents/<path:document_id>")
def document(document_id: str):
    version = _kb()
    if document_id not in version.by_id:
        abort(404, description=f"No document with id {document_id!r}.")
    record = version.document_record(document_id)
    contents = [
        {
            "id": f"{document_id}/{n['pin']}",
            "pin": n["pin"],
            "label": n["label"],
            "title": n["title"],
            "depth": n["depth"],
            "heading": n.get("is_heading", False),
            "has_text": bool(n.get("text")),
            "operative": (n.get("attrs") or {}).get("operative") != "false",
        }
        for n in record["nodes"]
    ]
    body = _summary(version.by_id[document_id], version) | {
        "earlier_versions": earlier_versions_json(version, document_id),
        "outstanding_changes": changes_json(version, document_id),
        "contents": contents,
    }
    return jsonify(body)


@bp.get("/healthz")
def healthz():
    version = _kb()
    manifest = version.manifest
    return jsonify(
        {
            "status": "ok",
            "index_version": manifest["version"],
            "engine": manifest.get("engine"),
            "documents": manifest["documents"],
            "passages": version.engine.count(),
        }
    )
