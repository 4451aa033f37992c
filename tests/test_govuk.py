"""GOV.UK Content API items -> corpus documents: the shared real items and invented fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.corpus import read_document, write_document
from indexer.govuk import (
    GovukError,
    api_url,
    base_path_of,
    html_part_paths,
    html_to_markdown,
    parse_content_item,
    parse_source,
)
from indexer.passages import parse_document
from kb.config import Settings

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "govuk-content"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "guidance"
BASE = "https://www.gov.uk"


def real(name: str) -> dict:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"shared GOV.UK reference item {path} is not there (read in place, not copied)")
    return json.loads(path.read_text(encoding="utf-8"))


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def one(data: dict, **kw):
    [(document, body)] = parse_content_item(data, base_url=kw.pop("base_url", BASE), **kw)
    return document, body


def anchors(body: str) -> list[str]:
    return re.findall(r"^\{#([^ }]+)", body, re.M)


# --- the real items -----------------------------------------------------------------------------


def test_withdrawn_html_publication_is_withdrawn_with_date_and_plain_note():
    document, _ = one(real("html_publication--withdrawn.json"))
    assert document.status == "withdrawn"
    assert document.status_date == "2019-11-19"
    assert document.status_note == "This content has been withdrawn as it is out of date."
    assert document.doc_type == "correspondence"  # from the parent publication
    assert document.extent == "E"


def test_withdrawn_detailed_guide_note_keeps_its_words_but_no_markup():
    document, body = one(real("detailed_guide--withdrawn_detailed_guide.json"))
    assert document.status == "withdrawn"
    assert document.status_date == "2015-01-28"
    assert "archived as it is now out of date" in document.status_note
    assert "<" not in document.status_note
    assert "heading-overview" in anchors(body)
    # every passage of a withdrawn document carries the status
    passages = parse_document(document, body).passages
    assert passages and {p.status for p in passages} == {"withdrawn"}
    assert {p.status_date for p in passages} == {"2015-01-28"}


def test_statutory_guidance_publication_metadata():
    document, body = one(real("publication--best-practice-statutory-guidance.json"))
    assert document.doc_type == "statutory_guidance"
    assert document.status == "in_force"
    assert document.publisher == "Department for Education"
    assert document.published == "2013-03-26"
    assert document.extent == "E"
    history = document.extra["change_history"]
    assert history[0]["date"] == "2015-12-17"
    assert history[-1] == {"date": "2013-03-26", "note": "First published."}
    assert document.extra["public_updated"] == "2015-12-17"
    assert document.source_url == BASE + "/government/publications/schemes-for-financing-schools"
    assert "publish schemes for financing schools" in body


def test_unnumbered_repeated_headings_get_distinct_stable_anchors():
    data = real("html_publication--fractions_and_unnumbered_headings.json")
    document, body = one(data)
    found = anchors(body)
    assert len(found) == len(set(found))
    assert {"heading-number-fractions", "heading-number-fractions-2"} <= set(found)
    assert "1/3" in body  # fraction images keep their alt text
    assert document.doc_type == "statutory_guidance"
    assert one(data)[1] == body  # same input, same anchors
    parsed = parse_document(document, body)
    ids = [p.id for p in parsed.passages]
    assert f"{document.id}/heading/number-fractions-2" in ids


def test_every_real_item_parses_into_passages():
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is not there")
    for path in sorted(REAL.glob("*.json")):
        document, body = one(json.loads(path.read_text(encoding="utf-8")))
        assert parse_document(document, body).passages, path.name
        assert "govspeak" not in body and "<p>" not in body, path.name


def test_source_url_follows_the_configured_base(tmp_path):
    document, _ = one(real("html_publication--published.json"), base_url="http://127.0.0.1:8765/")
    assert document.source_url.startswith("http://127.0.0.1:8765/government/publications/")


# --- invented items in the Content API shape ---------------------------------------------------


def test_numbered_headings_and_paragraphs_become_para_pins_with_citations():
    document, body = one(fixture("govuk-example-html-publication.json"))
    assert document.id == "guidance/example-commissioning-guidance-2031"
    assert document.doc_type == "statutory_guidance"
    assert document.publisher == "Department for Example Affairs"
    assert document.published == "2031-04-01"
    assert document.extent == "E+W"
    found = anchors(body)
    assert found[:4] == ["para-2", "para-2.3", "para-2.4", "para-2.5"]
    assert found[4:] == ["heading-further-information", "heading-further-information-2"]
    passages = {p.pin: p for p in parse_document(document, body).passages}
    para = passages["para/2.3"]
    assert para.id == "guidance/example-commissioning-guidance-2031/para/2.3"
    assert para.citation.endswith("Example Commissioning Guidance 2031 (2031) para 2.3")
    assert "publish an invented plan" in para.text
    assert "first point" in passages["para/2.4"].text  # a list stays with its paragraph
    assert "[department](<https://www.gov.uk/government/organisations/" in body


def test_publication_lists_attachments_and_its_html_parts_and_can_be_withdrawn():
    data = fixture("govuk-example-publication.json")
    document, body = one(data)
    assert document.status == "withdrawn"
    assert document.status_date == "2032-01-10"
    assert document.status_note.startswith("This invented guidance was withdrawn on 10 January")
    titles = [a["title"] for a in document.extra["attachments"]]
    assert "Example commissioning plan template" in titles
    assert "heading-documents" in anchors(body)
    assert "12 pages" in body
    part = "/government/publications/example-commissioning-guidance-2031/"
    assert html_part_paths(data) == [part + "example-commissioning-guidance-2031"]


def test_guide_parts_become_sections():
    document, body = one(fixture("govuk-example-guide.json"))
    assert anchors(body) == ["heading-overview", "heading-who-can-apply", "heading-how-to-apply"]
    assert "### Who can apply" in body  # a part's own headings nest under the part
    assert document.doc_type == "guidance"


def test_parse_source_applies_the_manifest_but_not_over_a_withdrawal(tmp_path):
    settings = Settings()
    settings.govuk_url = "http://mirror.test"
    raw = (FIXTURES / "govuk-example-publication.json").read_bytes()
    source = {"doc_id": "guidance/example-2031", "short_title": "ECG 2031", "aliases": ["ECG"],
              "status": "in_force", "doc_type": "statutory_guidance"}
    [(document, body)] = parse_source(source, raw, settings)
    assert document.id == "guidance/example-2031"
    assert document.short_title == "ECG 2031" and document.aliases == ["ECG"]
    assert document.status == "withdrawn"
    assert document.source_url == "http://mirror.test/government/publications/" \
        "example-commissioning-guidance-2031"
    assert len(document.sha256) == 64
    # and it round-trips through the corpus format
    write_document(tmp_path / "x.md", document, body)
    again = read_document(tmp_path / "x.md").document
    assert again.status == "withdrawn" and again.extra["change_history"]


def test_parse_source_rejects_what_is_not_a_content_item():
    with pytest.raises(GovukError, match="not JSON"):
        parse_source({"id": "guidance/x"}, b"<html>404</html>", Settings())
    with pytest.raises(GovukError, match="base_path"):
        parse_source({"id": "guidance/x"}, b'{"error": "not found"}', Settings())


def test_api_url_and_base_path():
    settings = Settings()
    assert api_url(settings, "/guidance/x") == "https://www.gov.uk/api/content/guidance/x"
    assert base_path_of("https://www.gov.uk/api/content/guidance/x") == "/guidance/x"
    assert base_path_of("guidance/x") == "/guidance/x"


def test_malformed_html_is_tolerated_and_text_escaped():
    md = html_to_markdown("<h2>3. Duties<p>3.1 The <b>council</b> must * act <script>x()</script>"
                          "<p>12. Not a list <div>stray</span>")
    assert "{#para-3}" in md and "{#para-3.1}" in md
    assert "x()" not in md
    assert r"must \* act" in md
    assert "12\\. Not a list" in md  # shown as text, not turned into an ordered list


def test_parse_source_fetches_the_content_api_through_the_crawler_fetcher(tmp_path):
    from indexer.crawl import crawl_source
    from indexer.http import FetchResult
    from indexer.manifest import Source

    body = tmp_path / "item.json"
    body.write_bytes((FIXTURES / "govuk-example-html-publication.json").read_bytes())

    class Fetcher:  # the crawler's Fetcher interface: .get(url, validate) and .results
        def __init__(self):
            self.results, self.urls = [], []

        def get(self, url, validate=None):
            self.urls.append(url)
            found = url.endswith("example-commissioning-guidance-2031")
            result = FetchResult(url=url, status="mirror" if found else "failed",
                                 body_path=body if found else None, reason="HTTP 404",
                                 fetched_at="2031-07-01T00:00:00+00:00")
            self.results.append(result)
            return result

    path = "government/publications/example-commissioning-guidance-2031/" \
        "example-commissioning-guidance-2031"
    source = Source(id="ecg-2031", kind="govuk", path=path, url=f"{BASE}/{path}",
                    extra={"doc_id": "guidance/ecg-2031", "status": "in_force"})
    fetcher = Fetcher()
    report = crawl_source(source, fetcher, Settings(), tmp_path / "out")
    assert report.reason == "" and report.documents == ["guidance/ecg-2031"]
    assert fetcher.urls == [f"{BASE}/api/content/{path}"]
    stored = read_document(tmp_path / "out" / "guidance" / "ecg-2031.md")
    assert stored.document.retrieved_at.startswith("2031-07-01")
    missing = Source(id="gone", kind="govuk", path="guidance/gone", url=f"{BASE}/guidance/gone")
    report = crawl_source(missing, fetcher, Settings(), tmp_path / "out")
    assert report.status == "failed" and "404" in report.reason
