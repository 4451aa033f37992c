"""GOV.UK Content API items (publication, html_publication, detailed_guide, guide,
travel_advice, manual_section, …) -> corpus documents.

`parse_source` fetches an item (and a publication's HTML parts) through the crawler's Fetcher;
`parse` turns the fetched bytes into documents; `parse_content_item` does one decoded item.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from indexer.blocks import Block, head, md_escape, para, render_blocks
from indexer.html_markdown import html_to_blocks, html_to_text, tidy_punctuation
from indexer.http import Fetched, Fetcher, SourceFailed, fetch_body
from indexer.manifest import Source, apply_manifest, as_source, iso_date
from indexer.sources import Entry, Given, Parsed, fetched
from kb.core.config import Settings
from kb.core.models import Document
from kb.core.pins import slugify

OGL = "Open Government Licence v3.0"
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0."
)

# GOV.UK document_type -> corpus doc_type (anything else is "guidance").
DOC_TYPE_MAP = {
    "statutory_guidance": "statutory_guidance",
    "correspondence": "correspondence",
    "guidance": "guidance",
    "detailed_guide": "guidance",
    "guide": "guidance",
}
NATIONS = (("england", "E"), ("wales", "W"), ("scotland", "S"), ("northern_ireland", "N.I."))


class GovukError(ValueError):
    """A Content API item this parser cannot use."""


def _titles(links: dict, key: str) -> list[str]:
    return [str(item["title"]) for item in links.get(key) or [] if item.get("title")]


def _extent(details: dict) -> str | None:
    nations = details.get("national_applicability") or {}
    codes = [code for key, code in NATIONS if (nations.get(key) or {}).get("applicable")]
    return "+".join(codes) or None


def _body_html(details: dict) -> str:
    body = details.get("body") or ""
    if isinstance(body, list):  # multiple content types: [{"content_type": ..., "content": ...}]
        html = [b.get("content", "") for b in body if b.get("content_type") == "text/html"]
        return html[0] if html else ""
    return str(body)


_ATTACHMENT_FACTS = (
    "attachment_type", "content_type", "file_size", "number_of_pages", "isbn",
    "unique_reference", "command_paper_number", "hoc_paper_number",
)  # fmt: skip


def _attachments(details: dict, base_url: str, listed: set[str] = frozenset()) -> list[dict]:
    """A page's documents: `featured_attachments` (ids into `attachments`) first, in their
    order, then the other `attachments`, then older items' rendered `documents`. An attachment
    whose URL is in `listed` (already linked from the body) is left out; so is a repeat."""
    found: list[dict[str, Any]] = []
    seen = set(listed)
    for entry in _asset_entries(details, base_url) + _rendered_entries(details, base_url):
        if entry["url"] not in seen:
            seen.add(entry["url"])
            found.append(entry)
    return found


def _asset_entries(details: dict, base_url: str) -> list[dict[str, Any]]:
    """`attachments`, the featured ones (`featured_attachments`, ids into them) first."""
    assets = [a for a in details.get("attachments") or [] if isinstance(a, dict)]
    by_id = {str(a["id"]): a for a in assets if a.get("id") not in (None, "")}
    featured = [by_id[str(i)] for i in details.get("featured_attachments") or [] if str(i) in by_id]
    ordered = featured + [a for a in assets if not any(a is f for f in featured)]
    return [entry for item in ordered if (entry := _asset_entry(item, base_url))]


def _asset_entry(item: dict, base_url: str) -> dict[str, Any] | None:
    title = " ".join(str(item.get("title") or "").split())
    if not title or not item.get("url"):
        return None
    entry = {"title": title, "url": urljoin(base_url + "/", str(item["url"]))}
    entry.update({k: item[k] for k in _ATTACHMENT_FACTS if item.get(k) not in (None, "")})
    return entry


def _rendered_entries(details: dict, base_url: str) -> list[dict[str, Any]]:
    """Older items' `documents`: rendered attachment sections."""
    entries = []
    for html in details.get("documents") or []:
        soup = BeautifulSoup(str(html), "lxml")
        link = soup.select_one("h2 a[href], h3 a[href]") or soup.find("a", href=True)
        if not link:
            continue
        title = " ".join(link.get_text(" ").split())
        entry = {"title": title, "url": urljoin(base_url + "/", link["href"])}
        meta = soup.find(class_=re.compile("metadata"))
        text = " ".join(meta.get_text(" ").split()) if meta else ""
        if text:  # "Ref: ISBN …, HC 1025 2016-17 PDF, 3.75MB, 68 pages"
            entry["metadata"] = tidy_punctuation(text)
        entries.append(entry)
    return entries


