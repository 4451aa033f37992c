"""Pinpoints: the path of a provision below its document, and how it is labelled and cited.

A pin follows legislation.gov.uk's URI paths ("section/3/2/a", "regulation/13/2/a",
"schedule/8/paragraph/5"). Guidance uses "para/2.3" for numbered paragraphs and
"heading/<slug>" for unnumbered headed sections. In a page the pin becomes an HTML
anchor with "-" for "/" ("section-3-2-a"), as legislation.gov.uk's own fragments do.
"""

from __future__ import annotations

import datetime as dt
import re

from kb.core import legislation
from kb.core.models import NON_OPERATIVE_KINDS, Document
from kb.core.vocabularies import PROVISION_KEYWORD_TABLE

# Keywords that are followed by a number, then by unnamed sub-levels: (2), (a), (i).
# keyword -> (label abbreviation, heading title), from kb.core.vocabularies.
NUMBERED = {k.word: (k.abbreviation, k.title) for k in PROVISION_KEYWORD_TABLE}
# The last step of a provision's closing words: 'section/1/1/closing' (anchor 'section-1-1-closing').
CLOSING = "closing"
# Keywords that take the rest of the anchor as one slug.
SLUGGED = {"heading", "crossheading"}

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(text: str, limit: int = 60) -> str:
    slug = _SLUG_RE.sub("-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "untitled"


def anchor_to_pin(anchor: str) -> str:
    """'section-3-2-a' -> 'section/3/2/a'; 'heading-scope-and-purpose' -> 'heading/scope-and-purpose'."""
    parts = anchor.split("-")
    out: list[str] = []
    i = 0
    while i < len(parts):
        word = parts[i]
        if word in SLUGGED and i + 1 < len(parts):
            out += [word, "-".join(parts[i + 1 :])]
            break
        if word in NUMBERED and i + 1 < len(parts):
            out += [word, parts[i + 1]]
            i += 2
            continue
        if not out:  # a free-form anchor: keep it whole
            return anchor
        out.append(word)
        i += 1
    return "/".join(out)


def pin_to_anchor(pin: str) -> str:
    return pin.replace("/", "-")


def pin_steps(pin: str) -> list[tuple[str, str, list[str]]]:
    """Split a pin into (keyword, number, sub-levels) steps.

    'schedule/8/paragraph/5/1' -> [('schedule', '8', []), ('paragraph', '5', ['1'])]
    """
    parts = pin.split("/")
    steps: list[tuple[str, str, list[str]]] = []
    i = 0
    while i < len(parts):
        word = parts[i]
        if word in NUMBERED and i + 1 < len(parts) and parts[i + 1] not in NUMBERED:
            # Old Acts' URIs keep the printed full stop ('section/1.'); a citation does not.
            steps.append((word, parts[i + 1].rstrip("."), []))
            i += 2
        elif word in NUMBERED:  # a sole unnumbered Schedule: "schedule/paragraph/1"
            steps.append((word, "", []))
            i += 1
        elif steps:
            steps[-1][2].append(parts[i])
            i += 1
        else:
            steps.append((word, "", []))
            i += 1
    return steps


def label(pin: str) -> str:
    """OSCOLA-style pinpoint label: 's 3(2)(a)', 'reg 13A', 'sch 8, para 5(1)', 'para 2.3'.

    Closing words after a list ('section/1/1/closing') are cited as lawyers write them:
    's 1(1), closing words' (OSCOLA has no rule of its own for them).
    """
    if pin.endswith("/" + CLOSING) and pin != CLOSING:
        parent = label(pin[: -len(CLOSING) - 1])
        return f"{parent}, closing words" if parent else ""
    steps = pin_steps(pin)
    if not steps or pin == "preamble":
        return ""
    if steps[0][0] in NON_OPERATIVE_KINDS and not steps[0][1]:  # 'note', 'signature', …
        return NON_OPERATIVE_KINDS[steps[0][0]]
    bits = []
    for word, number, subs in steps:
        if word == "heading":
            continue
        abbrev = NUMBERED.get(word, (word, word))[0]
        text = f"{abbrev} {number}".strip() + "".join(f"({s})" for s in subs)
        bits.append(text)
    return ", ".join(bits)


def display_label(pin: str) -> str:
    """Label for headings and tables of contents: 'Part I', 's 3', 'Schedule 8'."""
    steps = pin_steps(pin)
    if len(steps) == 1 and steps[0][0] in ("part", "chapter", "schedule", "annex", "appendix"):
        word, number, subs = steps[0]
        return f"{NUMBERED[word][1]} {number}" + "".join(f"({s})" for s in subs)
    if steps and (steps[0][0] == "heading" or steps[0][0] in NON_OPERATIVE_KINDS):
        return ""  # the heading ('Explanatory Note') says what it is
    return label(pin)


def oscola(doc: Document, pin: str | None, heading: str = "") -> str:
    """The citation a lawyer can paste, e.g. 'Local Government Act 1999, s 3(2)'.

    Legislation follows OSCOLA per type (kb.core.legislation: RUNNING_NUMBERS, SERIES):
    'Education (Scotland) Act 2025 (asp 11), s 1', 'Climate Change (Scotland) Act 2009
    (Scottish Carbon Budgets) Amendment Regulations 2025, SSI 2025/281, reg 1'.
    """
    where = label(pin) if pin and not pin.startswith("heading/") else ""
    if doc.is_legislation:
        return _join(legislation_name(doc), where) + version_phrase(doc)
    year = doc.year
    base = doc.title
    if doc.publisher and year:
        base = f"{doc.publisher}, {doc.title} ({year})"
    elif year:
        base = f"{doc.title} ({year})"
    if not where and heading:
        where = f"'{heading}'"
    return f"{base} {where}".strip() if where.startswith("para") else _join(base, where)


def legislation_name(doc: Document) -> str:
    """An instrument as OSCOLA cites it whole: title (without 'The'), then its number:
    'Charities (Regulation and Administration) (Scotland) Act 2023 (asp 5)',
    'Transfer of Undertakings (Protection of Employment) Regulations 2006, SI 2006/246',
    'Parliament (Elections and Meeting) Act 1943' (pre-1963 Acts: title and calendar year)."""
    title = doc.citation_title
    path = doc.legislation_path
    if path is None:
        return title
    running = legislation.running_number(path, doc.language or "")
    if running:
        return f"{title} ({running})"
    number = legislation.series_number(path, doc.subsidiary_number or "")
    return f"{title}, {number}" if number else title


def short_citation(doc: Document, pin: str | None, heading: str = "") -> str:
    """A compact form for lists and search results: 'LGA 1999 s 3(2)'."""
    where = label(pin) if pin and not pin.startswith("heading/") else ""
    if not where and heading:
        where = f"'{heading}'"
    return f"{doc.cite_name} {where}".strip() + version_phrase(doc)


def version_phrase(doc: Document) -> str:
    """' (as it stood on 1 October 2008)' for a historical version of legislation (front
    matter `version_of` and `version_date`: indexer/sources/legislation/versions.py); '' for
    the current text."""
    date = doc.extra.get("version_date") if doc.extra.get("version_of") else None
    return f" (as it stood on {long_date(str(date))})" if date else ""


def long_date(value: str) -> str:
    """'2008-10-01' -> '1 October 2008'; anything else as it is."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    return f"{day.day} {day:%B %Y}"


def _si_number(doc: Document) -> str | None:
    """'SI 2006/246', 'SSI 2025/281', 'SI 2024/1002 (W 171)'; None without a series number."""
    path = doc.legislation_path
    return legislation.series_number(path, doc.subsidiary_number or "") if path else None


def _join(base: str, where: str) -> str:
    return f"{base}, {where}" if where else base


def source_url(doc: Document, pin: str) -> str | None:
    """Where the pinpoint lives at its publisher: a URI path for legislation, a fragment otherwise."""
    if not doc.source_url:
        return None
    if doc.is_legislation and not pin.startswith("heading/"):
        # legislation.gov.uk puts a point in time after the pin: '…/section/3/2008-10-01'
        date = doc.extra.get("version_date") if doc.extra.get("version_of") else None
        return doc.source_url.rstrip("/") + "/" + pin + (f"/{date}" if date else "")
    return doc.source_url + "#" + pin_to_anchor(pin)
