"""PDF guidance -> corpus Markdown, with page numbers kept as pinpoints.

pypdf gives each page's text as lines. Running headers and footers (lines that recur at the top
or bottom of most pages, page numbers aside) are dropped, words hyphenated across lines are
joined, lines are regrouped into headings and paragraphs, and then the shared renderer in
indexer/blocks.py anchors them: numbered paragraphs as `para-2.3` and other text as `page-23`
where a new page starts. Every anchored block records the page it starts on (`page="23"`).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from indexer.blocks import Block, head, md_escape, para, render_blocks
from indexer.http import Fetched
from indexer.manifest import Source, as_source, manifest_document
from indexer.sources import Entry, Given, Parsed, fetched
from kb.core.config import Settings

DEFAULT_MAX_PAGES = 1000
EDGE_LINES = 3  # lines at the top and bottom of a page where running heads live

_PAGE_NUMBER = re.compile(r"^(?:page\s+)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s+of\s+\d{1,4})?$", re.I)
_NUMBERED_HEADING = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.?\s+\S")
_NUMBERED_PARA = re.compile(r"^\d{1,3}(?:\.\d{1,3})+\.?\s+\S|^\d{1,3}\.\s+[A-Z\"'‘“(]")
_BULLET = re.compile(r"^[•●▪◦∙·*\-–]\s+")
_TERMINAL = tuple(".:;?!")


class PdfError(ValueError):
    """A PDF that cannot be ingested; the message says why and what would help."""


@dataclass
class PdfText:
    blocks: list[Block]
    page_count: int
    pages_read: int
    title: str | None = None
    warnings: list[str] = field(default_factory=list)


def open_pdf(data: bytes) -> PdfReader:
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise PdfError("not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except (PdfReadError, PyPdfError, ValueError, OSError) as exc:
        raise PdfError(f"damaged PDF: {exc}") from exc
    if reader.is_encrypted:
        # Many PDFs are encrypted only to restrict printing: those open with an empty password.
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # pypdf raises several types for unsupported ciphers
            raise PdfError(f"encrypted PDF: cannot decrypt ({exc})") from exc
        if not opened:
            raise PdfError("encrypted PDF: it needs a password; save an unprotected copy")
    return reader


def read_pdf(data: bytes, *, max_pages: int | None = DEFAULT_MAX_PAGES) -> PdfText:
    """Text of a PDF as blocks, page by page, reading at most `max_pages` pages."""
    reader = open_pdf(data)
    count = _page_count(reader)
    limit = count if not max_pages else min(count, max_pages)
    warnings: list[str] = []
    if limit < count:
        warnings.append(f"read the first {limit} of {count} pages (page cap {max_pages})")
    pages = _page_lines(reader, limit, warnings)
    if not any(line for lines in pages for line in lines):
        raise PdfError("no text layer: needs OCR (a scanned or image-only PDF)")
    blank = sum(1 for lines in pages if not any(lines))
    if blank:
        warnings.append(f"{blank} page(s) without a text layer (scanned pages need OCR)")
    blocks = lines_to_blocks(strip_running_lines(pages))
    if not any(block.plain for block in blocks):
        raise PdfError(
            "no text left once running heads, footers and page numbers are taken out "
            "(the only text repeats at the edge of every page)"
        )
    return PdfText(
        blocks=blocks,
        page_count=count,
        pages_read=limit,
        title=_metadata_title(reader),
        warnings=warnings,
    )


def _page_count(reader: PdfReader) -> int:
    try:
        count = len(reader.pages)
    except (PdfReadError, PyPdfError, ValueError, KeyError) as exc:
        raise PdfError(f"damaged PDF: cannot read its page tree ({exc})") from exc
    if count == 0:
        raise PdfError("the PDF has no pages")
    return count


def _page_lines(reader: PdfReader, limit: int, warnings: list[str]) -> list[list[str]]:
    """The stripped lines of the first `limit` pages; a page that cannot be read is empty
    (and warned of), since one bad page should not lose the document."""
    pages: list[list[str]] = []
    for number in range(limit):
        try:
            text = reader.pages[number].extract_text() or ""
        except Exception as exc:
            warnings.append(f"page {number + 1}: text could not be read ({exc})")
            text = ""
        pages.append([line.strip() for line in text.splitlines()])
    return pages


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    title = " ".join(str(title or "").split())
    return (
        title
        if len(title) > 3 and not title.lower().startswith(("microsoft", "untitled"))
        else None
    )


def _key(line: str) -> str:
    """Lines that differ only in their numbers ("Page 3", "Page 4") share a key; a numbered
    paragraph or heading keeps its number, since that is what makes it content."""
    line = " ".join(line.lower().split())
    if _NUMBERED_HEADING.match(line):
        return line
    return re.sub(r"\d+", "#", line)


def strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop page numbers and lines repeated at the top or bottom of most pages."""
    pages = [[line for line in lines if line] for lines in pages]
    running = _running_keys(pages)
    return [_strip_edges(lines, running) for lines in pages]


