"""Archived HTML pages: main content only, any declared or detectable encoding, bad HTML tolerated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.sources.archived import (
    ArchivedError,
    decode_html,
    page_to_markdown,
    parse_page,
    parse_source,
)
from kb.core.config import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "guidance"
PAGE = FIXTURES / "archived-example-code.html"


def test_archive_banner_navigation_cookies_and_footer_are_dropped():
    page = parse_page(PAGE.read_bytes())
    md = page_to_markdown(page)
    for chrome in (
        "Archived toolbar",
        "Web Archive notice",
        "uses cookies",
        "Housing",
        "Publications &gt; Codes",
        "Publications > Codes",
        "Crown copyright",
    ):
        assert chrome not in md, chrome
    assert page.title == "Example Code of Practice 2031"
    assert "# Example Code of Practice 2031" not in md  # the title is not a section


def test_declared_latin1_page_is_read_as_windows_1252():
    page = parse_page(PAGE.read_bytes())
    md = page_to_markdown(page)
    assert page.encoding == "cp1252"
    assert "read – including “smart quotes”" in md


def test_numbered_paragraphs_and_headings_keep_their_numbers():
    md = page_to_markdown(parse_page(PAGE.read_bytes()))
    found = re.findall(r"^\{#([^ }]+)", md, re.M)
    assert found == ["para-1", "para-1.1", "para-1.2", "heading-annex-contacts"]
    assert "| Workforce | workforce@example.invalid |" in md
    assert "Unclosed bold and a stray close tag" in md  # malformed markup, text kept


def test_undeclared_non_utf8_page_is_detected_or_refused():
    body = "<html><body><main><h2>Rôle du conseil</h2><p>Le conseil décide – "
    body += "voilà une très longue phrase inventée pour la détection de l’encodage.</p>"
    data = (body * 3 + "</main></body></html>").encode("cp1252")
    text, encoding = decode_html(data)
    assert "Rôle du conseil" in text and "–" in text
    assert encoding in ("cp1252", "iso8859_15", "latin_1")
    with pytest.raises(ArchivedError, match="not UTF-8"):
        decode_html(data, detect=False)


def test_wrong_declaration_falls_back_to_utf8():
    data = '<meta charset="ascii"><main><p>Café – ok</p></main>'.encode()
    assert "Café – ok" in decode_html(data)[0]


def test_binary_and_empty_pages_are_refused():
    with pytest.raises(ArchivedError, match="binary"):
        parse_page(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ArchivedError, match="no text"):
        parse_page(b"<html><body><nav>Home</nav><div id='footer'>x</div></body></html>")


def test_parse_source_takes_status_from_the_manifest():
    source = {
        "id": "code/example-code-2031",
        "kind": "archived_html",
        "doc_type": "code_of_practice",
        "url": "https://webarchive.example/ukgwa/20110101000000/http://example.gov.uk/code",
        "status": "withdrawn",
        "status_date": "2032-03-23",
        "status_note": "Revoked by an invented statement; contracts let before keep it.",
        "published": "2031-03-13",
    }
    [(document, body)] = parse_source(source, PAGE.read_bytes(), Settings())
    assert document.title == "Example Code of Practice 2031"
    assert (document.status, document.status_date) == ("withdrawn", "2032-03-23")
    assert document.status_note.startswith("Revoked by an invented statement")
    assert document.published == "2031-03-13"
    assert "{#para-1.1}" in body
