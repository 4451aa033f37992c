"""GOV.UK Content API items -> corpus documents: the shared real items and invented fixtures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from indexer.corpus import dotted_paragraph_number, read_document, write_document
from indexer.html_markdown import html_to_markdown
from indexer.passages import parse_document
from indexer.sources.govuk import (
    GovukError,
    api_url,
    base_path_of,
    html_part_paths,
    parse_content_item,
    parse_source,
)
from kb.core.config import Settings
from kb.core.pins import slugify

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


# Markup the parser leaves out on purpose: scripts and widgets, and the "request a different
# format" text GOV.UK puts in every attachment box.
_NOT_TEXT = (
    "script, style, noscript, template, svg, button, select, textarea, .accessibility-warning"
)
_BLOCKS = "p, li, td, th, dt, dd, pre, h1, h2, h3, h4, h5, h6"


def _letters(text: str) -> str:
    """Only the letters and digits, so that spacing and Markdown escapes do not matter."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _html_of(data: dict) -> list[tuple[str, str]]:
    details = data.get("details") or {}
    found = [("body", details.get("body"))]
    found += [(part.get("title"), part.get("body")) for part in details.get("parts") or []]
    out = []
    for where, html in found:
        if isinstance(html, list):
            html = "".join(b["content"] for b in html if b.get("content_type") == "text/html")
        out.append((str(where), str(html or "")))
    return out


