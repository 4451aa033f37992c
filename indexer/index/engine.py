"""The seam between the service and a search engine.

Everything above this line (CLI, web pages, API) speaks SearchRequest / SearchResponse and
passage dicts; everything below it is one engine's business. Whoosh serves this corpus
(indexer/index/whoosh_engine.py); a larger corpus can plug another engine in by implementing the same
two functions and the Engine protocol.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kb.core import vocabularies
from kb.core.models import Passage
from kb.core.query import Group, parse

# The fields a word without a field is searched in, and how much a match in each counts (both
# engines score with these; bench/peers.py weights its references the same way).
FIELD_BOOSTS = {"title": 3.0, "names": 2.5, "heading": 2.0, "body": 1.0, "cite_text": 1.5}
SEARCH_FIELDS = tuple(FIELD_BOOSTS)
MAX_LIMIT = 100
MAX_OFFSET = 1000
# The facets, and the SearchRequest filter picking each one's values: kb.core.vocabularies.
FACETS = vocabularies.FACETS
FACET_FILTERS = vocabularies.FACET_FILTERS
# Values per facet in a response, most passages first. Counts are over every match; only the
# list is cut, so a corpus of thousands of documents does not send thousands of facet links.
FACET_SIZE = 30
MAX_FACET_SIZE = 1000
# Indexed words one wildcard (tok*, consult?ng) may stand for: the most frequent (most
# passages, ties alphabetically), the same words in both engines. A wildcard that matched more
# is named in the response's truncated_prefixes with how many words it kept, so a prefix
# shared by thousands of words (token…, tokenise…) costs a bounded search, not one per word.
MAX_PREFIX_TERMS = 64
# Seconds one search may spend before it stops and answers with what it has, flagged
# `partial` (Whoosh stops between matched passages; tantivy, whose passes run in Rust and are
# not interruptible, skips the passes after the one running out of time).
SEARCH_BUDGET_S = 10.0
CLOCK: Callable[[], float] = time.monotonic  # what the budget is measured with


class Deadline:
    """A search's time budget (SEARCH_BUDGET_S by CLOCK, both read when the search starts)."""

    def __init__(self, budget_s: float | None = None, clock: Callable[[], float] | None = None):
        self.clock = clock or CLOCK
        self.at = self.clock() + (SEARCH_BUDGET_S if budget_s is None else budget_s)

    def expired(self) -> bool:
        return self.clock() >= self.at


def cap_expansion(frequencies: dict[str, int]) -> list[str]:
    """The words a wildcard stands for: those with most passages, at most MAX_PREFIX_TERMS
    (ties alphabetically), in that order. frequencies: word -> passages (summed over fields)."""
    ranked = sorted(frequencies.items(), key=lambda wn: (-wn[1], wn[0]))
    return [word for word, _ in ranked[:MAX_PREFIX_TERMS]]


def truncated_prefix(shown: str, matched: int) -> dict[str, Any]:
    """How a response names a wildcard that stood for more words than MAX_PREFIX_TERMS."""
    return {"prefix": shown, "kept": min(matched, MAX_PREFIX_TERMS), "matched": matched}


@dataclass
class SearchRequest:
    # The query tree (kb.core.query), checked and expanded with synonyms (kb.search). A string
    # is parsed (kb.core.query.parse), for callers that search an engine directly.
    q: Group
    doc_type: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)  # may include "current"
    document: list[str] = field(default_factory=list)
    duty: list[str] = field(default_factory=list)  # "duty", "power"
    holder: list[str] = field(default_factory=list)  # "employer", "best value authority"
    extent: list[str] = field(default_factory=list)  # "E", "W", "S", "NI": applies to any of them
    stale: list[str] = field(default_factory=list)  # ["stale"]: guidance citing changed law
    as_at: str | None = None  # YYYY-MM-DD: only text that applied on that date
    limit: int = 10
    offset: int = 0
    typed: Group | None = None  # the tree as typed, before synonyms (a string is parsed)
    facet_size: int = FACET_SIZE

    def __post_init__(self):
        if isinstance(self.q, str):
            self.q = parse(self.q)
        if isinstance(self.typed, str):
            self.typed = parse(self.typed)


