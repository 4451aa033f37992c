"""Parse legislation.gov.uk CLML (`…/data.xml`) into a corpus document.

One provision per anchor, named as legislation.gov.uk names it (`section-3-2-a`,
`regulation-13A`, `schedule-8-paragraph-5`). Choices worth knowing (see corpus/sources/README.md):

- Commentaries (F, C, I, E, M notes) become an unanchored "Annotations" blockquote directly under
  the provision they are attached to, so they are part of that provision's text and show with it.
- A provision inserted by another instrument carries `amended_by="<path>/section/N"` (from the
  citations in its F notes); an amending provision carries `amends="<path>/section/N"`. The text
  it inserts is quoted (a blockquote) inside the amending provision and never gets a pin.
- Repealed text (the ". . ." placeholder or Status="Repealed") is marked `status="repealed"`;
  Status="Prospective" is marked `status="prospective"`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from lxml import etree

from indexer.corpus import anchored, escape_text, heading, markdown_table, sha256_bytes
from kb.models import Document

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
ACT_TYPES = {"ukpga", "ukla", "asp", "anaw", "asc", "mwa", "nia", "aep", "aosp", "apgb", "apni"}
SI_TYPES = {"uksi", "ssi", "wsi", "nisr", "nisi", "ukmo", "uksro", "ukci", "ukdsi", "sdsi"}
VERSION_SUFFIXES = {"enacted", "made", "created", "adopted", "new", "revision"}
PROVISIONS = ("P1", "P2", "P3", "P4", "P5", "P6")
GROUPS = ("P1group", "P2group", "P3group")
DIVISIONS = ("Part", "Chapter", "Pblock", "PsubBlock", "Schedule")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTS = re.compile(r"^[\s.…]*$")
_ROMAN = re.compile(r"^(?=[IVXLC]+$)C{0,3}(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$", re.I)
# Amending text names its target: "section 3 of", "regulation 13A of".
_TARGET = re.compile(r"\b(section|regulation|article|rule)\s+(\d+[A-Z]*)", re.I)


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
    if re.search(rb"<!DOCTYPE|<!ENTITY", prolog, re.I) or re.search(rb"<!ENTITY", head, re.I):
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


def check(data: bytes) -> None:
    """Validator for the fetcher: a body that fails here never replaces the cached copy."""
    parse_xml(data)


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


def legislation_path(uri: str) -> str:
    """'http://www.legislation.gov.uk/id/ukpga/1999/27/section/3' -> 'ukpga/1999/27/section/3'."""
    parts = [p for p in urlparse(uri).path.split("/") if p]
    if parts and parts[0] == "id":
        parts = parts[1:]
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


def read_meta(root: etree._Element, path: str | None = None) -> Meta:
    own = legislation_path(root.get("IdURI") or root.get("DocumentURI") or "")
    if not own:
        own = legislation_path(_first(root, "ukm:Metadata/dc:identifier") or "")
    own = "/".join(own.split("/")[:3])
    path = path or own
    if not path:
        raise CLMLError("no document URI in the CLML and no path given")
    kind = path.split("/")[0]
    if kind in ACT_TYPES:
        doc_type = "act"
    elif kind in SI_TYPES:
        doc_type = "si"
    else:
        category = _first(root, ".//ukm:DocumentCategory/@Value")
        doc_type = "act" if category == "primary" else "si"
    title = _first(root, "ukm:Metadata/dc:title") or _first(root, ".//l:PrimaryPrelims/l:Title")
    title = title or _first(root, ".//l:SecondaryPrelims/l:Title")
    if not title:
        raise CLMLError("no title (dc:title) in the CLML metadata")
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
    )


# --- scope ----------------------------------------------------------------------------------


def _norm_pin(pin: str) -> list[str]:
    """Case-folded steps with Roman Part/Chapter numbers as digits: 'part/I' == 'part/1'."""
    steps = pin.strip("/").lower().split("/")
    out = []
    for i, step in enumerate(steps):
        if i and steps[i - 1] in ("part", "chapter") and _ROMAN.match(step):
            step = str(_roman(step))
        out.append(step)
    return out


def _roman(text: str) -> int:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
    total = 0
    for i, ch in enumerate(text.lower()):
        value = values[ch]
        nxt = values[text[i + 1].lower()] if i + 1 < len(text) else 0
        total += -value if value < nxt else value
    return total


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


# --- rendering ------------------------------------------------------------------------------


@dataclass
class Ctx:
    meta: Meta
    own_path: str  # the path the CLML URIs use
    provision_word: str  # section, regulation, article, rule
    scope: list[str] | None
    commentaries: dict[str, etree._Element]
    labels: dict[str, str]
    statuses: list[tuple[str, str | None]] = field(default_factory=list)  # (pin, status) of P1s
    matched: int = 0  # provisions inside the scope
    anchors: set[str] = field(default_factory=set)


def _pin(el: etree._Element, ctx: Ctx, fallback: str) -> str:
    uri = el.get("DocumentURI") or el.get("IdURI")
    if uri:
        full = legislation_path(uri)
        prefix = ctx.own_path + "/"
        if full.startswith(prefix):
            return full[len(prefix) :]
    return fallback


def _number(el: etree._Element) -> str:
    """'Part I' -> 'I'; '(a)' -> 'a'; '3A.' -> '3A'."""
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
    title = el.find(q("Title"))
    if title is None:
        block = el.find(q("TitleBlock"))
        title = block.find(q("Title")) if block is not None else None
    return _inline(title) if title is not None else ""


def _inline(el: etree._Element) -> str:
    """Markdown for mixed content, source text escaped."""
    out = [escape_text(el.text or "")] if el.text else []
    for child in el:
        name = local(child)
        inner = _inline(child)
        if name in ("CommentaryRef", "FootnoteRef", "MarginNoteRef"):
            inner = ""
        elif name == "Term" and inner.strip():
            inner = f"**{inner.strip()}**"
        elif name in ("Emphasis", "Italic") and inner.strip():
            inner = f"*{inner.strip()}*"
        elif name in ("Strong", "Bold") and inner.strip():
            inner = f"**{inner.strip()}**"
        out.append(inner)
        if child.tail:
            out.append(escape_text(child.tail))
    return "".join(out)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _in_table(el: etree._Element) -> bool:
    return next(el.iterancestors(q("Tabular")), None) is not None


def _cell(cell: etree._Element) -> str:
    texts = list(cell.iter(q("Text")))  # a cell holds Para/Text blocks or inline text directly
    text = " ".join(_inline(t) for t in texts) if texts else _inline(cell)
    return _clean(text)


def _tabular(el: etree._Element) -> list[str]:
    """A Tabular as GFM tables, written as indexer/govuk.py writes them.

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
        rows = []
        for part in ("thead", "tbody", "tfoot"):
            for section in table.iterchildren(xh(part)):
                for tr in section.iterchildren(xh("tr")):
                    cells = [_cell(c) for c in tr.iterchildren(xh("th"), xh("td"))]
                    if any(cells):
                        rows.append(cells)
        if rows:
            blocks.append(markdown_table(rows))
    return blocks


