"""indexer/sources: one module per kind behind one parser interface; fetching apart from parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.crawl import PARSERS, load_parser
from indexer.http import Fetched, SourceFailed
from indexer.manifest import Source, as_source
from indexer.sources import archived, govuk, pdf
from kb.core.config import Settings
from tests.test_pdfdoc import guidance_pdf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "guidance"


class _NoFetching:
    """A Fetcher that fails the test if anything is fetched."""

    results: list = []

    def get(self, url, validate=None):
        raise AssertionError(f"fetched {url}")


def test_every_kind_has_a_parser_in_the_sources_package():
    for kind, target in PARSERS.items():
        assert target.startswith("indexer.sources."), target
        assert callable(load_parser(Source(id="x", kind=kind)))


def test_a_manifest_entry_as_yaml_reads_it_is_a_source_with_its_other_fields_in_extra():
    source = as_source({"id": "code/x", "kind": "pdf", "status": "withdrawn", "aliases": ["X"]})
    assert (source.id, source.kind, source.aliases) == ("code/x", "pdf", ["X"])
    assert source.extra == {"status": "withdrawn"}
    assert source.get("status") == "withdrawn" and source.get("doc_id") is None
    assert as_source(source) is source


def test_govuk_parse_turns_fetched_bytes_into_the_documents_parse_source_gives():
    raw = (FIXTURES / "govuk-example-html-publication.json").read_bytes()
    entry = {"doc_id": "guidance/ecg-2031", "short_title": "ECG 2031"}
    fetched = Fetched(raw, "https://www.gov.uk/api/content/x", "2031-07-01T00:00:00+00:00")
    [(document, body)] = govuk.parse(fetched, as_source(entry), Settings())
    assert document.id == "guidance/ecg-2031" and document.short_title == "ECG 2031"
    assert document.retrieved_at == "2031-07-01T00:00:00+00:00"
    assert "{#para-2.3}" in body
    [(again, same)] = govuk.parse_source(entry, raw, Settings())
    assert same == body and again.title == document.title


def test_a_publication_part_not_fetched_is_listed_not_fatal():
    raw = (FIXTURES / "govuk-example-publication.json").read_bytes()
    [path] = govuk.html_part_paths(govuk.read_item(Fetched(raw)))
    part = govuk.Part(path, "https://www.gov.uk/api/content" + path, reason="HTTP 404")
    [(document, _)] = govuk.parse(
        Fetched(raw), as_source({"doc_id": "guidance/p"}), Settings(), [part]
    )
    assert document.id == "guidance/p"
    assert document.extra["not_fetched"] == [
        {"url": part.url, "reason": "HTTP 404", "doc_id": "guidance/p"}
    ]


def test_archived_and_pdf_parse_fetch_nothing():
    page = (FIXTURES / "archived-example-code.html").read_bytes()
    source = as_source({"id": "code/example-code-2031", "doc_type": "code_of_practice"})
    [(document, body)] = archived.parse(Fetched(page, "https://archive.example/code"), source)
    assert document.id == "code/example-code-2031" and document.title
    assert document.source_url == "https://archive.example/code" and body.strip()
    [(document, body)] = pdf.parse(Fetched(guidance_pdf()), as_source({"id": "g"}))
    assert document.id == "guidance/g" and document.extra["pages"] == 4
    with pytest.raises(AssertionError, match="fetched"):
        pdf.parse_source(
            {"id": "g", "url": "https://example.invalid/g.pdf"}, _NoFetching(), Settings()
        )


def test_a_source_with_no_url_fails_with_a_reason():
    with pytest.raises(SourceFailed, match="no URL"):
        archived.parse_source({"id": "x"}, _NoFetching(), Settings())
