"""Controlled vocabularies every layer reads: one definition each, here.

- Document types: label as pages show it, rank factor, legislation or not.
- Statuses: label, current or not, and what an ended one is called in the changes log.
- legislation.gov.uk type codes: category, description and how OSCOLA numbers each type
  (kb.core.legislation derives its lookups from this table).
- Roman numerals, as Parts and Chapters of older legislation are numbered.
- Provision keywords: the pin steps, their labels, and how prose spells them.
- Facets: each facet's API parameter and page title.
- Duty-holders (below).

Duty-holders: the duties finder (indexer/duties.py) recognises many names for the same kind of
body; a passage is indexed under one term per kind, so the holder facet shows "authority" once
rather than "authority", "relevant authority" and "best value authority" side by side, and
`holder=employer` finds a duty of the transferee. The finder's own words stay in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- document types ---------------------------------------------------------------------


@dataclass(frozen=True)
class DocType:
    code: str
    label: str  # as pages show it
    # Search rank factor: legislation is the authority; guidance explains it; letters and
    # local policies apply it.
    rank_factor: float
    legislation: bool = False


DOC_TYPE_TABLE = (
    DocType("act", "Act", 1.0, legislation=True),
    DocType("si", "Statutory instrument", 1.0, legislation=True),
    DocType("statutory_guidance", "Statutory guidance", 0.9),
    DocType("code_of_practice", "Code of practice", 0.9),
    DocType("guidance", "Guidance", 0.8),
    DocType("circular", "Circular", 0.8),
    DocType("correspondence", "Correspondence", 0.7),
    DocType("local_policy", "Local policy", 0.75),
)
DOC_TYPES = tuple(t.code for t in DOC_TYPE_TABLE)
LEGISLATION_TYPES = tuple(t.code for t in DOC_TYPE_TABLE if t.legislation)  # ('act', 'si')
DOC_TYPE_LABELS = {t.code: t.label for t in DOC_TYPE_TABLE}
DOC_TYPE_FACTOR = {t.code: t.rank_factor for t in DOC_TYPE_TABLE}


# --- statuses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    code: str
    label: str  # as pages show it
    current: bool  # material a user may rely on today; anything else is shown with a warning
    # Ended: its text stopped applying on its status date, and the changes log (/changes)
    # records that as this kind of entry. None: not ended.
    ended_as: str | None = None


STATUS_TABLE = (
    Status("in_force", "In force", current=True),
    Status("partially_in_force", "Partially in force", current=True),
    Status("repealed", "Repealed", current=False, ended_as="repealed"),
    Status("prospective", "Prospective (not yet in force)", current=True),
    Status("withdrawn", "Withdrawn", current=False, ended_as="withdrawn"),
    Status("superseded", "Superseded", current=False, ended_as="withdrawn"),
)
STATUSES = tuple(s.code for s in STATUS_TABLE)
CURRENT_STATUSES = tuple(s.code for s in STATUS_TABLE if s.current)
ENDED_STATUSES = {s.code: s.ended_as for s in STATUS_TABLE if s.ended_as}  # status -> log kind
STATUS_LABELS = {s.code: s.label for s in STATUS_TABLE}


# --- legislation.gov.uk type codes ------------------------------------------------------


@dataclass(frozen=True)
class LegislationType:
    """A legislation.gov.uk type code (its URI schema reference) and how OSCOLA numbers it."""

    code: str
    category: str  # 'primary', 'secondary', 'draft' or 'eu'
    description: str  # legislation.gov.uk's
    chaptered: bool = False  # an Act numbered by chapter: '1999 c 27', '6 & 7 Geo 6 c 48'
    # Devolved primary legislation's running number, (English, Welsh) abbreviation: 'asp 7'
    running: tuple[str, str] | None = None
    # Secondary legislation's series prefix, 'SI 2006/246'; None: no series number
    series: str | None = None
    # Other prefixes a series number is written with ('W.S.I. 2026/1'); only recognised
    series_aliases: tuple[str, ...] = ()

    @property
    def doc_type(self) -> str:
        """What the corpus calls it: 'act' for primary legislation, else 'si' (EU-origin
        legislation is cited by its articles, as an instrument)."""
        return "act" if self.category == "primary" else "si"


def _primary(code: str, description: str, **forms) -> LegislationType:
    return LegislationType(code, "primary", description, **forms)


def _secondary(code: str, description: str, **forms) -> LegislationType:
    return LegislationType(code, "secondary", description, **forms)


# Welsh SIs and Northern Ireland Orders in Council are UK SIs with a subsidiary number:
# 'SI 2024/1002 (W 171)', 'SI 1994/426 (NI 1)'. Drafts, ministerial orders and church
# instruments have no series number. Running numbers: 'Crofting Reform etc Act 2007 (asp 7)',
# 'Learner Travel (Wales) Measure 2008 (nawm 2)', 'Mesur Teithio gan Ddysgwyr (Cymru) 2008
# (mccc 2)', 'Public Health (Wales) Act 2017 (anaw 2)'; Acts of Senedd Cymru (from 2020) by
# analogy with anaw. Extra series prefixes: Legislation (Wales) Act 2019, s 37Z1.
LEGISLATION_TYPE_TABLE = (
    _primary("ukpga", "UK Public General Acts", chaptered=True),
    _primary("ukla", "UK Local Acts", chaptered=True),
    _primary("ukppa", "UK Private and Personal Acts", chaptered=True),
    _primary("gbla", "Local Acts of the Parliament of Great Britain", chaptered=True),
    _primary("apgb", "Acts of the Parliament of Great Britain", chaptered=True),
    _primary(
        "gbppa", "Private and Personal Acts of the Parliament of Great Britain", chaptered=True
    ),
    _primary("aep", "Acts of the English Parliament", chaptered=True),
    _primary("aosp", "Acts of the Old Scottish Parliament", chaptered=True),
    _primary("asp", "Acts of the Scottish Parliament", running=("asp", "asp")),
    _primary("aip", "Acts of the Old Irish Parliament", chaptered=True),
    _primary("apni", "Acts of the Northern Ireland Parliament", chaptered=True),
    _primary("mnia", "Measures of the Northern Ireland Assembly"),
    _primary("nia", "Acts of the Northern Ireland Assembly", chaptered=True),
    _primary("ukcm", "UK Church Measures"),
    _primary("mwa", "Measures of the Welsh Assembly", running=("nawm", "mccc")),
    _primary("anaw", "Acts of the Welsh Assembly", running=("anaw", "dccc")),
    _primary("asc", "Acts of Senedd Cymru", running=("asc", "asc")),
    _secondary("uksi", "UK Statutory Instruments", series="SI"),
    _secondary("ssi", "Scottish Statutory Instruments", series="SSI"),
    _secondary("wsi", "Wales Statutory Instruments", series="SI", series_aliases=("WSI",)),
    _secondary(
        "nisr", "Northern Ireland Statutory Rules", series="SR", series_aliases=("SR (NI)", "NISR")
    ),
    _secondary("ukci", "UK Church Instruments"),
    _secondary("nisi", "Northern Ireland Orders in Council", series="SI"),
    _secondary("ukmo", "UK Ministerial Orders"),
    _secondary("nisro", "Northern Ireland Statutory Rules and Orders", series="SR & O (NI)"),
    _secondary("uksro", "UK Statutory Rules and Orders", series="SR & O"),
    LegislationType("ukdsi", "draft", "UK Draft Statutory Instruments"),
    LegislationType("sdsi", "draft", "Scottish Draft Statutory Instruments"),
    LegislationType("nidsr", "draft", "Northern Ireland Draft Statutory Rules"),
    LegislationType("nidsi", "draft", "Northern Ireland Draft Orders in Council"),
    LegislationType("wdsi", "draft", "Welsh Draft Statutory Instruments"),
    LegislationType("eur", "eu", "Regulations originating from the EU"),
    LegislationType("eudn", "eu", "Decisions originating from the EU"),
    LegislationType("eudr", "eu", "Directives originating from the EU"),
    LegislationType("eut", "eu", "EU treaties"),
)
LEGISLATION_CODES = {t.code: t for t in LEGISLATION_TYPE_TABLE}


# --- Roman numerals ---------------------------------------------------------------------

# Parts and Chapters of older legislation are numbered I, II …; sub-paragraphs (i), (ii) ….
# Read from I to XXXIX only: beyond that a letter is a letter ('Part L' and 'Part C' of the
# Building Regulations' Schedule 1 are not Parts 50 and 100).
ROMAN_MAX = 39
_ROMAN = re.compile(r"^(X{0,3})(IX|IV|V?I{0,3})$", re.IGNORECASE)
_ROMAN_VALUE = {"I": 1, "V": 5, "X": 10}
_ROMAN_DIGITS = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def roman_to_int(text: str) -> int | None:
    """'IV' or 'iv' -> 4; None when text is not a Roman numeral from I to XXXIX ('L', 'IIII')."""
    if not text or not _ROMAN.match(text):
        return None
    values = [_ROMAN_VALUE[ch] for ch in text.upper()]
    total = 0
    for i, value in enumerate(values):
        total += -value if i + 1 < len(values) and values[i + 1] > value else value
    return total


def int_to_roman(number: int, lower: bool = False) -> str | None:
    """4 -> 'IV' ('iv' with lower); None outside 1 to XXXIX, which roman_to_int would not read."""
    if not 1 <= number <= ROMAN_MAX:
        return None
    out = ""
    for value, digits in _ROMAN_DIGITS:
        while number >= value:
            out, number = out + digits, number - value
    return out.lower() if lower else out


def roman_or_arabic(number: str) -> str | None:
    """A Part number the other way round: 'XXV' -> '25', '25' -> 'XXV'; None if neither."""
    if number.isdigit() and not number.startswith("0"):
        return int_to_roman(int(number))
    value = roman_to_int(number)
    return str(value) if value else None


# --- provision keywords -----------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionKeyword:
    """A pin step that is followed by a number (kb.core.pins), then unnamed sub-levels."""

    word: str  # as legislation.gov.uk URIs and pins write it: 'section'
    abbreviation: str  # in an OSCOLA pinpoint label: 's 3(2)'
    title: str  # in a heading or table of contents: 'Section 3'
    # How prose cites it (kb.core.cite_tokens); none: never read from prose. Single-letter
    # "r" (rule) is left out: in prose it is noise.
    spellings: tuple[str, ...] = ()
    # Where a pin phrase sits in the hierarchy, lower is outer; None: a leaf (the provision)
    rank: int | None = None
    section_level: bool = False  # a section or its equivalent: its path names no Part
    roman: bool = False  # numbered I, II … in older legislation
    legislation: bool = True  # in legislation.gov.uk URIs (else guidance's own)


PROVISION_KEYWORD_TABLE = (
    ProvisionKeyword("part", "pt", "Part", ("parts", "part", "pts", "pt"), rank=1, roman=True),
    ProvisionKeyword(
        "chapter",
        "ch",
        "Chapter",
        ("chapters", "chapter", "chaps", "chap", "chs", "ch"),
        rank=2,
        roman=True,
    ),
    ProvisionKeyword(
        "section",
        "s",
        "Section",
        ("sections", "section", "secs", "sec", "ss", "s"),
        section_level=True,
    ),
    ProvisionKeyword(
        "regulation",
        "reg",
        "Regulation",
        ("regulations", "regulation", "regs", "reg"),
        section_level=True,
    ),
    ProvisionKeyword(
        "article", "art", "Article", ("articles", "article", "arts", "art"), section_level=True
    ),
    ProvisionKeyword("rule", "r", "Rule", ("rules", "rule"), section_level=True),
    ProvisionKeyword(
        "schedule",
        "sch",
        "Schedule",
        ("schedules", "schedule", "scheds", "sched", "schs", "sch"),
        rank=0,
    ),
    ProvisionKeyword(
        "paragraph", "para", "Paragraph", ("paragraphs", "paragraph", "paras", "para")
    ),
    # guidance's numbered paragraphs ('para/2.3') and pages of a PDF
    ProvisionKeyword("para", "para", "Paragraph", legislation=False),
    ProvisionKeyword("annex", "annex", "Annex"),
    ProvisionKeyword("appendix", "app", "Appendix"),
    ProvisionKeyword("page", "p", "Page", legislation=False),
    ProvisionKeyword("crossheading", "", ""),
)
PROVISION_KEYWORDS = {k.word: k for k in PROVISION_KEYWORD_TABLE}
# Keywords read from prose: spelled form -> pin keyword ('ss' -> 'section')
CITED_KEYWORDS = {spelled: k.word for k in PROVISION_KEYWORD_TABLE for spelled in k.spellings}
ROMAN_KEYWORDS = frozenset(k.word for k in PROVISION_KEYWORD_TABLE if k.roman)
SECTION_LEVEL = tuple(k.word for k in PROVISION_KEYWORD_TABLE if k.section_level)


# --- facets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Facet:
    name: str  # the passage field counted, and its key in a response's facets
    param: str  # the search filter picking its values: API parameter, SearchRequest field
    title: str  # its heading on the search page
    page_order: int  # its place on the search page
    multi_valued: bool = False  # a passage may have several values


FACET_TABLE = (
    Facet("document_id", "document", "Document", 2),
    Facet("doc_type", "doc_type", "Type", 1),
    Facet("status", "status", "Status", 0),
    Facet("duty", "duty", "Duties and powers", 3),
    Facet("holder", "holder", "Whose duty", 5, multi_valued=True),  # several duty-holders
    Facet("extent", "extent", "Extends to", 4, multi_valued=True),  # several nations
    Facet("stale", "stale", "Cited law changed", 6),
)
FACETS = tuple(f.name for f in FACET_TABLE)
FACET_FILTERS = {f.name: f.param for f in FACET_TABLE}  # facet -> its filter
FACET_TITLES = {f.name: f.title for f in FACET_TABLE}
FACET_ORDER = tuple(f.name for f in sorted(FACET_TABLE, key=lambda f: f.page_order))
MULTI_VALUED = tuple(f.name for f in FACET_TABLE if f.multi_valued)


# --- duty-holders -----------------------------------------------------------------------

HOLDER_TERMS: dict[str, tuple[str, ...]] = {
    "authority": (
        "best value authority",
        "relevant authority",
        "responsible authority",
        "local authority",
        "principal authority",
        "partner authority",
        "county council",
        "district council",
        "council",
        "authority",
    ),
    "employer": (
        "new employer",
        "transferring employer",
        "receiving employer",
        "transferor",
        "transferee",
        "employer",
    ),
    "employee": ("employee",),
    "contractor": ("contractor", "provider"),
    "Secretary of State": ("secretary of state",),
    "minister": ("minister",),
    "tribunal": ("tribunal",),
}
HOLDERS = tuple(HOLDER_TERMS)
_TERM_OF = {name: term for term, names in HOLDER_TERMS.items() for name in names}
_TERM_OF.update({term.lower(): term for term in HOLDERS})


def holder_term(name: str) -> str | None:
    """The vocabulary term for a holder name ('transferee' -> 'employer'), None if unknown."""
    return _TERM_OF.get(" ".join(name.lower().split()))


def holder_terms(names) -> list[str]:
    """Each name's term, once each, in first-seen order; unknown names are kept as they are."""
    found: dict[str, None] = {}
    for name in names:
        found.setdefault(holder_term(name) or name, None)
    return list(found)
