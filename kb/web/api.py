"""JSON API v1: every page has its JSON twin here."""

from __future__ import annotations

import inspect
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request

from kb import pins
from kb.models import Document
from kb.search import RequestError, make_request, run_search
from kb.web.headers import json_with_etag

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
        body = run_search(version, request.args, **filter_args(request.args))
    except RequestError as exc:
        return jsonify(exc.to_dict()), exc.status
    return json_with_etag(body)


def provision_json(found: dict[str, Any]) -> dict[str, Any]:
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
    }
    return body


@bp.get("/api/v1/passages/<path:passage_id>")
def passage(passage_id: str):
    found = _kb().provision(passage_id)
    if found is None:
        abort(404, description=f"No passage or provision with id {passage_id!r}.")
    return jsonify(provision_json(found))


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
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
    return {key: doc.get(key) for key in keys} | {"url": f"/d/{doc['id']}"}


@bp.get("/api/v1/documents")
def documents():
    version = _kb()
    docs = [_summary(d) for d in version.documents]
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
        }
        for n in record["nodes"]
    ]
    body = _summary(version.by_id[document_id]) | {"contents": contents}
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
