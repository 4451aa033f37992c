"""The block model every guidance parser shares, and the corpus anchors it is rendered with.

HTML (indexer/html_markdown.py), PDF (indexer/sources/pdf.py) and DOCX (indexer/sources/local.py)
are first turned into a flat list of `Block`s (headings and paragraphs), and `render_blocks`
gives them the corpus anchors: numbered headings and paragraphs keep their numbers as pins
(`para-2.3`), other headings get `heading-<slug>` anchors, de-duplicated in document order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from indexer.corpus import anchored, dotted_paragraph_number, escape_text, heading
from kb.core.pins import slugify

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
    renderer = _Renderer(page_anchors)
    for block in blocks:
        renderer.block(block)
    return "\n".join(renderer.out)


@dataclass
class _Renderer:
    """The Markdown so far, the anchors used, and where the current node stands."""

    page_anchors: bool
    out: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    next_plain: int = 1  # the plain paragraph number ("12.") that would continue the sequence
    in_numbered: bool = False
    node_page: int | None = None

    def unique(self, base: str) -> str:
        anchor, n = base, 2
        while anchor in self.used:
            anchor, n = f"{base}-{n}", n + 1
        self.used.add(anchor)
        return anchor

    def block(self, block: Block) -> None:
        if block.kind == "heading":
            self.heading(block)
        elif not (block.kind == "para" and self.numbered_para(block)):
            self.unnumbered(block)

    def heading(self, block: Block) -> None:
        match = _NUMBERED_HEADING.match(block.plain)
        if match and f"para-{match.group(1)}" not in self.used:
            anchor = self.unique(f"para-{match.group(1)}")
            self.in_numbered = True
        else:
            anchor = self.unique("heading-" + slugify(block.plain))
            self.in_numbered = False
        self.node_page = block.page
        level = min(max(block.level, 1), 6)
        self.out.append(heading(level, block.text, anchor, **_pages(block)))

    def numbered_para(self, block: Block) -> bool:
        """Write a paragraph that has a number not yet used as its own node; False if not."""
        number = dotted_paragraph_number(block.plain)
        if number is None:
            plain = _PLAIN_PARA.match(block.plain)
            if plain and int(plain.group(1)) == self.next_plain:
                number = plain.group(1)
        if not number or f"para-{number}" in self.used:
            return False
        if "." not in number:
            self.next_plain = int(number) + 1
        self.in_numbered = True
        self.node_page = block.page
        self.out.append(anchored(self.unique(f"para-{number}"), block.text, **_pages(block)))
        return True

    def unnumbered(self, block: Block) -> None:
        new_page = block.page is not None and block.page != self.node_page
        # A new paragraph on a new page is cited by that page even after a numbered one;
        # a list running on from a numbered paragraph stays with it.
        if self.page_anchors and new_page and (not self.in_numbered or block.kind == "para"):
            self.node_page = block.page
            anchor = self.unique(f"page-{block.page}")
            self.out.append(anchored(anchor, _block_markdown(block), **_pages(block)))
        else:
            self.out.append(_block_markdown(block) + "\n")


def _block_markdown(block: Block) -> str:
    if block.kind == "quote":
        return "\n".join("> " + line if line else ">" for line in block.text.splitlines())
    return block.text
