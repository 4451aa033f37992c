"""Sources by kind: each module fetches what its kind of source needs and parses it.

    legislation   legislation.gov.uk CLML, its points in time and its changes feed
    govuk         the GOV.UK Content API (a publication's HTML parts too)
    archived      pages in a web archive
    pdf           PDF guidance
    local         a file read in place (and what `kb add` converts)

Every kind has the crawler's entry point, a `Parser` (indexer/crawl.py PARSERS names it),
and, where fetching and parsing part cleanly, a `parse` that takes the fetched bytes and the
source and returns documents, fetching nothing. Formats shared by several kinds live outside
this package: indexer/blocks.py, indexer/html_markdown.py, indexer/clml.py, indexer/feeds.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from indexer.http import Fetched, Fetcher, fetch_body
from indexer.manifest import Source
from kb.core.config import Settings
from kb.core.models import Document

Parsed = tuple[Document, str]
"""A document and its body (corpus Markdown)."""

Entry = Source | Mapping[str, Any]
"""A manifest Source; a mapping (an entry as YAML reads it) is taken as one, unchecked."""

Given = Fetcher | bytes | str
"""What a parser reads from: the crawler's Fetcher, or the response itself (bytes, text)."""


class Parser(Protocol):
    """The crawler's entry point for a kind (`parse_source` in each module here)."""

    def __call__(self, source: Source, fetcher: Fetcher, settings: Settings) -> list[Parsed]: ...


def fetched(
    given: Given, url: str | None, validate: Callable[[bytes], None] | None = None
) -> Fetched:
    """url's body through the fetcher, or the response given directly (nothing fetched)."""
    if isinstance(given, str):
        return Fetched(given.encode("utf-8"), url)
    if isinstance(given, bytes):
        return Fetched(given, url)
    return fetch_body(given, url, validate)
