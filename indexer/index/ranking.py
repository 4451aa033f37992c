"""How passages rank, whichever engine scores them: each passage's prior weight (its rank
factor), the rank groups a page is ordered by, and the day numbers an as_at search compares.
"""

from __future__ import annotations

import itertools
from collections import Counter

from kb.core.models import CURRENT_STATUSES, Passage
from kb.core.vocabularies import DOC_TYPE_FACTOR

# Superseded, withdrawn and repealed text still matches, but ranks below current text.
NOT_CURRENT_FACTOR = 0.3
# Prelims, signatures and explanatory notes are not the law: they match, but rank below the
# operative provisions (a long title or an explanatory note summarises a whole instrument in
# the very words people search for, so unweighted it would outrank the provision itself).
NOT_OPERATIVE_FACTOR = 0.4
# Day numbers (YYYYMMDD) an open-ended validity runs from and to.
EARLIEST, LATEST = 0, 99991231


def rank_factor(passage: Passage) -> float:
    """Prior weight of a passage: law before commentary, current text before ended text,
    operative text before prelims, signatures and explanatory notes."""
    status = 1.0 if passage.status in CURRENT_STATUSES else NOT_CURRENT_FACTOR
    operative = 1.0 if passage.operative else NOT_OPERATIVE_FACTOR
    return status * operative * DOC_TYPE_FACTOR.get(passage.doc_type, 0.8)


def version_value(passage: Passage) -> str:
    """The indexed `version` of a passage: "current", or "historical" for one of an earlier
    version of its document (indexer/sources/legislation/versions.py), which only an as_at
    search returns."""
    return "current" if passage.current_version else "historical"


def day(value: str | None, default: int) -> int:
    """A YYYY-MM-DD date as the day number both engines index; default when there is none."""
    return int(value.replace("-", "")) if value else default


def group_order(units: int) -> list[tuple[bool, int, bool]]:
    """(operative, how many of the words as typed, current) of each rank group, best first:
    operative text before text that is not the law (long titles, signatures, explanatory
    notes); then passages with more of the words as typed before those with fewer, so those
    matching only through a synonym come last; at each level, current text first, then
    withdrawn, superseded and repealed text. So a synonym never outranks the words typed, and
    ended text never outranks current text that has as many of the words."""
    return list(itertools.product((True, False), range(units, -1, -1), (True, False)))


def rank_groups(
    matched: set[int], words: list[set[int]], current: frozenset[int], prelims: frozenset[int]
) -> list[set[int]]:
    """The matches in rank order (group_order), as groups each ranked by score; `words`:
    the passages with each word as typed, `prelims`: those that are not operative text."""
    level: Counter[int] = Counter()
    for docs in words:
        level.update(docs)
    by_key: dict[tuple[bool, int, bool], set[int]] = {}
    for doc in matched:
        by_key.setdefault((doc not in prelims, level[doc], doc in current), set()).add(doc)
    return [by_key.get(key, set()) for key in group_order(len(words))]


def top_in_group_order(groups: list[int], wanted: int) -> tuple[list[int], int]:
    """The ranked pass's top hits in rank-group order: `groups` holds each hit's group (its
    index in group_order), in the pass's order. Returns the positions of the first `wanted`
    (each group's hits by score, as the pass ranked them) and the worst group among them (-1
    for none). They are the page when no match outside the top hits is in a better group
    than that worst one: every other match of that group scores lower than its top hits."""
    order = sorted(range(len(groups)), key=groups.__getitem__)[:wanted]
    return order, max((groups[i] for i in order), default=-1)
