"""HTML -> blocks -> corpus Markdown: the converter GOV.UK items, archived pages and local
HTML files share. Stray text in containers becomes paragraphs, links keep absolute URLs,
footnote marks stay apart from their words, GOV.UK attachment boxes keep their titles.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag

from indexer.blocks import Block, md_escape, render_blocks
from indexer.corpus import markdown_table

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
        if isinstance(node, NavigableString):
            return _string_inline(node)
        if not isinstance(node, Tag) or node.name in _SKIP:
            return "", ""
        if node.name == "br":
            return "\n", "\n"
        if node.name == "img":
            return _image_inline(node)
        parts = [self.inline(child) for child in node.children]
        md = "".join(p[0] for p in parts)
        plain = "".join(p[1] for p in parts)
        if node.name in _SPACED or node.name in _HEADINGS:
            md, plain = f" {md} ", f" {plain} "
        if node.name == "a":
            return self._anchor(node, md, plain)
        return md, plain

    def _anchor(self, tag: Tag, md: str, plain: str) -> tuple[str, str]:
        classes = _classes(tag)
        if "reversefootnote" in classes:
            return "", ""  # the "↩" back to where a footnote is cited
        if "footnote" in classes:
            return _footnote_mark(plain)
        href = self._href(tag.get("href"))
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
                self._take_inline(child)
            elif isinstance(child, Tag) and child.name not in _SKIP:
                self._child(child)

    def _child(self, tag: Tag) -> None:
        """A block-level element ends the paragraph being gathered; anything else joins it."""
        method = _BLOCK_METHODS.get(tag.name)
        if method is None and _is_attachment_block(tag):
            method = "attachment"
        elif method is None and tag.name in _CONTAINERS:
            method = "_container"
        if method is None:
            self._take_inline(tag)
            return
        self.flush()
        getattr(self, method)(tag)

    def _container(self, tag: Tag) -> None:
        self.walk(tag)
        self.flush()

    def _paragraph(self, tag: Tag) -> None:
        self._take_inline(tag)
        self.flush()

    def _blockquote(self, tag: Tag) -> None:
        self.quote += 1
        self.walk(tag)
        self.flush()
        self.quote -= 1

    def _rule(self, tag: Tag) -> None:
        return None  # a <hr> only ends the paragraph before it

    def _list(self, tag: Tag) -> None:
        lines = self.list_lines(tag, 0)
        if lines:
            plain = " ".join(p for _, p in lines)
            self.blocks.append(Block("list", "\n".join(m for m, _ in lines), plain))

    def _pre(self, tag: Tag) -> None:
        text = tag.get_text()
        if text.strip():
            fence = "~~~~"
            self.blocks.append(Block("code", f"{fence}\n{text.strip()}\n{fence}", text))

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


_SPACED = {"p", "div", "li", "td", "th", "dt", "dd"}  # and headings: words never run on
_BLOCK_METHODS = {
    **{h: "heading" for h in _HEADINGS},
    "p": "_paragraph",
    "ul": "_list",
    "ol": "_list",
    "table": "table",
    "blockquote": "_blockquote",
    "pre": "_pre",
    "hr": "_rule",
}


def _string_inline(node: NavigableString) -> tuple[str, str]:
    if type(node) is not NavigableString:  # Comment, CData, Doctype, ProcessingInstruction
        return "", ""
    text = _SPACE.sub(" ", str(node))
    return md_escape(text), text


def _image_inline(tag: Tag) -> tuple[str, str]:
    """An image's alt text counts only inside a fraction (its digits); elsewhere it is decor."""
    alt = (tag.get("alt") or "").strip()
    inside_fraction = tag.find_parent(class_="fraction") is not None
    return (md_escape(alt), alt) if alt and inside_fraction else ("", "")


def _footnote_mark(plain: str) -> tuple[str, str]:
    """A footnote mark: "taxpayer[18]", not "taxpayer18" (one unsearchable word)."""
    number = " ".join(plain.split())
    if number and not number.startswith("["):
        number = f"[{number}]"
    return md_escape(number), number


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


def tidy_punctuation(text: str) -> str:
    """Text read from HTML without the space a tag left before punctuation ("PDF , 3 MB")."""
    return _SPACE_BEFORE_PUNCT.sub("", text)
