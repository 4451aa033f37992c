"""GOV.UK Content API items (publication, html_publication, detailed_guide, guide,
travel_advice, manual_section, …) -> corpus.

Also home of the block model every guidance parser shares: HTML, PDF and DOCX are first turned
into a flat list of `Block`s (headings and paragraphs), and `render_blocks` gives them the corpus
anchors: numbered headings and paragraphs keep their numbers as pins (`para-2.3`), other headings
get `heading-<slug>` anchors, de-duplicated in document order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from indexer.corpus import (
    anchored,
    dotted_paragraph_number,
    escape_text,
    heading,
    markdown_table,
    sha256_bytes,
)
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

# Same shapes as indexer/passages.py, so explicit anchors agree with what it would infer.
_NUMBERED_HEADING = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.?\s+(\S.*)$")
# "12. The council …": only taken as a paragraph number when it continues the sequence.
_PLAIN_PARA = re.compile(r"^(\d{1,3})\.?\s+[A-Z\"'‘“(]")


# escape_text writes "\\1." for a leading "1.", which CommonMark shows with its backslash
# (only punctuation can be escaped); "1\\." is the form that renders as "1.".
_DIGIT_ESCAPE = re.compile(r"^(\s*)\\(\d+)([.)])", re.M)


def md_escape(text: str) -> str:
    """Source text -> Markdown that shows it literally."""
    return _DIGIT_ESCAPE.sub(r"\1\2\\\3", escape_text(text))


class GovukError(ValueError):
    """A Content API item this parser cannot use."""


# ---------------------------------------------------------------------------------------------
# Blocks and their anchors


@dataclass
class Block:
    kind: str  # "heading" | "para" | "list" | "table" | "quote" | "code"
    text: str  # Markdown, already escaped
    plain: str = ""  # plain words, for spotting numbers and slugs
    level: int = 2  # heading level
    page: int | None = None  # PDF page the block starts on
    page_end: int | None = None  # and ends on, when it spans pages


def para(plain: str, **kw: Any) -> Block:
    """A paragraph block from plain text (PDF, DOCX)."""
    plain = " ".join(plain.split())
    return Block("para", md_escape(plain), plain, **kw)


def head(plain: str, level: int = 2, **kw: Any) -> Block:
    plain = " ".join(plain.split())
    return Block("heading", md_escape(plain), plain, level=level, **kw)


def _pages(block: Block) -> dict[str, str]:
    if block.page is None:
        return {}
    attrs = {"page": str(block.page)}
    if block.page_end and block.page_end != block.page:
        attrs["pages"] = f"{block.page}-{block.page_end}"
    return attrs


def render_blocks(blocks: Iterable[Block], *, page_anchors: bool = False) -> str:
    """Corpus Markdown for some blocks.

    With `page_anchors` (PDFs), text that is not inside a numbered paragraph gets a `page-N`
    anchor where a new page starts, so it can be cited by page.
    """
    out: list[str] = []
    used: set[str] = set()
    next_plain = 1
    in_numbered = False
    node_page: int | None = None

    def unique(base: str) -> str:
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        return anchor

    for block in blocks:
        if block.kind == "heading":
            match = _NUMBERED_HEADING.match(block.plain)
            if match and f"para-{match.group(1)}" not in used:
                anchor = unique(f"para-{match.group(1)}")
                in_numbered = True
            else:
                anchor = unique("heading-" + slugify(block.plain))
                in_numbered = False
            node_page = block.page
            level = min(max(block.level, 1), 6)
            out.append(heading(level, block.text, anchor, **_pages(block)))
            continue
        if block.kind == "para":
            number = dotted_paragraph_number(block.plain)
            if number is None:
                plain = _PLAIN_PARA.match(block.plain)
                if plain and int(plain.group(1)) == next_plain:
                    number = plain.group(1)
            if number and f"para-{number}" not in used:
                if "." not in number:
                    next_plain = int(number) + 1
                in_numbered = True
                node_page = block.page
                out.append(anchored(unique(f"para-{number}"), block.text, **_pages(block)))
                continue
        new_page = block.page is not None and block.page != node_page
        # A new paragraph on a new page is cited by that page even after a numbered one;
        # a list running on from a numbered paragraph stays with it.
        if page_anchors and new_page and (not in_numbered or block.kind == "para"):
            node_page = block.page
            attrs = _pages(block)
            out.append(anchored(unique(f"page-{block.page}"), _block_markdown(block), **attrs))
            continue
        out.append(_block_markdown(block) + "\n")
    return "\n".join(out)


def _block_markdown(block: Block) -> str:
    if block.kind == "quote":
        return "\n".join("> " + line if line else ">" for line in block.text.splitlines())
    return block.text


# ---------------------------------------------------------------------------------------------
# HTML -> blocks

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {
    "script", "style", "noscript", "template", "svg", "button", "input", "select", "textarea",
    "iframe", "object", "embed", "head", "title", "meta", "link", "map", "canvas", "video",
    "audio", "option",
}  # fmt: skip
_CONTAINERS = {
    "div", "section", "article", "main", "aside", "header", "footer", "nav", "body", "html",
    "figure", "figcaption", "address", "center", "form", "fieldset", "details", "summary",
    "dl", "dt", "dd", "li", "tbody", "thead", "tfoot", "tr", "td", "th", "caption", "hgroup",
    "legend", "frameset", "frame", "font",
}  # fmt: skip
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class") or []
    return value.split() if isinstance(value, str) else list(value)


class _Walker:
    """Flattens an HTML tree into blocks; stray text in containers becomes paragraphs."""

    def __init__(self, base_url: str | None, level_shift: int = 0) -> None:
        self.base_url = base_url
        self.level_shift = level_shift
        self.blocks: list[Block] = []
        self.md: list[str] = []
        self.plain: list[str] = []
        self.quote = 0

    # inline ----------------------------------------------------------------------------------
    def inline(self, node: Any) -> tuple[str, str]:
        if isinstance(node, Comment) or not isinstance(node, (NavigableString, Tag)):
            return "", ""
        if isinstance(node, NavigableString):
            if type(node) is not NavigableString:  # CData, Doctype, ProcessingInstruction
                return "", ""
            text = _SPACE.sub(" ", str(node))
            return md_escape(text), text
        name = node.name
        if name in _SKIP:
            return "", ""
        if name == "br":
            return "\n", "\n"
        if name == "img":
            alt = (node.get("alt") or "").strip()
            inside_fraction = node.find_parent(class_="fraction") is not None
            return (md_escape(alt), alt) if alt and inside_fraction else ("", "")
        parts = [self.inline(child) for child in node.children]
        md = "".join(p[0] for p in parts)
        plain = "".join(p[1] for p in parts)
        if name in ("p", "div", "li", "td", "th", "dt", "dd") or name in _HEADINGS:
            md, plain = f" {md} ", f" {plain} "
        if name == "a" and "reversefootnote" in _classes(node):
            return "", ""  # the "↩" back to where a footnote is cited
        if name == "a" and "footnote" in _classes(node):
            # A footnote mark: "taxpayer[18]", not "taxpayer18" (one unsearchable word).
            number = " ".join(plain.split())
            if number and not number.startswith("["):
                number = f"[{number}]"
            return md_escape(number), number
        if name == "a":
            href = self._href(node.get("href"))
            label = " ".join(md.split())
            if href and label and "\n" not in md:
                lead = " " if md[:1].isspace() else ""
                tail = " " if md[-1:].isspace() else ""
                md = f"{lead}[{label}](<{href}>){tail}"
        return md, plain

    def _href(self, href: Any) -> str | None:
        if not isinstance(href, str) or not href.strip() or href.startswith("#"):
            return None
        href = href.strip()
        if self.base_url and not href.startswith(_LINK_SCHEMES):
            href = urljoin(self.base_url.rstrip("/") + "/", href)
        if not href.startswith(_LINK_SCHEMES) or any(c in href for c in "<> \n"):
            return None
        return href

    # blocks ----------------------------------------------------------------------------------
    def flush(self) -> None:
        md, plain = "".join(self.md), "".join(self.plain)
        self.md, self.plain = [], []
        # A blank line (two <br>) splits a paragraph; one <br> is a soft line break.
        for md_chunk, plain_chunk in zip(_paragraphs(md), _paragraphs(plain), strict=False):
            text = " ".join(plain_chunk.split())
            if not text:
                continue
            kind = "quote" if self.quote else "para"
            self.blocks.append(Block(kind, md_chunk, text))

    def walk(self, element: Tag) -> None:
        for child in element.children:
            if isinstance(child, NavigableString):
                md, plain = self.inline(child)
                self.md.append(md)
                self.plain.append(plain)
                continue
            if not isinstance(child, Tag) or child.name in _SKIP:
                continue
            name = child.name
            if name in _HEADINGS:
                self.flush()
                self.heading(child)
            elif name == "p":
                self.flush()
                self._take_inline(child)
                self.flush()
            elif name in ("ul", "ol"):
                self.flush()
                lines = self.list_lines(child, 0)
                if lines:
                    plain = " ".join(p for _, p in lines)
                    self.blocks.append(Block("list", "\n".join(m for m, _ in lines), plain))
            elif name == "table":
                self.flush()
                self.table(child)
            elif name == "blockquote":
                self.flush()
                self.quote += 1
                self.walk(child)
                self.flush()
                self.quote -= 1
            elif name == "pre":
                self.flush()
                text = child.get_text()
                if text.strip():
                    fence = "~~~~"
                    self.blocks.append(Block("code", f"{fence}\n{text.strip()}\n{fence}", text))
            elif name == "hr":
                self.flush()
            elif _is_attachment_block(child):
                self.flush()
                self.attachment(child)
            elif name in _CONTAINERS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                md, plain = self.inline(child)
                self.md.append(md)
                self.plain.append(plain)
        return None

    def _take_inline(self, tag: Tag) -> None:
        md, plain = self.inline(tag)
        self.md.append(md)
        self.plain.append(plain)

    def heading(self, tag: Tag) -> None:
        md, plain = self.inline(tag)
        plain = " ".join(plain.split())
        if not plain:
            return
        md = " ".join(md.split())
        level = min(int(tag.name[1]) + self.level_shift, 6)
        self.blocks.append(Block("heading", md, plain, level=level))

    def list_lines(self, tag: Tag, depth: int) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        ordered = tag.name == "ol"
        number = _int(tag.get("start"), 1)
        for item in tag.find_all("li", recursive=False):
            nested = [c for c in item.children if isinstance(c, Tag) and c.name in ("ul", "ol")]
            for sub in nested:
                sub.extract()
            md, plain = self.inline(item)
            md, plain = " ".join(md.split()), " ".join(plain.split())
            if plain:
                marker = f"{number}." if ordered else "-"
                lines.append(("   " * depth + f"{marker} {md}", plain))
                number += 1
            for sub in nested:
                lines += self.list_lines(sub, depth + 1)
        return lines

    def table(self, tag: Tag) -> None:
        rows = []
        for row in tag.find_all("tr"):
            cells = []
            for cell in row.find_all(["td", "th"], recursive=False):
                md, plain = self.inline(cell)
                cells.append((" ".join(md.split()), " ".join(plain.split())))
            if any(p for _, p in cells):
                rows.append(cells)
        if not rows:
            return
        plain = " ".join(p for row in rows for _, p in row if p)
        self.blocks.append(Block("table", markdown_table([[m for m, _ in r] for r in rows]), plain))

    def attachment(self, tag: Tag) -> None:
        # The first link is often the thumbnail's (an image, no words); the title's link is
        # inside the element whose class names the title.
        title_box = tag.find(class_=re.compile(r"(^|_)title$"))
        links = tag.find_all("a", href=True)
        link = (title_box.find("a", href=True) if title_box else None) or next(
            (a for a in links if a.get_text(strip=True)), links[0] if links else None
        )
        title = " ".join((link or title_box or tag).get_text(" ").split())
        meta = tag.find(class_=re.compile("metadata"))
        details = _SPACE_BEFORE_PUNCT.sub("", " ".join(meta.get_text(" ").split())) if meta else ""
        plain = f"Attachment: {title}" + (f" ({details})" if details else "")
        href = self._href(link.get("href")) if link else None
        md = (
            md_escape(plain)
            if not href
            else (
                f"Attachment: [{md_escape(title)}](<{href}>)"
                + (f" ({md_escape(details)})" if details else "")
            )
        )
        self.blocks.append(Block("para", md, plain))


def _is_attachment_block(tag: Tag) -> bool:
    if tag.name not in ("section", "div"):
        return False
    return any(c in ("attachment", "gem-c-attachment") for c in _classes(tag))


_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\S) +(?=[,;:!?)](?:\s|$))")


def _paragraphs(text: str) -> list[str]:
    lines = [_SPACE_BEFORE_PUNCT.sub("", " ".join(line.split())) for line in text.split("\n")]
    chunks: list[str] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            chunks.append("\n".join(current))
            current = []
    if current:
        chunks.append("\n".join(current))
    return chunks


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def html_to_blocks(
    html: str | Tag, base_url: str | None = None, level_shift: int = 0
) -> list[Block]:
    """Headings, paragraphs, lists and tables of some HTML, in order."""
    root = BeautifulSoup(html, "lxml") if isinstance(html, str) else html
    walker = _Walker(base_url, level_shift)
    walker.walk(root)
    walker.flush()
    return walker.blocks


def html_to_markdown(html: str | Tag, base_url: str | None = None) -> str:
    return render_blocks(html_to_blocks(html, base_url))


def html_to_text(html: str) -> str:
    text = " ".join(BeautifulSoup(html, "lxml").get_text(" ").split())
    return _SPACE_BEFORE_STOP.sub("", text)


# "… sheep, goats and pigs</a>." read with a space between the tags would say "pigs ."
_SPACE_BEFORE_STOP = re.compile(r"(?<=\S) +(?=[.,;:!?)](?:\s|$))")


# ---------------------------------------------------------------------------------------------
# Content API items


def _date(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


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
    assets = [a for a in details.get("attachments") or [] if isinstance(a, dict)]
    by_id = {str(a["id"]): a for a in assets if a.get("id") not in (None, "")}
    featured = [by_id[str(i)] for i in details.get("featured_attachments") or [] if str(i) in by_id]
    found: list[dict[str, Any]] = []
    seen = set(listed)

    def add(entry: dict[str, Any]) -> None:
        if entry["url"] not in seen:
            seen.add(entry["url"])
            found.append(entry)

    for item in featured + [a for a in assets if not any(a is f for f in featured)]:
        title = " ".join(str(item.get("title") or "").split())
        if not title or not item.get("url"):
            continue
        entry = {"title": title, "url": urljoin(base_url + "/", str(item["url"]))}
        entry.update({k: item[k] for k in _ATTACHMENT_FACTS if item.get(k) not in (None, "")})
        add(entry)
    for html in details.get("documents") or []:  # older items: rendered attachment sections
        soup = BeautifulSoup(str(html), "lxml")
        link = soup.select_one("h2 a[href], h3 a[href]") or soup.find("a", href=True)
        if link:
            title = " ".join(link.get_text(" ").split())
            entry = {"title": title, "url": urljoin(base_url + "/", link["href"])}
            meta = soup.find(class_=re.compile("metadata"))
            text = " ".join(meta.get_text(" ").split()) if meta else ""
            if text:  # "Ref: ISBN …, HC 1025 2016-17 PDF, 3.75MB, 68 pages"
                entry["metadata"] = _SPACE_BEFORE_PUNCT.sub("", text)
            add(entry)
    return found


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
    manual = ((data.get("links") or {}).get("manual") or [{}])[0].get("base_path") or (
        (data.get("details") or {}).get("manual") or {}
    ).get("base_path")
    if data.get("schema_name") == "manual_section" and manual:
        manual_slug = slugify(str(manual).rstrip("/").rsplit("/", 1)[-1])
        if manual_slug and manual_slug != slug:
            slug = f"{manual_slug}/{slug}"
    return ("code/" if doc_type == "code_of_practice" else "guidance/") + slug


def parse_content_item(
    data: dict,
    *,
    base_url: str,
    retrieved_at: str | None = None,
    sha256: str | None = None,
    doc_id: str | None = None,
) -> list[tuple[Document, str]]:
    """One Content API item -> [(Document, body Markdown)].

    A publication gives its summary page (with its attachments listed); its HTML parts are items
    of their own (see `html_part_paths`). Everything else gives one document: its body, then its
    `parts` (guide, travel_advice) as sections, then the attachments the text does not link to.
    """
    if not isinstance(data, dict) or not data.get("base_path") or not data.get("title"):
        raise GovukError("not a GOV.UK Content API item (no base_path or title)")
    schema = data.get("schema_name") or data.get("document_type")
    details = data.get("details") or {}
    links = data.get("links") or {}
    base_url = base_url.rstrip("/")
    page_url = base_url + data["base_path"]
    govuk_type = str(data.get("document_type") or "")

    parent = (links.get("parent") or [{}])[0] if schema == "html_publication" else {}
    doc_type = DOC_TYPE_MAP.get(str(parent.get("document_type") or govuk_type), "guidance")
    publisher = _titles(links, "primary_publishing_organisation") or _titles(links, "organisations")
    # The first of these that is a date no later than the last public update: a migrated or
    # republished item's first_published_at can be years after it was really published.
    updated = _date(data.get("public_updated_at"))
    candidates = [
        _date(data.get("first_published_at")),
        _date(details.get("first_public_at")),
        _date(details.get("public_timestamp")),
        updated,
    ]
    published = next((d for d in candidates if d and (not updated or d <= updated)), updated)

    extra: dict[str, Any] = {
        "govuk_base_path": data["base_path"],
        "govuk_document_type": govuk_type,
        "public_updated": _date(data.get("public_updated_at")),
    }
    if data.get("content_id"):
        extra["govuk_content_id"] = data["content_id"]
    if data.get("description"):
        extra["description"] = " ".join(str(data["description"]).split())
    if _titles(links, "organisations"):
        extra["organisations"] = _titles(links, "organisations")
    history = [
        {"date": _date(item.get("public_timestamp")), "note": item.get("note", "")}
        for item in details.get("change_history") or []
        if isinstance(item, dict)
    ]
    if history:
        extra["change_history"] = history
    if parent.get("base_path"):
        extra["parent_publication"] = {
            "title": parent.get("title"),
            "url": base_url + parent["base_path"],
        }

    status, status_date, status_note = "in_force", None, None
    notice = data.get("withdrawn_notice") or {}
    if notice.get("explanation") or notice.get("withdrawn_at"):
        status = "withdrawn"
        status_date = _date(notice.get("withdrawn_at"))
        status_note = html_to_text(str(notice.get("explanation") or "")) or "Withdrawn."

    manual = (links.get("manual") or [{}])[0]
    manual_path = manual.get("base_path") or (details.get("manual") or {}).get("base_path")
    if schema == "manual_section" and manual_path:
        extra["manual"] = {"title": manual.get("title"), "url": base_url + manual_path}

    # The text: a body, then any parts (guide, travel_advice), each part a section of its own.
    body_html = _body_html(details)
    blocks = html_to_blocks(body_html, page_url)
    for part in details.get("parts") or []:
        if not isinstance(part, dict):
            continue
        blocks.append(head(str(part.get("title") or part.get("slug") or "Part"), 2))
        part_html = _body_html(part)
        body_html += part_html
        blocks += _below_part(html_to_blocks(part_html, page_url))

    if not blocks and data.get("description"):
        # Nothing but its summary (a travel advice page with no parts yet): that, then.
        blocks = [para(str(data["description"]))]

    # The documents: a publication lists all of its attachments (as GOV.UK does below it);
    # other pages list those their text does not link to already (a manual section's files).
    listed = set() if schema == "publication" else _linked_urls(body_html, page_url)
    attachments = _attachments(details, base_url, listed)
    if attachments:
        extra["attachments"] = attachments
        blocks.append(head("Documents", 2))
        lines = [_attachment_line(a) for a in attachments]
        plain = " ".join(a["title"] for a in attachments)
        blocks.append(Block("list", "\n".join(lines), plain))
    if schema == "publication":
        parts = html_part_paths(data)
        if parts:
            extra["html_parts"] = parts

    document = Document(
        id=doc_id or default_id(data, doc_type),
        title=" ".join(str(data["title"]).split()),
        doc_type=doc_type,
        status=status,
        publisher=publisher[0] if publisher else None,
        source_url=page_url,
        retrieved_at=retrieved_at,
        sha256=sha256,
        licence=OGL,
        attribution=OGL_ATTRIBUTION,
        status_date=status_date,
        status_note=status_note,
        valid_from=published,
        published=published,
        extent=_extent(details),
        extra={k: v for k, v in extra.items() if v not in (None, "", [])},
    )
    return [(document, render_blocks(blocks))]


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


# ---------------------------------------------------------------------------------------------
# Crawler entry point


def api_url(settings: Any, base_path: str) -> str:
    """`https://www.gov.uk/api/content/<base_path>` under the configured GOV.UK base."""
    return settings.govuk_url.rstrip("/") + "/api/content/" + base_path.lstrip("/")


def base_path_of(path_or_url: str) -> str:
    """'https://www.gov.uk/api/content/x/y' or '/x/y' or 'x/y' -> '/x/y'."""
    path = re.sub(r"^https?://[^/]+", "", path_or_url.strip())
    path = re.sub(r"^/api/content(?=/)", "", path)
    return "/" + path.lstrip("/")


def _get(source: Any, name: str) -> Any:
    """A manifest field: a mapping's key, a Source attribute, or one kept in Source.extra."""
    if isinstance(source, dict):
        return source.get(name)
    value = getattr(source, name, None)
    if value in (None, "", []):
        value = (getattr(source, "extra", None) or {}).get(name)
    return value


