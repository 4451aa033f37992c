"""Controlled vocabularies that the index, the filters and the docs share.

Duty-holders: the duties finder (indexer/duties.py) recognises many names for the same kind of
body; a passage is indexed under one term per kind, so the holder facet shows "authority" once
rather than "authority", "relevant authority" and "best value authority" side by side, and
`holder=employer` finds a duty of the transferee. The finder's own words stay in the text.
"""

from __future__ import annotations

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
