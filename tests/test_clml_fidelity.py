"""Fidelity of the CLML parser on real legislation.gov.uk responses (../shared, read in place).

The invariant, for every real response that is a document:

- every word of operative text (Body, Schedules, EU body, including text quoted in
  BlockAmendments) is in exactly one operative passage, and the operative passages, read in
  order, give those words in reading order (nothing lost, nothing duplicated, nothing added);
- prelims, preambles, signatures and explanatory notes are in non-operative passages only
  (`operative` false), in reading order, and nothing else is;
- no word of a commentary, footnote or marginal note is in any passage's text (the check above
  would count it as added);
- every heading (Part, Chapter, cross-heading, provision and Schedule titles) is the title of a
  node.

Contents-only responses (a table of contents) and metadata-only responses are refused with a
CLMLError saying why. Passages are built as the build builds them: parse_clml, write the corpus
file, read it back, indexer.passages.

`python -m tests.test_clml_fidelity` prints the table (file, operative words, lost, duplicated).
"""

from __future__ import annotations

import difflib
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from indexer.clml import CLMLError, parse_clml
from indexer.corpus import read_document, write_document
from indexer.passages import parse_document
from tests.conftest import LEGISLATION_RESPONSES

RESPONSES = LEGISLATION_RESPONSES
FILES = sorted(RESPONSES.glob("*.xml")) if RESPONSES.is_dir() else []

NS = "{http://www.legislation.gov.uk/namespaces/legislation}"
MAIN = ("Primary", "Secondary", "EURetained")
PRELIMS = ("PrimaryPrelims", "SecondaryPrelims", "EUPrelims")
NON_OPERATIVE = PRELIMS + ("SignedSection", "ExplanatoryNotes", "EarlierOrders")
# Containers whose Number / Title / Subtitle / Reference are headings, not passage text.
STRUCTURAL = {
    "Part",
    "Chapter",
    "Pblock",
    "PsubBlock",
    "P1group",
    "P2group",
    "P3group",
    "Schedule",
    "TitleBlock",
    "Schedules",
    "Division",
    "EUPart",
    "EUTitle",
    "EUChapter",
    "EUSection",
    "EUSubsection",
    "Group",
    "Body",
    "EUBody",
}
HEADS = {"Number", "Title", "Subtitle", "TitleBlock", "Reference", "Pnumber"}
# Inline elements: their text runs on with the text around it (no word break).
INLINE = {
    "Emphasis",
    "Strong",
    "Italic",
    "Bold",
    "Underline",
    "SmallCaps",
    "Superior",
    "Inferior",
    "Uppercase",
    "Expanded",
    "Term",
    "Definition",
    "Citation",
    "CitationSubRef",
    "InternalLink",
    "ExternalLink",
    "Abbreviation",
    "Acronym",
    "Addition",
    "Substitution",
    "Repeal",
    "InlineAmendment",
    "Span",
    "Character",
    "CommentaryRef",
    "FootnoteRef",
    "MarginNoteRef",
}
_WORD = re.compile(r"\w+")
# Figures, forms and images are not reproduced: the parser's marker is not a word of the XML.
_PLACEHOLDER = re.compile(r"\[(?:Figure|Form|Image|IncludedDocument)\]")


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _in_amendment(el) -> bool:
    return any(local(a) == "BlockAmendment" for a in el.iterancestors())


def _text(el, skip) -> str:
    """The element's text in reading order; block elements break words, inline ones do not."""
    out: list[str] = []
    skip_number: set = set()

    def visit(node):
        name = local(node)
        if skip(node):
            if node.tail:
                out.append(node.tail)
            return
        gap = "" if name in INLINE else " "
        out.append(gap)
        if node.text:
            out.append(node.text)
        children = list(node)
        if name == "P1group" and _in_amendment(node):
            # quoted text prints a section as "32A Title": its number before its title
            first = node.find(NS + "P1")
            pnumber = first.find(NS + "Pnumber") if first is not None else None
            if pnumber is not None:
                out.append(" " + "".join(pnumber.itertext()) + " ")
                skip_number.add(pnumber)
        for child in children:
            if isinstance(child.tag, str):
                if child in skip_number:
                    if child.tail:
                        out.append(child.tail)
                    continue
                visit(child)
            elif child.tail:
                out.append(child.tail)
        out.append(gap)
        if node.tail:
            out.append(node.tail)

    visit(el)
    return "".join(out)


def _is_head(el) -> bool:
    """A heading of a structure (outside quoted text): shown as a heading, not passage text."""
    name = local(el)
    if name not in HEADS or _in_amendment(el):
        return False
    parent = el.getparent()
    return name == "Pnumber" or local(parent) in STRUCTURAL | set(NON_OPERATIVE)


