"""Pages for people: search, passage permalinks, document reader, document list."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, render_template, request

from kb.models import DOC_TYPES
from kb.search import RequestError, run_search
from kb.web.api import provision_json

bp = Blueprint("pages", __name__)

EXAMPLES = ["duty to consult", "new joiners terms", '"duty to involve"', "consult AND unions"]
FILTERS = ("doc_type", "status", "document")


def _kb():
    return current_app.extensions["kb"].current()


def _url(**changes) -> str:
    """This search's URL with some parameters changed (None removes one)."""
    params = {k: request.args.getlist(k) for k in request.args}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value if isinstance(value, list) else [value]
    return "/?" + urlencode([(k, v) for k, vs in params.items() for v in vs])


@bp.get("/")
def search_page():
    version = _kb()
    q = request.args.get("q", "").strip()
    filters = {name: request.args.getlist(name) for name in FILTERS}
    context = {
        "q": q,
        "filters": filters,
        "examples": EXAMPLES,
        "doc_types": DOC_TYPES,
        "documents": version.documents,
        "url": _url,
        "response": None,
        "error": None,
    }
    if not q:
        return render_template("search.html", **context)
    try:
        context["response"] = run_search(version, request.args, **filters)
    except RequestError as exc:
        context["error"] = exc.message
        return render_template("search.html", **context), exc.status
    return render_template("search.html", **context)


@bp.get("/p/<path:passage_id>")
def passage_page(passage_id: str):
    found = _kb().provision(passage_id)
    if found is None:
        abort(404, description=f"There is no passage with the id “{passage_id}”.")
    return render_template(
        "reader.html",
        document=found["document"],
        nodes=found["record"]["nodes"],
        target=provision_json(found),
        highlight=set(found["members"]) | {found["id"]},
    )


@bp.get("/d/<path:document_id>")
def document_page(document_id: str):
    version = _kb()
    if document_id not in version.by_id:
        abort(404, description=f"There is no document with the id “{document_id}”.")
    record = version.document_record(document_id)
    return render_template(
        "reader.html",
        document=version.by_id[document_id],
        nodes=record["nodes"],
        target=None,
        highlight=set(),
    )


@bp.get("/documents")
def documents_page():
    return render_template("documents.html", documents=_kb().documents)
