"""What the MCP tools answer: the API's records reshaped for an AI assistant, each passage with
its citation, its status in words, its text and where to read it.

Every passage and document an answer names carries `status`, `status_label` (the vocabulary's
label), `current` and `warning`: for repealed, withdrawn, superseded or prospective text a
sentence ("This provision was repealed on 1 April 2032; it is not current law.") that an
assistant can repeat, so that it cannot present such text as the law today. Each answer is
given twice: as structured content (these dicts) and as text that leads with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kb.core.effects import effect_sentence, long_date, stale_sentence
from kb.core.models import non_operative_kind
from kb.core.vocabularies import (
    CURRENT_STATUSES,
    DOC_TYPE_LABELS,
    ENDED_STATUSES,
    LEGISLATION_TYPES,
    STATUS_LABELS,
)

PASSAGE_URI = "kb://passage/{}"
DOCUMENT_URI = "kb://document/{}"

Link = Callable[[str], str]  # a path on this knowledge base's site -> the permalink to give


def status_warning(
    status: str, status_date: str | None, doc_type: str, thing: str | None = None
) -> str | None:
    """The status in words when the text is not simply in force: 'This provision was repealed
    on 1 April 2032; it is not current law.' None for text in force."""
    legislation = doc_type in LEGISLATION_TYPES
    thing = thing or ("provision" if legislation else "passage")
    body = "law" if legislation else "guidance"
    label = STATUS_LABELS.get(status, status).lower()
    on = f" on {long_date(status_date)}" if status_date else ""
    if status in ENDED_STATUSES:  # repealed, withdrawn, superseded
        return f"This {thing} was {label}{on}; it is not current {body}."
    if status == "prospective":
        return f"This {thing} is {label}; it is not yet {body}."
    if status == "partially_in_force":
        return f"This {thing} is {label}: check which parts apply."
    return None


def standing(record: dict[str, Any], thing: str | None = None) -> dict[str, Any]:
    """A passage's or document's status fields, with the warning sentence."""
    status = record.get("status") or "in_force"
    return {
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "status_date": record.get("status_date"),
        "current": status in CURRENT_STATUSES,
        "warning": status_warning(status, record.get("status_date"), record["doc_type"], thing),
    }


def _notes(hit: dict[str, Any]) -> list[str]:
    """What else a reader must know before relying on it: not operative text, outstanding
    changes, guidance citing law changed since."""
    notes = []
    if not hit.get("operative", True):
        notes.append(f"Not operative text: this is a {non_operative_kind(hit['pin'])}.")
    changes = hit.get("outstanding_changes")
    count = len(changes) if isinstance(changes, list) else changes or 0
    if count:
        notes.append(
            f"{count} change(s) to it are recorded but not yet made to this text "
            "(get_passage lists them)."
        )
    for item in hit.get("stale_citations") or []:
        notes.append(stale_sentence(item, hit["doc_type"]) + ".")
    return notes


def passage_head(hit: dict[str, Any], link: Link) -> dict[str, Any]:
    """What every answer says of a passage: which it is, how to cite it, its status, where."""
    return {
        "id": hit["id"],
        "citation": hit["citation"],
        "short_citation": hit["short_citation"],
        "document_id": hit["document_id"],
        "document_title": hit["title"],
        "doc_type": hit["doc_type"],
        "heading": hit["heading"],
        **standing(hit),
        "sample": hit.get("sample", False),
        "operative": hit.get("operative", True),
        "duty": hit.get("duty", "none"),
        "holders": hit.get("holders", []),
        "extent": hit.get("extent", []),
        "notes": _notes(hit),
        "text": hit["text"],
        "permalink": link(hit["url"]),
        "source_url": hit.get("source_url"),
        "resource": PASSAGE_URI.format(hit["id"]),
    }


def search_answer(body: dict[str, Any], link: Link) -> dict[str, Any]:
    """A search response (the API's /api/v1/search body) as the search tool gives it."""
    cited = body.get("citation")
    if cited and cited.get("status"):
        cited = cited | standing(cited | {"doc_type": _cited_type(body, cited)})
    return {
        "query": body["query"],
        "total": body["total"],
        "offset": body["offset"],
        "limit": body["limit"],
        "relaxed": body["relaxed"],
        "suggestion": body["suggestion"],
        "as_at": body["as_at"],
        "as_at_notes": [item["note"] for item in body["as_at_notes"]],
        "citation": cited,
        "results": [passage_head(hit, link) for hit in body["results"]],
    }


def _cited_type(body: dict[str, Any], cited: dict[str, Any]) -> str:
    """The doc_type of the provision a query cited (legislation: a citation names an Act or SI)."""
    for hit in body["results"]:
        if hit["id"] == cited.get("id"):
            return hit["doc_type"]
    return "act"


def _link_entry(link_record: dict[str, Any]) -> dict[str, Any]:
    entry = {
        "id": link_record["id"],
        "citation": link_record["citation"],
        "in_index": link_record["in_index"],
    }
    if link_record.get("status"):
        entry["status"] = link_record["status"]
        entry["status_label"] = STATUS_LABELS.get(link_record["status"], link_record["status"])
    for key in ("change", "date"):
        if link_record.get(key):
            entry[key] = link_record[key]
    return entry


