"""Turn a corpus document's Markdown body into nodes (its structure) and passages (what is searched).

The rules are those of corpus/README.md: anchor lines name provisions, a node's own text runs to
the next anchor or heading, and a node with text of its own is a passage.

Two markers from the legislation parser are carried onto the passage:

- `operative="false"` on an anchor (prelims, signatures, explanatory notes): the passage's
  `operative` is False, so pages, the API and ranking can tell it from the law itself;
- a block marked `{role="annotation"}` (commentaries, footnotes; also, in legislation, a
  blockquote headed **Annotations** or **Footnotes**, as older crawls wrote them) is shown with
  its node (it stays in `markdown`) but is not part of the searchable `text`: it is kept apart,
  in the passage's `notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin

from indexer.corpus import dotted_paragraph_number
from indexer.duties import classify
from kb.core import pins
from kb.core.models import STATUSES, Document, Node, Passage, extent_codes
from kb.core.vocabularies import ENDED_STATUSES, holder_terms

# Tables (GFM) as the GOV.UK, Word and legislation parsers write them; raw HTML stays text.
_md = MarkdownIt("commonmark", {"html": False}).enable("table").use(attrs_block_plugin)

_NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(\S.*)$")
_ANCHOR_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# The attrs plugin reads `{#para-2}` but not `{#para-2.3}`; its quoted form takes any id.
_ANCHOR_LINE = re.compile(r"^\{#([^\s}]+)(.*)\}[ \t]*$", re.M)
# Longest anchor accepted (the longest legislation.gov.uk pin is well under 100 characters):
# finding a provision's parent looks at each '/'-prefix of its pin, so this bounds that work.
MAX_ANCHOR_CHARS = 200
# The provision-level `status` vocabulary: the document statuses (kb.core.models.STATUSES).
PROVISION_STATUSES = STATUSES


# A document with no numbers of its own (a letter, an unnumbered policy) is cited by counted
# paragraphs, 'para 3', as OSCOLA pinpoints correspondence. Blocks shorter than this
# (letterheads, salutations, 'Yours sincerely') are not paragraphs: they join the next one
# (at the end, the last one); a list or table stays with the paragraph that leads into it.
SHORT_BLOCK_CHARS = 120
_FOLLOWERS = ("bullet_list_open", "ordered_list_open", "table_open")


def _unnumbered(blocks: list[list[Token]], legislation: bool) -> bool:
    """No anchors, numbered paragraphs or numbered headings: paragraphs are counted."""
    if legislation:
        return False
    for block in blocks:
        opener = block[0]
        if (opener.attrs or {}).get("id") is not None:
            return False
        text = plain_text(block)
        if opener.type == "heading_open" and _NUMBERED_HEADING.match(text):
            return False
        if opener.type == "paragraph_open" and dotted_paragraph_number(text):
            return False
    return True


def _quote_anchor_ids(body: str) -> str:
    return _ANCHOR_LINE.sub(lambda m: '{id="' + m.group(1) + '"' + m.group(2) + "}", body)


class BodyError(ValueError):
    """A body the indexer cannot turn into passages (e.g. two provisions with one anchor)."""


@dataclass
class ParsedDocument:
    document: Document
    nodes: list[Node]
    passages: list[Passage]
    # Problems that did not stop the document being indexed ("anchor 'section-2': status
    # 'alive' is not one of …; the enclosing status is used"), for the build report.
    warnings: list[str] = field(default_factory=list)


def parse_document(document: Document, body: str) -> ParsedDocument:
    warnings: list[str] = []
    nodes, notes = _parse(document, body, warnings)
    return ParsedDocument(document, nodes, make_passages(document, nodes, notes), warnings)


def _blocks(tokens: list[Token]) -> list[list[Token]]:
    """Group the token stream into top-level blocks (a heading, a paragraph, a whole list)."""
    blocks: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        current.append(token)
        if token.level == 0 and token.nesting <= 0:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def plain_text(tokens: list[Token]) -> str:
    """The words of some tokens, without Markdown syntax."""
    lines: list[str] = []
    for token in tokens:
        if token.type == "inline":
            bits = []
            for child in token.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    bits.append(" ")
                elif child.content:
                    bits.append(child.content)
            lines.append("".join(bits))
        elif token.type in ("code_block", "fence"):
            lines.append(token.content)
    return " ".join(" ".join(lines).split())


def _strip_number(text: str, pin: str) -> str:
    """'3 General duty' -> 'General duty'; 'Part I: Best value' -> 'Best value'."""
    steps = pins.pin_steps(pin)
    if not steps or not steps[-1][1] or steps[-1][0] in pins.SLUGGED:
        return text
    word, number, _ = steps[-1]
    pattern = rf"^(?:{re.escape(word)}\s+|{pins.NUMBERED.get(word, ('', ''))[1]}\s+)?"
    pattern += rf"{re.escape(number)}\b[.:)]?\s*[-–—:.]?\s*"
    stripped = re.sub(pattern, "", text, count=1, flags=re.I)
    return stripped


def _display(pin: str, title: str, legislation: bool) -> str:
    if pin.startswith(("heading/", "crossheading/")) or pin == "preamble":
        return title
    steps = pins.pin_steps(pin)
    if not legislation and steps and steps[0][0] == "para":
        return f"{steps[0][1]} {title}".strip()
    return f"{pins.display_label(pin)} {title}".strip()


_NOTE_HEADS = ("Annotations", "Footnotes")


def _is_note(opener: Token, attrs: dict[str, str], text: str, legislation: bool) -> bool:
    """Commentary or footnotes: shown with the node, not searched as its text."""
    if attrs.get("role") == "annotation":
        return True
    return legislation and opener.type == "blockquote_open" and text.startswith(_NOTE_HEADS)


def parse_nodes(document: Document, body: str) -> list[Node]:
    return _parse(document, body)[0]


def _parse(
    document: Document, body: str, warnings: list[str] | None = None
) -> tuple[list[Node], dict[str, list[str]]]:
    """The nodes, and the plain text of the notes (annotations, footnotes) of each node's pin.

    Linear in the size of the body: a node's text is gathered in lists and joined once, a
    parent is found by looking up the prefixes of its pin, and repeated heading slugs are
    numbered from a counter.
    """
    legislation = document.is_legislation
    body = _quote_anchor_ids(body)
    blocks = _blocks(_md.parse(body))
    builder = _Builder(
        legislation=legislation,
        counted=_unnumbered(blocks, legislation),
        warnings=warnings if warnings is not None else [],
        source_lines=body.splitlines(),
    )
    for block in blocks:
        builder.block(block)
    return builder.finish(), builder.notes


def _block_anchor(opener: Token) -> tuple[str | None, dict[str, str]]:
    """A block's anchor (checked) and its other attributes."""
    attrs = {k: str(v) for k, v in (opener.attrs or {}).items()}
    anchor = attrs.pop("id", None)
    if anchor is not None and not _ANCHOR_OK.match(anchor):
        raise BodyError(f"anchor '{anchor[:80]}' may use only letters, digits, '.', '_' and '-'")
    if anchor is not None and len(anchor) > MAX_ANCHOR_CHARS:
        raise BodyError(f"anchor '{anchor[:40]}…' is longer than {MAX_ANCHOR_CHARS} characters")
    return anchor, attrs


