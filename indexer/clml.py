"""Parse legislation.gov.uk CLML (`…/data.xml`) into a corpus document.

One provision per anchor, named as legislation.gov.uk names it (`section-3-2-a`,
`regulation-13A`, `schedule-8-paragraph-5`). Every CLML element is rendered by a small handler
(`HANDLERS`, element name -> function); an element without one keeps its text (a paragraph), so
nothing is dropped silently. Choices worth knowing (see corpus/sources/README.md):

- All the text of a provision is kept, in reading order: every `P1para`/`P2para`…, closing words
  after its paragraphs, unnumbered `P` blocks, lists, tables, formulae; text directly under a
  Part, Schedule or P1group follows its heading.
- Prelims (long title, preamble, enacting formula), signatures and explanatory notes are their
  own passages, pinned as legislation.gov.uk pins them (`introduction`, `signature`, `note`) and
  marked `operative="false"`: shown and searchable, never presented as the law itself.
- Commentaries (F, C, I, E, M notes) and footnotes are an "Annotations" / "Footnotes"
  blockquote marked `{role="annotation"}` directly under the provision that first refers to
  them, once per document. indexer/passages.py keeps them out of the searchable text.
- A provision changed by another instrument carries `amended_by="<path>/section/N"` with
  `amended_by_change` / `amended_by_date` (`;`-separated, one per path): the operative
  provision its F note names, the note's kind of change and date; an amending provision
  carries `amends="<path>/section/N"` (and `amends_change`). The text it inserts is quoted (a
  blockquote) inside the amending provision and never gets a pin.
- Status, dates and extent are each provision's own (`Status`, `Match`, `RestrictStartDate`,
  `RestrictEndDate`, `RestrictExtent`, on it or its group, Part, Schedule …): `status`,
  `status_date`, `status_note` ("Partly repealed."), `valid_from`, `valid_to`, `extent`.
- Closing words after a provision's list are their own passage, `<pin>/closing`.
- `ukm:UnappliedEffects` become the front matter's `outstanding_changes`.
- A table of contents (a `…/contents` response) or a metadata-only response is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

from lxml import etree

from indexer.corpus import anchored, escape_text, heading, markdown_table, sha256_bytes
from kb.core.legislation import EU, PRIMARY, SECONDARY, document_path, parse_path
from kb.core.models import Document
from kb.core.vocabularies import PROVISION_KEYWORDS, ROMAN_KEYWORDS, SECTION_LEVEL, roman_to_int

NS = "http://www.legislation.gov.uk/namespaces/legislation"
UKM = "http://www.legislation.gov.uk/namespaces/metadata"
DC = "http://purl.org/dc/elements/1.1/"
DCT = "http://purl.org/dc/terms/"
XHTML = "http://www.w3.org/1999/xhtml"  # a Tabular's <table>, <tr>, <td> …

LICENCE = "Open Government Licence v3.0"
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Source: legislation.gov.uk (The National Archives)."
)
PUBLISHER = "The National Archives (legislation.gov.uk)"
VERSION_SUFFIXES = {"enacted", "made", "created", "adopted", "new", "revision", "prospective"}
LANGUAGE_SUFFIXES = {"welsh", "english"}
PROVISIONS = ("P1", "P2", "P3", "P4", "P5", "P6")
GROUPS = ("P1group", "P2group", "P3group")
EU_DIVISIONS = ("Division", "EUPart", "EUTitle", "EUChapter", "EUSection", "EUSubsection")
DIVISIONS = ("Part", "Chapter", "Pblock", "PsubBlock", "Schedule", *EU_DIVISIONS)
MAIN = ("Primary", "Secondary", "EURetained")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTS = re.compile(r"^[\s.…]*$")
# Amending text names its target: "section 3 of", "regulation 13A of".
_TARGET = re.compile(rf"\b({'|'.join(SECTION_LEVEL)})\s+(\d+[A-Z]*)", re.I)


class CLMLError(ValueError):
    """A document that is not safe or not usable CLML; the message says why."""


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def xh(tag: str) -> str:
    return f"{{{XHTML}}}{tag}"


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


# --- safe XML -------------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _refuse_doctype(data: bytes) -> None:
    """CLML never has a DOCTYPE; one is how entity bombs and external entities get in."""
    head = data[:65536]
    root_at = re.search(rb"<[A-Za-z_]", head)
    prolog = head if root_at is None else head[: root_at.start()]
    refused = re.search(rb"<!DOCTYPE|<!ENTITY", prolog, re.I) or re.search(rb"<!ENTITY", head, re.I)
    if refused and (
        re.search(rb"<!DOCTYPE\s+html\b", prolog, re.I) or re.search(rb"<html\b", head, re.I)
    ):
        # an error, login or maintenance page where the XML should be: say so, not "entities"
        raise CLMLError("not CLML: the response is an HTML page, not legislation XML")
    if refused:
        raise CLMLError("refused: the document declares a DOCTYPE or entities (not CLML)")


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted bytes: no DTD, no entity expansion, no network, no huge trees."""
    if not data.strip():
        raise CLMLError("empty document")
    _refuse_doctype(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise CLMLError(f"malformed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise CLMLError("refused: the document declares a DOCTYPE (not CLML)")
    if root.tag != q("Legislation"):
        raise CLMLError(f"not CLML: the root element is <{local(root) or root.tag}>")
    return root


def main_content(root: etree._Element) -> etree._Element:
    """The text of the legislation (<Primary>, <Secondary>, <EURetained>); refuse anything else.

    A table of contents (`…/contents`) carries prelims and a <Contents> list but no provisions:
    made into a document it would pass for an in-force instrument holding only its long title.
    """
    if root.find(q("Contents")) is not None:
        raise CLMLError(
            "refused: this is a table of contents (a …/contents response), not the text of the "
            "legislation; the text is at the document's own data.xml, without /contents"
        )
    for name in MAIN:
        found = root.find(q(name))
        if found is not None:
            return found
    raise CLMLError(
        "no <Primary>, <Secondary> or <EURetained> text: not a document (a metadata-only response?)"
    )


def check(data: bytes) -> None:
    """Validator for the fetcher: a body that fails here never replaces the cached copy."""
    main_content(parse_xml(data))


# --- metadata -------------------------------------------------------------------------------


@dataclass
class Meta:
    path: str
    title: str
    doc_type: str
    year: str | None = None
    number: str | None = None
    extent: str | None = None
    valid_from: str | None = None
    enacted: str | None = None
    made: str | None = None
    document_status: str | None = None  # CLML's own: "revised" or "final" (as enacted/made)
    status: str | None = None  # the root's Status attribute, if any
    language: str | None = None  # 'en', 'cy' (xml:lang, else dc:language)
    subsidiary_number: str | None = None  # an SI's Welsh or NI number: 'W 171', 'Cy 171', 'NI 1'


def _subsidiary_number(root: etree._Element, language: str | None) -> str | None:
    """From ukm:AlternativeNumber: the Welsh number ('Cy' on Welsh text) or the NI number."""
    for alt in root.iterfind(".//ukm:AlternativeNumber", {"ukm": UKM}):
        value, category = alt.get("Value"), alt.get("Category")
        if value and category in ("W", "Cy"):
            return f"{'Cy' if language == 'cy' else 'W'} {value}"
        if value and category == "NI":
            return f"NI {value}"
    return None


def legislation_path(uri: str) -> str:
    """'http://www.legislation.gov.uk/id/ukpga/1999/27/section/3' -> 'ukpga/1999/27/section/3'."""
    parts = [p for p in urlparse(uri).path.split("/") if p]
    if parts and parts[0] == "id":
        parts = parts[1:]
    if parts and parts[-1] in LANGUAGE_SUFFIXES:
        parts = parts[:-1]
    while parts and (parts[-1] in VERSION_SUFFIXES or _DATE.match(parts[-1])):
        parts = parts[:-1]
    if parts and parts[-1] == "data.xml":
        parts = parts[:-1]
    return "/".join(parts)


def _first(root: etree._Element, xpath: str) -> str | None:
    found = root.xpath(xpath, namespaces={"ukm": UKM, "dc": DC, "dct": DCT, "l": NS})
    if not found:
        return None
    value = found[0]
    text = value if isinstance(value, str) else "".join(value.itertext())
    return " ".join(str(text).split()) or None


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def own_path(root: etree._Element) -> str:
    """The document path the CLML names itself by: 'ukpga/1999/27', 'ukpga/Geo6/6-7/48'."""
    for uri in (
        root.get("IdURI"),
        root.get("DocumentURI"),
        _first(root, "ukm:Metadata/dc:identifier"),
    ):
        found = document_path(uri or "")
        if found:
            return found
    return ""


def _doc_type(root: etree._Element, path: str) -> str:
    """'act' or 'si': by the path's type code, else by the CLML's DocumentCategory."""
    parsed = parse_path(path)
    kind = parsed.type if parsed else path.split("/")[0]
    if kind in PRIMARY:
        return "act"
    if kind in SECONDARY or kind in EU:  # EU-origin legislation is cited by its articles
        return "si"
    category = _first(root, ".//ukm:DocumentCategory/@Value")
    return "act" if category == "primary" else "si"


def read_meta(root: etree._Element, path: str | None = None) -> Meta:
    path = path or own_path(root)
    if not path:
        raise CLMLError("no document URI in the CLML and no path given")
    doc_type = _doc_type(root, path)
    title = _first(root, "ukm:Metadata/dc:title") or _first(root, ".//l:PrimaryPrelims/l:Title")
    title = title or _first(root, ".//l:SecondaryPrelims/l:Title")
    if not title:
        raise CLMLError("no title (dc:title) in the CLML metadata")
    language = (root.get(XML_LANG) or _first(root, "ukm:Metadata/dc:language") or "").lower()
    language = language or None
    return Meta(
        path=path,
        title=title,
        doc_type=doc_type,
        year=_first(root, ".//ukm:Year/@Value"),
        number=_first(root, ".//ukm:Number/@Value"),
        extent=root.get("RestrictExtent"),
        valid_from=_date(_first(root, "ukm:Metadata/dct:valid") or root.get("RestrictStartDate")),
        enacted=_date(_first(root, ".//ukm:EnactmentDate/@Date")),
        made=_date(_first(root, ".//ukm:Made/@Date")),
        document_status=_first(root, ".//ukm:DocumentStatus/@Value"),
        status=root.get("Status"),
        language=language,
        subsidiary_number=_subsidiary_number(root, language),
    )


# --- scope ----------------------------------------------------------------------------------


def _norm_pin(pin: str) -> list[str]:
    """Case-folded steps with Roman Part/Chapter numbers as digits: 'part/I' == 'part/1'."""
    steps = pin.strip("/").lower().split("/")
    out = []
    for i, step in enumerate(steps):
        value = roman_to_int(step) if i and steps[i - 1] in ROMAN_KEYWORDS else None
        out.append(str(value) if value else step)
    return out


def _number_key(text: str) -> tuple[int, str] | None:
    """'3A' -> (3, 'A'), so that 3 < 3A < 4 in scope ranges."""
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", text)
    return (int(match.group(1)), match.group(2).upper()) if match else None


def in_scope(pin: str, scope: Iterable[str]) -> bool:
    """Is the pin one of the scope items or inside one? 'section/137-139' is a range."""
    steps = _norm_pin(pin)
    for item in scope:
        want = _norm_pin(item)
        if len(want) > len(steps):
            continue
        ok = True
        for have, need in zip(steps, want, strict=False):
            if have == need:
                continue
            low, dash, high = need.partition("-")
            lo, hi, num = _number_key(low), _number_key(high), _number_key(have)
            if dash and lo and hi and num and lo <= num <= hi:
                continue
            ok = False
            break
        if ok:
            return True
    return False


# --- rendering: context --------------------------------------------------------------------


@dataclass
class Ctx:
    meta: Meta
    own_path: str  # the document path the CLML URIs use ('ukpga/1999/27', 'aep/Ann/6/11')
    provision_word: str  # section, regulation, article, rule
    scope: list[str] | None
    commentaries: dict[str, etree._Element]
    labels: dict[str, str]
    footnotes: dict[str, etree._Element] = field(default_factory=dict)
    footnote_labels: dict[str, str] = field(default_factory=dict)  # id -> "1", "2" …
    statuses: list[tuple[str, str | None]] = field(default_factory=list)  # (pin, status) of P1s
    matched: int = 0  # provisions and text blocks inside the scope
    anchors: set[str] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)  # notes already shown (once per document)
    amends: list[list[Change]] = field(default_factory=list)  # targets, per open provision


# (status, status_date, status_note, (valid_from, valid_to)), as _own_status gives them
_Status = tuple[str | None, str | None, str | None, tuple[str | None, str | None]]


@dataclass(frozen=True)
class Frame:
    """Where a handler is: the enclosing pin, heading level, scope and inherited status."""

    pin: str
    level: int
    included: bool
    status: str | None = None
    group: etree._Element | None = None  # the P1group round a P1
    valid: tuple[str | None, str | None] = (None, None)  # RestrictStartDate / RestrictEndDate
    loose: bool = False  # in prelims and notes, where numbers and titles are plain text

    def inside(self, **changes) -> Frame:
        return replace(self, **changes)


def _emit(ctx: Ctx, frame: Frame) -> bool:
    """Is text at this point kept (inside the scope)?"""
    return frame.included or ctx.scope is None


Handler = Callable[[etree._Element, Ctx, Frame], list[str]]

# A handler's block starting with this is glued onto the block before it (AppendText: the
# punctuation and words that close a quotation, such as "; and").
_GLUE = "\x00"


# --- rendering: inline text ----------------------------------------------------------------


def _pin(el: etree._Element, ctx: Ctx, fallback: str) -> str:
    for uri in (el.get("IdURI"), el.get("DocumentURI")):
        parsed = parse_path(uri or "")
        if parsed and parsed.document == ctx.own_path and parsed.pin:
            return parsed.pin
    return fallback


def _number(el: etree._Element) -> str:
    """'Part I' -> 'I'; '(a)' -> 'a'; '3A.' -> '3A'; 'Article 1' -> '1'."""
    for tag in ("Pnumber", "Number"):
        child = el.find(q(tag))
        if child is not None:
            text = " ".join("".join(child.itertext()).split())
            text = text.split(" ")[-1] if text else ""
            return text.strip("().[]")
    return ""


def _title(el: etree._Element | None) -> str:
    if el is None:
        return ""
    parts = [c for c in el if local(c) in ("Title", "Subtitle")]
    block = el.find(q("TitleBlock"))
    if block is not None:
        parts += [c for c in block if local(c) in ("Title", "Subtitle")]
    return " ".join(_inline(t) for t in parts)


_MARKS = {"Term": "**", "Strong": "**", "Bold": "**", "Emphasis": "*", "Italic": "*"}
_NO_TEXT = ("CommentaryRef", "FootnoteRef", "MarginNoteRef")


def _inline(el: etree._Element) -> str:
    """Markdown for mixed content, source text escaped; note references dropped."""
    out = [escape_text(el.text or "")] if el.text else []
    for child in el:
        name = local(child)
        inner = "" if name in _NO_TEXT or not name else _inline(child)
        mark = _MARKS.get(name)
        if mark and inner.strip():
            # the spaces stay outside the marks, so words never run together or apart
            lead = inner[: len(inner) - len(inner.lstrip())]
            trail = inner[len(inner.rstrip()) :]
            inner = f"{lead}{mark}{inner.strip()}{mark}{trail}"
        out.append(inner)
        if child.tail:
            out.append(escape_text(child.tail))
    return "".join(out)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _cell(cell: etree._Element) -> str:
    texts = list(cell.iter(q("Text")))  # a cell holds Para/Text blocks or inline text directly
    text = " ".join(_inline(t) for t in texts) if texts else _inline(cell)
    return _clean(text)


def _tabular(el: etree._Element) -> list[str]:
    """A Tabular as GFM tables, written as indexer/blocks.py writes them.

    The first row (thead's, when there is one) is the header; short rows are padded to the
    table's width; rows with no text are dropped.
    """
    blocks = []
    title = _clean(" ".join(_inline(c) for c in el if local(c) in ("Number", "Title", "Subtitle")))
    intro = [_clean(_inline(t)) for t in el.iterfind(f"{q('TableText')}//{q('Text')}")]
    blocks += [line for line in [title, *intro] if line]
    for table in el.iterchildren(xh("table")):
        caption = table.find(xh("caption"))
        if caption is not None and _clean(_inline(caption)):
            blocks.append(_clean(_inline(caption)))
        rows = _table_rows(table)
        if rows:
            blocks.append(markdown_table(rows))
    return blocks


def _table_rows(table: etree._Element) -> list[list[str]]:
    """The cells of each row with any text: thead's, tbody's, then tfoot's."""
    rows = []
    for part in ("thead", "tbody", "tfoot"):
        for section in table.iterchildren(xh(part)):
            for tr in section.iterchildren(xh("tr")):
                cells = [_cell(c) for c in tr.iterchildren(xh("th"), xh("td"))]
                if any(cells):
                    rows.append(cells)
    return rows


# --- rendering: notes (commentaries and footnotes) ------------------------------------------


def _own_refs(el: etree._Element, stop: tuple[str, ...]) -> list[tuple[str, str]]:
    """("c"|"f", id) of the notes this element refers to itself, not its sub-provisions.

    The descent stops at the `stop` elements (sub-provisions, nested divisions), except inside
    a BlockAmendment: notes on quoted text belong to the amending provision.
    """
    refs: list[tuple[str, str]] = []

    def visit(node: etree._Element, quoted: bool) -> None:
        for child in node:
            name = local(child)
            if not name or (name in stop and not quoted):
                continue
            if name == "FootnoteRef":
                ref = ("f", child.get("Ref") or "")
            elif name == "CommentaryRef":
                ref = ("c", child.get("Ref") or "")
            else:
                ref = ("c", child.get("CommentaryRef") or "")
            if ref[1] and ref not in refs:
                refs.append(ref)
            visit(child, quoted or name == "BlockAmendment")

    ref = el.get("CommentaryRef")
    if ref:
        refs.append(("c", ref))
    visit(el, False)
    return refs


def _notes(refs: list[tuple[str, str]], ctx: Ctx) -> tuple[str | None, list[Change]]:
    """The notes blockquote (not yet shown ones only) and the changes made to this provision.

    Each note is shown once, on the first provision that refers to it: the same commentary on
    a run of sibling provisions is not repeated on each.
    """
    commentary, footnotes, amended_by = [], [], []
    for kind, ref in refs:
        note = (ctx.commentaries if kind == "c" else ctx.footnotes).get(ref)
        if note is None:
            continue
        if note.get("Type") == "F":
            for change in _note_changes(note, ctx):
                if change.path not in [c.path for c in amended_by]:
                    amended_by.append(change)
        if (kind, ref) in ctx.shown:
            continue
        ctx.shown.add((kind, ref))
        text = _clean(" ".join(_inline(t) for t in note.iter(q("Text"))))
        if kind == "c":
            commentary.append(f"> - **{ctx.labels.get(ref, note.get('Type', ''))}** {text}")
        else:
            number = ctx.footnote_labels.get(ref, ref)
            footnotes.append(f"> - **{escape_text(number)}** {text}")
    blocks = []
    if commentary:
        blocks.append("> **Annotations**\n>\n" + "\n".join(commentary))
    if footnotes:
        blocks.append("> **Footnotes**\n>\n" + "\n".join(footnotes))
    if not blocks:
        return None, amended_by
    return '{role="annotation"}\n' + "\n>\n".join(blocks), amended_by


def _status_of(el: etree._Element, text: str, inherited: str | None) -> str | None:
    status = (el.get("Status") or "").lower()
    if status in ("repealed", "dead", "discarded"):
        return "repealed"
    if status == "prospective":
        return "prospective"
    if text and _DOTS.match(text) and text.count(".") >= 3:
        return "repealed"
    return inherited


# --- status, dates and changes, from a provision's own attributes and notes ---------------

# Placeholder status of a provision with none of its own: "in_force" once the document is
# known to be only partly in force, dropped otherwise (parse_clml replaces it).
_IN_FORCE = "__in_force__"
_NOTE_DATE = re.compile(r"\((\d{1,2})\.(\d{1,2})\.(\d{4})\)")
# "S. 3A inserted", "Words substituted", "Sch. 2 para. 4 omitted", "Figure repealed" …
_CHANGE = re.compile(
    r"\b(?:(words?|figures?|sums?|entry|entries|definitions?|letters?|cross-headings?|"
    r"heading)\s+)?(inserted|substituted|omitted|repealed|revoked|added)\b",
    re.I,
)
_COMMENCEMENT = re.compile(r"commencement", re.I)


@dataclass(frozen=True)
class Change:
    """One amendment of a provision: by whom (a provision path), what kind, when."""

    path: str
    change: str | None = None  # "inserted", "words substituted" … (the note's own words)
    date: str | None = None  # ISO date the change took effect, where the note gives one


def _note_date(text: str) -> str | None:
    match = _NOTE_DATE.search(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _note_kind(note: etree._Element) -> tuple[str | None, str | None, str]:
    """(change, date, text) of an F note: "S. 3A inserted (1.4.2008) by …" -> inserted."""
    text = _clean(" ".join(note.itertext()))
    head = re.split(r"\bby\b", text, maxsplit=1)[0]
    match = _CHANGE.search(head)
    if not match:
        return None, None, text
    kind = " ".join(g for g in match.groups() if g).lower()
    lead = re.match(r"(words?|figures?|entry|entries|definitions?)\b", head, re.I)
    if lead and not match.group(1):  # "Word in s. 4(2) repealed" -> "word repealed"
        kind = f"{lead.group(1).lower()} {kind}"
    return kind, _note_date(head), text


def _operative_refs(note: etree._Element) -> list[etree._Element]:
    """The CitationSubRefs that name the amending provision, in order.

    Only those after the note's "by" (before it are the provisions affected), outside
    parentheses ("(as inserted by …)" names who amended the amending text), and, where the
    note marks them, only `Operative="true"` ones (not the commencement provision).
    """
    found: list[tuple[etree._Element, etree._Element | None]] = []
    state = {"depth": 0, "after": False, "citation": None}

    def words(text: str | None) -> None:
        if not text:
            return
        if not state["after"] and re.search(r"\bby\b", text):
            state["after"] = True
        state["depth"] = max(0, state["depth"] + text.count("(") - text.count(")"))

    def visit(node: etree._Element) -> None:
        words(node.text)
        for child in node:
            name = local(child)
            if name == "Citation":
                if state["after"] and not state["depth"]:
                    state["citation"] = child
            elif name == "CitationSubRef":
                if state["after"] and not state["depth"]:
                    found.append((child, state["citation"]))
            elif name:
                visit(child)
            words(child.tail)

    for text in note.iter(q("Text")):
        visit(text)
    marked = [ref for ref, _ in found if ref.get("Operative") == "true"]
    return marked or _amending_refs(found)


def _amending_refs(
    found: list[tuple[etree._Element, etree._Element | None]],
) -> list[etree._Element]:
    """Of (CitationSubRef, its Citation) pairs, those that make the change: not a commencement
    order's, nor an instrument's citation and commencement rule before its other provisions."""
    refs = []
    by_citation: dict[int, list[etree._Element]] = {}
    for ref, citation in found:
        title = "" if citation is None else (citation.get("Title") or " ".join(citation.itertext()))
        if _COMMENCEMENT.search(title):
            continue  # a commencement order brings the change into force; it does not make it
        by_citation.setdefault(id(citation), []).append(ref)
    for group in by_citation.values():
        # "S.I. 2019/632, regs. 1(3), 100(a)": the first is the citation/commencement rule
        first = parse_path(group[0].get("URI") or "")
        pin = (first.pin or "") if first else ""
        if len(group) > 1 and re.fullmatch(r"(regulation|article|rule)/1(/\w+)?", pin):
            group = group[1:]
        refs += group
    return refs


def _note_changes(note: etree._Element, ctx: Ctx) -> list[Change]:
    """The operative amending provisions an F note names, with the kind and date of change."""
    kind, date, _ = _note_kind(note)
    if kind is None:
        return []  # not an insertion, substitution, omission or repeal ("Words amend …")
    changes = []
    for ref in _operative_refs(note):
        parsed = parse_path(ref.get("URI") or "")
        if parsed is None or not parsed.pin or parsed.document == ctx.own_path:
            continue  # a whole instrument, or this document's own provisions
        if parsed.pin.split("/")[-1] in pins_keywords():
            continue  # a bare "section", "schedule" …: no provision named
        path = f"{parsed.document}/{parsed.pin}"
        if path not in [c.path for c in changes]:
            changes.append(Change(path, kind, date))
    return changes


def pins_keywords() -> set[str]:
    return set(PROVISION_KEYWORDS)


def _own_status(el: etree._Element, ctx: Ctx, frame: Frame, text: str = "") -> _Status:
    """(status, status_date, status_note, (valid_from, valid_to)) from the element's attributes.

    `Status` says what the provision is at the version's date; `Match="false"` that it is not
    valid at that date (prospective, or already ended); `RestrictStartDate` /
    `RestrictEndDate` the dates this text of it applies between.
    """
    start = _date(el.get("RestrictStartDate")) or frame.valid[0]
    end = _date(el.get("RestrictEndDate")) or frame.valid[1]
    status = _status_of(el, text, None)
    date = note = None
    if status is None and el.get("Match") == "false":
        status, note = _not_valid_at(ctx.meta.valid_from, start, end)
    if status is None:
        status = frame.status
    elif status == "repealed":
        date = end
    if status is None and frame.status is None and not frame.loose:
        status = _IN_FORCE
    return status, date, note, (start, end)


def _not_valid_at(
    at: str | None, start: str | None, end: str | None
) -> tuple[str | None, str | None]:
    """(status, note) of text not valid at the version's date `at`: ended, not yet begun, or
    (no dates to tell) just said to be not valid."""
    if end and (at is None or end <= at):
        return "repealed", None
    if start and at and start > at:
        return "prospective", None
    return None, "Not valid at the date of this version."


def _validity_attrs(ctx: Ctx, valid: tuple[str | None, str | None]) -> dict[str, str]:
    attrs = {}
    document_from = ctx.meta.valid_from or ctx.meta.enacted or ctx.meta.made
    if valid[0] and valid[0] != document_from:
        attrs["valid_from"] = valid[0]
    if valid[1]:
        attrs["valid_to"] = valid[1]
    return attrs


def _text_changes(el: etree._Element, ctx: Ctx) -> str | None:
    """A note for text partly changed: "Partly repealed", "Words substituted" …

    From the change marks in the provision's own text (not its sub-provisions, not quoted
    text): a `Repeal` among other words, or one with RetainText="true" (repealed only for some
    extents or purposes), and `Addition` / `Substitution` marks that are not the whole text.
    """
    own: list[etree._Element] = []

    def visit(node: etree._Element) -> None:
        for child in node:
            name = local(child)
            if name in PROVISIONS or name in GROUPS or name in ("BlockAmendment", "Pnumber"):
                continue
            if name in ("Repeal", "Addition", "Substitution"):
                own.append(child)
                continue
            if name:
                visit(child)

    visit(el)
    if not own:
        return None
    # words of its own outside every mark: none means the whole text was changed at once
    unmarked = _clean(" ".join(_own_text(el, skip=("Repeal", "Addition", "Substitution"))))
    whole = not re.search(r"\w", unmarked)
    notes: list[str] = []
    for mark in own:
        if local(mark) == "Repeal" and (mark.get("RetainText") == "true" or not whole):
            if mark.get("RetainText") == "true":
                note = "Partly repealed (the words still apply for some extents or purposes)"
            else:
                note = "Partly repealed"
        elif local(mark) != "Repeal" and not whole:
            note_el = ctx.commentaries.get(mark.get("CommentaryRef") or "")
            kind = _note_kind(note_el)[0] if note_el is not None else None
            note = (kind or "text amended").capitalize()
        else:
            continue
        if note not in notes:
            notes.append(note)
    return "; ".join(notes) + "." if notes else None


def _own_text(el: etree._Element, skip: tuple[str, ...] = ()) -> list[str]:
    """The words of a provision itself (not its sub-provisions, number, title or quotations)."""
    out: list[str] = []
    stop = PROVISIONS + GROUPS + ("BlockAmendment", "Pnumber", "Title", *_NO_TEXT, *skip)

    def visit(node: etree._Element) -> None:
        if node.text:
            out.append(node.text)
        for child in node:
            name = local(child)
            if name and name not in stop:
                visit(child)
            if child.tail:
                out.append(child.tail)

    for part in el:
        if local(part) not in ("Pnumber", "Title"):
            visit(part)
    return out


def _encode(attrs: dict[str, str], key: str, changes: list[Change]) -> None:
    """amended_by="a b", amended_by_change="inserted;words substituted", amended_by_date=…"""
    if not changes:
        return
    attrs[key] = " ".join(c.path for c in changes)
    if any(c.change for c in changes):
        attrs[f"{key}_change"] = ";".join(c.change or "" for c in changes)
    if any(c.date for c in changes):
        attrs[f"{key}_date"] = ";".join(c.date or "" for c in changes)


# --- outstanding (unapplied) changes --------------------------------------------------------


def _effect_pin(effect: etree._Element, ctx: Ctx) -> str | None:
    """The one provision of this document an unapplied effect names, or None."""
    provisions = effect.find(f"{{{UKM}}}AffectedProvisions")
    if provisions is None:
        return None
    named = []
    for item in provisions:
        uri = item.get("URI") if local(item) in ("Section", "SectionRange") else None
        parsed = parse_path(uri or "")
        if parsed is None or parsed.document != ctx.own_path or not parsed.pin:
            return None
        named.append(parsed.pin)
        if local(item) == "SectionRange":
            return None  # a range ("s. 395(13)(bc)-(be)") is not one pin
    if not named:
        return None
    deepest = max(named, key=len)
    if all(deepest == n or deepest.startswith(n + "/") for n in named):
        return deepest  # "Sch. 6 para. 4A(7)": schedule/6, then schedule/6/paragraph/4A/7
    return None  # two provisions side by side ("Sch. 2A 2B")


def outstanding_changes(root: etree._Element, ctx: Ctx) -> list[dict]:
    """ukm:UnappliedEffects: changes legislation.gov.uk knows of but has not yet applied."""
    out = []
    for effect in root.iter(f"{{{UKM}}}UnappliedEffect"):
        affected = document_path(effect.get("AffectedURI") or "")
        if affected and affected != ctx.own_path:
            continue
        pin = _effect_pin(effect, ctx)
        if ctx.scope is not None and pin is not None and not in_scope(pin, ctx.scope):
            continue
        item = _effect_item(effect, pin)
        if item not in out:
            out.append(item)
    return out


def _effect_item(effect: etree._Element, pin: str | None) -> dict:
    def attr(name: str) -> str:
        return _clean(effect.get(name) or "")

    by = effect.get("AffectingURI") or ""
    item = {
        "affected": attr("AffectedProvisions") or None,
        "pin": pin,
        "type": attr("Type") or None,
        "by": document_path(by) or legislation_path(by) or None,
        "by_provisions": attr("AffectingProvisions") or None,
    }
    if attr("Notes"):
        item["note"] = attr("Notes")
    return item


# --- rendering: block amendments ------------------------------------------------------------


def _amend_contexts(intro: etree._Element) -> list[list[etree._Element]]:
    """The words that introduce a BlockAmendment, then those of each enclosing provision.

    "In regulation 2 of the X Regulations— (a) after paragraph (3) insert—": the instrument
    and the regulation are named one level up from the words next to the quoted text.
    """
    contexts = [[c for c in intro if local(c) != "BlockAmendment"]]
    node = intro.getparent()
    while node is not None and local(node) not in MAIN and local(node) != "BlockAmendment":
        name = local(node)
        if name in PROVISIONS:
            paras = list(node.iterchildren(q(f"{name}para")))
            texts = [t for para in paras for t in para.iterchildren(q("Text"))]
            if texts:
                contexts.append(texts)
        node = node.getparent()
    return contexts


def _amend_kind(intro: etree._Element) -> str | None:
    words = " ".join(t for c in intro if local(c) != "BlockAmendment" for t in c.itertext())
    if re.search(r"\bsubstitut", words, re.I):
        return "substituted"
    if re.search(r"\binsert", words, re.I):
        return "inserted"
    return None


def _amend_target(block: etree._Element, intro: etree._Element, ctx: Ctx) -> str | None:
    """Where a BlockAmendment's text goes: 'ukpga/1999/27/section/3A' or '…/section/3/4'."""
    cites, subs, named = _amend_citations(intro)
    if not cites and not subs:
        return None
    doc = document_path((cites or subs)[-1]) or legislation_path((cites or subs)[-1])
    first = next((e for e in block.iter(*[q(t) for t in PROVISIONS])), None)
    word = "regulation" if block.get("TargetClass") == "secondary" else "section"
    if first is not None and local(first) == "P1":
        return f"{doc}/{word}/{_number(first)}"
    if named:
        base = f"{doc}/{named.group(1).lower()}/{named.group(2)}"
        return f"{base}/{_number(first)}" if first is not None and local(first) == "P2" else base
    if subs:
        return legislation_path(subs[-1])
    return doc


def _amend_citations(intro: etree._Element) -> tuple[list[str], list[str], re.Match | None]:
    """(Citation URIs, CitationSubRef URIs) of the nearest words that cite anything, and the
    first provision ("section 3") the words name, nearest first."""
    cites: list[str] = []
    subs: list[str] = []
    named = None
    for context in _amend_contexts(intro):
        if not cites and not subs:
            cites = [c.get("URI") for e in context for c in e.iter(q("Citation")) if c.get("URI")]
            subs = [
                c.get("URI") for e in context for c in e.iter(q("CitationSubRef")) if c.get("URI")
            ]
        if named is None:
            named = _TARGET.search(" ".join(t for e in context for t in e.itertext()))
    return cites, subs, named


_QUOTE_HEADS = ("Number", "Title", "Subtitle", "TitleBlock", "Pnumber", "Reference")


def _quote_lines(el: etree._Element, pending: str = "") -> list[str]:
    """The quoted text, line by line, in reading order: numbers, headings, text, tables.

    `pending` is a number or title waiting to be written with the next line of text.
    """
    lines: list[str] = []
    for child in el:
        name = local(child)
        if not name or name in _NO_TEXT or name in _QUOTE_HEADS:
            continue  # notes, or numbers and titles written with their parent
        if name == "Tabular":
            lines += _tabular(child)
        elif name in DIVISIONS or name in GROUPS:
            more, pending = _quote_division(child, pending)
            lines += more
        elif name in PROVISIONS:
            lines += _quote_provision(child, pending)
            pending = ""
        elif name in ("UnorderedList", "OrderedList"):
            lines += _list(child, None, None)
        elif len(child) and not _is_mixed(child):
            lines += _quote_lines(child, pending)
            pending = ""
        else:
            text = _clean(_inline(child))
            text = f"{pending} {text}".strip() if pending else text
            pending = ""
            if text:
                lines.append(text)
    if pending:
        lines.append(pending)
    return lines


def _quote_division(child: etree._Element, pending: str) -> tuple[list[str], str]:
    """A quoted Part, cross-heading or group: its heading line(s), then its content; and what
    is still pending after it."""
    name = local(child)
    lines: list[str] = []
    number_el = child.find(q("Number"))
    number = _clean(_inline(number_el)) if number_el is not None else ""
    title = _clean(_title(child))
    if name == "P1group" and child.find(q("P1")) is not None:
        pending = title  # "3A Title": written with the number
    elif number or title:
        lines.append(f"{number} {title}".strip())
    reference = child.find(q("Reference"))
    if reference is not None and _clean(_inline(reference)):
        lines.append(_clean(_inline(reference)))
    if name != "P1group":
        return lines + _quote_lines(child, ""), pending
    return lines + _quote_lines(child, pending), ""


def _quote_provision(child: etree._Element, pending: str) -> list[str]:
    """A quoted P1 … P6: its number leads its first line ("(a) …"), after any pending title."""
    name = local(child)
    lines: list[str] = []
    pnumber = child.find(q("Pnumber"))
    num = _clean(_inline(pnumber)) if pnumber is not None else ""
    if name != "P1" and num and not num.startswith("("):
        num = f"({num})"
    if name == "P1" and pending:  # "3A Title" is a line of its own
        lines.append(f"{num} {pending}".strip())
        num = ""
    elif pending:
        lines.append(pending)
    return lines + _quote_lines(child, num)


def _quote(block: etree._Element) -> str:
    """The text a BlockAmendment inserts, as a blockquote: quoted, never a provision here."""
    lines = [line.replace("\n", "\n> ") for line in _quote_lines(block)]
    body = "\n>\n".join(f"> {line}" for line in lines if line)
    return body or "> " + escape_text(_clean(" ".join(block.itertext())))


# --- rendering: handlers --------------------------------------------------------------------

_INLINE_TAGS = {
    "Emphasis", "Strong", "Italic", "Bold", "Underline", "SmallCaps", "Superior", "Inferior",
    "Uppercase", "Expanded", "Term", "Definition", "Citation", "CitationSubRef", "InternalLink",
    "ExternalLink", "Abbreviation", "Acronym", "Addition", "Substitution", "Repeal",
    "InlineAmendment", "Span", "Character", *_NO_TEXT,
}  # fmt: skip


def _is_mixed(el: etree._Element) -> bool:
    """Mixed content (text with inline markup) is one paragraph; anything else holds blocks."""
    if (el.text or "").strip():
        return True
    return any(local(c) in _INLINE_TAGS or (c.tail or "").strip() for c in el)


def _seq(
    children: Iterable[etree._Element], ctx: Ctx, frame: Frame, into: list[str] | None = None
) -> list[str]:
    """Blocks for a run of elements, each by its handler, in order (added to `into`)."""
    blocks: list[str] = [] if into is None else into
    for child in children:
        name = local(child)
        if not name:
            continue
        for block in HANDLERS.get(name, _other)(child, ctx, frame):
            if block.startswith(_GLUE):
                glue = block[len(_GLUE) :]
                if blocks and not blocks[-1].lstrip().startswith(("{", "#")):
                    blocks[-1] = blocks[-1].rstrip("\n") + glue
                elif glue.strip():
                    blocks.append(glue.strip())
            else:
                blocks.append(block)
    return blocks


def _other(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """Any element without a handler: its text as a paragraph, or its blocks, never dropped."""
    if not _emit(ctx, frame) and not len(el):
        return []
    if _is_mixed(el):
        if not _emit(ctx, frame):
            return []
        text = _clean(_inline(el))
        return [text] if text else []
    return _seq(el, ctx, frame)


def _skip(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    if frame.loose and local(el) in ("Number", "Title", "Subtitle"):
        return _other(el, ctx, frame)
    return []  # written by the parent (numbers, titles) or not text (references, metadata)


def _text(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    if not _emit(ctx, frame):
        return []
    if ctx.scope is not None:
        ctx.matched += 1
    if not _is_mixed(el) and len(el):
        return _seq(el, ctx, frame)  # e.g. a Text holding only a Formula or an Image
    text = _clean(_inline(el))
    return [text] if text else []


def _append_text(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    if not _emit(ctx, frame):
        return []
    return [_GLUE + _clean(_inline(el))]


def _list(el: etree._Element, ctx: Ctx | None, frame: Frame | None) -> list[str]:
    if ctx is not None and frame is not None and not _emit(ctx, frame):
        return []
    items = []
    for item in el.iterchildren(q("ListItem")):
        text = _clean(" ".join(_inline(t) for t in item.iter(q("Text"))))
        items.append(f"- {text}" if text else "-")
    return ["\n".join(items)] if items else []


def _table(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    if not _emit(ctx, frame):
        return []
    if ctx.scope is not None:
        ctx.matched += 1  # a Schedule can be just a table
    return _tabular(el)


def _formula(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    if not _emit(ctx, frame):
        return []
    blocks = []
    for child in el:
        if local(child) == "math":
            text = _clean(" ".join(t for t in child.itertext()))
            if text:
                blocks.append(escape_text(text))
        else:
            blocks += _seq([child], ctx, frame)
    return blocks


def _placeholder(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """Figures, forms and images are not reproduced: a marker, then any words they carry."""
    if not _emit(ctx, frame):
        return []
    marker = escape_text(f"[{local(el)}]")
    words = [_clean(_inline(c)) for c in el.iter(q("Number"), q("Title"), q("Text"))]
    return [" ".join([marker, *[w for w in words if w]])]


def _block_amendment(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    if not _emit(ctx, frame):
        return []
    intro = el.getparent()
    where = _amend_target(el, intro, ctx) if intro is not None else None
    if where and ctx.amends and where not in [c.path for c in ctx.amends[-1]]:
        ctx.amends[-1].append(Change(where, _amend_kind(intro)))
    return [_quote(el)]


def _container(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """Body, Schedules, ScheduleBody, EUBody, P, Para, BlockText…: their children, in order."""
    head = []
    title = _clean(_title(el)) if local(el) in ("Schedules", "Appendix") else ""
    if any(el.get(a) for a in ("Status", "Match", "RestrictStartDate", "RestrictEndDate")):
        status, _, _, valid = _own_status(el, ctx, frame)  # e.g. <Schedules Status="Prospective">
        if status != _IN_FORCE:
            frame = frame.inside(status=status, valid=valid)
        else:
            frame = frame.inside(valid=valid)
    blocks = _seq(el, ctx, frame)
    if title and blocks:
        head = [heading(min(frame.level, 6), title)]
    return head + blocks


def _unnumbered(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """An unnumbered P: its blocks; anchored when legislation.gov.uk gives it a pin of its own

    (`aosp/1707/8/paragraph/p3`), so that it is citable and never runs into the text before it.
    """
    pin = _pin(el, ctx, "")
    if not pin or pin.replace("/", "-") in ctx.anchors:
        return _container(el, ctx, frame)
    included = frame.included or ctx.scope is None or in_scope(pin, ctx.scope)
    notes, _ = _notes(_own_refs(el, PROVISIONS + DIVISIONS), ctx) if included else (None, [])
    blocks = _container(el, ctx, frame.inside(included=included, pin=pin))
    if not blocks or not included or not _joins(blocks[0]):
        return blocks
    ctx.anchors.add(pin.replace("/", "-"))
    attrs = {"status": _status_of(el, "", frame.status) or ""}
    if frame.loose:
        attrs["operative"] = "false"
    head = anchored(pin.replace("/", "-"), blocks[0], **attrs)
    return [head, *blocks[1:], *([notes] if notes else [])]


def _heading_text(el: etree._Element) -> str:
    number = el.find(q("Number"))
    text = _clean(escape_text(" ".join(number.itertext()))) if number is not None else ""
    title = _clean(_title(el))
    reference = el.find(q("Reference"))  # a Schedule's marginal reference ("Section 3")
    ref = _clean(_inline(reference)) if reference is not None else ""
    return " ".join(t for t in (text, title, f"({ref})" if ref else "") if t)


def _division(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """Part, Chapter, Schedule, cross-heading, EU division: a heading, its notes, its content."""
    status, status_date, status_note, valid = _own_status(el, ctx, frame)
    pin = _division_pin(el, ctx, frame.pin)
    included = frame.included or ctx.scope is None or (bool(pin) and in_scope(pin, ctx.scope))
    inner = frame.inside(
        pin=pin or frame.pin, level=frame.level + 1, included=included, status=status, valid=valid
    )
    stop = DIVISIONS + PROVISIONS + ("P1group",)
    notes, _ = _notes(_own_refs(el, stop), ctx) if included else (None, [])  # before its children
    blocks = _seq(el, ctx, inner)
    if not blocks:
        return []
    text = _heading_text(el)
    if not pin:
        head = heading(min(frame.level, 6), text or "Cross-heading")
    else:
        attrs = _division_attrs(el, ctx, frame, (status, status_date, status_note, valid))
        head = heading(min(frame.level, 6), text, pin.replace("/", "-"), **attrs)
    return [head] + ([notes] if notes else []) + blocks


def _division_pin(el: etree._Element, ctx: Ctx, parent: str) -> str:
    """The division's pin ('part/1', 'schedule/2/part/1', 'chapter/3'), or '' for none."""
    name = local(el)
    num = _number(el)
    if name == "Part":
        base = f"{parent}/part" if parent.startswith("schedule") else "part"
        return _pin(el, ctx, f"{base}/{num}")
    if name == "Chapter":
        return _pin(el, ctx, f"{parent}/chapter/{num}" if parent else f"chapter/{num}")
    if name == "Schedule":
        # A sole Schedule is numbered 'SCHEDULE' in print; legislation.gov.uk pins it 'schedule'.
        num = "" if num.lower() == "schedule" else num
        return _pin(el, ctx, f"schedule/{num}" if num else "schedule")
    if name in EU_DIVISIONS:
        return _pin(el, ctx, "")  # EU divisions are pinned only where the CLML names them
    return ""  # cross-headings take no pin of their own


def _division_attrs(el: etree._Element, ctx: Ctx, frame: Frame, said: _Status) -> dict[str, str]:
    """A division heading's attributes: only what differs from the enclosing division's."""
    status, status_date, status_note, valid = said
    attrs = {"status": status} if status and status != frame.status else {}
    if status_date:
        attrs["status_date"] = status_date
    if status_note:
        attrs["status_note"] = status_note
    if valid != frame.valid:
        attrs.update(_validity_attrs(ctx, valid))
    extent = el.get("RestrictExtent")
    if extent and extent != ctx.meta.extent:
        attrs["extent"] = extent
    return attrs


def _group(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """P1group (and P2group, P3group): a titled wrapper round provisions or unnumbered text.

    With numbered provisions inside, the title goes on the first one's heading (P1) or, for
    the lower groups, is a heading of its own. With only unnumbered text inside, the title is a
    heading and the text follows it.
    """
    status = _own_status(el, ctx, frame)[0]
    valid = _own_status(el, ctx, frame)[3]
    numbered = el.find(q("P1")) is not None and local(el) == "P1group"
    if numbered:
        return _seq(el, ctx, frame.inside(status=status, group=el, valid=valid))
    title = _clean(_title(el))
    notes = None
    if title and _emit(ctx, frame):
        notes, _ = _notes(_own_refs(el, PROVISIONS + GROUPS), ctx)
    inner = frame.inside(status=status, level=frame.level + 1, group=None, valid=valid)
    blocks = _seq(el, ctx, inner)
    if not title or not blocks or not _emit(ctx, frame):
        return blocks
    return [heading(min(frame.level, 6), title)] + ([notes] if notes else []) + blocks


def _provision(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    """P1 … P6: the number and heading, own text, notes, sub-provisions, then closing words."""
    name = local(el)
    num = _number(el)
    pin = _provision_pin(el, ctx, frame, name, num)
    included = frame.included or ctx.scope is None or in_scope(pin, ctx.scope)
    group = frame.group if frame.group is not None and local(frame.group) == "P1group" else None
    said = _provision_status(el, ctx, frame, name, group)
    status, valid = said[0], said[3]
    inner = Frame(pin=pin, level=frame.level + 1, included=included, status=status, valid=valid)
    # Notes first: a note this provision shares with its sub-provisions is shown here.
    notes, amended_by = _notes(_provision_refs(el, group), ctx) if included else (None, [])
    ctx.amends.append([])
    own, rest, closing = _provision_parts(el, ctx, inner, name)
    amends = ctx.amends.pop()
    attrs, extent = _provision_attrs(el, ctx, frame, group, said, (amended_by, amends))
    if not included:
        return rest + closing  # only sub-provisions named in the scope
    ctx.matched += 1
    if name == "P1":
        ctx.statuses.append((pin, status))
    # Revised texts can hold two versions of one provision (e.g. for England and for Wales):
    # the first keeps the anchor, a later one is shown, unanchored, as part of it.
    anchor = pin.replace("/", "-")
    duplicate = anchor in ctx.anchors
    ctx.anchors.add(anchor)
    if not duplicate:
        closing = _closing_words(closing, anchor, attrs, ctx)
    if name == "P1":
        title = _clean(_title(group)) if group is not None and group.find(q("P1")) is el else ""
        other_version = (extent or "") if duplicate else None
        head = _p1_head(el, frame, num, title, anchor, attrs, other_version)
    else:
        head, own = _sub_head(num, own, anchor, attrs, duplicate)
    return [head, *own, *([notes] if notes else []), *rest, *closing]


def _provision_pin(el: etree._Element, ctx: Ctx, frame: Frame, name: str, num: str) -> str:
    if name == "P1":
        parent = frame.pin
        base = f"{parent}/paragraph" if parent.startswith("schedule") else ctx.provision_word
        return _pin(el, ctx, f"{base}/{num}")
    return _pin(el, ctx, f"{frame.pin}/{num}")


def _provision_status(
    el: etree._Element, ctx: Ctx, frame: Frame, name: str, group: etree._Element | None
) -> _Status:
    """A provision's status, dates and note: its own, its P1group's, its text's change marks."""
    first = next(
        (t for p in el.iterchildren(q(f"{name}para")) for t in p.iterchildren(q("Text"))), None
    )
    first_text = _clean("".join(first.itertext())) if first is not None else ""
    status, status_date, status_note, valid = _own_status(el, ctx, frame, first_text)
    if group is not None and name == "P1":
        status, status_date, status_note = _group_status(
            el, group, ctx, frame, (status, status_date, status_note)
        )
    return status, status_date, status_note or _text_changes(el, ctx), valid


def _group_status(
    el: etree._Element,
    group: etree._Element,
    ctx: Ctx,
    frame: Frame,
    said: tuple[str | None, str | None, str | None],
) -> tuple[str | None, str | None, str | None]:
    """What a P1's P1group adds: a dotted title (repealed), its end date, its Match="false"."""
    status, status_date, status_note = said
    group_title = _clean(_title(group)).replace("\\", "")
    if status in (None, _IN_FORCE, frame.status) and _DOTS.match(group_title):
        status = _status_of(el, group_title, status)
    if status == "repealed" and not status_date:
        status_date = _date(group.get("RestrictEndDate"))
    if not status_note and group.get("Match") == "false" and frame.status == _IN_FORCE:
        status_note = _own_status(group, ctx, frame.inside(status=None))[2]
    return status, status_date, status_note


def _provision_refs(el: etree._Element, group: etree._Element | None) -> list[tuple[str, str]]:
    """The notes on the provision itself, and on its P1group's title when it is the first P1."""
    refs = _own_refs(el, PROVISIONS + ("P1group",))
    if group is not None and group.find(q("P1")) is el:
        refs = _own_refs_title(group) + refs
    return refs


def _provision_parts(
    el: etree._Element, ctx: Ctx, inner: Frame, name: str
) -> tuple[list[str], list[str], list[str]]:
    """(own text, sub-provisions, closing words) from every P1para / P2para … in order.

    Own text runs up to the first sub-provision; words between sub-provisions stay where they
    are read; the closing words are those after the last one.
    """
    own: list[str] = []
    rest: list[str] = []
    closing: list[str] = []
    after_sub = False
    for part in el:
        if local(part) in ("Pnumber", "Title"):
            continue
        for child in part if local(part) == f"{name}para" else [part]:
            cname = local(child)
            if cname in PROVISIONS or cname in GROUPS:
                rest += closing
                closing = []
                after_sub = True
                _seq([child], ctx, inner, into=rest)
            else:
                _seq([child], ctx, inner, into=closing if after_sub else own)
    return own, rest, closing


def _provision_attrs(
    el: etree._Element,
    ctx: Ctx,
    frame: Frame,
    group: etree._Element | None,
    said: _Status,
    changes: tuple[list[Change], list[Change]],
) -> tuple[dict[str, str], str | None]:
    """The anchor's attributes (status, validity, changes, extent …) and the extent it names."""
    status, status_date, status_note, valid = said
    amended_by, amends = changes
    attrs: dict[str, str] = {}
    if status:
        attrs["status"] = status
    if status_date:
        attrs["status_date"] = status_date
    if status_note:
        attrs["status_note"] = status_note
    attrs.update(_validity_attrs(ctx, valid))
    _encode(attrs, "amended_by", amended_by)
    extent = (group if group is not None else el).get("RestrictExtent") or el.get("RestrictExtent")
    if extent and extent != ctx.meta.extent:
        attrs["extent"] = extent
    _encode(attrs, "amends", amends)
    if frame.loose:
        attrs["operative"] = "false"
    return attrs, extent


def _closing_words(closing: list[str], anchor: str, attrs: dict[str, str], ctx: Ctx) -> list[str]:
    """Closing words ("…, it may impose a penalty") are the provision's, after its list: their
    own passage, `section/1/1/closing`, cited as "s 1(1), closing words"."""
    if not closing or not _joins(closing[0]) or f"{anchor}-closing" in ctx.anchors:
        return closing
    ctx.anchors.add(f"{anchor}-closing")
    keep = {k: v for k, v in attrs.items() if k in _CLOSING_ATTRS}
    return [anchored(f"{anchor}-closing", closing[0], **keep), *closing[1:]]


def _p1_head(
    el: etree._Element,
    frame: Frame,
    num: str,
    title: str,
    anchor: str,
    attrs: dict[str, str],
    duplicate_extent: str | None,
) -> str:
    """A P1's heading: its number as printed and its group's title. A second version of a
    provision already shown (`duplicate_extent` not None, maybe "") is a bold line, unanchored."""
    if title and _DOTS.match(title.replace("\\", "")):
        title = ""
    pnumber = _clean("".join(el.findtext(q("Pnumber")) or ""))
    shown = pnumber if " " in pnumber else num  # "Article 1" (EU) as it is printed
    text = f"{escape_text(shown)} {title}".strip()
    if duplicate_extent is not None:
        extent = f", extent {duplicate_extent}" if duplicate_extent else ""
        return f"**{text}** (another version{extent})\n"
    return heading(min(frame.level, 6), text, anchor, **attrs)


def _sub_head(
    num: str, own: list[str], anchor: str, attrs: dict[str, str], duplicate: bool
) -> tuple[str, list[str]]:
    """A sub-provision's anchored first line, "(a) its first words", and the rest of its text."""
    joins = bool(own) and _joins(own[0])
    lead, rest = (own[0], own[1:]) if joins else ("", own)
    text = f"({escape_text(num)}) {lead}".strip()
    return (text + "\n" if duplicate else anchored(anchor, text, **attrs)), rest


_CLOSING_ATTRS = ("status", "status_date", "valid_from", "valid_to", "extent", "operative")


def _joins(block: str) -> bool:
    """Can this block follow a provision number on its line? (Plain text, not a table …)"""
    return not block.startswith(("|", ">", "- ", "{", "#")) and "\n" not in block.strip()


def _own_refs_title(group: etree._Element) -> list[tuple[str, str]]:
    title = group.find(q("Title"))
    refs = [("c", group.get("CommentaryRef"))] if group.get("CommentaryRef") else []
    return refs + (_own_refs(title, ()) if title is not None else [])


# --- rendering: prelims, signatures, explanatory notes (not operative) ----------------------


def _non_operative(
    el: etree._Element, ctx: Ctx, frame: Frame, fallback: str, title: str, skip=("Title",)
) -> list[str]:
    """A passage that is part of the document but not its law: marked operative="false"."""
    if ctx.scope is not None:
        return []
    quiet = frame.inside(included=True, level=2, pin=fallback, loose=True)
    blocks = _seq([c for c in el if local(c) not in skip], ctx, quiet)
    if not blocks:
        return []
    pin = _pin(el, ctx, fallback)
    anchor, n = pin.replace("/", "-"), 2
    while anchor in ctx.anchors:
        anchor, n = f"{pin.replace('/', '-')}-{n}", n + 1
    ctx.anchors.add(anchor)
    notes, _ = _notes(_own_refs(el, ()), ctx)
    head = heading(1, title, anchor, operative="false")
    return [head, *blocks, *([notes] if notes else [])]


def _prelims(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    return _non_operative(el, ctx, frame, "introduction", "Introductory Text")


def _signature(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    return _non_operative(el, ctx, frame, "signature", "Signature", skip=())


def _explanatory(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    title = _clean(_title(el)) or "Explanatory Note"
    return _non_operative(el, ctx, frame, "note", title)


def _earlier_orders(el: etree._Element, ctx: Ctx, frame: Frame) -> list[str]:
    title = _clean(_title(el)) or "Note as to Earlier Commencement Orders"
    return _non_operative(el, ctx, frame, "earlier-orders", title)


HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(PROVISIONS, _provision),
    **dict.fromkeys(GROUPS, _group),
    **dict.fromkeys(DIVISIONS, _division),
    **dict.fromkeys(
        ("Body", "Schedules", "ScheduleBody", "EUBody", "Appendix", "Para", "BlockText",
         "Attachments", "Attachment", "ListItem", "Where", "Group"),
        _container,
    ),
    "P": _unnumbered,
    **dict.fromkeys(("PrimaryPrelims", "SecondaryPrelims", "EUPrelims"), _prelims),
    "SignedSection": _signature,
    "ExplanatoryNotes": _explanatory,
    "EarlierOrders": _earlier_orders,
    "Text": _text,
    "AppendText": _append_text,
    "UnorderedList": _list,
    "OrderedList": _list,
    "Tabular": _table,
    "Formula": _formula,
    **dict.fromkeys(("Figure", "Form", "Image", "IncludedDocument"), _placeholder),
    "BlockAmendment": _block_amendment,
    **dict.fromkeys(
        ("Pnumber", "Number", "Title", "Subtitle", "TitleBlock", "Reference", *_NO_TEXT,
         "Metadata", "Contents", "Commentaries", "Footnotes", "MarginNotes", "Versions",
         "Resources"),
        _skip,
    ),
}  # fmt: skip


def _label_commentaries(root: etree._Element, commentaries: dict) -> dict[str, str]:
    """F1, F2, C1 … numbered per type in order of first reference, as legislation.gov.uk does."""
    labels: dict[str, str] = {}
    counts: dict[str, int] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ref = el.get("Ref") if local(el) == "CommentaryRef" else el.get("CommentaryRef")
        if ref and ref not in labels and ref in commentaries:
            kind = commentaries[ref].get("Type", "X")
            counts[kind] = counts.get(kind, 0) + 1
            labels[ref] = f"{kind}{counts[kind]}"
    return labels


def _provision_word(meta: Meta) -> str:
    kind = meta.path.split("/")[0]
    if meta.doc_type == "act":
        return "section"
    if kind in EU:
        return "article"
    title = meta.title.lower()
    if " order" in title:
        return "article"
    if " rules" in title:
        return "rule"
    return "regulation"


def _document_status(meta: Meta, statuses: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    root = (meta.status or "").lower()
    if root == "repealed":
        return "repealed", None
    if root == "prospective":
        return "prospective", "Not yet in force."
    values = [s for _, s in statuses if s != _IN_FORCE] + [
        "in_force" for _, s in statuses if s == _IN_FORCE
    ]
    if values and all(s == "repealed" for s in values):
        return "repealed", None
    if values and all(s in ("prospective", "repealed") for s in values):
        return "prospective", "Not yet in force."
    return _partly_in_force(statuses)


def _partly_in_force(statuses: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    """Partially in force, naming the first ten provisions not yet in force; else in force."""
    from kb.core import pins

    waiting = [pins.label(p) for p, s in statuses if s == "prospective"]
    if waiting:
        shown = ", ".join(waiting[:10]) + (" …" if len(waiting) > 10 else "")
        return "partially_in_force", f"Some provisions are not yet in force: {shown}."
    return "in_force", None


def parse_clml(
    data: bytes,
    *,
    base_url: str = "https://www.legislation.gov.uk",
    path: str | None = None,
    scope: list[str] | None = None,
    version: str = "latest",
    short_title: str | None = None,
    aliases: Iterable[str] = (),
    retrieved_at: str | None = None,
    extra: dict | None = None,
) -> tuple[Document, str]:
    """CLML bytes -> (Document, Markdown body) in the corpus format."""
    root = parse_xml(data)
    main = main_content(root)
    meta = read_meta(root, path)
    ctx = _context(root, meta, scope)
    blocks = _seq(main, ctx, Frame(pin="", level=1, included=False))
    if ctx.scope is not None and not ctx.matched:
        raise CLMLError(f"the scope {', '.join(ctx.scope)} matched no provision")
    status, note = _document_status(meta, ctx.statuses)
    # A provision with no status of its own is in force at the version's date: said so where
    # the document as a whole is only partly in force, left unsaid where all of it is.
    text = "\n".join(b.rstrip("\n") + "\n" for b in blocks)
    shown = ' status="in_force"' if status != "in_force" else ""
    text = text.replace(f' status="{_IN_FORCE}"', shown)
    document = Document(
        id=meta.path,
        title=meta.title,
        doc_type=meta.doc_type,
        status=status,
        status_note=note,
        short_title=short_title,
        identifier=meta.path,
        aliases=list(aliases),
        publisher=PUBLISHER,
        source_url=f"{base_url.rstrip('/')}/{meta.path}",
        retrieved_at=retrieved_at,
        sha256=sha256_bytes(data),
        licence=LICENCE,
        attribution=ATTRIBUTION,
        valid_from=meta.valid_from or meta.enacted or meta.made,
        extent=meta.extent,
        extra=_document_extra(root, ctx, extra, version),
        language=meta.language,
        subsidiary_number=meta.subsidiary_number,
    )
    return document, text


def _context(root: etree._Element, meta: Meta, scope: list[str] | None) -> Ctx:
    """The rendering context: the document's notes, their labels, the scope."""
    commentaries = {c.get("id"): c for c in root.iter(q("Commentary")) if c.get("id")}
    ctx = Ctx(
        meta=meta,
        own_path=own_path(root) or document_path(meta.path) or meta.path,
        provision_word=_provision_word(meta),
        scope=[s for s in scope] if scope else None,
        commentaries=commentaries,
        labels=_label_commentaries(root, commentaries),
        footnotes={f.get("id"): f for f in root.iter(q("Footnote")) if f.get("id")},
    )
    for ref in (r.get("Ref") for r in root.iter(q("FootnoteRef"))):
        if ref and ref not in ctx.footnote_labels:
            ctx.footnote_labels[ref] = str(len(ctx.footnote_labels) + 1)
    return ctx


def _document_extra(root: etree._Element, ctx: Ctx, extra: dict | None, version: str) -> dict:
    """The document's `extra`: the caller's, then outstanding changes, version, dates, scope."""
    info = dict(extra or {})
    changes = outstanding_changes(root, ctx)
    if changes:
        info["outstanding_changes"] = changes
    info["version"] = version
    if ctx.meta.enacted:
        info["enacted"] = ctx.meta.enacted
    if ctx.meta.made:
        info["made"] = ctx.meta.made
    if ctx.scope is not None:
        info["scope"] = list(ctx.scope)
    return info


def data_url(base_url: str, path: str, version: str = "latest") -> str:
    """'…/ukpga/1999/27/data.xml', '…/enacted/data.xml', '…/2008-04-01/data.xml'."""
    tail = "" if version in ("", "latest") else f"/{version}"
    return f"{base_url.rstrip('/')}/{path.strip('/')}{tail}/data.xml"
