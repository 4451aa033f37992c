"""Pages for people: search, passage permalinks, document reader, document list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, render_template, request, url_for

from indexer.index.engine import MAX_OFFSET
from kb.core.vocabularies import FACET_FILTERS, FACET_ORDER
from kb.search import STALE_VALUES, RequestError
from kb.web import resources
from kb.web.dateinput import PARTS, read_date
from kb.web.limits import SearchBusy
from kb.web.render import facet_title, facet_value_label
from kb.web.resources import filter_args, filter_names

bp = Blueprint("pages", __name__)

EXAMPLES = ["duty to consult", "new joiners terms", '"duty to involve"', "consult AND unions"]
PAGE_LINKS = 7  # numbered page links either side of the current one, at most
AS_AT_LABEL = "Law as it stood on"


_kb = resources.current_version


def search_url(base: str, **changes) -> str:
    """This search's URL with some parameters changed (None removes one)."""
    params = {k: request.args.getlist(k) for k in request.args}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value if isinstance(value, list) else [value]
    return base + "?" + urlencode([(k, v) for k, vs in params.items() for v in vs])


def facet_param(name: str) -> str:
    return FACET_FILTERS.get(name, name)


def facet_groups(response: dict[str, Any], filters: dict[str, list[str]], base: str):
    """Every facet the engine returned, in a stable order, with links that add or remove it."""
    facets = response.get("facets") or {}
    names = [n for n in FACET_ORDER if n in facets] + sorted(
        n for n in facets if n not in FACET_ORDER
    )
    accepted = set(filter_names())
    truncated = response.get("facets_truncated") or []
    groups = []
    for name in names:
        param = facet_param(name)
        chosen = filters.get(param, [])
        if name == "stale":  # stale=true is the page's switch for the facet's value
            chosen = _stale_values(chosen)
        linked = param in accepted
        items = [
            _facet_item(name, item, chosen, base if linked else None) for item in facets[name] or []
        ]
        if items:
            groups.append(
                {
                    "name": name,
                    "title": facet_title(name),
                    "items": items,
                    "truncated": name in truncated,
                }
            )
    return groups


def _facet_item(name: str, item: dict[str, Any], chosen: list[str], base: str | None):
    """One facet value, with the link that adds it to the chosen values or removes it (none
    where the page has no filter for the facet: base None)."""
    param = facet_param(name)
    value = str(item.get("value"))
    active = value in chosen
    href = None
    if base is not None:
        values = [v for v in chosen if v != value] if active else [*chosen, value]
        href = search_url(base, **{param: values or None, "offset": None})
    return {
        "label": facet_value_label(name, item),
        "count": item.get("count", 0),
        "active": active,
        "href": href,
    }


def _stale_values(values: list[str]) -> list[str]:
    """stale=true (the switch) and stale=stale (the facet link) both mean "stale"."""
    given = {v.strip() for value in values for v in value.split(",")}
    return ["stale"] if given & set(STALE_VALUES) else []


