"""The duties finder: does a provision impose a duty or confer a power, and on whom?

Statutory drafting is regular enough for rules to do well: "must", "shall", "is under a duty",
"it is the duty of" impose duties; "may", "has power to", "is entitled to" confer powers.
"may not" and "must not" are prohibitions, which are duties too. Precision is measured on
the labelled sentences in tests/fixtures/duties.tsv (see tests/test_duties.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Longest first, so "best value authority" wins over "authority".
HOLDERS = (
    "best value authority",
    "relevant authority",
    "responsible authority",
    "local authority",
    "principal authority",
    "county council",
    "district council",
    "council",
    "authority",
    "secretary of state",
    "minister",
    "new employer",
    "transferring employer",
    "receiving employer",
    "employer",
    "transferor",
    "transferee",
    "contractor",
    "provider",
    "employee",
    "tribunal",
    "partner authority",
)
_HOLDER = "|".join(
    re.escape(h[:-1] if h.endswith("y") else h).replace(r"\ ", r"\s+")
    + ("(?:y|ies)" if h.endswith("y") else "")
    for h in HOLDERS
)
_PLURAL = r"(?:s|'s|ies)?"
_DUTY_OF = re.compile(
    rf"\b(?:it\s+is|it\s+shall\s+be|shall\s+be)\s+the\s+duty\s+of\s+(?:the\s+|a\s+|an\s+|each\s+|every\s+)?"
    rf"(?P<holder>{_HOLDER}){_PLURAL}",
    re.I,
)
_MODAL = re.compile(
    r"\b(?P<modal>must(?:\s+not)?|shall(?:\s+not)?|is\s+under\s+a\s+duty|are\s+under\s+a\s+duty|"
    r"(?:is|are)\s+required\s+to|has\s+a\s+duty|have\s+a\s+duty|"
    r"may(?:\s+not)?|(?:has|have)\s+(?:the\s+)?power\s+to|(?:is|are)\s+entitled\s+to)\b",
    re.I,
)
_SUBJECT = re.compile(
    rf"(?P<holders>(?:(?:the\s+|a\s+|an\s+)?(?:{_HOLDER}){_PLURAL}\s+(?:and|or)\s+)?"
    rf"(?:the\s+|a\s+|an\s+)?(?:{_HOLDER}){_PLURAL})\W*(?:\([^)]*\)\s*)?(?:\w+\s+){{0,3}}$",
    re.I,
)
_RELATIVE = re.compile(rf"(?P<holders>(?:{_HOLDER}){_PLURAL})\s+(?:who|which|that)\b[^,.;]*$", re.I)
_PRONOUN = re.compile(r"\b(?:it|he|she|they)\s*$", re.I)
_ONE_HOLDER = re.compile(rf"(?:{_HOLDER})", re.I)
# "may" and "must" that grant or impose nothing: quoted words, "as the case may be", relative
# clauses ("which may be affected"), and dates set by someone else ("such day as ... may appoint").
_NOT_MODAL = re.compile(
    r"[\"“‘'][^\"”’']{0,20}[\"”’']|"
    r"\bsuch\s+(?:day|date|time)s?\s+as\b[^.;]*?\bmay\b|"
    r"\bas\s+(?:\w+\s+){0,4}may\s+be\b|\bas\s+(?:\w+\s+){0,4}(?:may|thinks)\b|"
    r"\b(?:which|that|who)\s+(?:\w+\s+){0,2}may\b|"
    r"\bmay\s+be\s+(?:prescribed|specified)\b|\bmay\s+have\s+been\b",
    re.I,
)
_CANONICAL = {h.replace(" ", ""): h for h in HOLDERS}


@dataclass(frozen=True)
class DutyFinding:
    kind: str  # "duty", "power" or "none"
    holders: tuple[str, ...] = ()


def _canonical(holder: str) -> str:
    key = re.sub(r"\s+", "", holder.lower())
    key = re.sub(r"ies$", "y", key)
    key = re.sub(r"(?:'s|s)$", "", key) if key not in _CANONICAL else key
    name = _CANONICAL.get(key, holder.lower())
    return "Secretary of State" if name == "secretary of state" else name


def _subject(before: str) -> list[str] | None:
    """Who the modal verb at the end of `before` binds; None when nobody is named."""
    relative = _RELATIVE.search(before)
    if relative:
        return [_canonical(relative.group("holders"))]
    clause = re.split(r"[.;:—,]|\(\w{1,4}\)\s", before)[-1]
    subject = _SUBJECT.search(clause)
    if subject:
        return [_canonical(h) for h in _ONE_HOLDER.findall(subject.group("holders"))]
    if _PRONOUN.search(clause):
        named = _ONE_HOLDER.findall(before)
        return [_canonical(named[-1])] if named else [""]
    return None


def classify(text: str) -> DutyFinding:
    """Classify one provision's text; duties beat powers when a provision has both."""
    duties: list[str] = []
    powers: list[str] = []
    for match in _DUTY_OF.finditer(text):
        duties.append(_canonical(match.group("holder")))
    cleaned = _NOT_MODAL.sub(" ", text)
    for match in _MODAL.finditer(cleaned):
        modal = " ".join(match.group("modal").lower().split())
        sentence_start = max(cleaned.rfind(". ", 0, match.start()), match.start() - 160, 0)
        holders = _subject(cleaned[sentence_start : match.start()])
        if holders is None:
            continue
        if modal.startswith("may") and modal != "may not":
            powers.extend(holders)
        else:
            duties.extend(holders)
    if duties:
        return DutyFinding("duty", _unique(duties))
    if powers:
        return DutyFinding("power", _unique(powers))
    return DutyFinding("none")


def _unique(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in names:
        if name:
            seen.setdefault(name, None)
    return tuple(seen)
