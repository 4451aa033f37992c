"""What every engine indexes for a passage, and the loop that hands passages to its writer.

`indexed` turns a Passage into its field values, by kind: the terms (exact values: filters
and facets), the searched text fields (analysed with indexer/index/analysis), the words for
"did you mean", the numbers, the rank factor, and the stored record that the engine's
passage(), passages_of() and search hits give back. An engine's write_index only maps
these onto its own field types (`write_all` runs the loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from indexer.index import ranking
from kb.core.models import Passage

# The record's fields that are not searched: the passage's address, citation and dates.
RECORD_ONLY = (
    "citation",
    "pin",
    "anchor",
    "label",
    "short_citation",
    "source_url",
    "status_date",
    "valid_from",
    "valid_to",
    "sample",
)
# The searched fields whose words are the "did you mean" words, as one text (spell).
SPELL_FIELDS = ("heading", "body")


@dataclass(frozen=True)
class IndexedPassage:
    """One passage's field values, by kind, and its stored record."""

    terms: dict[str, tuple[str, ...]]  # field -> exact values (none: the field is empty)
    texts: dict[str, str]  # engine.SEARCH_FIELDS -> text, analysed as analysis.STEM does
    spell: str  # SPELL_FIELDS' texts: unstemmed words, for "did you mean" (analysis.SPELL)
    numbers: dict[str, int]  # valid_from_n and valid_to_n (day numbers), order
    rank: float  # ranking.rank_factor
    prelim: bool  # not operative text (ranking.group_order)
    record: dict[str, Any]


def indexed(passage: Passage) -> IndexedPassage:
    holders = holders_of(passage)
    terms = {
        "id": (passage.id,),
        "document_id": (passage.document_id,),
        "doc_type": (passage.doc_type,),
        "status": (passage.status,),
        "duty": (passage.duty,) if passage.duty else (),
        "holder": tuple(holders),
        "extent": tuple(passage.extent),
        "stale": ("stale",) if passage.stale_citations else (),
        "version": (ranking.version_value(passage),),
    }
    texts = {
        "title": passage.title,
        "names": " ".join(passage.aliases),
        "heading": passage.heading,
        "body": passage.text,
        "cite_text": f"{passage.citation} {passage.short_citation}",
    }
    numbers = {
        "valid_from_n": ranking.day(passage.valid_from, ranking.EARLIEST),
        "valid_to_n": ranking.day(passage.valid_to, ranking.LATEST),
        "order": passage.order,
    }
    return IndexedPassage(
        terms=terms,
        texts=texts,
        spell=" ".join(texts[name] for name in SPELL_FIELDS),
        numbers=numbers,
        rank=ranking.rank_factor(passage),
        prelim=not passage.operative,
        record=record(passage, holders),
    )


def record(passage: Passage, holders: list[str]) -> dict[str, Any]:
    """The passage as passage(), passages_of() and a search hit give it back."""
    return {name: getattr(passage, name) for name in RECORD_ONLY} | {
        "id": passage.id,
        "document_id": passage.document_id,
        "doc_type": passage.doc_type,
        "status": passage.status,
        "title": passage.title,
        "heading": passage.heading,
        "text": passage.text,
        "duty": passage.duty or "none",
        "holders": holders,
        "order": passage.order,
        "cites": list(passage.cites or []),
        "extent": list(passage.extent),
        "operative": bool(passage.operative),
        "notes": passage.notes or "",
        "stale_citations": list(passage.stale_citations or []),
    }


def holders_of(passage: Passage) -> list[str]:
    """Who the duty or power falls on, each once (a holder may arrive comma-separated)."""
    found = [h.strip() for h in ",".join(passage.holders).split(",")]
    return list(dict.fromkeys(h for h in found if h))


def write_all(
    passages: Iterable[Passage],
    add: Callable[[IndexedPassage], None],
    progress: Callable[[int], None] | None,
    commit: Callable[[], None],
    cancel: Callable[[], None],
) -> int:
    """Hand each passage's field values to `add`, in corpus order (ties rank in that order),
    then `commit`; `cancel` instead if anything fails or the build is interrupted. Returns
    the number of passages written; progress(1) after each."""
    count = 0
    try:
        for passage in passages:
            add(indexed(passage))
            count += 1
            if progress:
                progress(1)
    except BaseException:
        cancel()
        raise
    commit()
    return count
