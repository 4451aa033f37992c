"""Turning stored documents into what a page shows: Markdown to safe HTML, labels for statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from kb.core.effects import effect_sentence, long_date, stale_sentence
from kb.core.models import (
    CURRENT_STATUSES,
    NATION_NAMES,
    NATIONS,
    extent_codes,
    extent_text,
    non_operative_kind,
)
from kb.core.vocabularies import DOC_TYPE_LABELS, FACET_TITLES, STATUS_LABELS

# Raw HTML in the corpus is shown as text, never rendered.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_md.validateLink = lambda url: url.lower().startswith(("http://", "https://", "/", "#", "mailto:"))

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


def status_phrase(status: str, date: str | None) -> str:
    """'In force since 1 April 2031', 'Withdrawn on 23 March 2011'; the label alone undated."""
    label = status_label(status)
    if not date:
        return label
    return f"{label} {'since' if is_current(status) else 'on'} {long_date(date)}"


def date_tag(value: str | None) -> Markup:
    """A date as people read it, '1 April 2031', in <time datetime="2031-04-01"> for machines;
    a value that is not an ISO date is shown as it is."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return Markup(escape(value or ""))
    return Markup('<time datetime="{}">{}</time>').format(day.isoformat(), long_date(value))


SAMPLE_NOTE = "sample document"


def status_banner(document: dict[str, Any]) -> dict[str, Any] | None:
    """What a document's one banner says: its status with the date once, its note, and that it
    is a sample. None when there is nothing to say (current, no note, not a sample).

    A note that already opens with the status and date ("Withdrawn on 30 June 2030 with
    immediate effect; …", in ISO or long form) continues the lead rather than repeating it,
    and a current note that only says the text is a sample gives way to the sample line.
    """
    status, date = document.get("status") or "", document.get("status_date")
    note = (document.get("status_note") or "").strip()
    current = is_current(status)
    sample = bool(document.get("sample"))
    if current and sample and note.lower().startswith(SAMPLE_NOTE):
        note = ""
    if current and not note:
        return {"warning": False, "sample": True, "lead": "", "rest": ""} if sample else None
    lead, rest = _lead_and_rest(status, date, note)
    if not current and not rest:
        rest = " This text is not current: check what replaced it."
    return {"warning": not current, "sample": sample, "lead": lead, "rest": rest}


def _lead_and_rest(status: str, date: str | None, note: str) -> tuple[str, str]:
    """The banner's bold lead ('Withdrawn on 30 June 2030') and the note after it, the note's
    own opening dropped where it says the same (so the date is said once)."""
    lead = status_phrase(status, date)
    word = "since" if is_current(status) else "on"
    said = [lead, f"{status_label(status)} {word} {date}"] if date else [lead]
    for opening in said:
        if note.lower().startswith(opening.lower()):
            rest = note[len(opening) :]
            return (lead, rest) if rest.strip(" .") else (lead + ".", "")
    return lead + ".", f" {note}" if note else ""


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
    app.jinja_env.filters["date_tag"] = date_tag
    app.jinja_env.globals.update(
        status_label=status_label,
        status_phrase=status_phrase,
        status_banner_of=status_banner,
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
