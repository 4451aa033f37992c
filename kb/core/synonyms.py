"""Legal abbreviations and synonyms officers and lawyers use interchangeably.

A query naming one member of a group also finds the others: "TUPE" finds passages that say
"Transfer of Undertakings (Protection of Employment)", and "duty to involve" finds the
statutory wording about involving representatives of local persons.
"""

from __future__ import annotations

import re

from kb.core.query import And, Group, Node, Not, Or, Phrase, Term

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

# Members as lowercased words, longest first (by characters, as a leftmost-longest match
# reads them), so "Local Government Act 1999" is not read as a shorter member.
_MEMBERS = sorted(
    ((tuple(member.lower().split()), group) for group in GROUPS for member in group),
    key=lambda mg: len(" ".join(mg[0])),
    reverse=True,
)
_EDGES = re.compile(r"^\W+|\W+$")  # "TUPE," names TUPE: punctuation is not part of a word


def expand(tree: Node) -> Node:
    """The tree with each run of words naming a member of a group (one word or several side
    by side, any case) replaced by the group's members ORed, in brackets; phrases, field
    filters and operators are left exactly as typed."""
    if isinstance(tree, Group):
        return Group(_expanded_run(tree.children), tree.bracketed)
    if isinstance(tree, And | Or):
        return type(tree)(tuple(expand(child) for child in tree.children))
    if isinstance(tree, Not):
        return Not(expand(tree.child))
    if isinstance(tree, Term):
        return _expanded_run((tree,))[0]
    return tree


def _expanded_run(children: tuple[Node, ...]) -> tuple[Node, ...]:
    out: list[Node] = []
    at = 0
    while at < len(children):
        found = _member_at(children, at)
        if found is None:
            out.append(expand(children[at]) if not isinstance(children[at], Term) else children[at])
            at += 1
            continue
        length, group = found
        out.append(_alternatives(group))
        at += length
    return tuple(out)


def _member_at(children: tuple[Node, ...], at: int) -> tuple[int, tuple[str, ...]] | None:
    """(words, group) of the longest member whose words are the plain words from `at`."""
    words = []
    for child in children[at:]:
        if not isinstance(child, Term) or child.field is not None:
            break
        words.append(_EDGES.sub("", child.word).lower())
    for member, group in _MEMBERS:
        if tuple(words[: len(member)]) == member:
            return len(member), group
    return None


def _alternatives(group: tuple[str, ...]) -> Group:
    members = tuple(Phrase(tuple(m.split())) if " " in m else Term(m) for m in group)
    return Group((Or(members),))
