"""Local files (Markdown, HTML, PDF, DOCX) -> corpus documents: `kind: local` sources, read in
place, and what `kb add` (kb/add_cli.py) converts. A file is converted in memory; nothing here
writes it. HTML is read as an archived page is, PDF as a `kind: pdf` source is.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.blocks import Block, head, md_escape, para, render_blocks
from indexer.corpus import markdown_table, sha256_bytes, split_front_matter
from indexer.http import Fetcher
from indexer.manifest import apply_manifest, as_source
from indexer.sources import Entry, Parsed
from indexer.sources.archived import ArchivedError, parse_page
from indexer.sources.pdf import DEFAULT_MAX_PAGES, PdfError, pdf_extra, pdf_to_markdown, read_pdf
from kb.core.config import PROJECT_ROOT, Settings
from kb.core.models import Document, DocumentError
from kb.core.pins import slugify

MARKDOWN = (".md", ".markdown")
HTML = (".html", ".htm")
SUPPORTED = (*MARKDOWN, *HTML, ".pdf", ".docx")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)

# Limits on what `kb add` reads (module constants; each refusal names the limit):
MAX_FILE_BYTES = 200_000_000  # one input file, as stored (a PDF with scans can be large)
# A DOCX is a ZIP of XML; python-docx unpacks every part into memory and builds a tree of every
# element, so a small file can expand enormously (330 KB of ZIP -> 200 MB of `<w:p/>` took
# 4.4 GB). Both limits are checked before python-docx opens the file, from the ZIP's own
# directory and by counting elements with a streaming parser in constant memory.
MAX_DOCX_UNPACKED_BYTES = 100_000_000  # all parts together, as declared in the ZIP directory
MAX_DOCX_ELEMENTS = 1_000_000  # XML elements in all the package's XML parts together


class LocalError(ValueError):
    """A file that cannot be added; the message says why."""


@dataclass
class Options:
    doc_type: str | None = None
    title: str | None = None
    status: str | None = None
    doc_id: str | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    publisher: str | None = None
    published: str | None = None  # YYYY-MM-DD: the date the document was issued


@dataclass
class Converted:
    document: Document
    body: str
    warnings: list[str] = field(default_factory=list)


def convert_file(path: Path, options: Options | None = None) -> Converted:
    """One file -> (Document, body). Raises LocalError with a reason a person can act on."""
    options = options or Options()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LocalError(f"unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED)}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LocalError(
                f"{size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for one file "
                "(MAX_FILE_BYTES)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise LocalError(f"cannot read the file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise LocalError("the file is empty")
    try:
        if suffix in MARKDOWN:
            return _markdown(data, path, options)
        if suffix in HTML:
            return _html(data, path, options)
        if suffix == ".pdf":
            return _pdf(data, path, options)
        return _docx(data, path, options)
    except (ArchivedError, PdfError, DocumentError) as exc:
        raise LocalError(str(exc)) from exc


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _document(
    meta: dict[str, Any], path: Path, data: bytes, options: Options, title: str | None
) -> Document:
    """Front matter from the file, filled in from its name, then the command's options."""
    meta = dict(meta)
    slug = slugify(path.stem)
    meta.setdefault("title", title or path.stem.replace("_", " ").replace("-", " ").strip())
    meta.setdefault("id", f"local/{slug}")
    meta.setdefault("doc_type", "local_policy")
    meta.setdefault("status", "in_force")
    for key, value in (("doc_type", options.doc_type), ("title", options.title),
                       ("status", options.status), ("id", options.doc_id),
                       ("publisher", options.publisher),
                       ("published", options.published)):  # fmt: skip
        if value:
            meta[key] = value
    if options.published:
        meta.setdefault("valid_from", options.published)
    meta.setdefault("retrieved_at", _now())
    meta.setdefault("sha256", sha256_bytes(data))
    meta.setdefault("source_file", path.name)
    return Document.from_front_matter(meta)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LocalError(
            f"not UTF-8 text (byte {exc.start}) and Markdown cannot declare another encoding; "
            "save it as UTF-8"
        ) from exc


def _markdown(data: bytes, path: Path, options: Options) -> Converted:
    text = _text(data)
    if "\x00" in text:
        raise LocalError("binary data, not Markdown text")
    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---"):
        meta, body = split_front_matter(text)
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise LocalError("front matter must be a YAML mapping")
    first = _MD_HEADING.search(body)
    title = first.group(1).strip() if first else None
    return Converted(_document(meta, path, data, options, title), body.strip() + "\n")


