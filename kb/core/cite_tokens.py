"""Tokenizer for legislation citations: pinpoint phrases, legislation.gov.uk URLs and
"the 2007 Act"-style back-references.

The tokenizer knows nothing about which instruments exist; `kb.core.cite` matches instrument
names (aliases) itself and masks them out before the pin scanner runs, so a name such as
"SI 2006/246" can never be read as a pinpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.core.legislation import TYPES
from kb.core.vocabularies import (
    CITED_KEYWORDS,
    PROVISION_KEYWORD_TABLE,
    ROMAN_KEYWORDS,
    roman_to_int,
)
from kb.core.vocabularies import SECTION_LEVEL as SECTION_LEVEL_KEYWORDS

# Spelled keyword -> pin keyword ('ss' -> 'section'): kb.core.vocabularies' table.
KEYWORD = CITED_KEYWORDS
_KW_ALT = "|".join(sorted(KEYWORD, key=len, reverse=True))
_CITED = tuple(k for k in PROVISION_KEYWORD_TABLE if k.spellings)
PIN_WORDS = frozenset(k.word for k in _CITED)

# Where a pin phrase sits in the legislation.gov.uk hierarchy; lower is outer.
RANK = {k.word: k.rank for k in _CITED if k.rank is not None}
LEAF = {k.word for k in _CITED if k.rank is None}
SECTION_LEVEL = set(SECTION_LEVEL_KEYWORDS)

_NUM = r"(?:\d+[A-Za-z]{0,3}(?:\.\d+[A-Za-z]?)*|[IVXLCivxlc]+)(?![\w])"
# Sub-levels are case-sensitive: "(2)", "(2A)", "(a)", "(iv)"; never "(TUPE)".
_SUB = r"\(\s?(?-i:\d+[A-Z]{0,2}|[a-z]{1,4})\s?\)"
_SUBS = rf"(?:[ \t]?{_SUB})*"
_HEAD = re.compile(
    rf"(?<![\w])(?<![A-Za-z]['’])(?P<kw>{_KW_ALT})\.?\s*(?P<num>{_NUM})(?P<subs>{_SUBS})",
    re.IGNORECASE,
)
_RANGE_SEPS = {"to", "-", "–", "—", "‑", "−"}
_ITEM = re.compile(
    rf"\s*(?P<sep>,\s*and|,\s*or|,|and|or|&|to|-|–|—|‑|−)\s*"
    rf"(?:(?P<kw>{_KW_ALT})\.?\s*)?"
    rf"(?:(?P<num>{_NUM})(?P<subs>{_SUBS})|(?P<only>(?:{_SUB}[ \t]?)*{_SUB}))",
    re.IGNORECASE,
)
_SUB_VALUE = re.compile(r"\(\s?([0-9A-Za-z]+)\s?\)")

_MERGE_GAP = re.compile(r"\s*,?\s*(?:(?:of|in)\s+)?", re.IGNORECASE)

# legislation.gov.uk types (kb.core.legislation.TYPES), longest first so 'ukpga' is not read as 'uk…'.
LEGISLATION_TYPES = "|".join(sorted(TYPES, key=len, reverse=True))
# A URL or bare path: type, then a calendar year or a regnal year (reign/session), then the
# number: 'ukpga/1999/27', 'ukpga/Geo6/6-7/48', 'aep/Ann/6/11' (see kb.core.legislation).
_URL = re.compile(
    rf"(?:(?:https?://)?(?:www\.)?legislation\.gov\.uk/(?:id/)?(?P<type>{LEGISLATION_TYPES})"
    rf"|(?<![\w/.])(?P<bare>{LEGISLATION_TYPES}))"
    r"/(?:(?P<year>\d{4})|(?P<reign>[A-Z][A-Za-z]*\d*)/(?P<session>\d{1,2}(?:-\d{1,2})?))"
    r"/(?P<number>\d+)(?P<rest>(?:/[\w.+-]+)*)/?",
    re.IGNORECASE,
)
# URL segments that end the pinpoint: versions, formats, extents and point-in-time dates.
_URL_STOP = re.compile(
    r"^(?:made|enacted|created|adopted|new|contents|introduction|signature|note|notes|"
    r"memorandum|resources|prospective|england|wales|scotland|northern-ireland|"
    r"england\+wales|data\.\w+|\d{4}-\d{2}-\d{2})$",
    re.IGNORECASE,
)
_URL_SUB = re.compile(r"^(?:\d+[A-Za-z]{0,3}|[a-z]{1,4})$")

CONTEXT = re.compile(
    r"(?<![\w])(?P<det>the|this|that|these|those|said|the\s+said)\s+"
    r"(?:(?P<year>\d{4})\s+)?(?-i:(?P<kind>Act|Regulations|Order|Rules|Measure))(?![\w])",
    re.IGNORECASE,
)
_NOT_TITLE = r"(?!(?:Part|Pt|Chapter|Schedule|Sch|Section|Regulation|Article|Paragraph|Para)\b)"
_TITLE_WORD = rf"{_NOT_TITLE}(?:[A-Z(][\w'’()&,-]*|and|of|in|for|the|to|on|with)"
# An instrument title the registry does not know ("the Equality Act 2010"): a pin next to it
# belongs to that unknown instrument, not to the document being read.
UNKNOWN_TITLE = re.compile(
    rf"(?<![\w])(?-i:{_NOT_TITLE}[A-Z][\w'’()&,-]*\s+(?:{_TITLE_WORD}\s+)*?"
    r"(?:Act|Regulations|Order|Rules|Measure)(?:\s+\(Northern Ireland\))?)\s+\d{4}(?![\w])"
)


@dataclass(frozen=True)
class Item:
    """One number in a unit: "3A", with sub-levels ("2", "a"), and its place in the text."""

    number: str
    subs: tuple[str, ...]
    start: int
    end: int
    range_end: bool = False  # the second half of "ss 3–3A"


@dataclass(frozen=True)
class Unit:
    """A keyword and its numbers: "sections 3 and 3A", "Sch 8", "para 5(1)"."""

    keyword: str
    items: tuple[Item, ...]
    start: int
    end: int


@dataclass(frozen=True)
class PinRef:
    """One pinpoint found in text, still without an instrument."""

    steps: tuple[tuple[str, str], ...]  # (keyword, number), outermost first
    subs: tuple[str, ...]
    start: int
    end: int

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(word for word, _ in self.steps)

    def pin(self, paragraph_word: str = "paragraph") -> str:
        bits: list[str] = []
        for word, number in self.steps:
            bits += [paragraph_word if word == "paragraph" else word, number]
        return "/".join(bits + list(self.subs))


@dataclass(frozen=True)
class PinPhrase:
    """Units that together name one or more provisions: "paragraph 5 of Schedule 8"."""

    refs: tuple[PinRef, ...]
    start: int
    end: int


@dataclass(frozen=True)
class UrlToken:
    identifier: str  # "ukpga/1999/27"
    pin: str | None
    start: int
    end: int


@dataclass(frozen=True)
class ContextToken:
    """'the 2007 Act', 'this Act', 'these Regulations'."""

    determiner: str
    year: str | None
    kind: str
    start: int
    end: int


def normalise_number(keyword: str, number: str, strict: bool, spelled: str = "") -> str | None:
    """Canonical pin number: '3a' -> '3A'; Parts 'I'/'ii' -> '1'/'2' (see kb.core.cite's docs).

    strict (prose) wants a Roman numeral upper-case after a capitalised keyword ("Part I"),
    so that "for the most part I agree" is not a citation.
    """
    if number[0].isdigit():
        head = re.match(r"\d+", number).group()
        return head + number[len(head) :].upper()
    if keyword not in ROMAN_KEYWORDS:
        return None
    if strict and not (number.isupper() and spelled[:1].isupper()):
        return None
    value = roman_to_int(number)
    return str(value) if value else number.upper()


def _subs(text: str) -> tuple[str, ...]:
    return tuple(_SUB_VALUE.findall(text or ""))


def scan_units(text: str, strict: bool = True) -> list[Unit]:
    units: list[Unit] = []
    pos = 0
    while True:
        head = _HEAD.search(text, pos)
        if not head:
            return units
        keyword = KEYWORD[head["kw"].lower()]
        number = normalise_number(keyword, head["num"], strict, head["kw"])
        if number is None:
            pos = head.start() + 1
            continue
        items = [Item(number, _subs(head["subs"]), head.start(), head.end())]
        end = head.end()
        while True:
            more = _ITEM.match(text, end)
            if not more or (more["kw"] and KEYWORD[more["kw"].lower()] != keyword):
                break
            is_range = more["sep"].strip().lower() in _RANGE_SEPS
            last = items[-1]
            if more["only"]:
                # "s 3(2) and (3)": the new sub-levels replace the last ones of the previous item
                new = _subs(more["only"])
                keep = last.subs[: max(len(last.subs) - len(new), 0)]
                item = Item(last.number, keep + new, more.start("only"), more.end(), is_range)
            else:
                num = normalise_number(keyword, more["num"], strict, more["kw"] or head["kw"])
                if num is None:
                    break
                start = more.start("kw") if more["kw"] else more.start("num")
                item = Item(num, _subs(more["subs"]), start, more.end(), is_range)
            items.append(item)
            end = more.end()
        units.append(Unit(keyword, tuple(items), head.start(), end))
        pos = end


def _mergeable(left: list[Unit], right: Unit) -> bool:
    words = {unit.keyword for unit in left}
    if right.keyword in words:
        return False
    words.add(right.keyword)
    leaves = words & LEAF
    if len(leaves) > 1:
        return False
    if leaves & SECTION_LEVEL and "schedule" in words:
        return False
    return True


def _phrase(units: list[Unit]) -> PinPhrase:
    ordered = sorted(units, key=lambda unit: RANK.get(unit.keyword, 9))
    if ordered[-1].keyword in SECTION_LEVEL:
        ordered = ordered[-1:]  # legislation.gov.uk section paths do not include the Part
    outer = tuple((unit.keyword, unit.items[0].number) for unit in ordered[:-1])
    leaf = ordered[-1]
    start, end = units[0].start, units[-1].end
    refs = []
    for i, item in enumerate(leaf.items):
        if len(leaf.items) == 1:
            span = (start, end)
        elif i == 0:
            span = (start, item.end)
        elif i == len(leaf.items) - 1:
            span = (item.start, max(end, item.end))
        else:
            span = (item.start, item.end)
        refs.append(PinRef(outer + ((leaf.keyword, item.number),), item.subs, *span))
    return PinPhrase(tuple(refs), start, end)


def scan_pins(text: str, strict: bool = True) -> list[PinPhrase]:
    """Pin phrases in text, with "Sch 8 para 5" and "paragraph 5 of Schedule 8" merged."""
    phrases: list[PinPhrase] = []
    group: list[Unit] = []
    for unit in scan_units(text, strict):
        if group:
            gap = _MERGE_GAP.fullmatch(text, group[-1].end, unit.start)
            if gap and _mergeable(group, unit):
                group.append(unit)
                continue
            phrases.append(_phrase(group))
        group = [unit]
    if group:
        phrases.append(_phrase(group))
    return phrases


def url_pin(rest: str) -> str | None:
    """'/section/3/2/2008-04-01' -> 'section/3/2'; stops at versions, formats and dates."""
    out: list[str] = []
    segments = [seg for seg in rest.split("/") if seg]
    i = 0
    while i < len(segments):
        seg = segments[i]
        if _URL_STOP.match(seg):
            break
        word = seg.lower()
        if word in PIN_WORDS and i + 1 < len(segments):
            number = normalise_number(word, segments[i + 1], strict=False)
            if number is None:
                break
            out += [word, number]
            i += 2
        elif out and _URL_SUB.match(seg):
            out.append(seg)
            i += 1
        else:
            break
    return "/".join(out) or None


def scan_urls(text: str) -> list[UrlToken]:
    tokens = []
    for match in _URL.finditer(text):
        kind = (match["type"] or match["bare"]).lower()
        end = match.end()
        while text[end - 1] in ".,;:-":  # sentence punctuation after the URL
            end -= 1
        rest = text[match.start("rest") : end] if match["rest"] else ""
        year = match["year"] or f"{match['reign']}/{match['session']}"
        identifier = f"{kind}/{year}/{match['number']}"
        tokens.append(UrlToken(identifier, url_pin(rest), match.start(), end))
    return tokens


def scan_context(text: str) -> list[ContextToken]:
    return [
        ContextToken(m["det"].lower(), m["year"], m["kind"], m.start(), m.end())
        for m in CONTEXT.finditer(text)
    ]


MASK = "\x00"  # not whitespace and not a word character: no scanner reads across it


def scan_unknown_titles(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in UNKNOWN_TITLE.finditer(text)]


def mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Blank out spans (keeping offsets) so later scanners do not see them."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK * (end - start)
    return "".join(chars)