@dataclass
class _Builder:
    """One pass over a body's blocks: the nodes so far, with their Markdown and text gathered."""

    legislation: bool
    counted: bool  # an unnumbered body: its paragraphs are counted (para/1, para/2 …)
    warnings: list[str]
    source_lines: list[str]
    nodes: list[Node] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # pin -> its notes' plain text
    by_pin: dict[str, Node] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)  # pin -> index in nodes
    markdown: dict[str, list[str]] = field(default_factory=dict)  # pin -> Markdown pieces
    texts: dict[str, list[str]] = field(default_factory=dict)  # pin -> plain text pieces
    headings: list[tuple[int, str, Node | None]] = field(default_factory=list)  # open headings
    current: Node | None = None  # the node running text belongs to
    used_slugs: set[str] = field(default_factory=set)
    next_suffix: dict[str, int] = field(default_factory=dict)
    paragraphs: list[Node] = field(default_factory=list)  # counted paragraphs
    pending: list[tuple[str, str]] = field(default_factory=list)  # short blocks waiting

    def add(self, node: Node) -> Node:
        if node.pin in self.by_pin:
            raise BodyError(f"two provisions share the anchor '{node.anchor}'")
        self.position[node.pin] = len(self.nodes)
        self.nodes.append(node)
        self.by_pin[node.pin] = node
        self.markdown[node.pin] = [node.markdown] if node.markdown else []
        self.texts[node.pin] = [node.text] if node.text else []
        return node

    def append(self, node: Node, source: str, text: str) -> None:
        if source:
            self.markdown[node.pin].append(source)
        if text:
            self.texts[node.pin].append(text)

    def unique_slug(self, prefix: str, text: str) -> str:
        base = f"{prefix}-{pins.slugify(text)}"
        anchor = base
        if anchor in self.used_slugs:
            n = self.next_suffix.get(base, 2)
            anchor = f"{base}-{n}"
            while anchor in self.used_slugs:
                n += 1
                anchor = f"{base}-{n}"
            self.next_suffix[base] = n + 1
        self.used_slugs.add(anchor)
        return anchor

    def status_of(self, anchor: str, attrs: dict[str, str]) -> str | None:
        status = attrs.pop("status", None)
        if status is None or status in PROVISION_STATUSES:
            return status
        self.warnings.append(
            f"anchor '{anchor}': status {status[:40]!r} is not one of "
            f"{', '.join(PROVISION_STATUSES)}; the enclosing provision's or document's is used"
        )
        return None

    def block(self, block: list[Token]) -> None:
        """One top-level block: a note, a heading, an anchored provision or running text."""
        opener = block[0]
        anchor, attrs = _block_anchor(opener)
        text = plain_text(block)
        lines = opener.map or (0, 0)
        source = "\n".join(self.source_lines[lines[0] : lines[1]]).strip()
        current = self.current
        if anchor is None and current is not None:
            if _is_note(opener, attrs, text, self.legislation):
                self.append(current, source, "")
                self.notes.setdefault(current.pin, []).append(text)
                return
        if opener.type == "heading_open":
            self.heading(int(opener.tag[1]), anchor, attrs, text)
            return
        if anchor is None:
            anchor = self.paragraph_anchor(opener, text)
        if anchor is not None:
            self.provision(anchor, attrs, source, text)
        elif self.counted and (current is None or current in self.paragraphs):
            self.counted_paragraph(opener, source, text)
        else:
            self.running_text(source, text)

    def heading(self, level: int, anchor: str | None, attrs: dict[str, str], text: str) -> None:
        self.flush_pending()
        anchor = anchor if anchor is not None else self.heading_anchor(text)
        pin = pins.anchor_to_pin(anchor)
        title = _strip_number(text, pin)
        display = _display(pin, title, self.legislation)
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        parent = next((n for _, _, n in reversed(self.headings) if n is not None), None)
        node = self.add(
            Node(
                pin=pin,
                anchor=anchor,
                label=pins.display_label(pin) if self.legislation else _para_label(pin),
                title=title,
                depth=len(self.headings),
                parent=parent.pin if parent else None,
                heading_path=[h for _, h, _ in self.headings] + [display],
                is_heading=True,
                status=self.status_of(anchor, attrs),
                status_note=attrs.pop("status_note", None),
                attrs=attrs,
            )
        )
        self.headings.append((level, display, node))
        self.current = node

    def heading_anchor(self, text: str) -> str:
        """An unanchored heading: `para-3` for "3 Title" outside legislation, else a slug."""
        numbered = _NUMBERED_HEADING.match(text)
        if not self.legislation and numbered:
            return "para-" + numbered.group(1)
        return self.unique_slug("crossheading" if self.legislation else "heading", text)

    def paragraph_anchor(self, opener: Token, text: str) -> str | None:
        """Outside legislation, a paragraph numbered '2.3' is anchored `para-2.3`."""
        if self.legislation or opener.type != "paragraph_open":
            return None
        number = dotted_paragraph_number(text)
        # A repeated number (a quoted paragraph, a typo) stays part of the text before it.
        if number and pins.anchor_to_pin("para-" + number) not in self.by_pin:
            return "para-" + number
        return None

    def provision(self, anchor: str, attrs: dict[str, str], source: str, text: str) -> None:
        pin = pins.anchor_to_pin(anchor)
        parent = _parent_for(pin, self.nodes, self.position, self.headings)
        node = self.add(
            Node(
                pin=pin,
                anchor=anchor,
                label=pins.label(pin) if self.legislation else _para_label(pin),
                title="",
                depth=(parent.depth + 1) if parent else 0,
                parent=parent.pin if parent else None,
                heading_path=[h for _, h, _ in self.headings],
                status=self.status_of(anchor, attrs),
                status_note=attrs.pop("status_note", None),
                attrs=attrs,
            )
        )
        self.append(node, source, text)
        self.current = node

    def running_text(self, source: str, text: str) -> None:
        """Text with no anchor of its own: the current node's, else the preamble's."""
        if self.current is None:
            preamble = Node(
                pin="preamble",
                anchor="preamble",
                label="",
                title="Introductory text",
                depth=0,
                heading_path=[],
            )
            self.current = self.add(preamble)
        self.append(self.current, source, text)

    def new_paragraph(self) -> Node:
        number = str(len(self.paragraphs) + 1)
        node = self.add(
            Node(
                pin=f"para/{number}",
                anchor=f"para-{number}",
                label=f"para {number}",
                title="",
                depth=0,
                heading_path=[],
            )
        )
        self.paragraphs.append(node)
        return node

    def counted_paragraph(self, opener: Token, source: str, text: str) -> None:
        if opener.type in _FOLLOWERS and self.paragraphs and not self.pending:
            self.append(self.paragraphs[-1], source, text)
            return
        if len(text) < SHORT_BLOCK_CHARS:
            self.pending.append((source, text))
            return
        node = self.new_paragraph()
        for waiting in self.pending:
            self.append(node, *waiting)
        self.pending.clear()
        self.append(node, source, text)
        self.current = node

    def flush_pending(self) -> None:
        """Short blocks left over (closing lines, or lines before a heading): the last
        paragraph's, else a paragraph of their own."""
        if self.pending:
            node = self.paragraphs[-1] if self.paragraphs else self.new_paragraph()
            for waiting in self.pending:
                self.append(node, *waiting)
            self.pending.clear()

    def finish(self) -> list[Node]:
        self.flush_pending()
        for node in self.nodes:
            node.markdown = "\n\n".join(self.markdown[node.pin])
            node.text = " ".join(self.texts[node.pin])
        return self.nodes


