"""legislation.gov.uk sources: an item's text, its points in time and its effects.

The source fetches several resources, each through the crawler's Fetcher, and hands each one
to a pure parser: the text (`…/data.xml`, indexer/clml.py), the earlier versions that text
lists (versions.py here, parsed by indexer/clml.py too) and the changes feed (effects.py here,
parsed by indexer/feeds.py).
"""

from __future__ import annotations

from indexer.clml import check, data_url, parse_xml
from indexer.http import Fetcher, fetch_body
from indexer.manifest import Source
from indexer.sources import Parsed
from indexer.sources.legislation.effects import record_effects
from indexer.sources.legislation.versions import earlier_versions, parse_source_clml
from kb.core.config import Settings


def parse_source(source: Source, fetcher: Fetcher, settings: Settings) -> list[Parsed]:
    """Parser-registry entry for kind 'legislation': fetch data.xml once, filter to the scope;
    then the earlier versions it lists, each its own document (versions.py)."""
    url = data_url(settings.legislation_url, source.path or "", source.version)
    text = fetch_body(fetcher, url, validate=check)
    notes = {"notes": source.notes} if source.notes else {}
    document, body = parse_source_clml(
        source, settings, text.data, source.version, text.retrieved_at, notes
    )
    if source.title:
        document.title = source.title
    record_effects(document, source, fetcher, settings)  # extra: effects, effects_fetched_at
    versions = earlier_versions(source, fetcher, settings, document, parse_xml(text.data), body)
    return [(document, body), *versions]