def _change_sentence(change: dict[str, Any]) -> str:
    """'Outstanding: inserted by ESAA 2032 (s 5), at s. 86(9A); not yet made to this text.'"""
    by = change.get("by_citation") or change.get("by") or "an instrument not named"
    where = f" at {change['affected']}" if change.get("affected") else ""
    which = f" ({change['by_provisions']})" if change.get("by_provisions") else ""
    return f"Outstanding: {change.get('type') or 'changed'} by {by}{which}{where}; not yet made to this text."


def passage_answer(body: dict[str, Any], link: Link) -> dict[str, Any]:
    """A passage or provision (the API's /api/v1/passages body) with its cross-references,
    effects, outstanding changes and versions."""
    answer = passage_head(body | {"outstanding_changes": body["outstanding_changes"]}, link)
    return answer | {
        "label": body["label"],
        "status_note": body.get("status_note"),
        "contains": body["contains"],
        "parent": body["parent"],
        "effects": [effect_sentence(effect) for effect in body["effects"]],
        "outstanding_changes": [_change_sentence(c) for c in body["outstanding_changes"]],
        "cites": [_link_entry(item) for item in body["cites"]],
        "cited_by": [_link_entry(item) for item in body["cited_by"]],
        "amended_by": [_link_entry(item) for item in body["amended_by"]],
        "amends": [_link_entry(item) for item in body["amends"]],
        "versions": [
            {key: version[key] for key in ("id", "valid_from", "valid_to", "current")}
            for version in body["versions"]
        ],
    }


def document_entry(doc: dict[str, Any], link: Link) -> dict[str, Any]:
    """A document as list_documents gives it."""
    return {
        "id": doc["id"],
        "title": doc["title"],
        "doc_type": doc["doc_type"],
        "doc_type_label": DOC_TYPE_LABELS.get(doc["doc_type"], doc["doc_type"]),
        **standing(doc, "document"),
        "publisher": doc.get("publisher"),
        "published": doc.get("published"),
        "sample": bool(doc.get("sample")),
        "passage_count": doc.get("passage_count"),
        "earlier_versions": doc["versions"]["count"],
        "source_url": doc.get("source_url"),
        "permalink": link(doc["url"]),
        "resource": DOCUMENT_URI.format(doc["id"]),
    }


# --- the same answers as text -----------------------------------------------------------------


def passage_text(n: int | None, item: dict[str, Any]) -> str:
    """A passage as lines of text, its status before its words."""
    number = f"{n}. " if n is not None else ""
    lines = [f"{number}{item['citation']} [{item['status_label']}]"]
    if item["warning"]:
        lines.append(f"WARNING: {item['warning']}")
    lines.extend(item["notes"])
    if item["heading"]:
        lines.append(item["heading"])
    lines.append(item["text"])
    where = [f"id {item['id']}", item["resource"], item["permalink"]]
    if item.get("source_url"):
        where.append(f"source {item['source_url']}")
    lines.append(" · ".join(where))
    return "\n".join(lines)


def search_text(answer: dict[str, Any]) -> str:
    lines = []
    cited = answer["citation"]
    if cited:
        lines.append(f"The query cites {cited['citation']}.")
        if cited.get("note"):
            lines.append(cited["note"])
    lines.extend(answer["as_at_notes"])
    shown = len(answer["results"])
    first = answer["offset"] + 1
    span = f"{first}–{answer['offset'] + shown}" if shown else "none"
    matching = f"match {answer['query']!r}" if answer["query"] else "found"
    lines.append(f"{answer['total']} passages {matching}; showing {span}.")
    if answer["suggestion"]:
        lines.append(f"Did you mean: {answer['suggestion']}?")
    if answer["relaxed"]:
        lines.append("No passage has all the words; these have some of them.")
    blocks = [passage_text(n, item) for n, item in enumerate(answer["results"], start=first)]
    return "\n\n".join(["\n".join(lines), *blocks])


def passage_full_text(answer: dict[str, Any]) -> str:
    parts = [passage_text(None, answer)]
    for title, key in (
        ("Effects", "effects"),
        ("Outstanding changes", "outstanding_changes"),
    ):
        if answer[key]:
            parts.append(f"{title}:\n" + "\n".join(f"- {line}" for line in answer[key]))
    for title, key in (
        ("Cites", "cites"),
        ("Cited by", "cited_by"),
        ("Amended by", "amended_by"),
        ("Amends", "amends"),
    ):
        if answer[key]:
            parts.append(
                f"{title}:\n" + "\n".join(f"- {e['citation']} ({e['id']})" for e in answer[key])
            )
    return "\n\n".join(parts)


def document_text(entry: dict[str, Any]) -> str:
    lines = [f"{entry['title']} [{entry['doc_type_label']}; {entry['status_label']}]"]
    if entry["warning"]:
        lines.append(f"WARNING: {entry['warning']}")
    lines.append(f"id {entry['id']} · {entry['passage_count']} passages · {entry['resource']}")
    return "\n".join(lines)