def _para_label(pin: str) -> str:
    if pin.startswith(("heading/", "crossheading/")) or pin == "preamble":
        return ""
    return pins.label(pin)


def _parent_for(
    pin: str, nodes: list[Node], position: dict[str, int], headings: list
) -> Node | None:
    """The latest node whose pin encloses this one ('section/2' for 'section/2/1'), else the
    innermost heading. Looks up each '/'-prefix of the pin (at most MAX_ANCHOR_CHARS of them)
    rather than scanning every node before it, which made a long document quadratic."""
    best = -1
    cut = pin.find("/")
    while cut != -1:
        best = max(best, position.get(pin[:cut], -1))
        cut = pin.find("/", cut + 1)
    if best >= 0:
        return nodes[best]
    return next((n for _, _, n in reversed(headings) if n is not None), None)


def make_passages(
    document: Document, nodes: list[Node], notes: dict[str, list[str]] | None = None
) -> list[Passage]:
    by_pin = {node.pin: node for node in nodes}
    notes = notes or {}
    passages: list[Passage] = []
    for order, node in enumerate(nodes):
        if not node.text:
            continue
        status, status_date = _status(document, node, by_pin)
        valid_from, valid_to = _validity(document, node, status, status_date)
        # Introductory text, signatures and explanatory notes describe the law; they impose nothing.
        operative = node.attrs.get("operative") != "false"
        finding = classify(node.text if operative else "")
        heading_title = node.title if node.is_heading else ""
        passage_id = f"{document.id}/{node.pin}"
        passages.append(
            Passage(
                id=passage_id,
                document_id=document.id,
                pin=node.pin,
                anchor=node.anchor,
                label=node.label,
                title=document.title,
                heading=" › ".join(node.heading_path),
                citation=pins.oscola(document, node.pin, heading_title),
                short_citation=pins.short_citation(document, node.pin, heading_title),
                source_url=pins.source_url(document, node.pin),
                status=status,
                status_date=status_date,
                doc_type=document.doc_type,
                text=node.text,
                order=order,
                valid_from=valid_from,
                valid_to=valid_to,
                sample=document.sample,
                aliases=[a for a in [document.short_title, *document.aliases] if a],
                duty=finding.kind,
                holders=holder_terms(finding.holders),
                operative=operative,
                notes=" ".join(notes.get(node.pin, [])),
                extent=_extent(document, node, by_pin),
                current_version=not document.extra.get("version_of"),
            )
        )
    return passages