def xml_words(root) -> tuple[list[str], list[str], list[str]]:
    """(operative words, non-operative words, heading texts) of a response."""
    operative: list[str] = []
    other: list[str] = []
    heads: list[str] = []
    for main in (root.find(NS + m) for m in MAIN):
        if main is None:
            continue
        for part in main:
            name = local(part)
            if name in PRELIMS or name == "ExplanatoryNotes":
                # the document's own title is the front matter's, not the introduction's
                other += words(_text(part, lambda n: _is_head(n) and local(n) == "Title"))
                continue
            text_of_part = _text(
                part,
                lambda n: _is_head(n) or local(n) in ("SignedSection",),
            )
            operative += words(text_of_part)
            for sign in part.iter(NS + "SignedSection"):
                other += words(_text(sign, lambda n: False))
            for el in part.iter():
                if _is_head(el) and local(el) in ("Title", "Subtitle"):
                    text = " ".join(words(_text(el, lambda n: False)))
                    if text:
                        heads.append(text)
    return operative, other, heads


@dataclass
class Fidelity:
    name: str
    words: int
    lost: int
    duplicated: int
    other_words: int = 0
    other_lost: int = 0
    other_added: int = 0
    headings_lost: int = 0
    refused: str = ""


def _strip_label(passage) -> str:
    """'(2) For the purpose …' -> 'For the purpose …': the number is the pin's, not text."""
    last = passage.pin.rsplit("/", 1)[-1]
    text = passage.text
    for label in (f"({last})", f"{last}."):
        if text.startswith(label):
            return text[len(label) :]
    return text


def _diff(want: list[str], got: list[str]) -> tuple[int, int]:
    if want == got:
        return 0, 0
    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return len(want) - same, len(got) - same


def measure(path: Path) -> Fidelity:
    data = path.read_bytes()
    root = etree.fromstring(data)
    try:
        document, body = parse_clml(data)
    except CLMLError as exc:
        return Fidelity(path.name, 0, 0, 0, refused=str(exc))
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "doc.md"
        write_document(file, document, body)
        back = read_document(file)
    parsed = parse_document(back.document, back.body)
    operative, other, heads = xml_words(root)
    got_operative: list[str] = []
    got_other: list[str] = []
    for passage in parsed.passages:
        into = got_operative if getattr(passage, "operative", True) else got_other
        into += words(_PLACEHOLDER.sub(" ", _strip_label(passage)))
    lost, duplicated = _diff(operative, got_operative)
    other_lost, other_added = _diff(other, got_other)
    titles = [" ".join(words(node.title)) for node in parsed.nodes if node.title]
    joined = " | ".join(titles)
    headings_lost = sum(1 for head in heads if head not in joined)
    return Fidelity(
        path.name,
        len(operative),
        lost,
        duplicated,
        len(other),
        other_lost,
        other_added,
        headings_lost,
    )


def is_contents(path: Path) -> bool:
    return etree.fromstring(path.read_bytes()).find(NS + "Contents") is not None


def has_text(path: Path) -> bool:
    root = etree.fromstring(path.read_bytes())
    return root.tag == NS + "Legislation" and any(root.find(NS + m) is not None for m in MAIN)


def _params():
    if not FILES:
        return [pytest.param(None, id="no-responses")]
    return [pytest.param(p, id=p.name) for p in FILES]


@pytest.fixture(params=_params())
def response(request) -> Path:
    if request.param is None:
        pytest.skip(f"real responses not found at {RESPONSES} (../shared is absent)")
    return request.param


def test_real_response_keeps_every_operative_word_once_in_order(response):
    if is_contents(response):
        with pytest.raises(CLMLError, match="table of contents"):
            parse_clml(response.read_bytes())
        return
    if not has_text(response):
        with pytest.raises(CLMLError):
            parse_clml(response.read_bytes())
        return
    result = measure(response)
    assert not result.refused, result.refused
    share = f"{result.lost}/{result.words} lost, {result.duplicated} duplicated or added"
    assert (result.lost, result.duplicated) == (0, 0), share
    other = f"{result.other_lost}/{result.other_words} lost, {result.other_added} added"
    assert (result.other_lost, result.other_added) == (0, 0), "non-operative: " + other
    assert result.headings_lost == 0, f"{result.headings_lost} headings lost"


def table(files: list[Path] = FILES) -> str:
    lines = [
        f"{'file':58} {'words':>7} {'lost':>6} {'dup':>6}  "
        f"{'non-op':>6} {'lost':>5} {'added':>5} {'heads':>5}"
    ]
    for path in files:
        if not has_text(path) or is_contents(path):
            try:
                parse_clml(path.read_bytes())
                note = "ACCEPTED (should be refused)"
            except CLMLError as exc:
                note = f"refused: {exc}"[:70]
            lines.append(f"{path.name:58} {note}")
            continue
        r = measure(path)
        if r.refused:
            lines.append(f"{path.name:58} REFUSED: {r.refused}")
            continue
        lines.append(
            f"{r.name:58} {r.words:>7} {r.lost:>6} {r.duplicated:>6}  "
            f"{r.other_words:>6} {r.other_lost:>5} {r.other_added:>5} {r.headings_lost:>5}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    chosen = [Path(a) for a in sys.argv[1:]] or FILES
    print(table(chosen))