def _own_refs(el: etree._Element, group: etree._Element | None = None) -> list[str]:
    """Commentary ids referenced by this provision itself, not by its sub-provisions."""
    refs: list[str] = []
    if local(el) in DIVISIONS:  # a Part's own notes sit on its number and title only
        stack = [c for c in el if local(c) in ("Number", "Title", "TitleBlock")]
    else:
        stack = list(el)
        if group is not None and group.find(q("Title")) is not None:
            stack.insert(0, group.find(q("Title")))
    while stack:
        node = stack.pop(0)
        if not isinstance(node.tag, str) or local(node) in PROVISIONS + ("P1group",):
            continue
        ref = node.get("Ref") if local(node) == "CommentaryRef" else node.get("CommentaryRef")
        if ref and ref not in refs:
            refs.append(ref)
        stack = list(node) + stack
    return refs


def _annotations(
    refs: list[str], ctx: Ctx, shown: frozenset[str] = frozenset()
) -> tuple[str | None, list[str]]:
    """The blockquote of notes, and the provisions that amended this one (from F notes).

    A note already shown on an enclosing provision is not repeated on its sub-provisions.
    """
    lines, amended_by = [], []
    for ref in refs:
        note = ctx.commentaries.get(ref)
        if note is None or ref in shown:
            continue
        text = _clean(" ".join(_inline(t) for t in note.iter(q("Text"))))
        lines.append(f"> - **{ctx.labels.get(ref, note.get('Type', ''))}** {text}")
        if note.get("Type") == "F":
            subs = [s.get("URI") for s in note.iter(q("CitationSubRef")) if s.get("URI")]
            cites = subs or [c.get("URI") for c in note.iter(q("Citation")) if c.get("URI")]
            for uri in cites:
                target = legislation_path(uri)
                if target and target not in amended_by:
                    amended_by.append(target)
    if not lines:
        return None, amended_by
    return "> **Annotations**\n>\n" + "\n".join(lines), amended_by


