"""Atom feeds: the real legislation.gov.uk feeds in ../shared, read in place, and the fixtures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from indexer.corpus import read_document
from indexer.crawl import run_crawl
from indexer.feeds import (
    FeedError,
    page_effects,
    page_log_entries,
    parse_feed,
    parse_log_entry,
    timestamp,
)
from indexer.http import Fetcher
from indexer.manifest import load_manifest
from kb.core.config import Settings
from kb.core.models import effects as checked_effects
from tests.conftest import LEGISLATION_RESPONSES
from tests.feedserver import LogRecord, log_feed

FIXTURES = Path(__file__).parent / "fixtures"
REAL = ["effects.feed", "effects-simple.feed", "ukpga.feed", "uksi.feed"]


def real(name: str) -> bytes:
    path = LEGISLATION_RESPONSES / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (the shared reference data is absent)")
    return path.read_bytes()


@pytest.mark.parametrize("name", REAL)
def test_real_feeds_paging_fields(name):
    page = parse_feed(real(name))
    assert len(page.entries) == 20
    assert page.page == 1
    kind = name.split(".")[0].split("-")[0]
    if kind == "effects":
        assert page.more_pages == 74520 and page.total == 1490409
        assert page.next == "http://www.legislation.gov.uk/changes/data.feed?sort=modified&page=2"
    else:  # legislation listings: no openSearch:totalResults
        assert page.more_pages == 12 and page.total is None
        assert page.next == f"http://www.legislation.gov.uk/{kind}/data.feed?page=2"


@pytest.mark.parametrize("name", ["effects.feed", "effects-simple.feed"])
def test_every_real_effect_parses_into_the_contract(name):
    found = page_effects(parse_feed(real(name)))
    assert len(found) == 20
    # every mapping is one kb.core.models reads back without dropping it
    assert len(checked_effects(found)) == 20
    assert all(e["affected"] == "ukpga/1984/55" for e in found)
    assert {e["affecting"] for e in found} == {
        "ukpga/2022/30",
        "ukpga/2015/7",
        "asc/2023/3",
        "ukpga/2004/22",
        "mwa/2011/3",
    }


@pytest.mark.parametrize("name", ["effects.feed", "effects-simple.feed"])
def test_hand_checked_real_effects(name):
    by_id = {e["id"]: e for e in page_effects(parse_feed(real(name)))}
    # "and cross-heading", Prospective in force, enclosing Sch. 5 left out of the pins
    omitted = by_id["key-7d04edf8bb3c585c7773afbe6215d9a3"]
    assert omitted == {
        "id": "key-7d04edf8bb3c585c7773afbe6215d9a3",
        "type": "omitted",
        "affected": "ukpga/1984/55",
        "affected_provisions": "s. 44 and cross-heading",
        "affected_pins": ["part/I/crossheading/application-of-building-regulations-to-crown-etc"],
        "affecting": "ukpga/2022/30",
        "affecting_title": "Building Safety Act 2022",
        "affecting_provisions": "Sch. 5 para. 38",
        "affecting_pins": ["schedule/5/paragraph/38"],
        "in_force": [{"date": None, "qualification": None, "applied": False, "prospective": True}],
        "applied": False,
        "requires_applied": True,
        "modified": "2024-11-09T09:25:54Z",
    }
    # a SectionRange: both ends
    assert by_id["key-7e19a4d53e7bc488db6617087fa7f28a"]["affected_pins"] == [
        "section/56/1",
        "section/56/4",
    ]
    # two provisions side by side, none enclosing the other: both kept
    repeal = by_id["key-c07f14b999d3ebde008c5d6afadc0e1b"]
    assert repeal["affected_pins"] == ["section/59/4", "section/59/5"]
    assert repeal["affecting_pins"] == ["section/5/b", "schedule"]
    # Missing="true" (an insertion of a section not yet in the text), several in-force dates,
    # and the English AffectingTitle of a dual-language Act
    inserted = by_id["key-168b69c81c8d135d6e7037c3c0d47fd4"]
    assert inserted["affected_pins"] == ["section/79A"]
    assert inserted["affecting_title"] == "Historic Environment (Wales) Act 2023"
    assert inserted["applied"] is True
    assert inserted["in_force"] == [
        {"date": None, "qualification": None, "applied": False, "prospective": True},
        {
            "date": "2024-11-04",
            "qualification": "wholly in force",
            "applied": True,
            "prospective": False,
        },
    ]
    effect = checked_effects([inserted])[0]
    assert effect.in_force_dates == ["2024-11-04"] and not effect.outstanding


def test_publication_log_entries_in_the_documented_shapes():
    when = dt.datetime(2031, 6, 2, 9, 30, tzinfo=dt.UTC)
    records = [
        LogRecord(
            "ukpga/2031/7", "Example Services Act 2031", when, "legislation", version="2031-06-01"
        ),
        LogRecord("ukpga/2031/7", "Example Services Act 2031", when, "changes"),
        LogRecord(
            "ukpga/2031/7",
            "Example Services Act 2031",
            when,
            "legislation",
            "withdrawn",
            format="pdf",
        ),
    ]
    page = parse_feed(
        log_feed("http://www.legislation.gov.uk/update/ukpga/2031/7/data.feed", records, 1, 2)
    )
    assert (page.page, page.more_pages, page.total) == (1, 1, 3)
    assert page.next == "http://www.legislation.gov.uk/update/ukpga/2031/7/data.feed?page=2"
    pit, changes = page_log_entries(page)
    assert pit.item == "ukpga/2031/7" and pit.content_type == "legislation"
    assert pit.event == "published" and pit.format == "xml" and pit.republished is True
    assert pit.item_url == "http://www.legislation.gov.uk/ukpga/2031/7/2031-06-01/data.xml"
    assert pit.document == "http://www.legislation.gov.uk/ukpga/2031/7/2031-06-01"
    assert pit.updated_at == when and pit.language == "en"
    assert changes.content_type == "changes" and changes.direction == "affected"
    assert changes.item_url is None and changes.language is None


def test_log_entries_copied_from_the_docs():
    """The entries docs/api/publication-log.md shows, verbatim but for the namespaces."""
    ns = (
        'xmlns="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:ukm="http://www.legislation.gov.uk/namespaces/metadata" '
        'xmlns:pbl="http://www.legislation.gov.uk/namespaces/publication-log"'
    )
    withdrawn = f"""<feed {ns}><entry>
  <id>http://www.legislation.gov.uk/wsi/2023/754/pdfs/wsi_20230754_en.pdf/withdrawn/2023-07-05T12:24:02.697007+01:00</id>
  <dc:identifier>http://www.legislation.gov.uk/id/wsi/2023/754</dc:identifier>
  <title>The Animal By-Products, Pet Passport and Animal Health (Fees) (Wales) (Amendment) Regulations 2023</title>
  <published>2023-07-04T19:03:59.45768+01:00</published>
  <updated>2023-07-05T12:24:02.697007+01:00</updated>
  <pbl:ContentType>legislation</pbl:ContentType>
  <pbl:Event>withdrawn</pbl:Event>
  <pbl:Document>http://www.legislation.gov.uk/wsi/2023/754/made</pbl:Document>
  <pbl:Item_Withdrawn>http://www.legislation.gov.uk/wsi/2023/754/pdfs/wsi_20230754_en.pdf</pbl:Item_Withdrawn>
  <pbl:Format>pdf</pbl:Format>
  <pbl:Print>false</pbl:Print>
  <dc:language>en</dc:language>