def pagination(total: int, limit: int, offset: int, base: str) -> dict[str, Any] | None:
    if total <= limit:
        return None
    last_offset = min((total - 1) // limit * limit, MAX_OFFSET // limit * limit)
    current = offset // limit
    first_page = max(0, current - PAGE_LINKS // 2)
    last_page = min(last_offset // limit, first_page + PAGE_LINKS - 1)
    first_page = max(0, last_page - PAGE_LINKS + 1)
    pages = [
        {
            "number": n + 1,
            "href": search_url(base, offset=str(n * limit) if n else None),
            "current": n == current,
        }
        for n in range(first_page, last_page + 1)
    ]
    prev_offset = max(offset - limit, 0)
    return {
        "prev": search_url(base, offset=str(prev_offset) if prev_offset else None)
        if offset > 0
        else None,
        "next": search_url(base, offset=str(offset + limit))
        if offset + limit <= last_offset
        else None,
        "pages": pages,
        "first": offset + 1,
        "last": min(offset + limit, total),
    }


def suggestion_of(response: dict[str, Any]) -> dict[str, str] | None:
    """The "did you mean" query, if the engine offered one, with a link that runs it."""
    suggestion = response.get("suggestion")
    if isinstance(suggestion, dict):
        suggestion = suggestion.get("query") or suggestion.get("q") or suggestion.get("text")
    if not suggestion or not isinstance(suggestion, str):
        return None
    return {"text": suggestion, "href": search_url(request.path, q=suggestion, offset=None)}


def cited_of(response: dict[str, Any]) -> dict[str, Any] | None:
    """The provision a query that was itself a citation names, with where to read it."""
    cited = response.get("citation")
    if not isinstance(cited, Mapping) or not cited.get("id"):
        return None
    in_index = cited.get("in_index", True)
    href = resources.passage_url(cited["id"]) if in_index else cited.get("url")
    return {**cited, "in_index": in_index, "href": href}


def search_context(endpoint: str = "pages.search_page") -> tuple[dict[str, Any], int]:
    """The search page's (or the embed page's) template context and status."""
    template_base = url_for(endpoint)
    version = _kb()
    q = request.args.get("q", "").strip()
    filters = filter_args(request.args)
    as_at = read_date(request.args, "as_at", AS_AT_LABEL)
    context: dict[str, Any] = {
        "q": q,
        "filters": filters,
        "as_at": as_at,
        "duties_only": "true" in filters.get("duty", []),
        "stale_only": bool(_stale_values(filters.get("stale", []))),
        "has_filters": any(filters.values()),
        "examples": EXAMPLES,
        "documents": version.current_documents,
        "clear_filters": search_url(template_base, **{n: None for n in filters}, offset=None),
        "response": None,
        "error": None,
        "hybrid_available": version.hybrid_unavailable() is None,
        "mode": _mode_shown(request.args.get("mode")),
    }
    if as_at.error:  # refused like any bad input, with the form there to correct it
        context["error"] = as_at.error
        return context, 400
    if not q:
        return context, 200
    params = request.args.copy()
    params["as_at"] = as_at.value  # the three fields, or the as_at=YYYY-MM-DD of a link
    try:
        response = resources.search(params, filters)
    except RequestError as exc:
        context["error"] = exc.message
        return context, exc.status
    except SearchBusy as exc:  # the search box stays, with the note; Retry-After says when
        context["error"] = exc.description
        context["retry_after"] = exc.retry_after
        return context, exc.code
    context.update(
        response=response,
        facets=facet_groups(response, filters, template_base),
        pages=pagination(response["total"], response["limit"], response["offset"], template_base),
        suggestion=suggestion_of(response),
        mode=response["mode"],
        cited=cited_of(response),
        json_url=search_url(
            url_for("api.search"), as_at=as_at.value or None, **_no_date_fields("as_at")
        ),
    )
    return context, 200


def _mode_shown(asked: str | None) -> str:
    """The ranking the page's control shows as chosen: the one asked for, else the default."""
    asked = (asked or "").strip().lower()
    return (
        asked if asked in ("keyword", "hybrid") else current_app.config["KB_SETTINGS"].search_mode
    )


def _no_date_fields(name: str) -> dict[str, None]:
    """URL changes that drop a date input's three fields (the API takes the ISO date)."""
    return {f"{name}_{part}": None for part in PARTS}


def retry_headers(context: dict[str, Any]) -> dict[str, str]:
    """Retry-After on a search page refused because the server was busy."""
    retry_after = context.get("retry_after")
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


@bp.get("/")
def search_page():
    context, status = search_context()
    return render_template("search.html", **context), status, retry_headers(context)


def change_flags(changes: list[dict[str, Any]], nodes: list[dict[str, Any]]):
    """Where each outstanding change is flagged in the document's text: on the provision it
    names, else on the nearest enclosing one there is (an insertion of s 86(9A) on s 86)."""
    pins = {node["pin"] for node in nodes}
    flags: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        pin = change.get("pin") or ""
        while pin and pin not in pins:
            pin = pin.rpartition("/")[0]
        if pin:
            flags.setdefault(pin, []).append(change)
    return flags


@bp.get("/p/<path:passage_id>")
def passage_page(passage_id: str):
    found = resources.provision(passage_id)
    if found is None:
        missing = resources.missing_legislation(passage_id)
        if not missing:
            abort(404, description=f"There is no passage with the id “{passage_id}”.")
        page = render_template("error.html", code=404, missing=missing, passage_id=passage_id)
        return page, 404
    document, nodes = found.found["document"], found.found["record"]["nodes"]
    changes = resources.changes_json(_kb(), document["id"])
    return render_template(
        "reader.html",
        document=document,
        nodes=nodes,
        target=found.json,
        highlight=set(found.found["members"]) | {found.json["id"]},
        changes=changes,
        flags=change_flags(changes, nodes),
    )


@bp.get("/d/<path:document_id>")
def document_page(document_id: str):
    found = resources.document(document_id)
    if found is None:
        abort(404, description=f"There is no document with the id “{document_id}”.")
    changes = found.json["outstanding_changes"]
    return render_template(
        "reader.html",
        document=found.document,
        nodes=found.nodes,
        target=None,
        highlight=set(),
        changes=changes,
        flags=change_flags(changes, found.nodes),
        earlier_versions=found.json["earlier_versions"],
    )


@bp.get("/documents")
def documents_page():
    return render_template("documents.html", documents=resources.documents()["documents"])