@dataclass
class Fetch:
    data: bytes
    url: str | None = None
    retrieved_at: str | None = None
    sha256: str | None = None
    content_type: str | None = None


def fetch_source(fetcher: Any, url: str | None, validate: Any = None) -> Fetch:
    """Bytes for a source: through the crawler's Fetcher (`.get(url)`), or given directly."""
    if isinstance(fetcher, (bytes, str)):
        data = fetcher.encode("utf-8") if isinstance(fetcher, str) else fetcher
        return Fetch(data, url)
    if hasattr(fetcher, "get") and not isinstance(fetcher, dict):
        from indexer.http import SourceFailed

        if not url:
            raise SourceFailed("the manifest entry gives no URL to fetch")
        result = fetcher.get(url, validate=validate)
        if not result.ok:
            raise SourceFailed(result.reason, url=url)
        return Fetch(
            Path(result.body_path).read_bytes(),
            url,
            result.fetched_at,
            result.sha256,
            result.content_type,
        )
    content = _get(fetcher, "content")
    if content is None:
        raise GovukError("nothing fetched")
    return Fetch(bytes(content), url, _get(fetcher, "retrieved_at"), _get(fetcher, "sha256"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


MANIFEST_FIELDS = ("short_title", "identifier", "aliases", "doc_type", "extent")


def parse_source(source: Any, fetcher: Any, settings: Any) -> list[tuple[Document, str]]:
    """Crawler registry entry for `kind: govuk` (see indexer/crawl.py).

    `source` is a manifest Source (or a mapping) whose `path` is the GOV.UK base path;
    `fetcher` the crawler's Fetcher (the Content API URL is fetched through it), or the
    response bytes themselves. The document id is the entry's `doc_id`, else `guidance/<slug>`.
    Manifest facts win over GOV.UK's, except that a GOV.UK withdrawal always wins.

    A publication's HTML parts are fetched too. One that cannot be fetched (or is not a Content
    API item) does not fail the source: the first document's `extra["not_fetched"]` lists it as
    `{"url", "reason", "doc_id"}`, `doc_id` being the document the part would have become
    (indexer/crawl.py reports it and keeps the earlier copy of that document).
    """
    path = _get(source, "path") or ""
    url = api_url(settings, base_path_of(str(path))) if path else None
    doc_id = _get(source, "doc_id") or (_get(source, "id") if isinstance(source, dict) else None)
    data, fetched = _fetch_item(fetcher, url)
    results = _parse_fetched(data, fetched, settings, doc_id)
    parts = html_part_paths(data) if data.get("schema_name") == "publication" else []
    if parts and hasattr(fetcher, "get"):
        # A publication's text is in its HTML parts: one part becomes the document itself,
        # several become documents of their own below the publication's id. A part that
        # cannot be fetched fails alone: the publication page is still written (standing in
        # for a lone part), and the part is listed under `not_fetched` for the crawl report.
        from indexer.http import SourceFailed

        base_id = results[0][0].id
        part_results: list[tuple[Document, str]] = []
        missing: list[dict[str, str]] = []
        for part_path in parts:
            slug = slugify(part_path.rstrip("/").rsplit("/", 1)[-1])
            part_id = base_id if len(parts) == 1 else f"{base_id}/{slug}"
            part_url = api_url(settings, base_path_of(part_path))
            try:
                part_data, part_fetched = _fetch_item(fetcher, part_url)
                part_results += _parse_fetched(part_data, part_fetched, settings, part_id)
            except SourceFailed as exc:
                missing.append(
                    {"url": exc.url or part_url, "reason": exc.reason, "doc_id": part_id}
                )
            except GovukError as exc:
                missing.append({"url": part_url, "reason": str(exc), "doc_id": part_id})
        if len(parts) == 1 and part_results:
            results = part_results
        else:
            results += part_results
        if missing:
            results[0][0].extra["not_fetched"] = missing
    for document, _ in results:
        apply_manifest(document, source)
    return results


def _fetch_item(fetcher: Any, url: str | None) -> tuple[dict, Fetch]:
    fetched = fetch_source(fetcher, url)
    try:
        return json.loads(fetched.data.decode("utf-8-sig")), fetched
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GovukError(f"Content API response is not JSON: {exc}") from exc


def _parse_fetched(data: dict, fetched: Fetch, settings: Any, doc_id: str | None):
    return parse_content_item(
        data,
        base_url=settings.govuk_url,
        retrieved_at=str(fetched.retrieved_at or _now()),
        sha256=fetched.sha256 or sha256_bytes(fetched.data),
        doc_id=doc_id,
    )


def apply_manifest(document: Document, source: Any) -> None:
    for name in MANIFEST_FIELDS:
        value = _get(source, name)
        if value not in (None, "", []):
            setattr(document, name, list(value) if name == "aliases" else str(value))
    if _get(source, "publisher") and not document.publisher:
        document.publisher = str(_get(source, "publisher"))
    if _get(source, "published") and not document.published:
        document.published = _date(_get(source, "published"))
        document.valid_from = document.valid_from or document.published
    status = _get(source, "status")
    if status and not (document.status == "withdrawn" and status != "withdrawn"):
        if document.status != status:
            document.status_date = document.status_note = None
        document.status = str(status)
        document.status_date = document.status_date or _date(_get(source, "status_date"))
        document.status_note = document.status_note or _get(source, "status_note")
    elif status and status != "withdrawn" and document.status == "withdrawn":
        document.extra["manifest_status"] = str(status)
    if _get(source, "notes"):
        document.extra["manifest_notes"] = str(_get(source, "notes"))


def manifest_document(
    source: Any, fetched: Fetch, url: str | None, found_title: str | None, extra: dict
) -> Document:
    """The Document for a fetched archived page or PDF: manifest facts over what was found."""
    doc_type = str(_get(source, "doc_type") or "guidance")
    document = Document(
        id=str(manifest_doc_id(source, doc_type)),
        title=str(_get(source, "title") or found_title or _get(source, "id")),
        doc_type=doc_type,
        status="in_force",  # the manifest's status is applied below
        source_url=url,
        retrieved_at=str(fetched.retrieved_at or _now()),
        sha256=fetched.sha256 or sha256_bytes(fetched.data),
        publisher=_get(source, "publisher"),
        extra=extra,
    )
    apply_manifest(document, source)
    return document


def manifest_doc_id(source: Any, doc_type: str) -> str:
    """The corpus id for a manifest entry: its `doc_id`, else `guidance/<id>` (`code/` for codes)."""
    explicit = _get(source, "doc_id")
    if explicit:
        return str(explicit)
    source_id = str(_get(source, "id") or "")
    if "/" in source_id:
        return source_id
    return ("code/" if doc_type == "code_of_practice" else "guidance/") + source_id
