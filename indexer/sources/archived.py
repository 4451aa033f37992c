"""Archived HTML pages (UK Government Web Archive and the like) -> corpus Markdown.

Keeps the page's main content and drops what the archive and the old site wrapped around it:
the archive banner, navigation, headers and footers, cookie notices, search boxes. Headings
and numbered paragraphs become anchors exactly as for GOV.UK pages (indexer/blocks.py).
`parse_page` is also how `kb add` reads a local HTML file (indexer/sources/local.py).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Comment, Tag
from charset_normalizer import from_bytes

from indexer.blocks import Block, render_blocks
from indexer.html_markdown import html_to_blocks
from indexer.http import Fetched
from indexer.manifest import Source, as_source, manifest_document
from indexer.sources import Entry, Given, Parsed, fetched
from kb.core.config import Settings


class ArchivedError(ValueError):
    """A page this parser cannot use; the message says why."""


# Wrapper chrome, matched against id and class names (whole words of them).
_CHROME = re.compile(
    r"(^|[-_ ])(wayback|wm-ipp|wb|webarchive|ukgwa|archive-banner|banner|cookie|cookies|"
    r"skip|skiplinks|nav|navigation|navbar|menu|breadcrumb|breadcrumbs|header|masthead|"
    r"footer|sidebar|search|share|social|related|print|toolbar|feedback)($|[-_ ])",
    re.I,
)
_MAIN_SELECTORS = (
    "main", "[role=main]", "#main-content", "#maincontent", "#content-main", "#mainContent",
    "article", "#content", ".content", "#main", ".main",
)  # fmt: skip
_CHROME_TAGS = ("nav", "header", "footer", "aside", "form", "script", "style", "noscript")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_TOOLBAR = re.compile(
    r"BEGIN (?:WAYBACK|ARCHIVE) TOOLBAR INSERT.*?END (?:WAYBACK|ARCHIVE) TOOLBAR INSERT",
    re.S | re.I,
)


@dataclass
class Page:
    title: str | None
    blocks: list[Block]
    encoding: str


def decode_html(
    data: bytes, declared: str | None = None, *, detect: bool = True
) -> tuple[str, str]:
    """Bytes -> (text, encoding): BOM, then the HTTP charset, then <meta charset>, then UTF-8.

    With `detect`, undeclared non-UTF-8 bytes are identified by charset-normalizer; without
    it they are an error. ISO-8859-1 is read as Windows-1252, as browsers do (curly quotes).
    """
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ArchivedError("binary data, not an HTML page")
    return _by_bom(data) or _by_declaration(data, declared) or _undeclared(data, detect)


def _by_bom(data: bytes) -> tuple[str, str] | None:
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(name), name
    return None


def _by_declaration(data: bytes, declared: str | None) -> tuple[str, str] | None:
    """Decoded by the HTTP charset or the page's <meta charset>, if either is right."""
    candidates = [declared] if declared else []
    meta = _META_CHARSET.search(data[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    if candidates and not data.isascii():
        try:  # UTF-8 bytes under a single-byte declaration: the declaration is what is wrong
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    for name in candidates:
        encoding = _codec(name)
        if encoding:
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                continue  # a wrong declaration: fall back to UTF-8, then to detection
    return None


def _undeclared(data: bytes, detect: bool) -> tuple[str, str]:
    """UTF-8, else (with `detect`) what charset-normalizer makes of the bytes."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if not detect:
            raise ArchivedError(
                f"not UTF-8 (byte {exc.start}) and no charset declared in the page"
            ) from exc
    best = from_bytes(data).best()
    if best is None:
        raise ArchivedError("cannot tell the text encoding of the page")
    encoding = _codec(best.encoding) or "cp1252"
    return data.decode(encoding, errors="replace"), encoding


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _is_chrome(tag: Tag) -> bool:
    if tag.name in _CHROME_TAGS:
        return True
    if tag.get("role") in ("navigation", "banner", "contentinfo", "search"):
        return True
    names = [str(tag.get("id") or "")] + list(tag.get("class") or [])
    return any(_CHROME.search(name) for name in names if name)


def extract_main(html: str) -> tuple[str | None, Tag]:
    """(page title, main content element) with the archive and site chrome removed."""
    soup = BeautifulSoup(_TOOLBAR.sub("", html), "lxml")
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    title_tag = soup.find("title")
    page_title = " ".join(title_tag.get_text(" ").split()) if title_tag else None
    main: Tag | None = None
    for selector in _MAIN_SELECTORS:
        found = soup.select_one(selector)
        if found is not None and found.get_text(strip=True):
            main = found
            break
    root = main or soup.body or soup
    h1 = root.find("h1")
    title = " ".join(h1.get_text(" ").split()) if h1 else None
    # Collect first: removing while iterating skips siblings. Never remove the root itself.
    chrome = [t for t in root.find_all(True) if t.attrs is not None and _is_chrome(t)]
    for tag in chrome:
        if not tag.decomposed:
            tag.decompose()
    return title or page_title, root


def parse_page(
    data: bytes, *, base_url: str | None = None, charset: str | None = None, detect: bool = True
) -> Page:
    text, encoding = decode_html(data, charset, detect=detect)
    title, root = extract_main(text)
    blocks = html_to_blocks(root, base_url)
    # The page's own <h1> is the document title, not a section of it.
    if blocks and blocks[0].kind == "heading" and blocks[0].plain == title:
        blocks = blocks[1:]
    if not any(b.plain for b in blocks):
        raise ArchivedError("no text found in the page's main content")
    return Page(title=title, blocks=blocks, encoding=encoding)


def page_to_markdown(page: Page) -> str:
    return render_blocks(page.blocks)


def parse_source(source: Entry, fetcher: Given, settings: Settings) -> list[Parsed]:
    """Crawler registry entry for `kind: archived_html` (see indexer/crawl.py).

    Fetches `source.url` (the archive base + the entry's path) through the crawler's Fetcher, or
    takes the page bytes directly.
    """
    entry = as_source(source)
    return parse(fetched(fetcher, entry.get("url")), entry)


def parse(page_data: Fetched, source: Source) -> list[Parsed]:
    """A fetched page as its document. The manifest entry supplies what the page cannot:
    doc_id (else `guidance/<id>`, `code/<id>` for codes), doc_type, status and dates."""
    charset = re.search(r"charset=([\w.:-]+)", page_data.content_type or "", re.I)
    page = parse_page(
        page_data.data, base_url=page_data.url, charset=charset.group(1) if charset else None
    )
    extra = {"archived_page_title": page.title} if page.title else {}
    document = manifest_document(source, page_data, page_data.url, page.title, extra)
    return [(document, page_to_markdown(page))]