def _status(document: Document, node: Node, by_pin: dict[str, Node]) -> tuple[str, str | None]:
    walk: Node | None = node
    while walk is not None:
        if walk.status:
            return walk.status, walk.attrs.get("status_date") or document.status_date
        walk = by_pin.get(walk.parent) if walk.parent else None
    return document.status, document.status_date


def _extent(document: Document, node: Node, by_pin: dict[str, Node]) -> list[str]:
    """Nations the passage extends to: its own anchor's `extent`, else the nearest enclosing
    node's, else the document's (legislation.gov.uk marks only provisions that differ)."""
    walk: Node | None = node
    while walk is not None:
        if walk.attrs.get("extent"):
            return extent_codes(walk.attrs["extent"])
        walk = by_pin.get(walk.parent) if walk.parent else None
    return extent_codes(document.extent)


ENDED = tuple(ENDED_STATUSES)  # repealed, withdrawn, superseded: kb.core.vocabularies


def _validity(
    document: Document, node: Node, status: str, status_date: str | None
) -> tuple[str | None, str | None]:
    """The dates a passage's text applies between, for `as_at` searches.

    Explicit valid_from / valid_to (node attributes, then the document's) win; otherwise
    text that was repealed, withdrawn or superseded stopped applying on its status date.
    In a legislation document held at several points in time (front matter `version_date`:
    indexer/sources/legislation/versions.py) the latest start wins, and an earlier version
    ends when the next begins (its `valid_to`), so exactly one version of a provision applies
    on any day. (A point-in-time response dates its Body by the whole Act's versions,
    `RestrictEndDate` the day anything in it next changed; the listing of versions says when
    this text did.)
    """
    valid_from = node.attrs.get("valid_from") or document.valid_from
    valid_to = node.attrs.get("valid_to") or document.valid_to
    if document.extra.get("version_date"):
        starts = [d for d in (node.attrs.get("valid_from"), document.valid_from) if d]
        valid_from = max(starts, default=None)
        valid_to = document.valid_to or node.attrs.get("valid_to")
    if valid_to is None and status in ENDED and status_date:
        valid_to = status_date
    return valid_from, valid_to