def _status_of(el: etree._Element, text: str, inherited: str | None) -> str | None:
    status = (el.get("Status") or "").lower()
    if status in ("repealed", "dead", "discarded"):
        return "repealed"
    if status == "prospective":
        return "prospective"
    if text and _DOTS.match(text) and text.count(".") >= 3:
        return "repealed"
    return inherited


def _amend_target(block: etree._Element, intro: etree._Element, ctx: Ctx) -> str | None:
    """Where a BlockAmendment's text goes: 'ukpga/1999/27/section/3A' or 'ukpga/1999/27/section/3/4'."""
    cites = [c.get("URI") for c in intro.iter(q("Citation")) if c.get("URI")]
    subs = [c.get("URI") for c in intro.iter(q("CitationSubRef")) if c.get("URI")]
    if not cites and not subs:
        return None
    doc = "/".join(legislation_path((cites or subs)[-1]).split("/")[:3])
    first = next((e for e in block.iter(*[q(t) for t in PROVISIONS])), None)
    word = "regulation" if block.get("TargetClass") == "secondary" else "section"
    intro_text = " ".join(intro.itertext())
    named = _TARGET.search(intro_text)
    if first is not None and local(first) == "P1":
        return f"{doc}/{word}/{_number(first)}"
    if named:
        base = f"{doc}/{named.group(1).lower()}/{named.group(2)}"
        return f"{base}/{_number(first)}" if first is not None and local(first) == "P2" else base
    if subs:
        return legislation_path(subs[-1])
    return doc


def _quote(block: etree._Element) -> str:
    """The text a BlockAmendment inserts, as a blockquote: quoted, never a provision here."""
    lines: list[str] = []
    pending = ""
    for el in block.iter():
        name = local(el)
        if _in_table(el):
            continue  # written with its Tabular
        if name == "Tabular":
            lines += [b.replace("\n", "\n> ") for b in _tabular(el)]
        elif name == "P1group":
            pending = _clean(_title(el))
        elif name in PROVISIONS:
            num = _number(el)
            num = num if name == "P1" else f"({num})" if num else ""
            if name == "P1" and pending:
                lines.append(f"{num} {pending}".strip())
                pending = ""
            else:
                pending = num
        elif name == "Text":
            text = _clean(_inline(el))
            if pending:
                text = f"{pending} {text}".strip()
                pending = ""
            lines.append(text)
    body = "\n>\n".join(f"> {line}" for line in lines if line)
    return body or "> " + _clean(" ".join(block.itertext()))


@dataclass
class Out:
    """Blocks of one provision: its own (head, text, notes) and its sub-provisions."""

    head: str
    text: list[str] = field(default_factory=list)
    notes: str | None = None
    children: list[str] = field(default_factory=list)

    def render(self) -> list[str]:
        own = [self.head] + self.text + ([self.notes] if self.notes else [])
        return own + self.children


