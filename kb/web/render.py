"""Turning stored documents into what a page shows: Markdown to safe HTML, labels for statuses."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from kb.effects import effect_sentence, long_date, stale_sentence
from kb.models import (
    CURRENT_STATUSES,
    NATION_NAMES,
    NATIONS,
    extent_codes,
    extent_text,
    non_operative_kind,
)

# Raw HTML in the corpus is shown as text, never rendered.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_md.validateLink = lambda url: url.lower().startswith(("http://", "https://", "/", "#", "mailto:"))

STATUS_LABELS = {
    "in_force": "In force",
    "partially_in_force": "Partially in force",
    "repealed": "Repealed",
    "prospective": "Prospective (not yet in force)",
    "withdrawn": "Withdrawn",
    "superseded": "Superseded",
}
DOC_TYPE_LABELS = {
    "act": "Act",
    "si": "Statutory instrument",
    "statutory_guidance": "Statutory guidance",
    "code_of_practice": "Code of practice",
    "guidance": "Guidance",
    "circular": "Circular",
    "correspondence": "Correspondence",
    "local_policy": "Local policy",
}


FACET_TITLES = {
    "status": "Status",
    "doc_type": "Type",
    "document_id": "Document",
    "duty": "Duties and powers",
    "holder": "Whose duty",
    "extent": "Extends to",
    "stale": "Cited law changed",
}
DUTY_LABELS = {"duty": "Imposes a duty", "power": "Confers a power", "none": "Neither"}
# Side-panel sections of the reader: passage key, heading, and what to say when there is none
# (None: leave the section out when empty, so the panel stays short enough to stay in view).
RELATIONS = (
    ("cited_by", "Cited by", "No passage in this knowledge base cites it."),
    ("amended_by", "Amended or inserted by", "No amendment to it is recorded here."),
    ("cites", "Cites", None),
    ("amends", "Amends or inserts", None),
)


def facet_title(name: str) -> str:
    return FACET_TITLES.get(name, name.replace("_", " ").capitalize())


def facet_value_label(name: str, item: dict[str, Any]) -> str:
    value = str(item.get("value"))
    if name == "doc_type":
        return DOC_TYPE_LABELS.get(value, value)
    if name == "status":
        return status_label(value)
    if name == "duty":
        return DUTY_LABELS.get(value, value)
    if name == "extent":
        return NATION_NAMES.get(value, value)
    if name == "stale":
        return "Cites a provision changed since issue"
    label = str(item.get("label") or value.replace("_", " "))
    return label[:1].upper() + label[1:]


def markdown(text: str) -> Markup:
    return Markup(_md.render(text or ""))


def markdown_inline(text: str) -> Markup:
    return Markup(_md.renderInline(text or ""))


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def is_current(status: str) -> bool:
    return status in CURRENT_STATUSES


def extent_names(codes: list[str] | None) -> str:
    """['E', 'W', 'S'] -> 'England, Wales and Scotland'."""
    names = [NATION_NAMES.get(code, code) for code in codes or []]
    if set(codes or []) == set(NATIONS):
        return "the whole United Kingdom"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def install(app) -> None:
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["markdown_inline"] = markdown_inline
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.globals.update(
        status_label=status_label,
        is_current=is_current,
        non_operative_kind=non_operative_kind,
        extent_text=extent_text,
        extent_codes=extent_codes,
        extent_names=extent_names,
        effect_sentence=effect_sentence,
        stale_sentence=stale_sentence,
        doc_type_label=lambda t: DOC_TYPE_LABELS.get(t, t),
        STATUS_LABELS=STATUS_LABELS,
        RELATIONS=RELATIONS,
        DOC_TYPE_LABELS=DOC_TYPE_LABELS,
    )