</entry><entry>
  <id>http://www.legislation.gov.uk/changes/affecting/wsi/2020/1073/published/2023-07-07T16:20:33.742931+01:00</id>
  <dc:identifier>http://www.legislation.gov.uk/id/wsi/2020/1073</dc:identifier>
  <title type="xhtml">
  <div xmlns="http://www.w3.org/1999/xhtml">
    <span xml:lang="en">The National Health Service (Pharmaceutical Services) (Wales) Regulations 2020</span>
    /
    <span xml:lang="cy">Rheoliadau’r Gwasanaeth Iechyd Gwladol (Gwasanaethau Fferyllol) (Cymru) 2020</span>
  </div>
  </title>
  <updated>2023-07-07T16:20:33.742931+01:00</updated>
  <pbl:ContentType>changes</pbl:ContentType>
  <pbl:Event>published</pbl:Event>
  <pbl:Direction>affecting</pbl:Direction>
</entry></feed>""".encode()
    page = parse_feed(withdrawn)
    assert (page.page, page.more_pages, page.next) == (None, None, None)
    pdf, changes = (parse_log_entry(e) for e in page.entries)
    assert pdf.event == "withdrawn" and pdf.format == "pdf" and pdf.item == "wsi/2023/754"
    assert pdf.item_url.endswith("/wsi_20230754_en.pdf")
    assert pdf.published == "2023-07-04T19:03:59.45768+01:00"
    assert pdf.updated_at == dt.datetime(2023, 7, 5, 11, 24, 2, 697007, tzinfo=dt.UTC)
    assert (
        changes.title
        == "The National Health Service (Pharmaceutical Services) (Wales) Regulations 2020"
    )
    assert changes.title_cy.startswith("Rheoliadau")
    assert changes.direction == "affecting" and changes.item == "wsi/2020/1073"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"<feed", "malformed XML"),
        (b"<!DOCTYPE x [<!ENTITY a 'a'>]><feed>&a;</feed>", "DOCTYPE"),
        (b"<html><body>Service unavailable</body></html>", "not an Atom feed"),
    ],
)
def test_unusable_feeds_are_refused(data, reason):
    with pytest.raises(FeedError, match=reason):
        parse_feed(data)


def test_timestamps_in_utc():
    assert timestamp("2023-07-07T16:20:33.742931+01:00") == dt.datetime(
        2023, 7, 7, 15, 20, 33, 742931, tzinfo=dt.UTC
    )
    assert timestamp("2024-11-09T09:25:54Z").tzinfo is dt.UTC
    assert timestamp("yesterday") is None


def test_mirror_crawl_writes_every_page_of_effects(tmp_path):
    """The fixture mirror has the Act's changes feed in two pages (20 + 1), the regulations'
    in one, and none for the amending Act: that one is written without effects, and said."""
    settings = Settings(home=tmp_path / "kb", crawl_delay=0)
    sources = load_manifest([FIXTURES / "sources.yaml"], settings)
    fetcher = Fetcher(settings, mirror=FIXTURES / "mirror", delay=0)
    out = tmp_path / "crawled"
    reports = run_crawl(sources, settings, out, fetcher, progress=False)
    assert [r.status for r in reports] == ["mirror", "mirror", "mirror"]
    act = read_document(out / "ukpga/2031/7.md").document
    found = checked_effects(act.extra["effects"])
    assert len(found) == 21 and len({e.id for e in found}) == 21
    assert act.extra["effects_fetched_at"]
    inserted = next(e for e in found if e.affected_pins == ["section/3A"])
    assert inserted.affecting == "ukpga/2032/4" and inserted.applied
    assert inserted.in_force_dates == ["2032-04-01"]
    repeal = next(e for e in found if e.type == "repealed")  # s. 3(1)-(4): a SectionRange
    assert repeal.affected_pins == ["section/3/1", "section/3/4"]
    assert [f.qualification for f in repeal.in_force] == [None, "for E.", "for W."]
    assert next(e for e in found if e.affected_pins == ["section/3B"]).outstanding
    amending = read_document(out / "ukpga/2032/4.md").document
    assert "effects" not in amending.extra
    assert "not in the mirror" in amending.extra["effects_error"]
    assert reports[1].notes == [f"effects not fetched: {amending.extra['effects_error']}"]