def _provision(
    el: etree._Element,
    ctx: Ctx,
    parent_pin: str,
    level: int,
    included: bool,
    inherited: str | None,
    group: etree._Element | None = None,
    shown: frozenset[str] = frozenset(),
) -> list[str]:
    name = local(el)
    num = _number(el)
    if name == "P1":
        in_schedule = parent_pin.startswith("schedule/")
        base = f"{parent_pin}/paragraph" if in_schedule else ctx.provision_word
        pin = _pin(el, ctx, f"{base}/{num}")
    else:
        pin = _pin(el, ctx, f"{parent_pin}/{num}")
    included = included or ctx.scope is None or in_scope(pin, ctx.scope)
    para = el.find(q(f"{name}para"))
    own_text = _clean(
        " ".join(
            t
            for c in (para if para is not None else [])
            if local(c) == "Text"
            for t in c.itertext()
        )
    )
    status = _status_of(el, own_text, inherited)
    if group is not None:
        status = _status_of(group, "", status)
        if status is None and _DOTS.match(_clean(_title(group)).replace("\\", "")):
            status = _status_of(el, _clean(_title(group)).replace("\\", ""), status)
    refs = _own_refs(el, group)
    notes, amended_by = _annotations(refs, ctx, shown)
    shown = shown | set(refs)
    attrs: dict[str, str] = {}
    if status:
        attrs["status"] = status
    if amended_by:
        attrs["amended_by"] = " ".join(amended_by)
    extent = (group if group is not None else el).get("RestrictExtent") or el.get("RestrictExtent")
    if extent and extent != ctx.meta.extent:
        attrs["extent"] = extent

    anchor = pin.replace("/", "-")
    out = Out(head="")
    amends: list[str] = []
    target = out.text
    children_started = False
    for child in para if para is not None else []:
        cname = local(child)
        if cname in PROVISIONS or cname in GROUPS:
            children_started = True
            target = out.children
            if cname in GROUPS:  # P1group … P3group: a titled wrapper round provisions
                for sub in child:
                    if local(sub) in PROVISIONS:
                        target.extend(
                            _provision(sub, ctx, pin, level + 1, included, status, child, shown)
                        )
            else:
                target.extend(_provision(child, ctx, pin, level + 1, included, status, None, shown))
        elif cname == "BlockAmendment":
            where = _amend_target(child, para, ctx)
            if where and where not in amends:
                amends.append(where)
            (out.children if children_started else out.text).append(_quote(child))
        elif cname in ("UnorderedList", "OrderedList"):
            items = []
            for item in child.findall(q("ListItem")):
                text = _clean(" ".join(_inline(t) for t in item.iter(q("Text"))))
                items.append(f"- {text}")
            target.append("\n".join(items))
        elif cname == "AppendText":  # punctuation closing a quotation: dropped after a quote
            if target and not target[-1].startswith(">"):
                target[-1] = target[-1] + escape_text(_clean("".join(child.itertext())))
        elif cname == "Tabular":
            target.extend(_tabular(child))
        elif cname in ("Text", "Para"):
            parts = [child] if cname == "Text" else child.iter(q("Text"), q("Tabular"))
            for part in (p for p in parts if not _in_table(p)):
                if local(part) == "Tabular":
                    target.extend(_tabular(part))
                elif line := _clean(_inline(part)):
                    target.append(line)
        elif isinstance(child.tag, str):
            text = _clean(escape_text(" ".join(child.itertext())))
            if text:
                target.append(text)
    if amends:
        attrs["amends"] = " ".join(amends)

    if included:
        ctx.matched += 1
    if name == "P1" and included:
        ctx.statuses.append((pin, status))
    # Revised texts can hold two versions of one provision (e.g. for England and for Wales):
    # the first keeps the anchor, a later one is shown, unanchored, as part of it.
    duplicate = included and anchor in ctx.anchors
    if included:
        ctx.anchors.add(anchor)
    if name == "P1":
        title = _clean(_title(group)) if group is not None and group.find(q("P1")) is el else ""
        if title and _DOTS.match(title.replace("\\", "")):
            title = ""
        text = f"{escape_text(num)} {title}".strip()
        if duplicate:
            out.head = f"**{text}** (another version{', extent ' + extent if extent else ''})\n"
        else:
            out.head = heading(min(level, 6), text, anchor, **attrs)
    else:
        first = out.text.pop(0) if out.text and not out.text[0].startswith("|") else ""
        text = f"({escape_text(num)}) {first}".strip()
        out.head = text + "\n" if duplicate else anchored(anchor, text, **attrs)
    out.notes = notes
    if not included:
        return out.children  # only sub-provisions named in the scope
    return out.render()


def _division(
    el: etree._Element, ctx: Ctx, parent_pin: str, level: int, included: bool, inherited: str | None
) -> list[str]:
    name = local(el)
    num = _number(el)
    status = _status_of(el, "", inherited)
    if name == "Part":
        base = f"{parent_pin}/part" if parent_pin.startswith("schedule/") else "part"
        pin = _pin(el, ctx, f"{base}/{num}")
    elif name == "Chapter":
        pin = _pin(el, ctx, f"{parent_pin}/chapter/{num}" if parent_pin else f"chapter/{num}")
    elif name == "Schedule":
        pin = _pin(el, ctx, f"schedule/{num}" if num else "schedule")
    else:
        pin = parent_pin  # cross-headings take no pin of their own
    own_included = (
        included
        or ctx.scope is None
        or (name not in ("Pblock", "PsubBlock") and in_scope(pin, ctx.scope))
    )
    blocks = _walk(el, ctx, pin, level + 1, own_included, status)
    if not blocks:
        return []
    title = _clean(_title(el))
    notes, _ = _annotations(_own_refs(el), ctx)
    if name in ("Pblock", "PsubBlock"):
        head = heading(min(level, 6), title or "Cross-heading")
    else:
        number = (
            _clean(escape_text(" ".join(el.find(q("Number")).itertext())))
            if el.find(q("Number")) is not None
            else ""
        )
        attrs = {"status": status} if status and status != inherited else {}
        head = heading(min(level, 6), f"{number} {title}".strip(), pin.replace("/", "-"), **attrs)
    return [head] + ([notes] if notes else []) + blocks


