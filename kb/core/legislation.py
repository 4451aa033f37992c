"""legislation.gov.uk identifiers: type codes, calendar and regnal years, and URI paths.

Core vocabulary shared by the parser, the manifest, pins and the citation resolver. A document
path is `type/year/number` with a calendar year (`ukpga/1999/27`), or `type/reign/session/number`
with a regnal year (`ukpga/Geo6/6-7/48`, `aep/Ann/6/11`, `apgb/Geo3/39-40/14`); anything after
it is a provision pin, then optionally a version (`enacted`, `made`, a date) and a language
(`welsh`), as in legislation.gov.uk's own URIs (docs: model/uris.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from kb.core.vocabularies import LEGISLATION_TYPE_TABLE

# code -> (category, legislation.gov.uk's description): kb.core.vocabularies' table.
TYPES: dict[str, tuple[str, str]] = {
    t.code: (t.category, t.description) for t in LEGISLATION_TYPE_TABLE
}
PRIMARY = frozenset(code for code, (kind, _) in TYPES.items() if kind == "primary")
SECONDARY = frozenset(code for code, (kind, _) in TYPES.items() if kind in ("secondary", "draft"))
EU = frozenset(code for code, (kind, _) in TYPES.items() if kind == "eu")

VERSIONS = frozenset({"enacted", "made", "created", "adopted", "new", "revision", "prospective"})
LANGUAGES = frozenset({"welsh", "english"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")
# A reign: 'Geo6', 'Ann', 'Vict', 'Edw7', 'Will4and1Vict', 'WillandMar'; a session: '6-7', '6'.
_REIGN = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SESSION = re.compile(r"^\d{1,2}(?:-\d{1,2})?$")
_NUMBER = re.compile(r"^\d+[A-Za-z]?$")


@dataclass(frozen=True)
class LegislationPath:
    type: str
    year: str  # '1999', or a regnal year 'Geo6/6-7'
    number: str
    pin: str = ""  # 'section/3/2'
    version: str = ""  # 'enacted', 'made', '2008-04-01'
    language: str = ""  # 'welsh'

    @property
    def document(self) -> str:
        return f"{self.type}/{self.year}/{self.number}"

    @property
    def regnal(self) -> bool:
        return "/" in self.year

    @property
    def path(self) -> str:
        return f"{self.document}/{self.pin}" if self.pin else self.document


def parse_path(value: str) -> LegislationPath | None:
    """'ukpga/1999/27/section/3', a legislation.gov.uk URL or /id/ URI -> its parts, else None."""
    steps = _steps(value)
    if len(steps) < 3 or steps[0] not in TYPES:
        return None
    dated = _year(steps[1:])
    if dated is None:
        return None
    year, rest = dated
    if not rest or not _NUMBER.match(rest[0]):
        return None
    pin, version, language = _pin_version_language(rest[1:])
    return LegislationPath(steps[0], year, rest[0], pin, version, language)


def _steps(value: str) -> list[str]:
    """A path's or URL's steps, without a leading 'id' or a trailing 'data.xml' and the like."""
    path = urlparse(value).path if "://" in value else value
    steps = [s for s in path.split("/") if s]
    if steps and steps[0] == "id":
        steps = steps[1:]
    if steps and steps[-1] in ("data.xml", "data.feed", "data.htm", "data.pdf"):
        steps = steps[:-1]
    return steps


def _year(steps: list[str]) -> tuple[str, list[str]] | None:
    """The year ('1999', or regnal 'Geo6/6-7') the steps after the type start with, and the
    steps after it; None if they start with neither."""
    if _REIGN.match(steps[0]) and len(steps) >= 3 and _SESSION.match(steps[1]):
        return f"{steps[0]}/{steps[1]}", steps[2:]
    if _YEAR.match(steps[0]):
        return steps[0], steps[1:]
    return None


def _pin_version_language(tail: list[str]) -> tuple[str, str, str]:
    """The steps after a document's number as (pin, version, language)."""
    language = version = ""
    # This knowledge base names a point-in-time version of a whole document by its date right
    # after the number ('ukpga/1999/27/2008-10-01', as legislation.gov.uk does), and so its
    # passages too: 'ukpga/1999/27/2008-10-01/section/3' is s 3 as it stood on that day.
    if len(tail) > 1 and _DATE.match(tail[0]):
        version, tail = tail[0], tail[1:]
    if tail and tail[-1] in LANGUAGES:
        language, tail = tail[-1], tail[:-1]
    if not version and tail and (tail[-1] in VERSIONS or _DATE.match(tail[-1])):
        version, tail = tail[-1], tail[:-1]
    return "/".join(tail), version, language


