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
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_block_plugin

from indexer.corpus import dotted_paragraph_number
from indexer.duties import classify
from kb import pins
from kb.models import Document, Node, Passage, extent_codes

# Tables (GFM) as the GOV.UK, Word and legislation parsers write them; raw HTML stays text.
_md = MarkdownIt("commonmark", {"html": False}).enable("table").use(attrs_block_plugin)

_NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(\S.*)$")
_ANCHOR_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# The attrs plugin reads `{#para-2}` but not `{#para-2.3}`; its quoted form takes any id.
_ANCHOR_LINE = re.compile(r"^\{#([^\s}]+)(.*)\}[ \t]*$", re.M)


def _quote_anchor_ids(body: str) -> str:
    return _ANCHOR_LINE.sub(lambda m: '{id="' + m.group(1) + '"' + m.group(2) + "}", body)


class BodyError(ValueError):
    """A body the indexer cannot turn into passages (e.g. two provisions with one anchor)."""


@dataclass
class ParsedDocument:
    document: Document
    nodes: list[Node]
    passages: list[Passage]


def parse_document(document: Document, body: str) -> ParsedDocument:
    nodes, notes = _parse(document, body)
    return ParsedDocument(document, nodes, make_passages(document, nodes, notes))


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


def _is_prefix(parent: str, child: str) -> bool:
    return child.startswith(parent + "/")


_NOTE_HEADS = ("Annotations", "Footnotes")


def _is_note(opener: Token, attrs: dict[str, str], text: str, legislation: bool) -> bool:
    """Commentary or footnotes: shown with the node, not searched as its text."""
    if attrs.get("role") == "annotation":
        return True
    return legislation and opener.type == "blockquote_open" and text.startswith(_NOTE_HEADS)


def parse_nodes(document: Document, body: str) -> list[Node]:
    return _parse(document, body)[0]


def _parse(document: Document, body: str) -> tuple[list[Node], dict[str, list[str]]]:
    """The nodes, and the plain text of the notes (annotations, footnotes) of each node's pin."""
    legislation = document.is_legislation
    notes: dict[str, list[str]] = {}
    body = _quote_anchor_ids(body)
    source_lines = body.splitlines()
    tokens = _md.parse(body)
    nodes: list[Node] = []
    by_pin: dict[str, Node] = {}
    headings: list[tuple[int, str, Node | None]] = []  # (level, display text, node)
    current: Node | None = None
    used_slugs: set[str] = set()

    def add(node: Node) -> Node:
        if node.pin in by_pin:
            raise BodyError(f"two provisions share the anchor '{node.anchor}'")
        nodes.append(node)
        by_pin[node.pin] = node
        return node

    def unique_slug(prefix: str, text: str) -> str:
        base = f"{prefix}-{pins.slugify(text)}"
        anchor, n = base, 2
        while anchor in used_slugs:
            anchor, n = f"{base}-{n}", n + 1
        used_slugs.add(anchor)
        return anchor

    for block in _blocks(tokens):
        opener = block[0]
        attrs = {k: str(v) for k, v in (opener.attrs or {}).items()}
        anchor = attrs.pop("id", None)
        if anchor is not None and not _ANCHOR_OK.match(anchor):
            raise BodyError(f"anchor '{anchor}' may use only letters, digits, '.', '_' and '-'")
        text = plain_text(block)
        lines = opener.map or (0, 0)
        source = "\n".join(source_lines[lines[0] : lines[1]]).strip()

        if anchor is None and current is not None and _is_note(opener, attrs, text, legislation):
            current.markdown = f"{current.markdown}\n\n{source}".strip()
            notes.setdefault(current.pin, []).append(text)
            continue

        if opener.type == "heading_open":
            level = int(opener.tag[1])
            if anchor is None:
                numbered = _NUMBERED_HEADING.match(text)
                if not legislation and numbered:
                    anchor = "para-" + numbered.group(1)
                else:
                    anchor = unique_slug("crossheading" if legislation else "heading", text)
            pin = pins.anchor_to_pin(anchor)
            title = _strip_number(text, pin)
            display = _display(pin, title, legislation)
            while headings and headings[-1][0] >= level:
                headings.pop()
            parent = next((n for _, _, n in reversed(headings) if n is not None), None)
            node = add(
                Node(
                    pin=pin,
                    anchor=anchor,
                    label=pins.display_label(pin) if legislation else _para_label(pin),
                    title=title,
                    depth=len(headings),
                    parent=parent.pin if parent else None,
                    heading_path=[h for _, h, _ in headings] + [display],
                    is_heading=True,
                    status=attrs.pop("status", None),
                    status_note=attrs.pop("status_note", None),
                    attrs=attrs,
                )
            )
            headings.append((level, display, node))
            current = node
            continue

        if anchor is None and not legislation and opener.type == "paragraph_open":
            number = dotted_paragraph_number(text)
            # A repeated number (a quoted paragraph, a typo) stays part of the text before it.
            if number and pins.anchor_to_pin("para-" + number) not in by_pin:
                anchor = "para-" + number
        if anchor is not None:
            pin = pins.anchor_to_pin(anchor)
            parent = _parent_for(pin, nodes, headings)
            node = add(
                Node(
                    pin=pin,
                    anchor=anchor,
                    label=pins.label(pin) if legislation else _para_label(pin),
                    title="",
                    depth=(parent.depth + 1) if parent else 0,
                    parent=parent.pin if parent else None,
                    heading_path=[h for _, h, _ in headings],
                    status=attrs.pop("status", None),
                    status_note=attrs.pop("status_note", None),
                    attrs=attrs,
                )
            )
            node.markdown = source
            node.text = text
            current = node
            continue

        if current is None:
            current = add(
                Node(
                    pin="preamble",
                    anchor="preamble",
                    label="",
                    title="Introductory text",
                    depth=0,
                    heading_path=[],
                )
            )
        current.markdown = f"{current.markdown}\n\n{source}".strip()
        current.text = f"{current.text} {text}".strip()
    return nodes, notes


def _para_label(pin: str) -> str:
    if pin.startswith(("heading/", "crossheading/")) or pin == "preamble":
        return ""
    return pins.label(pin)


def _parent_for(pin: str, nodes: list[Node], headings: list) -> Node | None:
    for node in reversed(nodes):
        if _is_prefix(node.pin, pin):
            return node
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
                url=f"/p/{passage_id}",
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
                holders=list(finding.holders),
                operative=operative,
                notes=" ".join(notes.get(node.pin, [])),
                extent=_extent(document, node, by_pin),
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


ENDED = ("repealed", "withdrawn", "superseded")


def _validity(
    document: Document, node: Node, status: str, status_date: str | None
) -> tuple[str | None, str | None]:
    """The dates a passage's text applies between, for `as_at` searches.

    Explicit valid_from / valid_to (node attributes, then the document's) win; otherwise
    text that was repealed, withdrawn or superseded stopped applying on its status date.
    """
    valid_from = node.attrs.get("valid_from") or document.valid_from
    valid_to = node.attrs.get("valid_to") or document.valid_to
    if valid_to is None and status in ENDED and status_date:
        valid_to = status_date
    return valid_from, valid_to
