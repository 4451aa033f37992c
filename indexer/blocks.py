"""The block model every guidance parser shares, and the corpus anchors it is rendered with.

HTML (indexer/html_markdown.py), PDF (indexer/sources/pdf.py) and DOCX (indexer/sources/local.py)
are first turned into a flat list of `Block`s (headings and paragraphs), and `render_blocks`
gives them the corpus anchors: numbered headings and paragraphs keep their numbers as pins
(`para-2.3`), other headings get `heading-<slug>` anchors, de-duplicated in document order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
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
