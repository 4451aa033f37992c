"""Point in time: the earlier versions of a legislation source, each its own corpus document.

legislation.gov.uk lists the points in time of a document, or of a fragment of one, as
`<atom:link rel="http://purl.org/dc/terms/hasVersion" href="…/2008-10-01" title="2008-10-01"
hreflang="en">` in its metadata (also `title="enacted"` / `"made"` for the original, and
`"current"`, `"prospective"`, which are not earlier versions). Each earlier English version is
fetched (`{href}/data.xml`, rebased onto KB_LEGISLATION_URL) and parsed as the current text is
(same parser, same scope) into a document with id `<path>/<date>` and front matter
`version_of: <path>`, `version_date: <date>`, valid_from = that date and valid_to = the next
version's (the current text's own date for the last). The current document then applies from
its own version date (`version_date` too, without `version_of`). indexer/passages.py bounds
each provision's dates by its document's, so exactly one version matches any `as_at` day.

The manifest's `versions:` (all | none | since YYYY-MM-DD; default all) limits what is fetched;
`since` keeps the version in force on that day too. Only a `version: latest` source has
earlier versions. A version that cannot be fetched or parsed is a part not fetched (crawl.py's
`not_fetched`): the current text is written, the version's earlier copy is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from lxml import etree

from indexer.clml import check, data_url, parse_clml, parse_xml, read_meta
from indexer.http import Fetcher
from indexer.manifest import Source
from kb.core.config import Settings
from kb.core.models import Document

HAS_VERSION = "http://purl.org/dc/terms/hasVersion"
ATOM_LINK = "{http://www.w3.org/2005/Atom}link"
ORIGINAL = ("enacted", "made")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_source_clml(
    source: Source,
    settings: Settings,
    data: bytes,
    version: str | None,
    retrieved_at: str | None,
    extra: dict,
):
    """A manifest item's CLML parsed as the manifest says (scope, short title, aliases), with
    `source_id` and `extra` in the document's front matter: (Document, body)."""
    return parse_clml(
        data,
        base_url=settings.legislation_url,
        path=source.path,
        scope=source.scope,
        version=version,
        short_title=source.short_title,
        aliases=source.aliases,
        retrieved_at=retrieved_at,
        extra={"source_id": source.id, **extra},
    )


@dataclass(frozen=True)
class Version:
    date: str  # YYYY-MM-DD: the day this text started to apply
    label: str  # as listed: '2008-10-01', 'enacted', 'made'
    url: str  # its data.xml on KB_LEGISLATION_URL


def listed_versions(
    root: etree._Element, base_url: str, original_date: str | None
) -> list[Version]:
    """The dated English versions a CLML response lists, oldest first, one per date.

    The original ('enacted', 'made') is dated by the instrument's enactment or made date and
    left out when that is unknown; a revised text of the same date wins over it.
    """
    found: dict[str, Version] = {}
    for link in root.iter(ATOM_LINK):
        if link.get("rel") != HAS_VERSION or (link.get("hreflang") or "en").lower() != "en":
            continue
        label = (link.get("title") or "").strip()
        date = label if _DATE.match(label) else original_date if label in ORIGINAL else None
        path = urlparse(link.get("href") or "").path.strip("/")
        if not date or not path:
            continue
        if date not in found or found[date].label in ORIGINAL:
            found[date] = Version(date, label, f"{base_url.rstrip('/')}/{path}/data.xml")
    return [found[date] for date in sorted(found)]


def chosen(versions: list[Version], current_date: str, setting: str) -> list[Version]:
    """The versions before the current one that `versions:` asks for."""
    earlier = [v for v in versions if v.date < current_date]
    if setting == "none":
        return []
    if setting.startswith("since "):
        since = setting.split(" ", 1)[1]
        return [v for v in earlier if v.date < since][-1:] + [v for v in earlier if v.date >= since]
    return earlier


def _single_fragment(scope: list[str] | None) -> str | None:
    """The one scope item whose own versions can be fetched, if the scope is just that.

    A fragment (`…/part/1/data.xml`) lists only the dates its own text changed, where the whole
    document lists every date anything in it changed (ukpga/2000/8 lists over 300), so a source
    scoped to one fragment fetches that fragment at each of its own points in time. A scope of
    several items, or a range ('section/137-139', which legislation.gov.uk does not serve as one
    fragment), is fetched whole at each date any item changed and filtered to the scope, so
    every version document holds the whole scope as it stood from its date to the next.
    """
    if not scope or len(scope) != 1 or "-" in scope[0]:
        return None
    return scope[0]


def earlier_versions(
    source: Source,
    fetcher: Fetcher,
    settings: Settings,
    current: Document,
    root: etree._Element,
    current_body: str | None = None,
) -> list[tuple[Document, str]]:
    """The earlier versions of a legislation source as (Document, body), each its own document;
    marks the current document with its own `version_date` when there are any. Consecutive
    versions with the same text are held once (see _held_once)."""
    setting = source.versions
    if setting == "none" or source.version != "latest":
        return []
    base = settings.legislation_url
    meta = read_meta(root, source.path)
    missing: list[dict[str, str]] = []
    fragment = _single_fragment(source.scope)
    roots = _version_roots(source, fetcher, base, fragment, root, missing)
    versions, own_dates = _listed_in(roots, source, base, meta.enacted or meta.made, fragment)
    current_date = max(own_dates, default=None) or (versions[-1].date if versions else None)
    picked = chosen(versions, current_date, setting) if current_date else []
    documents = []
    for i, version in enumerate(picked):
        ends = picked[i + 1].date if i + 1 < len(picked) else current_date
        made = _version_document(source, fetcher, settings, current, version, ends, missing)
        if made:
            documents.append(made)
    if picked:
        current.valid_from = current_date
        current.extra["version_date"] = current_date
    if missing:
        current.extra.setdefault("not_fetched", []).extend(missing)
    return _held_once(documents, current, current_body)


