"""`kb add PATH...`: a council's own documents (Markdown, HTML, PDF, DOCX) into the corpus.

Each file is converted in memory first and written (atomically) only if the conversion worked,
so a bad file never replaces a good copy added earlier. Bad files are reported by name with the
reason; the others are still added; the command exits non-zero if any failed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from indexer.archived import ArchivedError, parse_page
from indexer.corpus import (
    iter_corpus,
    markdown_table,
    render_document,
    sha256_bytes,
    skipped_name,
    split_front_matter,
    too_big,
    write_document,
)
from indexer.govuk import Block, head, md_escape, para, render_blocks
from indexer.pdfdoc import DEFAULT_MAX_PAGES, PdfError, pdf_extra, pdf_to_markdown, read_pdf
from kb.core.config import PROJECT_ROOT, Settings
from kb.core.models import DOC_TYPES, LOCAL_PREFIX, STATUSES, Document, DocumentError
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
            continue
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
    return title, blocks


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


# --- the command -------------------------------------------------------------------------------


def target_path(out: Path, document: Document) -> Path:
    rel = document.id[len("local/") :] if document.id.startswith("local/") else document.id
    return out / f"{rel}.md"


def _check_passages(converted: Converted) -> None:
    """Catch what `kb build` would refuse or skip now: a file over its size limit, front matter
    that does not read back the same, a body it cannot parse (two provisions with one anchor)
    or with no text to index. Problems it would only report (a provision's unknown status) are
    added to the warnings."""
    from indexer.passages import parse_document

    rendered = render_document(converted.document, converted.body)
    problem = too_big(len(rendered.encode("utf-8")))
    if problem:
        raise LocalError(f"the corpus file would be {problem}")
    meta, body = split_front_matter(rendered)
    if Document.from_front_matter(meta) != converted.document:
        raise LocalError("the front matter does not read back as written")
    try:
        parsed = parse_document(converted.document, body)
    except ValueError as exc:
        raise LocalError(f"the indexer cannot use it: {exc}") from exc
    if not parsed.passages:
        raise LocalError("no text to index (the body is empty once converted)")
    converted.warnings.extend(parsed.warnings)


def shown(value: object) -> str:
    """Text for one line of the report: control and other invisible characters (a newline in
    a file name) are written as escapes, so a name cannot forge report lines."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch)[0] in "CZ" and ch != " "
        else ch
        for ch in str(value)
    )


def check_local_id(document: Document) -> None:
    """Local documents live in their own id space, apart from crawled legislation and guidance."""
    if not document.id.startswith(LOCAL_PREFIX):
        raise LocalError(
            f"id {document.id!r} is not a local document id: what `kb add` adds has an id "
            f"starting '{LOCAL_PREFIX}' (e.g. --id {LOCAL_PREFIX}{document.id.rsplit('/', 1)[-1]}"
            "); the others belong to crawled legislation and guidance"
        )


_ID_LINE = re.compile(r"^id:[ \t]*(.*?)[ \t]*$", re.M)