def first_path(*values: str | None) -> LegislationPath | None:
    """The first of some ids or identifiers that is a legislation path, parsed."""
    for value in values:
        found = parse_path(value) if value else None
        if found:
            return found
    return None


def document_path(value: str) -> str | None:
    """The document part of a path or URI: 'ukpga/Geo6/6-7/48/part/1' -> 'ukpga/Geo6/6-7/48'."""
    parsed = parse_path(value)
    return parsed.document if parsed else None


def split_path(value: str) -> tuple[str, str] | None:
    """'ukpga/1999/27/section/3/2' -> ('ukpga/1999/27', 'section/3/2'); None if not legislation."""
    parsed = parse_path(value)
    return (parsed.document, parsed.pin) if parsed else None


def category(code: str) -> str | None:
    """'primary', 'secondary', 'draft' or 'eu' for a type code; None if unknown."""
    found = TYPES.get(code)
    return found[0] if found else None


# --- citation forms ----------------------------------------------------------------------
#
# How each type is cited (OSCOLA 4th edn, and the guides that restate it; the sources are
# listed in tests/test_legislation.py's docstring). A UK Act is cited by its short title and
# calendar year alone, also before 1963 (the regnal year and chapter are optional there);
# devolved primary legislation adds its running number in brackets; secondary legislation
# adds its series number after a comma.

# Each type's numbers, from kb.core.vocabularies' table: running numbers ('asp 7', Welsh
# 'dccc 3'), series numbers ('SI 2006/246'; aliases only recognised, never written) and chapters.
RUNNING_NUMBERS: dict[str, tuple[str, str]] = {
    t.code: t.running for t in LEGISLATION_TYPE_TABLE if t.running
}
SERIES: dict[str, str] = {t.code: t.series for t in LEGISLATION_TYPE_TABLE if t.series}
SERIES_ALIASES: dict[str, tuple[str, ...]] = {
    t.code: t.series_aliases for t in LEGISLATION_TYPE_TABLE if t.series_aliases
}
CHAPTERED = frozenset(t.code for t in LEGISLATION_TYPE_TABLE if t.chaptered)

_THE = re.compile(r"^the\s+", re.IGNORECASE)
# legislation.gov.uk appends editorial notes to some titles: 'Election Act 1707(repealed)'.
_NOTE = re.compile(r"\s*\((?:repealed|revoked|spent|prospective)\)\s*$", re.IGNORECASE)
_EEA = re.compile(r"\s*\(Text with EEA relevance\)\s*$", re.IGNORECASE)
_REIGN_PART = re.compile(r"^(\d*)([A-Za-z]+?)(\d*)$")


def citation_title(title: str, code: str = "") -> str:
    """The title as OSCOLA writes it: no leading 'The', no editorial '(repealed)', '(NI)' for
    Acts of the Parliament of Northern Ireland, no '(Text with EEA relevance)'."""
    text = " ".join(title.split())
    text = _NOTE.sub("", text)
    if code in EU:
        text = _EEA.sub("", text)
    text = _THE.sub("", text)
    if code == "apni":
        text = text.replace("(Northern Ireland)", "(NI)")
    return text


def regnal_year(path: LegislationPath) -> str | None:
    """'Geo6/6-7' -> '6 & 7 Geo 6'; 'Will4and1Vict/7' -> '7 Will 4 & 1 Vict'; None if calendar."""
    if not path.regnal:
        return None
    reign, session = path.year.split("/")
    names = []
    for part in reign.split("and"):
        found = _REIGN_PART.match(part)
        if not found:
            return None
        lead, name, numeral = found.groups()
        names.append(" ".join(bit for bit in (lead, name, numeral) if bit))
    return f"{session.replace('-', ' & ')} {' & '.join(names)}"


def chapter_citation(path: LegislationPath) -> str | None:
    """'1999 c 27', '6 & 7 Geo 6 c 48'; None for types not numbered by chapter."""
    if path.type not in CHAPTERED:
        return None
    return f"{regnal_year(path) or path.year} c {path.number}"


def running_number(path: LegislationPath, language: str = "") -> str | None:
    """'asp 5', 'nawm 7', 'dccc 3' (Welsh); None for types cited without one."""
    found = RUNNING_NUMBERS.get(path.type)
    if not found:
        return None
    welsh = language in ("cy", "welsh") or path.language == "welsh"
    return f"{found[1] if welsh else found[0]} {path.number}"


def series_number(path: LegislationPath, subsidiary: str = "") -> str | None:
    """'SI 2006/246', 'SSI 2025/281', 'SR 2022/1', 'SI 2024/1002 (W 171)'; None if no series."""
    prefix = SERIES.get(path.type)
    if not prefix or path.regnal:
        return None
    number = f"{prefix} {path.year}/{path.number}"
    return f"{number} ({subsidiary})" if subsidiary else number