def _running_keys(pages: list[list[str]]) -> set[str]:
    """Keys of the lines at the edge of more than half the pages with text (of three or more)."""
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_key(line) for line in lines[:EDGE_LINES] + lines[-EDGE_LINES:]})
    with_text = sum(1 for lines in pages if lines)
    if with_text < 3:
        return set()
    threshold = max(2, with_text // 2 + 1)
    return {key for key, n in seen.items() if n >= threshold}


def _strip_edges(lines: list[str], running: set[str]) -> list[str]:
    edge = set(range(min(EDGE_LINES, len(lines))))
    edge |= set(range(max(0, len(lines) - EDGE_LINES), len(lines)))
    return [
        line
        for i, line in enumerate(lines)
        if not (i in edge and (_key(line) in running or _PAGE_NUMBER.match(line)))
    ]


def _join(text: str, line: str) -> str:
    if not text:
        return line
    # "consult-" + "ation" -> "consultation"; "well-" + "Being" or "2023-" + "24" keep the hyphen.
    if re.search(r"[A-Za-z]-$", text) and line[:1].islower():
        return text[:-1] + line
    return f"{text} {line}"


def _looks_like_heading(line: str, previous: str | None, following: str | None) -> bool:
    if len(line) > 80 or len(line.split()) > 12 or line.endswith(_TERMINAL + (",",)):
        return False
    if not (line[:1].isupper() or line[:1].isdigit()) or _PAGE_NUMBER.match(line):
        return False
    if _BULLET.match(line):
        return False
    if previous is not None and not previous.endswith(_TERMINAL):
        return False  # the tail of a sentence broken across lines
    if following is not None and following[:1].islower():
        return False  # a sentence that goes on below
    if line[:1].isdigit() and not _NUMBERED_HEADING.match(line):
        return False
    return True


def lines_to_blocks(pages: list[list[str]]) -> list[Block]:
    """Regroup cleaned page lines into headings and paragraphs, carrying page numbers."""
    widths = sorted(len(line) for lines in pages for line in lines)
    regroup = _Regroup(typical=widths[int(len(widths) * 0.9)] if widths else 80)
    for page_no, lines in enumerate(pages, start=1):
        regroup.page(page_no, lines)
    regroup.close()
    return regroup.blocks


@dataclass
class _Regroup:
    """The blocks so far and the paragraph or list item being gathered (from page `start`)."""

    typical: int  # the width of a full line
    blocks: list[Block] = field(default_factory=list)
    text: str = ""
    start: int = 0
    end: int = 0
    kind: str = "para"
    last_line: str | None = None
    seen_numbered_heading: bool = False

    def page(self, page_no: int, lines: list[str]) -> None:
        for i, line in enumerate(lines):
            previous = lines[i - 1] if i else self.last_line
            following = lines[i + 1] if i + 1 < len(lines) else None
            continues = bool(self.text) and not self.text.endswith(_TERMINAL) and line[:1].islower()
            if not continues and _looks_like_heading(
                line, previous if self.text or i else None, following
            ):
                self.heading(line, page_no)
            else:
                self.take(line, page_no, previous, first=i == 0, continues=continues)

    def heading(self, line: str, page_no: int) -> None:
        self.close()
        numbered = bool(_NUMBERED_HEADING.match(line))
        self.seen_numbered_heading |= numbered
        if numbered:  # "2.3 Scope" sits below "2 Duties"
            level = 2 + line.split()[0].rstrip(".").count(".")
        else:  # below the numbered headings, once there are any
            level = 3 if self.seen_numbered_heading else 2
        self.blocks.append(head(line, min(level, 4), page=page_no))
        self.last_line = line + "."  # what follows a heading starts afresh

    def take(
        self, line: str, page_no: int, previous: str | None, *, first: bool, continues: bool
    ) -> None:
        bullet = _BULLET.match(line)
        if self._starts_block(line, previous, bool(bullet), first and not continues):
            self.close()
            self.start = page_no
            self.kind = "list" if bullet else "para"
            line = line[bullet.end() :] if bullet else line
        self.text = _join(self.text, line)
        self.end = page_no
        self.last_line = line

    def _starts_block(self, line: str, previous: str | None, bullet: bool, new_page: bool) -> bool:
        """A bullet, a numbered paragraph, a new page not carrying a sentence over, or a line
        after a short one that ended a sentence."""
        return (
            not self.text
            or bullet
            or bool(_NUMBERED_PARA.match(line))
            or new_page
            or (
                previous is not None
                and previous.endswith(_TERMINAL)
                and len(previous) < 0.7 * self.typical
            )
        )

    def close(self) -> None:
        if self.text and self.kind == "list":
            self._list_item()
        elif self.text:
            self.blocks.append(para(self.text, page=self.start, page_end=self.end))
        self.text = ""

    def _list_item(self) -> None:
        plain = " ".join(self.text.split())
        item = "- " + md_escape(plain)
        last = self.blocks[-1] if self.blocks else None
        if last is not None and last.kind == "list" and last.page == self.start:
            last.text += "\n" + item
            last.plain += " " + plain
        else:
            self.blocks.append(Block("list", item, plain, page=self.start))


def pdf_to_markdown(pdf: PdfText) -> str:
    return render_blocks(pdf.blocks, page_anchors=True)


def parse_source(source: Entry, fetcher: Given, settings: Settings) -> list[Parsed]:
    """Crawler registry entry for `kind: pdf` (see indexer/crawl.py).

    Fetches `source.url` through the crawler's Fetcher (or takes the PDF bytes directly).
    """
    entry = as_source(source)
    return parse(fetched(fetcher, entry.get("url")), entry)


def parse(pdf_data: Fetched, source: Source) -> list[Parsed]:
    """A fetched PDF as its document. The manifest entry supplies doc_id, title, doc_type and
    status; `max_pages` caps the read."""
    pdf = read_pdf(pdf_data.data, max_pages=int(source.get("max_pages") or DEFAULT_MAX_PAGES))
    document = manifest_document(source, pdf_data, pdf_data.url, pdf.title, pdf_extra(pdf))
    return [(document, pdf_to_markdown(pdf))]


def pdf_extra(pdf: PdfText) -> dict[str, Any]:
    extra: dict[str, Any] = {"pages": pdf.page_count}
    if pdf.pages_read < pdf.page_count:
        extra["pages_read"] = pdf.pages_read
    if pdf.warnings:
        extra["conversion_warnings"] = pdf.warnings
    return extra