def corpus_ids(roots: list[Path]) -> dict[str, Path]:
    """Document id -> file, for every corpus file under the roots (read from the front matter's
    `id:` line, so that a large corpus is scanned quickly). Unreadable files are left out."""
    import yaml

    from indexer.corpus import _FRONT_MATTER

    ids: dict[str, Path] = {}
    for path in iter_corpus([root for root in roots if root.exists()]):
        try:
            with path.open("rb") as fh:
                head = fh.read(1_000_000).decode("utf-8", errors="replace")
            match = _FRONT_MATTER.match(head)
            line = _ID_LINE.search(match.group(1)) if match else None
            value = yaml.safe_load(line.group(1)) if line else None
        except (OSError, yaml.YAMLError):
            continue
        if value is not None:
            ids.setdefault(str(value).strip().strip("/"), path)
    return ids


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; folders give their supported files (hidden ones left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return files


@click.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (default: <KB_CORPUS>/local).",
)
@click.option("--doc-type", type=click.Choice(DOC_TYPES), help="Default: local_policy.")
@click.option("--title", help="Title (one file only).")
@click.option("--status", type=click.Choice(STATUSES), help="Default: in_force.")
@click.option("--id", "doc_id", help="Document id, e.g. local/barnet/constitution (one file only).")
@click.option(
    "--publisher", help="Who issued it, as it is cited (e.g. 'London Borough of Barnet')."
)
@click.option(
    "--date",
    "published",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date it was issued (YYYY-MM-DD): cited as its year, and `as_at` searches use it.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PAGES,
    show_default=True,
    help="Read at most this many pages of a PDF.",
)
@click.pass_context
def add(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path | None,
    doc_type: str | None,
    title: str | None,
    status: str | None,
    doc_id: str | None,
    max_pages: int,
    publisher: str | None,
    published,
) -> None:
    """Convert Markdown, HTML, PDF and DOCX files into the corpus format.

    Files go to <KB_CORPUS>/local (or --out); run `kb build` afterwards to index them."""
    settings = Settings.given(ctx.obj)  # the `kb` group's (kb.cli.CliState), or a Settings
    out = out or settings.corpus / "local"
    files = expand(paths)
    if (title or doc_id) and len(files) > 1:
        raise click.UsageError("--title and --id name one document: give one file")
    if not files:
        raise click.UsageError("no supported files found")
    day = published.date().isoformat() if published else None
    options = Options(doc_type, title, status, doc_id, max_pages, publisher, day)
    # Ids already in the corpus (crawled, samples, other local files): a new file may not take
    # one, though a file may replace its own earlier copy (same id, same place).
    existing = corpus_ids([settings.corpus, out])
    written: dict[Path, Path] = {}
    failed = 0
    for path in files:
        try:
            converted = convert_file(path, options)
            check_local_id(converted.document)
            target = target_path(out, converted.document)
            rel = target.relative_to(out)
            if skipped_name(rel) or "samples" in rel.parts[:-1]:
                raise LocalError(
                    f"id {converted.document.id!r} would be written to {rel}, a name `kb build` "
                    "leaves out; give another with --id"
                )
            if target in written:
                raise LocalError(
                    f"same id as {shown(written[target])} ({converted.document.id}); use --id"
                )
            taken = existing.get(converted.document.id)
            if taken is not None and not _same_file(taken, target):
                raise LocalError(
                    f"id {converted.document.id!r} is already used by {shown(taken)}; "
                    "give another with --id"
                )
            _check_passages(converted)
            write_document(target, converted.document, converted.body)
        except (LocalError, DocumentError, OSError) as exc:
            failed += 1
            click.echo(f"failed: {shown(path)}: {shown(exc)}", err=True)
            continue
        except Exception as exc:  # one bad file never stops the others
            failed += 1
            click.echo(
                f"failed: {shown(path)}: could not be converted ({type(exc).__name__}: "
                f"{shown(exc)})",
                err=True,
            )
            continue
        written[target] = path
        existing[converted.document.id] = target
        click.echo(f"added: {shown(path)} -> {shown(target)} ({converted.document.id})")
        for warning in converted.warnings:
            click.echo(f"  warning: {shown(path)}: {shown(warning)}", err=True)
    click.echo(f"{len(written)} added, {failed} failed")
    if written:
        click.echo(f"Written to {shown(out)}. Run `kb build` to index them.")
    if failed:
        ctx.exit(1)


def parse_source(source: Any, fetcher: Any, settings: Any) -> list[tuple[Document, str]]:
    """Crawler registry entry for `kind: local`: a file read in place (path from the project root).

    Nothing is fetched. The manifest entry's facts (doc_id, else `local/<id>`; title, doc_type,
    status, …) win over the file's own.
    """
    from indexer.govuk import _get, apply_manifest

    raw_path = _get(source, "path")
    if not raw_path:
        raise LocalError("the manifest entry has no path")
    path = Path(str(raw_path))
    path = path if path.is_absolute() else PROJECT_ROOT / path
    source_id = str(_get(source, "id") or "")
    doc_id = _get(source, "doc_id") or (source_id if "/" in source_id else f"local/{source_id}")
    options = Options(doc_type=_get(source, "doc_type"), title=_get(source, "title"),
                      status=_get(source, "status"), doc_id=doc_id)  # fmt: skip
    converted = convert_file(path, options)
    apply_manifest(converted.document, source)
    return [(converted.document, converted.body)]