def _html(data: bytes, path: Path, options: Options) -> Converted:
    page = parse_page(data, detect=False)
    meta = {"source_encoding": page.encoding} if page.encoding != "utf-8" else {}
    return Converted(_document(meta, path, data, options, page.title), render_blocks(page.blocks))


def _pdf(data: bytes, path: Path, options: Options) -> Converted:
    pdf = read_pdf(data, max_pages=options.max_pages)
    title = pdf.title or next((b.plain for b in pdf.blocks if b.kind == "heading"), None)
    document = _document(pdf_extra(pdf), path, data, options, title)
    return Converted(document, pdf_to_markdown(pdf), pdf.warnings)


# --- DOCX --------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx(data: bytes, path: Path, options: Options) -> Converted:
    from docx import Document as open_docx  # imported here: only `kb add` needs python-docx

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LocalError("not a Word .docx file (it is not a ZIP package)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            if "word/document.xml" not in package.namelist():
                raise LocalError("not a Word .docx file: a ZIP archive without word/document.xml")
            check_docx_package(package)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise LocalError(f"not a readable Word .docx file (damaged ZIP: {exc})") from exc
    try:
        word = open_docx(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for broken packages
        raise LocalError(f"not a readable Word .docx file ({exc})") from exc
    title, blocks = docx_blocks(word)
    if not any(b.plain for b in blocks):
        raise LocalError("no text found in the document")
    core_title = (word.core_properties.title or "").strip()
    return Converted(_document({}, path, data, options, core_title or title), render_blocks(blocks))


def check_docx_package(package: zipfile.ZipFile) -> None:
    """Refuse a package over MAX_DOCX_UNPACKED_BYTES unpacked or MAX_DOCX_ELEMENTS elements.

    zipfile never inflates a member past the size its directory declares (and then fails its
    CRC), so the declared sizes bound what python-docx will read. Elements are counted with
    lxml's iterparse, discarding each one as it ends, without entities, DTDs or the network.
    """
    from lxml import etree

    infos = package.infolist()
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise LocalError(
            f"the .docx unpacks to {unpacked:,} bytes, over the {MAX_DOCX_UNPACKED_BYTES:,}-byte "
            "limit (MAX_DOCX_UNPACKED_BYTES); a document this large is likely a ZIP bomb"
        )
    elements = 0
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")):
            continue
        with package.open(info) as stream:
            parser = etree.iterparse(
                stream,
                events=("end",),
                resolve_entities=False,
                load_dtd=False,
                no_network=True,
                huge_tree=False,
            )
            try:
                for _, element in parser:
                    elements += 1
                    if elements > MAX_DOCX_ELEMENTS:
                        raise LocalError(
                            f"the .docx has more than {MAX_DOCX_ELEMENTS:,} XML elements "
                            f"(MAX_DOCX_ELEMENTS; reached in {info.filename}); a document this "
                            "large is likely a ZIP bomb"
                        )
                    element.clear()
                    while element.getprevious() is not None:
                        del element.getparent()[0]
            except etree.XMLSyntaxError as exc:
                raise LocalError(
                    f"not a readable Word .docx file ({info.filename}: {exc})"
                ) from exc


class _Numbering:
    """Word's automatic paragraph numbers ("2.3", "4.") worked out from numbering.xml."""

    def __init__(self, word: Any) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = word.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for node in root.iter(f"{_W}abstractNum"):
            levels = {}
            for lvl in node.iter(f"{_W}lvl"):
                fmt = lvl.find(f"{_W}numFmt")
                text = lvl.find(f"{_W}lvlText")
                start = lvl.find(f"{_W}start")
                levels[int(lvl.get(f"{_W}ilvl", "0"))] = (
                    fmt.get(f"{_W}val") if fmt is not None else "decimal",
                    text.get(f"{_W}val") if text is not None else "",
                    int(start.get(f"{_W}val")) if start is not None else 1,
                )
            abstract[node.get(f"{_W}abstractNumId")] = levels
        for num in root.iter(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            if ref is not None:
                self.levels[num.get(f"{_W}numId")] = abstract.get(ref.get(f"{_W}val"), {})

    def label(self, num_id: str, ilvl: int) -> tuple[str, str] | None:
        """(format, label) for the next paragraph of a list, e.g. ('decimal', '2.3')."""
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return None
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, levels[ilvl][2] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        fmt, text, _ = levels[ilvl]
        if fmt in ("bullet", "none"):
            return fmt, ""

        def value(match: re.Match[str]) -> str:
            level = int(match.group(1)) - 1
            start = levels.get(level, ("decimal", "", 1))[2]
            count = counters.get(level, start)
            return _format_number(count, levels.get(level, ("decimal", "", 1))[0])

        return fmt, re.sub(r"%(\d)", value, text)


def _format_number(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt in ("lowerRoman", "upperRoman"):
        roman = ""
        for value, numeral in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
            while n >= value:
                roman, n = roman + numeral, n - value
        return roman if fmt == "lowerRoman" else roman.upper()
    return str(n)


def _num_pr(paragraph: Any) -> tuple[str, int] | None:
    """The paragraph's list (numId, level), from the paragraph or its style chain."""
    candidates = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        candidates.append(style.element.pPr)
        style = style.base_style
    for ppr in candidates:
        num = ppr.numPr if ppr is not None else None
        if num is not None and num.numId is not None:
            ilvl = num.ilvl.val if num.ilvl is not None else 0
            if str(num.numId.val) != "0":
                return str(num.numId.val), int(ilvl)
    return None


def docx_blocks(word: Any) -> tuple[str | None, list[Block]]:
    """(title, blocks): headings by style, numbered paragraphs, lists and tables in order."""
    numbering = _Numbering(word)
    title: str | None = None
    blocks: list[Block] = []
    for item in word.iter_inner_content():
        if not hasattr(item, "style") or not hasattr(item, "text") or hasattr(item, "rows"):
            blocks.extend(_table(item))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style == "Title" and title is None:
            title = text
        else:
            _paragraph(blocks, item, text, style, numbering)
    return title, blocks


def _paragraph(blocks: list[Block], item: Any, text: str, style: str, numbering: Any) -> None:
    """A paragraph as a heading (by its style), a list item (bulleted) or a paragraph, with
    its number ("3.2") when Word numbers it."""
    heading_level = re.match(r"Heading (\d)", style)
    numbered = _num_pr(item)
    label = numbering.label(*numbered) if numbered else None
    if label and label[1] and label[0] not in ("bullet", "none"):
        text = f"{label[1]} {text}"
    if heading_level:
        blocks.append(head(text, min(int(heading_level.group(1)) + 1, 6)))
    elif (label and label[0] == "bullet") or style.startswith("List Bullet"):
        _list_item(blocks, "- " + md_escape(text), text)
    else:
        blocks.append(para(text))


def _list_item(blocks: list[Block], line: str, plain: str) -> None:
    if blocks and blocks[-1].kind == "list":
        blocks[-1].text += "\n" + line
        blocks[-1].plain += " " + plain
    else:
        blocks.append(Block("list", line, plain))


def _table(table: Any) -> list[Block]:
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        if any(cells):
            rows.append(cells)
    if not rows:
        return []
    table = markdown_table([[md_escape(c) for c in row] for row in rows])
    return [Block("table", table, " ".join(c for r in rows for c in r if c))]


def parse_source(source: Entry, fetcher: Fetcher | None, settings: Settings) -> list[Parsed]:
    """Crawler registry entry for `kind: local`: a file read in place (path from the project root).

    Nothing is fetched. The manifest entry's facts (doc_id, else `local/<id>`; title, doc_type,
    status, …) win over the file's own.
    """
    entry = as_source(source)
    raw_path = entry.get("path")
    if not raw_path:
        raise LocalError("the manifest entry has no path")
    path = Path(str(raw_path))
    path = path if path.is_absolute() else PROJECT_ROOT / path
    source_id = str(entry.get("id") or "")
    doc_id = entry.get("doc_id") or (source_id if "/" in source_id else f"local/{source_id}")
    options = Options(doc_type=entry.get("doc_type"), title=entry.get("title"),
                      status=entry.get("status"), doc_id=doc_id)  # fmt: skip
    converted = convert_file(path, options)
    apply_manifest(converted.document, entry)
    return [(converted.document, converted.body)]