def _version_roots(
    source: Source,
    fetcher: Fetcher,
    base: str,
    fragment: str | None,
    root: etree._Element,
    missing: list,
) -> list[etree._Element]:
    """The responses whose listings give the points in time: the one fragment's, else each
    scope item's, and the whole document's (`root`) unless every scope item was fetched."""
    items = [fragment] if fragment else [s for s in source.scope or [] if "-" not in s]
    roots = _fragment_roots(source, fetcher, base, items, missing)
    if not source.scope or any("-" in s for s in source.scope):
        roots.append(root)
    return roots


def _listed_in(
    roots: list[etree._Element],
    source: Source,
    base: str,
    original: str | None,
    fragment: str | None,
) -> tuple[list[Version], list[str]]:
    """Every version the responses list, oldest first, one per date, and their own dates."""
    listed: dict[str, Version] = {}
    own_dates = []
    for each in roots:
        # Each response's own date (dct:valid) is a point in time too: the current text's for
        # the latest, and for a scope of several items the day one of them last changed.
        own = _own_date(each, source.path)
        own_dates += [own] if own else []
        extra = [Version(own, own, "")] if own else []
        for version in listed_versions(each, base, original) + extra:
            if not fragment:  # the whole document at that point in time, filtered to the scope
                version = Version(
                    version.date, version.label, data_url(base, source.path, version.label)
                )
            listed.setdefault(version.date, version)
    return [listed[date] for date in sorted(listed)], own_dates


_VALIDITY_ATTR = re.compile(r' valid_(?:from|to)="[^"]*"')


def _same_text(one: str, other: str) -> bool:
    """The same text, whatever dates each response put on its provisions (a point-in-time
    response dates them by the whole Act's versions, so two of one text can differ there)."""
    return _VALIDITY_ATTR.sub("", one) == _VALIDITY_ATTR.sub("", other)


def _held_once(
    documents: list[tuple[Document, str]], current: Document, current_body: str | None
) -> list[tuple[Document, str]]:
    """Consecutive versions of the same text as one version, the earlier one's.

    A fragment's listing names the day its current text began as well (mwa/2011/7/section/1
    lists 2012-11-16 while its `dct:valid`, the whole Act's, is 2022-09-01), and a scope of
    several items is fetched whole at dates when only text outside it changed: such a version
    is the one before it, or the current text, from an earlier day. Only versions that meet
    (one's valid_to the next one's valid_from) are joined: one not fetched between them
    leaves both as they are.
    """
    held: list[tuple[Document, str]] = []
    for document, body in documents:
        before = held[-1][0] if held else None
        if before and before.valid_to == document.valid_from and _same_text(held[-1][1], body):
            before.valid_to = document.valid_to
            continue
        held.append((document, body))
    if held and current_body is not None:
        last, body = held[-1]
        if last.valid_to == current.valid_from and _same_text(body, current_body):
            held.pop()
            current.valid_from = last.valid_from
            current.extra["version_date"] = last.extra["version_date"]
    return held


def _own_date(root: etree._Element, path: str) -> str | None:
    try:
        return read_meta(root, path).valid_from
    except ValueError:  # CLMLError: no title, so no metadata to date it by
        return None


def _fragment_roots(
    source: Source, fetcher: Fetcher, base: str, fragments: list[str], missing: list
) -> list[etree._Element]:
    """Each scope fragment's current CLML, for the versions it lists."""
    roots = []
    for fragment in fragments:
        url = data_url(base, f"{source.path}/{fragment}")
        result = fetcher.get(url, validate=check)
        if not result.ok:
            missing.append({"url": url, "reason": result.reason, "doc_id": ""})
            continue
        try:
            roots.append(parse_xml(Path(result.body_path).read_bytes()))
        except (ValueError, etree.Error) as exc:  # CLMLError is a ValueError
            missing.append({"url": url, "reason": str(exc), "doc_id": ""})
    return roots


def _version_document(
    source: Source,
    fetcher: Fetcher,
    settings: Settings,
    current: Document,
    version: Version,
    ends: str,
    missing: list,
) -> tuple[Document, str] | None:
    doc_id = f"{source.path}/{version.date}"
    result = fetcher.get(version.url, validate=check)
    if not result.ok:
        missing.append({"url": version.url, "reason": result.reason, "doc_id": doc_id})
        return None
    try:
        document, body = parse_source_clml(
            source,
            settings,
            Path(result.body_path).read_bytes(),
            version.label,
            result.fetched_at,
            {"version_of": current.id, "version_date": version.date},
        )
    except (ValueError, etree.Error) as exc:  # CLMLError is a ValueError
        missing.append({"url": version.url, "reason": str(exc), "doc_id": doc_id})
        return None
    document.id = doc_id
    document.title = current.title
    document.valid_from, document.valid_to = version.date, ends
    return document, body