def test_no_text_of_any_real_item_is_lost():
    """Every paragraph, list item, cell and heading of the body and parts is in the Markdown,
    in its words (a fraction image by its alt text), and every attachment box by its title."""
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is not there")
    for path in sorted(REAL.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        _, body = one(data)
        written = _letters(re.sub(r"\]\(<[^>]*>\)", "]", body))  # link targets are not text
        for where, html in _html_of(data):
            soup = BeautifulSoup(html, "lxml")
            for tag in soup.select(_NOT_TEXT):
                tag.decompose()
            for img in soup.select(".fraction img[alt]"):
                img.replace_with(img["alt"])
            for box in soup.select("section.attachment, div.attachment, .gem-c-attachment"):
                title = box.select_one(".title a, [class*=title] a") or box.find("a", href=True)
                assert _letters(title.get_text()) in written, (path.name, where, title.get_text())
                box.decompose()
            for block in soup.select(_BLOCKS):
                text = _letters(block.get_text())
                assert text in written, (path.name, where, block.get_text()[:200])


def test_withdrawn_travel_advice_gives_each_part_a_section_and_is_withdrawn():
    data = real("travel_advice--withdrawn-full-country.json")
    document, body = one(data)
    assert document.status == "withdrawn"
    assert document.status_date == "2017-02-28"
    assert document.status_note == "This information has been archived as it is now out of date."
    assert document.doc_type == "guidance"
    assert document.publisher == "Foreign & Commonwealth Office"
    passages = parse_document(document, body).passages
    assert {p.status for p in passages} == {"withdrawn"}
    # every part is a section: its text is cited by the part's title (a part whose text all
    # sits below its own headings, as "Safety and security", is their parent)
    by_pin = {p.pin: p for p in passages}
    for part in data["details"]["parts"]:
        under = [p for p in passages if p.heading.split(" › ")[0] == part["title"]]
        assert under, part["title"]
        pin = "heading/" + slugify(part["title"])
        if pin in by_pin:
            assert by_pin[pin].citation.endswith(f"'{part['title']}'")
    assert "Safety and security › Crime" in {p.heading for p in passages}
    first = BeautifulSoup(data["details"]["parts"][0]["body"], "lxml").p.get_text()
    assert _letters(first) in _letters(by_pin["heading/summary"].text)
    assert "#### " not in body  # the parts' <h3> become level 3, not 4


def test_travel_advice_with_no_parts_yet_is_found_by_its_description():
    data = real("travel_advice--withdrawn-full-country.json")  # the real shape, invented words
    details = {**data["details"], "parts": []}
    data = {**data, "details": details, "description": "Invented travel advice for 2031."}
    document, body = one(data)
    [passage] = parse_document(document, body).passages
    assert passage.text == "Invented travel advice for 2031."


def test_an_item_with_a_body_and_parts_keeps_both():
    data = real("guide--single-page-guide.json")
    data = {**data, "details": {**data["details"], "body": "<p>Example lead-in for 2031.</p>"}}
    _, body = one(data)
    assert body.index("Example lead-in for 2031.") < body.index("## Overview")


def test_featured_attachments_are_found_by_id_and_listed_first():
    data = real("publication--publication-with-featured-attachments.json")
    document, body = one(data)
    details = data["details"]
    by_id = {a["id"]: a for a in details["attachments"]}
    featured = [by_id[i] for i in details["featured_attachments"]]
    listed = document.extra["attachments"]
    assert [a["title"] for a in listed[: len(featured)]] == [a["title"] for a in featured]
    assert [a["url"] for a in listed[: len(featured)]] == [a["url"] for a in featured]
    assert listed[0]["number_of_pages"] == featured[0]["number_of_pages"]
    assert document.doc_type == "guidance"
    assert document.extra["govuk_document_type"] == "foi_release"
    line = next(x for x in body.splitlines() if x.startswith("- ["))
    assert "(application/pdf, 1.84 MB, 2 pages)" in line  # 1932905 bytes, as GOV.UK shows it

    # invented: featured order wins, the rest follow, and a rendered duplicate is not repeated
    invented = {
        "base_path": "/government/publications/example-commissioning-guidance-2031",
        "title": "Example Commissioning Guidance 2031",
        "schema_name": "publication",
        "document_type": "statutory_guidance",
        "details": {
            "body": "<div class=\"govspeak\"><p>Invented.</p></div>",
            "featured_attachments": ["b", "missing", "a"],
            "attachments": [
                {"attachment_type": "file", "id": "a", "title": "Example annex A",
                 "url": "https://assets.publishing.service.gov.uk/media/0000/annex-a.pdf"},
                {"attachment_type": "file", "id": "b", "title": "Example annex B",
                 "url": "https://assets.publishing.service.gov.uk/media/0000/annex-b.pdf"},
                {"attachment_type": "file", "id": "c", "title": "Example annex C",
                 "url": "https://assets.publishing.service.gov.uk/media/0000/annex-c.pdf"},
            ],
            "documents": [
                "<section class=\"attachment embedded\"><div class=\"attachment-details\">"
                "<h2 class=\"title\"><a href=\"https://assets.publishing.service.gov.uk/media/"
                "0000/annex-a.pdf\">Example annex A</a></h2></div></section>",
                "<section class=\"attachment embedded\"><div class=\"attachment-thumb\">"
                "<a class=\"thumbnail\" href=\"/media/0000/annex-d.pdf\"><img alt=\"\"></a></div>"
                "<div class=\"attachment-details\"><h2 class=\"title\"><a href=\"/media/0000/"
                "annex-d.pdf\">Example annex D</a></h2><p class=\"metadata\"><span class=\"type\">"
                "<abbr title=\"Portable Document Format\">PDF</abbr></span>, <span class=\"file-size\">"
                "12KB</span>, <span class=\"page-length\">3 pages</span></p></div></section>",
            ],
        },
    }  # fmt: skip
    document, body = one(invented)
    assert [a["title"] for a in document.extra["attachments"]] == [
        "Example annex B", "Example annex A", "Example annex C", "Example annex D",
    ]  # fmt: skip
    assert f"[Example annex D](<{BASE}/media/0000/annex-d.pdf>) (PDF, 12KB, 3 pages)" in body


def test_manual_section_keeps_its_manual_and_lists_files_its_text_does_not_link():
    data = real("manual_section--what-is-content-design.json")
    document, body = one(data)
    manual = data["links"]["manual"][0]
    assert document.id == "guidance/content-design/what-is-content-design"  # below its manual
    assert document.extra["manual"] == {"title": manual["title"], "url": BASE + manual["base_path"]}
    ids = [h["id"] for h in BeautifulSoup(data["details"]["body"], "lxml").select("h2[id]")]
    assert [a for a in anchors(body) if a != "heading-documents"] == [f"heading-{i}" for i in ids]
    urls = [a["url"] for a in document.extra["attachments"]]
    assert urls == [a["url"] for a in data["details"]["attachments"]]
    assert all(f"(<{url}>)" in body for url in urls)


def test_embedded_attachment_boxes_keep_their_titles_not_the_thumbnail_link():
    data = real("detailed_guide--political_detailed_guide.json")
    _, body = one(data)
    soup = BeautifulSoup(data["details"]["body"], "lxml")
    titles = [box.select_one(".title a") for box in soup.select("section.attachment")]
    lines = [line for line in body.splitlines() if line.startswith("Attachment:")]
    assert len(lines) == len(titles) and titles
    for line, title in zip(lines, titles, strict=True):
        assert line.startswith(f"Attachment: [{title.get_text()}](<")
        assert " ," not in line  # "(PDF, 7.89MB, 118 pages)", not "(PDF , 7.89MB , …)"


def test_footnote_marks_stay_apart_from_their_words():
    data = real("html_publication--best-practice-HC-paper.json")
    document, body = one(data)
    marks = BeautifulSoup(data["details"]["body"], "lxml").select("a.footnote")
    assert marks
    text = " ".join(p.text for p in parse_document(document, body).passages)
    for mark in marks:
        assert f"[{mark.get_text()}]" in text
    assert "↩" not in body  # the links back from a footnote are not text


def test_published_is_never_after_the_last_public_update():
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is not there")
    for path in sorted(REAL.glob("*.json")):
        document, _ = one(json.loads(path.read_text(encoding="utf-8")))
        updated = document.extra.get("public_updated")
        assert document.published and (not updated or document.published <= updated), path.name
    # republished in 2019, last publicly updated in 2017: first_published_at is not the date
    document, _ = one(real("html_publication--withdrawn.json"))
    assert document.published == "2017-02-03"


def test_withdrawn_note_reads_as_a_sentence():
    document, _ = one(real("publication--withdrawn_publication.json"))
    assert document.status == "withdrawn" and document.status_date == "2015-01-13"
    assert document.status_note.endswith("guidance for keepers of sheep, goats and pigs.")


def test_policy_paper_whose_html_part_cannot_be_fetched_still_gives_its_page():
    data = real("publication--best-practice-policy-paper.json")
    [part] = html_part_paths(data)
    fetcher = _FakeFetcher({BASE + "/api/content" + data["base_path"]: json.dumps(data)})
    source = {"path": data["base_path"].lstrip("/")}
    [(document, body)] = parse_source(source, fetcher, Settings())
    assert document.title == data["title"]
    assert document.extra["govuk_document_type"] == "policy_paper"
    assert document.extra["not_fetched"] == [
        {"url": f"{BASE}/api/content{part}", "reason": "HTTP 404", "doc_id": document.id}
    ]
    summary = BeautifulSoup(data["details"]["body"], "lxml").p.get_text()
    assert _letters(summary) in _letters(body)


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
    source = {
        "doc_id": "guidance/example-2031",
        "short_title": "ECG 2031",
        "aliases": ["ECG"],
        "status": "in_force",
        "doc_type": "statutory_guidance",
    }
    [(document, body)] = parse_source(source, raw, settings)
    assert document.id == "guidance/example-2031"
    assert document.short_title == "ECG 2031" and document.aliases == ["ECG"]
    assert document.status == "withdrawn"
    assert (
        document.source_url == "http://mirror.test/government/publications/"
        "example-commissioning-guidance-2031"
    )
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
    md = html_to_markdown(
        "<h2>3. Duties<p>3.1 The <b>council</b> must * act <script>x()</script>"
        "<p>12. Not a list <div>stray</span>"
    )
    assert "{#para-3}" in md and "{#para-3.1}" in md
    assert "x()" not in md
    assert r"must \* act" in md
    assert "12\\. Not a list" in md  # shown as text, not turned into an ordered list


class _FakeFetcher:
    """The crawler's Fetcher interface (.get(url, validate), .results) over a dict of bodies."""

    def __init__(self, bodies: dict[str, str], folder: Path | None = None):
        import tempfile

        self.folder = folder or Path(tempfile.mkdtemp())
        self.bodies, self.results, self.urls = bodies, [], []

    def get(self, url, validate=None):
        from indexer.http import FetchResult

        self.urls.append(url)
        body = self.bodies.get(url)
        path = None
        if body is not None:
            path = self.folder / f"{len(self.urls)}.json"
            path.write_text(body, encoding="utf-8")
        result = FetchResult(
            url=url,
            status="mirror" if path else "failed",
            body_path=path,
            reason="" if path else "HTTP 404",
            fetched_at="2031-07-01T00:00:00+00:00",
        )
        self.results.append(result)
        return result


def test_a_part_that_fails_fails_alone_and_the_crawl_says_so(tmp_path):
    """Two HTML parts, one of them missing: the publication and the other part are written,
    the missing one is reported (and an earlier copy of it would stay where it is)."""
    from indexer.crawl import crawl_source, format_report
    from indexer.manifest import Source

    publication = fixture("govuk-example-publication.json")
    part = fixture("govuk-example-html-publication.json")
    first = part["base_path"]
    second = first + "-annex"  # invented: a second part, never served
    publication["links"]["children"].append(
        {"base_path": second, "document_type": "html_publication", "title": "Example annex"}
    )
    api = BASE + "/api/content"
    fetcher = _FakeFetcher(
        {api + publication["base_path"]: json.dumps(publication), api + first: json.dumps(part)},
        tmp_path,
    )
    out = tmp_path / "out"
    earlier = out / "guidance" / "ecg" / "example-commissioning-guidance-2031-annex.md"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("an earlier crawl's copy\n")
    source = Source(
        id="ecg",
        kind="govuk",
        path=publication["base_path"].lstrip("/"),
        url=BASE + publication["base_path"],
        extra={"doc_id": "guidance/ecg"},
    )
    report = crawl_source(source, fetcher, Settings(), out)
    assert report.status == "partial" and report.reason == ""
    assert report.documents == ["guidance/ecg", "guidance/ecg/example-commissioning-guidance-2031"]
    assert [m["url"] for m in report.not_fetched] == [api + second]
    assert earlier.read_text() == "an earlier crawl's copy\n"  # not ours to touch
    stored = read_document(out / "guidance" / "ecg.md").document
    assert stored.extra["not_fetched"] == [api + second]  # the corpus says what is missing
    lines = format_report([report])
    assert "0 failed, 1 partly fetched" in lines[-2]
    assert lines[-1] == f"PARTIAL ecg: not fetched {api + second}: HTTP 404"


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
            result = FetchResult(
                url=url,
                status="mirror" if found else "failed",
                body_path=body if found else None,
                reason="HTTP 404",
                fetched_at="2031-07-01T00:00:00+00:00",
            )
            self.results.append(result)
            return result

    path = (
        "government/publications/example-commissioning-guidance-2031/"
        "example-commissioning-guidance-2031"
    )
    source = Source(
        id="ecg-2031",
        kind="govuk",
        path=path,
        url=f"{BASE}/{path}",
        extra={"doc_id": "guidance/ecg-2031", "status": "in_force"},
    )
    fetcher = Fetcher()
    report = crawl_source(source, fetcher, Settings(), tmp_path / "out")
    assert report.reason == "" and report.documents == ["guidance/ecg-2031"]
    assert fetcher.urls == [f"{BASE}/api/content/{path}"]
    stored = read_document(tmp_path / "out" / "guidance" / "ecg-2031.md")
    assert stored.document.retrieved_at.startswith("2031-07-01")
    missing = Source(id="gone", kind="govuk", path="guidance/gone", url=f"{BASE}/guidance/gone")
    report = crawl_source(missing, fetcher, Settings(), tmp_path / "out")
    assert report.status == "failed" and "404" in report.reason


def test_a_quantity_at_the_start_of_a_line_is_not_a_paragraph_number():
    # The real permit notice's "Volume" section reads "4.2 cubic metres per day".
    document, body = one(real("html_publication--published.json"))
    parsed = parse_document(document, body)
    assert "para/4.2" not in [p.pin for p in parsed.passages]
    volume = next(p for p in parsed.passages if "cubic metres per day" in p.text)
    assert volume.pin.startswith("heading/") and volume.label != "para 4.2"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2.3 The council must consult", "2.3"),
        ("2.3. Councils should", "2.3"),
        ("10.12 “Best value” means", "10.12"),
        ("4.1 (a) the authority", "4.1"),
        ("4.2 cubic metres per day", None),
        ("1.5 million people were affected", None),
        ("3.14159 is pi", None),
        ("Section 2.3 The council", None),
    ],
)
def test_dotted_paragraph_numbers_are_followed_by_a_sentence(text, number):
    assert dotted_paragraph_number(text) == number
