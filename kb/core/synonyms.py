"""Legal abbreviations and synonyms officers and lawyers use interchangeably.

A query naming one member of a group also finds the others: "TUPE" finds passages that say
"Transfer of Undertakings (Protection of Employment)", and "duty to involve" finds the
statutory wording about involving representatives of local persons.
"""

from __future__ import annotations

import re

GROUPS: tuple[tuple[str, ...], ...] = (
    ("TUPE", "transfer of undertakings"),
    ("duty to involve", "involvement of local representatives", "involve representatives"),
    ("best value", "continuous improvement"),
    ("two-tier code", "code of practice on workforce matters"),
    ("LGA 1999", "Local Government Act 1999"),
    ("LGPIHA 2007", "Local Government and Public Involvement in Health Act 2007"),
    ("outsourcing", "contracting out"),
    ("new joiners", "new starters"),
    ("SoS", "Secretary of State"),
)

# Operators, field filters and phrases are left exactly as typed.
_PROTECTED = re.compile(r'"[^"]*"|\b\w+:\S+|\b(?:AND|OR|NOT)\b')


_GROUP_OF = {member.lower(): group for group in GROUPS for member in group}
# Longest first, so "Local Government Act 1999" is not read as a shorter member.
_MEMBER = re.compile(
    r"\b(?:" + "|".join(re.escape(m) for m in sorted(_GROUP_OF, key=len, reverse=True)) + r")\b",
    re.I,
)


def _alternatives(match: re.Match) -> str:
    group = _GROUP_OF[" ".join(match.group().lower().split())]
    return "(" + " OR ".join(f'"{m}"' if " " in m else m for m in group) + ")"


def expand(q: str) -> str:
    """Rewrite a checked query so each synonym found is ORed with its group."""
    pieces = []
    last = 0
    for protected in _PROTECTED.finditer(q):
        pieces.append((q[last : protected.start()], True))
        pieces.append((protected.group(), False))
        last = protected.end()
    pieces.append((q[last:], True))
    out = []
    for text, free in pieces:
        out.append(_MEMBER.sub(_alternatives, text) if free else text)
    return "".join(out)
