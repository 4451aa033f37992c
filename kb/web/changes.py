"""What changed in this knowledge base: /changes (page), /changes.atom, and the data both and
/api/v1/changes (kb.web.api) show.

The log is written by each build (indexer/index/changes.py) into the index version it serves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from lxml import etree

from indexer.index.changes import KINDS, since
from kb.responses import Change, ChangedDocument, ChangedProvision, ChangeList, RemovedProvision
from kb.web.dateinput import read_date

bp = Blueprint("changes", __name__)

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 100
API_LIMIT = 100  # changes /api/v1/changes returns unless asked for a `limit`
MAX_LIMIT = 1000
KIND_LABELS = {
    "new": "New",
    "amended": "Amended",
    "repealed": "Repealed",
    "withdrawn": "Withdrawn",
    "removed": "Removed",
}


class BadRequest(ValueError):
    pass


def _log() -> list[dict[str, Any]]:
    return current_app.extensions["kb"].current().change_log


def _since(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise BadRequest(f"'since' must be a date like 2026-11-01, not {raw[:20]!r}.") from None


def _kinds(values: list[str]) -> list[str]:
    wrong = [v for v in values if v not in KINDS]
    if wrong:
        raise BadRequest(f"'kind' must be one of {', '.join(KINDS)}, not {wrong[0][:20]!r}.")
    return values


def _limit(raw: str | None, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'limit' must be a whole number, not {raw[:20]!r}.") from None
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"'limit' must be between 1 and {MAX_LIMIT}.")
    return value


def _provisions(doc_id: str, listed: Any) -> list[dict[str, Any]]:
    """A change's provisions, as {id, label}: those without a pin are not shown."""
    return [
        {"id": f"{doc_id}/{p['pin']}", "label": p.get("label") or p["pin"]}
        for p in listed or []
        if isinstance(p, dict) and p.get("pin")
    ]


def entry_json(entry: dict[str, Any]) -> Change:
    """A change log entry as the API gives it: nothing of a removed document is linked."""
    doc_id = entry.get("document_id") or ""
    exists = entry.get("kind") != "removed"
    provisions = [
        ChangedProvision(
            **p, url=url_for("pages.passage_page", passage_id=p["id"]) if exists else None
        )
        for p in _provisions(doc_id, entry.get("provisions"))
    ]
    return Change(
        id=entry.get("id"),
        date=entry.get("date"),
        kind=entry.get("kind"),
        document=ChangedDocument(
            id=doc_id,
            title=entry.get("title") or doc_id,
            doc_type=entry.get("doc_type"),
            status=entry.get("status"),
            url=url_for("pages.document_page", document_id=doc_id) if exists else None,
        ),
        provisions=provisions,
        provisions_total=entry.get("provisions_total", len(provisions)),
        removed_provisions=[
            RemovedProvision(**p) for p in _provisions(doc_id, entry.get("removed_provisions"))
        ],
    )


def _selected(args) -> tuple[str | None, list[str], list[dict[str, Any]]]:
    day = _since(args.get("since"))
    kinds = _kinds(args.getlist("kind"))
    entries = [e for e in since(_log(), day) if not kinds or e.get("kind") in kinds]
    return day, kinds, entries


def changes_data(args, limit: int | None = None) -> ChangeList:
    """The changes `since` and of the `kind`s the arguments ask for, newest first, at most
    `limit` of them (by default the arguments' own `limit`): the API's body, which the page and
    the feed show too. Raises BadRequest."""
    day, kinds, entries = _selected(args)
    if limit is None:
        limit = _limit(args.get("limit"), API_LIMIT)
    return ChangeList(
        since=day,
        kind=kinds,
        total=len(entries),
        limit=limit,
        changes=[entry_json(e) for e in entries[:limit]],
    )


@bp.get("/changes")
def changes_page():
    field = read_date(request.args, "since", "Changes since")
    args = request.args.copy()
    args["since"] = field.value
    try:
        if field.error:
            raise BadRequest(field.error)
        data = changes_data(args, MAX_LIMIT)
        error = None
    except BadRequest as exc:
        data = ChangeList(since=None, kind=[], total=0, limit=MAX_LIMIT, changes=[])
        error = str(exc)
    days: dict[str, list[dict[str, Any]]] = {}
    for entry in data["changes"]:
        days.setdefault(str(entry["date"])[:10], []).append(entry)
    page = render_template(
        "changes.html",
        days=days,
        total=data["total"],
        shown=len(data["changes"]),
        since=data["since"] or "",
        since_field=field,
        kinds=data["kind"],
        kind_labels=KIND_LABELS,
        error=error,
    )
    return page, (400 if error else 200)


def _summary(entry: dict[str, Any]) -> str:
    labels = [p["label"] for p in entry["provisions"]]
    more = entry["provisions_total"] - len(labels)
    text = ", ".join(labels) + (f" and {more} more" if more > 0 else "")
    return f"{KIND_LABELS.get(entry['kind'], entry['kind'])}: {text}" if text else ""


@bp.get("/changes.atom")
def changes_atom():
    try:
        shown = changes_data(request.args, FEED_ENTRIES)["changes"]
    except BadRequest as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    root = request.host_url.rstrip("/")  # + a path from url_for, which has any script root
    feed_url = url_for("changes.changes_atom", _external=True)
    page_url = url_for("changes.changes_page", _external=True)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _add(feed, "id", feed_url)
    _add(feed, "title", "Changes to this statutory guidance knowledge base")
    _add(feed, "updated", _atom_time(shown[0]["date"]) if shown else _atom_time(None))
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=feed_url)
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=page_url)
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _add(author, "name", "Statutory guidance knowledge base")
    for entry in shown:
        item = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _add(item, "id", f"{page_url}#{entry['id']}")
        kind = KIND_LABELS.get(entry["kind"], entry["kind"])
        _add(item, "title", f"{kind}: {entry['document']['title']}")
        _add(item, "updated", _atom_time(entry["date"]))
        _add(item, "category", None, term=str(entry["kind"]))
        target = entry["document"]["url"]
        if entry["provisions"] and len(entry["provisions"]) == 1:
            target = entry["provisions"][0]["url"] or target
        href = root + target if target else page_url
        etree.SubElement(item, f"{{{ATOM}}}link", rel="alternate", href=href)
        summary = _summary(entry)
        if summary:
            _add(item, "summary", summary)
    body = etree.tostring(feed, xml_declaration=True, encoding="utf-8")
    return Response(body, mimetype="application/atom+xml")


def _add(parent, name: str, text: str | None, **attrs: str):
    element = etree.SubElement(parent, f"{{{ATOM}}}{name}", **attrs)
    if text is not None:
        element.text = text
    return element


def _atom_time(value: str | None) -> str:
    if value:
        return value if "T" in value else f"{value}T00:00:00Z"
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
