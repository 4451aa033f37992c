"""PDF guidance: page pinpoints, numbered paragraphs, running heads gone, and clear refusals."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader, PdfWriter

from indexer.blocks import Block, para, render_blocks
from indexer.passages import parse_document
from indexer.sources.pdf import (
    PdfError,
    lines_to_blocks,
    parse_source,
    pdf_to_markdown,
    read_pdf,
    strip_running_lines,
)
from kb.core.config import Settings


def make_pdf(
    pages: list[list[str]], *, title: str | None = None, image_only: bool = False
) -> bytes:
    """A small PDF with a real text layer: one Helvetica line per string ("" leaves a gap)."""
    objects: list[bytes] = [b"", b""]  # catalog and page tree, filled in below
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    kids = []
    for lines in pages:
        if image_only:  # a grey 2x2 inline image and no text, like a scan
            stream = b"q 200 0 0 200 72 500 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q"
        else:
            ops, y = [], 780
            for line in lines:
                if line:
                    safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                    ops.append(f"BT /F1 10 Tf 56 {y} Td ({safe}) Tj ET")
                y -= 14
            stream = "\n".join(ops).encode("cp1252")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    if title:
        objects.append(b"<< /Title (%s) >>" % title.encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if title:
        trailer += b" /Info %d 0 R" % len(objects)
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


HEADER = "Example Commissioning Guidance 2031"
FOOTER = "Department for Example Affairs - invented for tests"


def guidance_pdf() -> bytes:
    body = [
        [
            "1. Introduction",
            "1.1 This invented guidance explains how a council com-",
            "missions services and is used only for testing the parser.",
            "1.2 The council should keep a register of contracts.",
        ],
        [
            "Scope of the guidance",
            "This part explains where the guidance applies and who",
            "must have regard to it when letting contracts.",
            "2.1 A council must publish its commissioning intentions each",
            "year, and must consult the people affected",
        ],
        [
            "before the plan is adopted by the executive.",
            "2.2 Councils may share plans with their neighbours.",
        ],
        ["Annex text on the last page, without a number of its own."],
    ]
    pages = []
    for number, lines in enumerate(body, start=1):
        pages.append([HEADER, ""] + lines + ["", FOOTER, f"Page {number} of {len(body)}"])
    return make_pdf(pages, title="Example Commissioning Guidance 2031")


def anchors(md: str) -> dict[str, str]:
    return dict(re.findall(r"^\{#([^ }]+)([^}]*)\}", md, re.M))


def test_running_headers_footers_and_page_numbers_are_removed():
    pdf = read_pdf(guidance_pdf())
    text = " ".join(b.plain for b in pdf.blocks)
    assert FOOTER not in text and "Page 2 of 4" not in text
    assert HEADER not in text
    assert pdf.title == "Example Commissioning Guidance 2031"
    assert (pdf.page_count, pdf.pages_read) == (4, 4)


def test_numbered_paragraphs_keep_numbers_and_record_their_page():
    md = pdf_to_markdown(read_pdf(guidance_pdf()))
    found = anchors(md)
    assert found["para-1"] == ' page="1"'
    assert found["para-1.1"] == ' page="1"'
    assert found["heading-scope-of-the-guidance"] == ' page="2"'
    assert found["para-2.1"] == ' page="2" pages="2-3"'  # runs on to the next page
    assert found["para-2.2"] == ' page="3"'
    assert found["page-4"] == ' page="4"'  # unnumbered text is cited by page


def test_hyphenation_across_lines_is_joined_and_paragraph_spans_pages():
    pdf = read_pdf(guidance_pdf())
    texts = [b.plain for b in pdf.blocks]
    assert any("a council commissions services" in t for t in texts)
    assert any(
        t.endswith("people affected before the plan is adopted by the executive.") for t in texts
    )


def test_passages_cite_paragraphs_and_pages():
    source = {
        "id": "guidance/example-commissioning-guidance-2031",
        "doc_type": "statutory_guidance",
        "publisher": "Department for Example Affairs",
        "published": "2031-04-01",
        "url": "https://example.invalid/guidance.pdf",
        "status": "superseded",
    }
    [(document, body)] = parse_source(source, guidance_pdf(), Settings())
    assert document.status == "superseded" and document.extra["pages"] == 4
    passages = {p.pin: p for p in parse_document(document, body).passages}
    para = passages["para/2.1"]
    assert para.id == "guidance/example-commissioning-guidance-2031/para/2.1"
    assert para.citation.endswith("(2031) para 2.1")
    assert all(FOOTER not in p.text for p in passages.values())


def test_scanned_pdf_without_text_layer_needs_ocr():
    with pytest.raises(PdfError, match="no text layer: needs OCR"):
        read_pdf(make_pdf([[], []], image_only=True))


def test_encrypted_pdf_is_refused_clearly():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(guidance_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(PdfError, match="encrypted PDF: it needs a password"):
        read_pdf(buffer.getvalue())


def test_pdf_encrypted_only_against_printing_still_opens():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(guidance_pdf())))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "para-1.1" in pdf_to_markdown(read_pdf(buffer.getvalue()))


def test_large_pdf_is_read_page_by_page_up_to_the_cap():
    pages = [
        [HEADER, f"{n}.1 Invented paragraph on page {n} of a long document.", FOOTER]
        for n in range(1, 401)
    ]
    data = make_pdf(pages)
    pdf = read_pdf(data, max_pages=40)
    # The cap is checked by what was read, not by a stopwatch: 40 pages of text, none after.
    assert (pdf.page_count, pdf.pages_read) == (400, 40)
    assert pdf.warnings == ["read the first 40 of 400 pages (page cap 40)"]
    md = pdf_to_markdown(pdf)
    assert "{#para-40.1" in md and "para-41.1" not in md


def test_not_a_pdf_and_damaged_pdf():
    with pytest.raises(PdfError, match="not a PDF"):
        read_pdf(b"PK\x03\x04 a zip file")
    with pytest.raises(PdfError):
        read_pdf(b"%PDF-1.4\n1 0 obj garbage")


# --- the line-level steps, on lines as pypdf gives them --------------------------------------


def test_a_running_head_needs_most_of_three_or_more_pages():
    head, number = "Example Council guidance", "Page 1 of 3"
    pages = [
        [head, "Intro text one.", number],
        [head, "More text that", "carries on here.", "Page 2 of 3"],
        [head, "Closing text.", "3"],
    ]
    assert strip_running_lines(pages) == [
        ["Intro text one."],
        ["More text that", "carries on here."],
        ["Closing text."],
    ]
    # Two pages are too few to tell a running head from a repeated first line: only the page
    # numbers go.
    assert strip_running_lines(pages[:2]) == [
        [head, "Intro text one."],
        [head, "More text that", "carries on here."],
    ]


def test_lines_regroup_into_nested_headings_paragraphs_and_lists_by_page():
    blocks = lines_to_blocks(
        [
            ["1 Duties", "1.1 The council must publish a register.", "2.3 Scope"],
            ["A sentence broken", "across two lines.", "• a bullet", "• another bullet"],
            ["• a bullet on the next page"],
        ]
    )
    assert [(b.kind, b.plain, b.level if b.kind == "heading" else b.page) for b in blocks] == [
        ("heading", "1 Duties", 2),
        ("para", "1.1 The council must publish a register.", 1),
        ("heading", "2.3 Scope", 3),  # nested by its number
        ("para", "A sentence broken across two lines.", 2),
        ("list", "a bullet another bullet", 2),  # one list per page
        ("list", "a bullet on the next page", 3),
    ]


def test_text_on_a_new_page_is_anchored_by_page_unless_it_continues_a_numbered_paragraph():
    md = render_blocks(
        [
            para("1. The council must keep a list.", page=1),
            Block("list", "- an item", "an item", page=2),  # runs on from paragraph 1
            para("Closing words.", page=2),
            para("2. The council may charge.", page=3),
            para("4. Out of sequence, so not a paragraph number.", page=3),
        ],
        page_anchors=True,
    )
    assert list(anchors(md)) == ["para-1", "page-2", "para-2"]
    assert md.index("- an item") < md.index("{#page-2")