@dataclass
class SearchResponse:
    query: str
    total: int
    results: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]
    limit: int
    offset: int
    relaxed: bool = False  # no passage had every word, so any-word matches are shown
    suggestion: str | None = None  # "did you mean", when a word is not in the index
    took_ms: float = 0.0
    facets_truncated: list[str] = field(default_factory=list)  # facets with more values
    # Wildcards that matched more than MAX_PREFIX_TERMS words: {prefix, kept, matched}
    truncated_prefixes: list[dict[str, Any]] = field(default_factory=list)
    # The time budget ran out: results, total and facets are what was found by then
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "relaxed": self.relaxed,
            "suggestion": self.suggestion,
            "took_ms": round(self.took_ms, 2),
            "results": self.results,
            "facets": self.facets,
            "facets_truncated": self.facets_truncated,
            "truncated_prefixes": self.truncated_prefixes,
            "partial": self.partial,
        }


def filter_values(request: SearchRequest) -> list[tuple[str, list[str]]]:
    """The request's filters as (index field, values it may have), "current" as the current
    statuses; each engine ANDs the fields that have values, a passage matching any value."""
    statuses: list[str] = []
    for status in request.status:
        statuses.extend(vocabularies.CURRENT_STATUSES if status == "current" else [status])
    return [
        ("doc_type", request.doc_type),
        ("status", statuses),
        ("document_id", request.document),
        ("duty", request.duty),
        ("holder", request.holder),
        ("extent", request.extent),
        ("stale", request.stale),
    ]


# Facet counts are disjunctive: a facet is counted with every other filter applied but not its
# own (FACET_FILTERS), so choosing doc_type=act keeps the other types listed, with what
# choosing them too would add.


def filtered_facets(request: SearchRequest) -> dict[str, SearchRequest]:
    """Each facet with an active filter, and the request without that filter: what the
    facet's counts are taken over (the other facets count the matches of the request)."""
    return {
        name: dataclasses.replace(request, **{key: []})
        for name, key in FACET_FILTERS.items()
        if getattr(request, key)
    }


def facet_lists(
    counts: dict[str, Iterable[tuple[Any, int]]], size: int
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Each facet's values, most passages first (ties alphabetically) and at most size of
    them, and the names of the facets that had more. Empty values are not facet values."""
    facets, truncated = {}, []
    for name, pairs in counts.items():
        ranked = sorted(((v, n) for v, n in pairs if v), key=lambda vn: (-vn[1], str(vn[0])))
        facets[name] = [{"value": value, "count": n} for value, n in ranked[:size]]
        if len(ranked) > size:
            truncated.append(name)
    return facets, truncated


class Engine(Protocol):
    """What the service needs from an index version, whichever engine wrote it."""

    def search(self, request: SearchRequest) -> SearchResponse: ...

    def passage(self, passage_id: str) -> dict[str, Any] | None: ...

    def passages_of(self, document_id: str) -> list[dict[str, Any]]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


Writer = Callable[[Path, Iterable[Passage], Callable[[int], None] | None], int]

# name -> (module with write_index(path, passages, progress) and an engine class)
ENGINES = {
    "whoosh": ("indexer.index.whoosh_engine", "WhooshEngine"),
    "tantivy": ("indexer.index.tantivy_engine", "TantivyEngine"),
}


class UnknownEngine(ValueError):
    pass


def _module(name: str):
    import importlib

    if name not in ENGINES:
        raise UnknownEngine(f"Unknown search engine {name!r}; use one of: {', '.join(ENGINES)}.")
    return importlib.import_module(ENGINES[name][0])


def writer_for(name: str) -> Writer:
    """The function that writes an index version for this engine."""
    return _module(name).write_index


def open_engine(name: str, path: Path) -> Engine:
    """Open an index version written by this engine (named in the version's manifest)."""
    return getattr(_module(name), ENGINES[name][1])(path)
