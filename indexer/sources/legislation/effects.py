"""An item's effects, fetched with its text: `{base}/changes/affected/{item}/data.feed`, every page.

The feed's `next` links name the public site (`http://www.legislation.gov.uk/...?page=2`); they
are followed on the configured base (KB_LEGISLATION_URL), path and query kept, so a mirror, a
test server or https is used for every page. More than MAX_PAGES pages fails the source.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from indexer.feeds import FeedError, check_feed, page_effects, parse_feed
from indexer.http import Fetcher, SourceFailed
from indexer.manifest import Source
from kb.core.config import Settings
from kb.core.legislation import document_path
from kb.core.models import Document

MAX_PAGES = 200  # 4,000 effects at 20 a page; an item with more is not one this project holds


class FeedUnavailable(Exception):
    """A feed page that could not be fetched or read; `url` is the page."""

    def __init__(self, reason: str, url: str):
        super().__init__(reason)
        self.reason, self.url = reason, url


def changes_url(base_url: str, item: str) -> str:
    return f"{base_url.rstrip('/')}/changes/affected/{item}/data.feed"


def item_prefixes(base_url: str, item: str) -> tuple[str, str]:
    """(text URLs, changes feed URLs) of an item start with these."""
    base = base_url.rstrip("/")
    return f"{base}/{item}/", f"{base}/changes/affected/{item}/"


def rebase(base_url: str, url: str) -> str:
    """A link from a feed, on the configured base: path and query kept."""
    parsed = urlparse(url)
    query = f"?{parsed.query}" if parsed.query else ""
    return f"{base_url.rstrip('/')}{parsed.path}{query}"


def fetch_pages(first_url: str, fetcher: Fetcher, base_url: str, max_pages: int = MAX_PAGES):
    """Yield (FeedPage, FetchResult) for each page, following `next`. A page that cannot be
    fetched or read raises FeedUnavailable; more than max_pages raises SourceFailed."""
    url, seen = first_url, set()
    while url:
        if len(seen) >= max_pages:
            raise SourceFailed(
                f"the feed has more than {max_pages} pages; stopped at {url}", url=first_url
            )
        seen.add(url)
        result = fetcher.get(url, validate=check_feed)
        if not result.ok:
            raise FeedUnavailable(result.reason, url)
        try:
            page = parse_feed(Path(result.body_path).read_bytes())
        except (FeedError, OSError) as exc:
            raise FeedUnavailable(f"unusable feed: {exc}", url) from exc
        yield page, result
        following = rebase(base_url, page.next) if page.next else None
        url = following if following not in seen else None


def _fetch(source: Source, fetcher: Fetcher, settings: Settings) -> tuple[list[dict], str | None]:
    item = document_path(source.path or "") or (source.path or "")
    effects: dict[str, dict] = {}
    times = []
    for page, result in fetch_pages(
        changes_url(settings.legislation_url, item), fetcher, settings.legislation_url
    ):
        times.append(result.fetched_at or "")
        for effect in page_effects(page):
            effects.setdefault(effect["id"], effect)
    return list(effects.values()), min(times) if times else None


def fetch_effects(source: Source, fetcher: Fetcher, settings: Settings) -> list[dict]:
    """Every effect on the source's item, as the corpus front matter's `effects` mappings."""
    return _fetch(source, fetcher, settings)[0]


def record_effects(
    document: Document, source: Source, fetcher: Fetcher, settings: Settings
) -> None:
    """Put the item's effects on its document (`effects`, `effects_fetched_at`). A feed that
    cannot be fetched leaves the text as it is and says why in `effects_error`, unless this
    fetch was asked for the effects themselves (`kb update` named the feed as fresh): then the
    source fails, so the earlier document, with its earlier effects, is kept."""
    try:
        effects, fetched_at = _fetch(source, fetcher, settings)
    except FeedUnavailable as exc:
        if fetcher.fresh is not None and fetcher.fresh(exc.url):
            raise SourceFailed(f"effects not fetched: {exc.reason}", url=exc.url) from exc
        document.extra["effects_error"] = f"{exc.reason} ({exc.url})"
        return
    document.extra["effects"] = effects
    document.extra["effects_fetched_at"] = fetched_at