def _linked_urls(html: str, base_url: str) -> set[str]:
    soup = BeautifulSoup(html, "lxml")
    return {urljoin(base_url + "/", a["href"]) for a in soup.find_all("a", href=True)}


def html_part_paths(data: dict) -> list[str]:
    """Base paths of a publication's HTML parts, for the crawler to fetch and parse too."""
    paths: list[str] = []
    for child in (data.get("links") or {}).get("children") or []:
        if child.get("document_type") == "html_publication" and child.get("base_path"):
            paths.append(child["base_path"])
    for item in (data.get("details") or {}).get("attachments") or []:
        url = str(item.get("url") or "")
        if item.get("attachment_type") == "html" and url:
            path = re.sub(r"^https?://[^/]+", "", url)
            if path not in paths:
                paths.append(path)
    return paths


def default_id(data: dict, doc_type: str) -> str:
    """`guidance/<last part of the base path>`; a manual's section goes below its manual
    (`guidance/<manual>/<section>`), as many manuals have an "introduction"."""
    base_path = str(data.get("base_path") or "").rstrip("/")
    slug = slugify(base_path.rsplit("/", 1)[-1] or str(data.get("title") or ""))
    _, manual = _manual_of(data)
    if data.get("schema_name") == "manual_section" and manual:
        manual_slug = slugify(str(manual).rstrip("/").rsplit("/", 1)[-1])
        if manual_slug and manual_slug != slug:
            slug = f"{manual_slug}/{slug}"
    return ("code/" if doc_type == "code_of_practice" else "guidance/") + slug


def _below_part(blocks: list[Block]) -> list[Block]:
    """A part's own headings nest under the part's (level 2): its top level becomes 3, whether
    it starts at <h2> (guide) or <h3> (travel_advice)."""
    levels = [b.level for b in blocks if b.kind == "heading"]
    shift = 3 - min(levels) if levels else 0
    for block in blocks:
        if block.kind == "heading":
            block.level = min(max(block.level + shift, 3), 6)
    return blocks


def _attachment_line(item: dict[str, Any]) -> str:
    facts = [str(item["content_type"])] if item.get("content_type") else []
    if item.get("metadata"):
        facts.append(str(item["metadata"]))
    if isinstance(item.get("file_size"), int) and item["file_size"] > 0:
        facts.append(file_size(item["file_size"]))
    elif item.get("file_size"):
        facts.append(str(item["file_size"]))
    if item.get("number_of_pages"):
        facts.append(f"{item['number_of_pages']} pages")
    tail = f" ({md_escape(', '.join(facts))})" if facts else ""
    return f"- [{md_escape(item['title'])}](<{item['url']}>)" + tail


