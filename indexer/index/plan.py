"""What both engines run for one request, built from its query tree, and the answer's shape.

An engine compiles trees (kb.core.query) into its own query objects; this module decides
which trees: passages with every word rank first (the strict reading, boosted), passages
with any of them follow (the relaxed reading), passages that say the words typed as one
phrase rank higher still, and rank groups count the words as typed (before synonyms). A
query with operators, brackets or fields is "explicit": it means exactly what it says, so it
is not relaxed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.index import highlight
from indexer.index.engine import SearchRequest, SearchResponse, facet_lists
from kb.core.query import Group, Node, Phrase, Term, Wildcard
from kb.core.words import STOP_WORDS

ALL_WORDS_BOOST = 2.0
EXACT_PHRASE_BOOST = 2.0
# Words counted for rank groups: the first eight of a longer question (the tantivy engine
# asks for "at least k of them" as combinations of the words, so their number is bounded).
MAX_RANK_UNITS = 8


@dataclass(frozen=True)
class Plan:
    """The trees a search runs. `tree` is read twice: every word of a Group (strict) and any
    of them (relaxed); `exact` and `units` are whole queries of their own (a Group each),
    `exact` read strictly and each unit loosely."""

    tree: Group  # the query, synonyms expanded
    explicit: bool  # operators, brackets or fields: no relaxed reading, no phrase boost
    exact: Group | None  # the words typed as one phrase (plain queries of two or more words)
    units: tuple[Group, ...]  # the words (and phrases) typed, each counted once by rank groups
    typed: str  # the query as typed, before synonyms: what "did you mean" checks


def for_request(request: SearchRequest) -> Plan:
    typed = request.typed or request.q
    explicit = is_explicit(typed)
    return Plan(
        tree=request.q,
        explicit=explicit,
        exact=None if explicit else exact_phrase(typed),
        units=typed_units(typed, explicit),
        typed=str(typed),
    )


def is_explicit(typed: Group) -> bool:
    """Operators, brackets or fields: the query means exactly what it says."""
    return any(
        not isinstance(node, Term | Phrase | Wildcard) or node.field for node in typed.children
    )


def exact_phrase(typed: Group) -> Group | None:
    """duty to consult -> "duty to consult", for plain words (no phrase, no prefix*)."""
    words = typed.children
    if len(words) < 2 or any(isinstance(w, Phrase) or "*" in str(w) for w in words):
        return None
    return Group((Phrase(tuple(str(w) for w in words)),), bracketed=False)


def typed_units(typed: Group, explicit: bool) -> tuple[Group, ...]:
    """The words (and quoted phrases) as typed, stop words left out, each once, at most
    MAX_RANK_UNITS; an explicit query is one unit, as it means exactly what it says."""
    if explicit:
        return (typed,)
    words = [w for w in typed.children if " ".join(_words(w)).lower() not in STOP_WORDS]
    return tuple(Group((w,), bracketed=False) for w in dict.fromkeys(words))[:MAX_RANK_UNITS]


def _words(node: Node) -> tuple[str, ...]:
    return node.words if isinstance(node, Phrase) else (str(node),)


# --- The answer, shaped the same way by both engines --------------------------------------


def marks(planned: Plan, expanded: Mapping[str, Iterable[str]]) -> dict[str, highlight.Marks]:
    """The words a hit's text and heading show marked: those of the query run and of the
    exact phrase (indexer/index/highlight). expanded: field -> the indexed words the
    engine let the query's wildcards stand for there."""
    return highlight.marks((planned.tree, planned.exact), expanded)


def hit(record: dict[str, Any], score: float, shown: dict[str, highlight.Marks]) -> dict[str, Any]:
    """A result: the passage's record with its score and highlights (shown: plan.marks)."""
    record["score"] = round(score, 4)
    snippet, heading = highlight.highlights(record["text"], record["heading"], shown)
    record["snippet_html"], record["heading_html"] = snippet, heading
    return record


@dataclass
class Found:
    """What an engine found for a request, before it is shaped into a SearchResponse."""

    total: int
    hits: list[dict[str, Any]]
    counts: dict[str, Iterable[tuple[Any, int]]]  # facet -> (value, passages)
    relaxed: bool = False
    suggestion: str | None = None
    cut: list[dict[str, Any]] = field(default_factory=list)  # truncated_prefixes
    partial: bool = False


def response(request: SearchRequest, found: Found, started: float) -> SearchResponse:
    """started: time.perf_counter() when the search began."""
    facets, truncated = facet_lists(found.counts, request.facet_size)
    return SearchResponse(
        query=str(request.q),
        total=found.total,
        results=found.hits,
        facets=facets,
        facets_truncated=truncated,
        limit=request.limit,
        offset=request.offset,
        relaxed=found.relaxed,
        suggestion=found.suggestion,
        took_ms=(time.perf_counter() - started) * 1000,
        truncated_prefixes=found.cut,
        partial=found.partial,
    )


def wants_suggestion(request: SearchRequest, found: Found) -> bool:
    """ "Did you mean" is looked for when few passages (or only some-word ones) were found."""
    few = min(found.total, request.offset + request.limit) < 3
    return (found.relaxed or few) and not found.partial


def suggestion(
    typed: str, known: Callable[[str], bool], closest: Callable[[str, int], str | None]
) -> str | None:
    """The query as typed with each unknown word replaced by `closest` (the closest indexed
    word within 1 edit, 2 from six letters), or None if no word changed. Words of four
    letters or more are checked; abbreviations (TUPE, LGPIHA) and fields are not."""
    changed = False
    words = []
    for token in typed.split():
        word = token.strip('"()')
        bare = word.lower()
        if len(bare) >= 4 and bare.isalpha() and not word.isupper() and ":" not in token:
            found = None if known(bare) else closest(bare, 1 if len(bare) < 6 else 2)
            if found:
                token = token.replace(word, found)
                changed = True
        words.append(token)
    return " ".join(words) if changed else None


def closest(
    word: str, candidates: Iterable[str], maxdist: int, frequency: Callable[[str], int]
) -> str | None:
    """For an engine without a speller of its own: the candidate within maxdist edits of word
    (not word itself) that most passages have (`frequency`), ties alphabetically."""
    close = [
        other
        for other in set(candidates)
        if other != word and abs(len(other) - len(word)) <= maxdist and within(word, other, maxdist)
    ]
    return min(close, key=lambda other: (-frequency(other), other)) if close else None


def within(a: str, b: str, maxdist: int) -> bool:
    """Levenshtein distance of a and b is at most maxdist."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > maxdist:
            return False
        previous = current
    return previous[-1] <= maxdist