def _walk(
    el: etree._Element, ctx: Ctx, pin: str, level: int, included: bool, inherited: str | None
) -> list[str]:
    blocks: list[str] = []
    for child in el:
        name = local(child)
        if name in DIVISIONS:
            blocks += _division(child, ctx, pin, level, included, inherited)
        elif name == "P1group":
            group_status = _status_of(child, "", inherited)
            for p1 in child.findall(q("P1")):
                blocks += _provision(p1, ctx, pin, level, included, group_status, group=child)
        elif name == "P1":
            blocks += _provision(child, ctx, pin, level, included, inherited)
        elif name in ("ScheduleBody", "Schedules", "Body"):
            blocks += _walk(child, ctx, pin, level, included, inherited)
        elif name == "Tabular" and (included or ctx.scope is None):
            ctx.matched += 1  # a Schedule can be just a table
            blocks += _tabular(child)
    return blocks


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
    if meta.doc_type == "act":
        return "section"
    title = meta.title.lower()
    if " order" in title:
        return "article"
    if " rules" in title:
        return "rule"
    return "regulation"


def _document_status(meta: Meta, statuses: list[tuple[str, str | None]]) -> tuple[str, str | None]:
    from kb import pins

    root = (meta.status or "").lower()
    if root == "repealed":
        return "repealed", None
    if root == "prospective":
        return "prospective", "Not yet in force."
    values = [s for _, s in statuses]
    if values and all(s == "repealed" for s in values):
        return "repealed", None
    if values and all(s in ("prospective", "repealed") for s in values):
        return "prospective", "Not yet in force."
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
    own = legislation_path(root.get("IdURI") or root.get("DocumentURI") or "")
    meta = read_meta(root, path)
    commentaries = {c.get("id"): c for c in root.iter(q("Commentary")) if c.get("id")}
    ctx = Ctx(
        meta=meta,
        own_path="/".join(own.split("/")[:3]) or meta.path,
        provision_word=_provision_word(meta),
        scope=[s for s in scope] if scope else None,
        commentaries=commentaries,
        labels=_label_commentaries(root, commentaries),
    )
    main = root.find(q("Primary"))
    if main is None:
        main = root.find(q("Secondary"))
    if main is None:
        raise CLMLError("no <Primary> or <Secondary> content (is this a contents-only document?)")
    blocks: list[str] = []
    long_title = main.find(f"{q('PrimaryPrelims')}/{q('LongTitle')}")
    if long_title is not None and ctx.scope is None:
        blocks.append(_clean(_inline(long_title)))
    blocks += _walk(main, ctx, "", 1, False, None)
    if ctx.scope is not None and not ctx.matched:
        raise CLMLError(f"the scope {', '.join(ctx.scope)} matched no provision")
    status, note = _document_status(meta, ctx.statuses)
    info = dict(extra or {})
    info["version"] = version
    if meta.enacted:
        info["enacted"] = meta.enacted
    if meta.made:
        info["made"] = meta.made
    if ctx.scope is not None:
        info["scope"] = list(ctx.scope)
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
        extra=info,
    )
    return document, "\n".join(b.rstrip("\n") + "\n" for b in blocks)


def data_url(base_url: str, path: str, version: str = "latest") -> str:
    """'…/ukpga/1999/27/data.xml', '…/enacted/data.xml', '…/2008-04-01/data.xml'."""
    tail = "" if version in ("", "latest") else f"/{version}"
    return f"{base_url.rstrip('/')}/{path.strip('/')}{tail}/data.xml"


def parse_source(source, fetcher, settings) -> list[tuple[Document, str]]:
    """Parser-registry entry for kind 'legislation': fetch data.xml once, filter to the scope."""
    from indexer.http import SourceFailed

    url = data_url(settings.legislation_url, source.path, source.version)
    result = fetcher.get(url, validate=check)
    if not result.ok:
        raise SourceFailed(result.reason, url=url)
    data = Path(result.body_path).read_bytes()
    document, body = parse_clml(
        data,
        base_url=settings.legislation_url,
        path=source.path,
        scope=source.scope,
        version=source.version,
        short_title=source.short_title,
        aliases=source.aliases,
        retrieved_at=result.fetched_at,
        extra={"source_id": source.id, **({"notes": source.notes} if source.notes else {})},
    )
    if source.title:
        document.title = source.title
    return [(document, body)]