def file_size(size: int) -> str:
    """1932905 -> "1.84 MB" (1024-based, as GOV.UK shows attachment sizes)."""
    value, units = float(size), ["bytes", "KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    if units[0] == "bytes":
        return f"{size} bytes"
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") + f" {units[0]}"


def api_url(settings: Settings, base_path: str) -> str:
    """`https://www.gov.uk/api/content/<base_path>` under the configured GOV.UK base."""
    return settings.govuk_url.rstrip("/") + "/api/content/" + base_path.lstrip("/")


def base_path_of(path_or_url: str) -> str:
    """'https://www.gov.uk/api/content/x/y' or '/x/y' or 'x/y' -> '/x/y'."""
    path = re.sub(r"^https?://[^/]+", "", path_or_url.strip())
    path = re.sub(r"^/api/content(?=/)", "", path)
    return "/" + path.lstrip("/")


# ---------------------------------------------------------------------------------------------
# One Content API item


@dataclass
class _Item:
    """A decoded Content API item and the parts of it every step reads."""

    data: dict
    schema: str | None
    details: dict
    links: dict
    base_url: str  # the configured GOV.UK base, no trailing slash
    page_url: str

    @classmethod
    def read(cls, data: Any, base_url: str) -> _Item:
        if not isinstance(data, dict) or not data.get("base_path") or not data.get("title"):
            raise GovukError("not a GOV.UK Content API item (no base_path or title)")
        base_url = base_url.rstrip("/")
        return cls(
            data=data,
            schema=data.get("schema_name") or data.get("document_type"),
            details=data.get("details") or {},
            links=data.get("links") or {},
            base_url=base_url,
            page_url=base_url + data["base_path"],
        )

    @property
    def govuk_type(self) -> str:
        return str(self.data.get("document_type") or "")

    @property
    def parent(self) -> dict:
        """An HTML part's publication, as its links name it ({} for anything else)."""
        if self.schema != "html_publication":
            return {}
        return (self.links.get("parent") or [{}])[0]


def _doc_type(item: _Item) -> str:
    """An HTML part is what its publication is (statutory guidance, say)."""
    return DOC_TYPE_MAP.get(str(item.parent.get("document_type") or item.govuk_type), "guidance")


def _published(item: _Item) -> str | None:
    """The first of these that is a date no later than the last public update: a migrated or
    republished item's first_published_at can be years after it was really published."""
    updated = iso_date(item.data.get("public_updated_at"))
    candidates = [
        iso_date(item.data.get("first_published_at")),
        iso_date(item.details.get("first_public_at")),
        iso_date(item.details.get("public_timestamp")),
        updated,
    ]
    return next((d for d in candidates if d and (not updated or d <= updated)), updated)


def _withdrawal(data: dict) -> tuple[str, str | None, str | None]:
    """(status, status_date, status_note): GOV.UK's withdrawn notice, else in force."""
    notice = data.get("withdrawn_notice") or {}
    if not (notice.get("explanation") or notice.get("withdrawn_at")):
        return "in_force", None, None
    note = html_to_text(str(notice.get("explanation") or "")) or "Withdrawn."
    return "withdrawn", iso_date(notice.get("withdrawn_at")), note


def _manual_of(data: dict) -> tuple[dict, str | None]:
    """(the manual as the links name it, its base path) for a manual's section."""
    manual = ((data.get("links") or {}).get("manual") or [{}])[0]
    path = manual.get("base_path") or ((data.get("details") or {}).get("manual") or {}).get(
        "base_path"
    )
    return manual, path


def _facts(item: _Item) -> dict[str, Any]:
    """The item's facts for the front matter's extra (empty ones are dropped later)."""
    data, links = item.data, item.links
    extra: dict[str, Any] = {
        "govuk_base_path": data["base_path"],
        "govuk_document_type": item.govuk_type,
        "public_updated": iso_date(data.get("public_updated_at")),
    }
    if data.get("content_id"):
        extra["govuk_content_id"] = data["content_id"]
    if data.get("description"):
        extra["description"] = " ".join(str(data["description"]).split())
    if _titles(links, "organisations"):
        extra["organisations"] = _titles(links, "organisations")
    extra["change_history"] = _change_history(item.details)
    parent = item.parent
    if parent.get("base_path"):
        extra["parent_publication"] = {
            "title": parent.get("title"),
            "url": item.base_url + parent["base_path"],
        }
    manual, manual_path = _manual_of(data)
    if item.schema == "manual_section" and manual_path:
        extra["manual"] = {"title": manual.get("title"), "url": item.base_url + manual_path}
    return extra


def _change_history(details: dict) -> list[dict[str, Any]]:
    return [
        {"date": iso_date(item.get("public_timestamp")), "note": item.get("note", "")}
        for item in details.get("change_history") or []
        if isinstance(item, dict)
    ]


def _text(item: _Item) -> tuple[list[Block], str]:
    """(blocks, all the HTML they came from): a body, then any parts (guide, travel_advice),
    each part a section of its own; else, with no text at all, the item's description."""
    body_html = _body_html(item.details)
    blocks = html_to_blocks(body_html, item.page_url)
    for part in item.details.get("parts") or []:
        if not isinstance(part, dict):
            continue
        blocks.append(head(str(part.get("title") or part.get("slug") or "Part"), 2))
        part_html = _body_html(part)
        body_html += part_html
        blocks += _below_part(html_to_blocks(part_html, item.page_url))
    if not blocks and item.data.get("description"):
        # Nothing but its summary (a travel advice page with no parts yet): that, then.
        blocks = [para(str(item.data["description"]))]
    return blocks, body_html


def _documents(item: _Item, body_html: str) -> tuple[list[dict], list[Block]]:
    """(attachments, the "Documents" section listing them). A publication lists all of its
    attachments (as GOV.UK does below it); other pages those their text does not link to
    already (a manual section's files)."""
    listed = set() if item.schema == "publication" else _linked_urls(body_html, item.page_url)
    attachments = _attachments(item.details, item.base_url, listed)
    if not attachments:
        return [], []
    lines = [_attachment_line(a) for a in attachments]
    plain = " ".join(a["title"] for a in attachments)
    return attachments, [head("Documents", 2), Block("list", "\n".join(lines), plain)]


def parse_content_item(
    data: dict,
    *,
    base_url: str,
    retrieved_at: str | None = None,
    sha256: str | None = None,
    doc_id: str | None = None,
) -> list[Parsed]:
    """One Content API item -> [(Document, body Markdown)].

    A publication gives its summary page (with its attachments listed); its HTML parts are items
    of their own (see `html_part_paths`). Everything else gives one document: its body, then its
    `parts` (guide, travel_advice) as sections, then the attachments the text does not link to.
    """
    item = _Item.read(data, base_url)
    doc_type = _doc_type(item)
    extra = _facts(item)
    blocks, body_html = _text(item)
    attachments, section = _documents(item, body_html)
    extra["attachments"] = attachments
    if item.schema == "publication":
        extra["html_parts"] = html_part_paths(data)
    status, status_date, status_note = _withdrawal(data)
    published = _published(item)
    publisher = _titles(item.links, "primary_publishing_organisation") or _titles(
        item.links, "organisations"
    )
    document = Document(
        id=doc_id or default_id(data, doc_type),
        title=" ".join(str(data["title"]).split()),
        doc_type=doc_type,
        status=status,
        publisher=publisher[0] if publisher else None,
        source_url=item.page_url,
        retrieved_at=retrieved_at,
        sha256=sha256,
        licence=OGL,
        attribution=OGL_ATTRIBUTION,
        status_date=status_date,
        status_note=status_note,
        valid_from=published,
        published=published,
        extent=_extent(item.details),
        extra={k: v for k, v in extra.items() if v not in (None, "", [])},
    )
    return [(document, render_blocks(blocks + section))]


# ---------------------------------------------------------------------------------------------
# The source: fetch the item and a publication's HTML parts, then parse


@dataclass
class Part:
    """A publication's HTML part: its Content API response, or why it was not fetched."""

    path: str  # its base path
    url: str
    fetched: Fetched | None = None
    reason: str = ""


def item_url(source: Source, settings: Settings) -> str | None:
    path = source.get("path") or ""
    return api_url(settings, base_path_of(str(path))) if path else None


def read_item(item: Fetched) -> dict:
    try:
        return json.loads(item.data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GovukError(f"Content API response is not JSON: {exc}") from exc


def fetch_parts(data: dict, fetcher: Fetcher, settings: Settings) -> list[Part]:
    """A publication's HTML parts, fetched; one that cannot be fetched is kept with its reason."""
    _Item.read(data, settings.govuk_url)  # not an item: fails before any part is fetched
    if data.get("schema_name") != "publication":
        return []
    parts = []
    for path in html_part_paths(data):
        url = api_url(settings, base_path_of(path))
        try:
            parts.append(Part(path, url, fetch_body(fetcher, url)))
        except SourceFailed as exc:
            parts.append(Part(path, exc.url or url, reason=exc.reason))
    return parts


def parse_source(source: Entry, fetcher: Given, settings: Settings) -> list[Parsed]:
    """Crawler registry entry for `kind: govuk` (see indexer/crawl.py).

    `source`'s `path` is the GOV.UK base path; the Content API URL is fetched through the
    crawler's Fetcher, or `fetcher` is the response itself (then no HTML parts are fetched).
    """
    entry = as_source(source)
    if isinstance(source, Mapping) and not entry.get("doc_id") and source.get("id"):
        entry.extra["doc_id"] = source["id"]  # a bare mapping's id is the document's
    item = fetched(fetcher, item_url(entry, settings))
    data = read_item(item)
    parts = [] if isinstance(fetcher, (bytes, str)) else fetch_parts(data, fetcher, settings)
    return parse(item, entry, settings, parts)


def parse(
    item: Fetched, source: Source, settings: Settings, parts: Sequence[Part] = ()
) -> list[Parsed]:
    """The documents of a fetched item (and its fetched HTML parts). The document id is the
    entry's `doc_id`, else `guidance/<slug>`. Manifest facts win over GOV.UK's, except that a
    GOV.UK withdrawal always wins.

    A publication's parts: one part becomes the document itself, several become documents of
    their own below the publication's id. A part not fetched (or not a Content API item) does
    not fail the source: the publication page is still written (standing in for a lone part),
    and the first document's `extra["not_fetched"]` lists the part as `{"url", "reason",
    "doc_id"}`, `doc_id` being the document it would have become (indexer/crawl.py reports it
    and keeps the earlier copy of that document).
    """
    results = _parse_item(read_item(item), item, settings, source.get("doc_id"))
    if parts:
        results = _with_parts(results, parts, settings)
    for document, _ in results:
        apply_manifest(document, source)
    return results


def _with_parts(results: list[Parsed], parts: Sequence[Part], settings: Settings) -> list[Parsed]:
    base_id = results[0][0].id
    part_results: list[Parsed] = []
    missing: list[dict[str, str]] = []
    for part in parts:
        slug = slugify(part.path.rstrip("/").rsplit("/", 1)[-1])
        part_id = base_id if len(parts) == 1 else f"{base_id}/{slug}"
        if part.fetched is None:
            missing.append({"url": part.url, "reason": part.reason, "doc_id": part_id})
            continue
        try:
            part_results += _parse_item(read_item(part.fetched), part.fetched, settings, part_id)
        except GovukError as exc:
            missing.append({"url": part.url, "reason": str(exc), "doc_id": part_id})
    results = part_results if len(parts) == 1 and part_results else results + part_results
    if missing:
        results[0][0].extra["not_fetched"] = missing
    return results


def _parse_item(data: dict, item: Fetched, settings: Settings, doc_id: str | None) -> list[Parsed]:
    return parse_content_item(
        data,
        base_url=settings.govuk_url,
        retrieved_at=item.retrieved(),
        sha256=item.digest(),
        doc_id=doc_id,
    )
