"""Point in time for scoped legislation sources (indexer/sources/legislation/versions.py), over real HTTP.

The invented Example Inspections Act 2031 (tests/fixtures/versions/scoped/, shaped like
legislation.gov.uk's whole-document and fragment point-in-time responses) has Part 1 (ss 1-2),
Part 2 (s 3) and Part 3 (s 4, never in any scope here). Enacted 1 July 2031; s 3 changed on
1 April 2032 ("decides" -> "regulations"), s 1 on 1 January 2033 ("five years" -> "three
years") and s 2 in the current text of 1 September 2034 ("three months" -> "six weeks").
A fragment's listing names only the dates that fragment changed, including the day its current
text began (Part 1: enacted, 2033-01-01, 2034-09-01; s 3: enacted, 2032-04-01), and its
`dct:valid` is the whole Act's current date, as on legislation.gov.uk (mwa/2011/7/section/1
lists 2012-11-16, its current text's first day, and is `dct:valid` 2022-09-01).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.corpus import read_document
from indexer.index.build import build
from kb.service import KnowledgeBase
from kb.web import create_app
from tests.conftest import make_settings
from tests.pointintime import crawl_entry, serve_fixtures
from tests.test_http import LocalServer

FIXTURES = Path(__file__).parent / "fixtures" / "versions" / "scoped"
ACT = "ukpga/2031/14"
ROUTES = {
    f"/{ACT}/data.xml": "current.xml",
    f"/{ACT}/enacted/data.xml": "enacted.xml",
    f"/{ACT}/2032-04-01/data.xml": "2032-04-01.xml",
    f"/{ACT}/2033-01-01/data.xml": "2033-01-01.xml",
    f"/{ACT}/part/1/data.xml": "part-1.xml",
    f"/{ACT}/part/1/enacted/data.xml": "part-1-enacted.xml",
    f"/{ACT}/part/1/2033-01-01/data.xml": "part-1-2033-01-01.xml",
    f"/{ACT}/section/3/data.xml": "section-3.xml",
    f"/{ACT}/section/3/enacted/data.xml": "section-3-enacted.xml",
    f"/{ACT}/section/3/2032-04-01/data.xml": "section-3-2032-04-01.xml",
}
SECTIONS = ("section-1", "section-2", "section-3", "section-4")


def crawl_scoped(tmp_path: Path, scope: str):
    """Crawl the Act with this scope from a local server: (result, corpus, data.xml asked)."""
    server = LocalServer()
    try:
        serve_fixtures(server, FIXTURES, ROUTES)
        entry = (
            f"id: example-inspections, kind: legislation, path: {ACT},"
            f" short_title: EIA 2031, scope: {scope}"
        )
        result, out = crawl_entry(tmp_path, server, entry)
        asked = sorted(path for path, _ in server.requests if path.endswith("/data.xml"))
        return result, out, asked
    finally:
        server.close()


def versions_written(out: Path) -> dict[str, tuple[str | None, str | None, str]]:
    """Each earlier version document: date -> (valid_from, valid_to, body)."""
    found = {}
    for path in sorted((out / ACT).glob("*.md")):
        read = read_document(path)
        assert read.document.extra["version_of"] == ACT
        found[path.stem] = (read.document.valid_from, read.document.valid_to, read.body)
    return found


def sections_in(body: str) -> list[str]:
    return [s for s in SECTIONS if "{#" + s in body]


def as_at(client, q: str, day: str) -> list[tuple[str, str]]:
    response = client.get("/api/v1/search", query_string={"q": q, "as_at": day})
    assert response.status_code == 200, response.get_json()
    return [(hit["id"], hit["text"]) for hit in response.get_json()["results"]]


@pytest.fixture()
def client_for(engine, tmp_path):
    """Build the crawled corpus with the engine under test and serve it: a test client."""
    opened = []

    def make(corpus: Path):
        settings = make_settings(tmp_path / "index", corpus)
        settings.engine = engine
        report = build(settings, progress=False)
        assert not report.problems, report.problems
        kb = KnowledgeBase(settings, check_interval=0)
        opened.append(kb)
        app = create_app(settings, kb=kb)
        app.testing = True
        return app.test_client()

    yield make
    for kb in opened:
        kb.close()


def test_one_fragment_scope_fetches_that_fragment_at_its_own_points_in_time(tmp_path, client_for):
    result, out, asked = crawl_scoped(tmp_path, "[part/1]")
    assert result.exit_code == 0, result.output
    # The current text whole, the fragment's own listing, and the fragment at each date it
    # lists: never the whole Act at 2032-04-01 (only Part 2 changed then).
    assert asked == sorted(
        [
            f"/{ACT}/data.xml",
            f"/{ACT}/part/1/data.xml",
            f"/{ACT}/part/1/enacted/data.xml",
            f"/{ACT}/part/1/2033-01-01/data.xml",
        ]
    )
    versions = versions_written(out)
    assert {day: window[:2] for day, window in versions.items()} == {
        "2031-07-01": ("2031-07-01", "2033-01-01"),
        "2033-01-01": ("2033-01-01", "2034-09-01"),
    }
    for _, _, body in versions.values():
        assert sections_in(body) == ["section-1", "section-2"]
    assert "five years" in versions["2031-07-01"][2]
    assert "three years" in versions["2033-01-01"][2]
    assert "three months" in versions["2033-01-01"][2]
    current = read_document(out / f"{ACT}.md")
    assert sections_in(current.body) == ["section-1", "section-2"]
    assert current.document.valid_from == "2034-09-01"

    client = client_for(out)
    assert as_at(client, "period", "2032-06-01") == [
        (
            f"{ACT}/2031-07-01/section/1",
            "The authority must inspect every example service once in each period of five years.",
        )
    ]
    assert [hit for hit, _ in as_at(client, "period", "2033-01-01")] == [
        f"{ACT}/2033-01-01/section/1"
    ]
    assert [hit for hit, _ in as_at(client, "report", "2034-08-31")] == [
        f"{ACT}/2033-01-01/section/2"
    ]
    assert [hit for hit, _ in as_at(client, "report", "2034-09-01")] == [f"{ACT}/section/2"]
    assert as_at(client, "fee", "2032-06-01") == []  # s 3 is outside the scope


EVERY_DATE = {
    "2031-07-01": ("2031-07-01", "2032-04-01"),
    "2032-04-01": ("2032-04-01", "2033-01-01"),
    "2033-01-01": ("2033-01-01", "2034-09-01"),
}


@pytest.mark.parametrize(
    ("scope", "fragments", "held", "windows"),
    [
        # several items: each item's own listing, then the whole Act at each date one changed
        (
            "[part/1, section/3]",
            ["part/1", "section/3"],
            ["section-1", "section-2", "section-3"],
            EVERY_DATE,
        ),
        # a range is not served as one fragment: the whole Act's own listing is used, and the
        # Act as it stood on 1 April 2032 (only s 3 changed) is the same text as enacted
        (
            "[section/1-2]",
            [],
            ["section-1", "section-2"],
            {
                "2031-07-01": ("2031-07-01", "2033-01-01"),
                "2033-01-01": ("2033-01-01", "2034-09-01"),
            },
        ),
    ],
)
def test_a_wider_scope_fetches_the_whole_act_at_each_date_and_keeps_to_the_scope(
    tmp_path, client_for, scope, fragments, held, windows
):
    result, out, asked = crawl_scoped(tmp_path, scope)
    assert result.exit_code == 0, result.output
    whole = [f"/{ACT}/{day}/data.xml" for day in ("enacted", "2032-04-01", "2033-01-01")]
    listings = [f"/{ACT}/{item}/data.xml" for item in fragments]
    assert asked == sorted([f"/{ACT}/data.xml", *listings, *whole])
    versions = versions_written(out)
    assert {day: window[:2] for day, window in versions.items()} == windows
    for _, _, body in versions.values():
        assert sections_in(body) == held
    assert sections_in(read_document(out / f"{ACT}.md").body) == held

    client = client_for(out)
    assert [hit for hit, _ in as_at(client, "period", "2032-06-01")] == [
        f"{ACT}/{'2032-04-01' if '2032-04-01' in windows else '2031-07-01'}/section/1"
    ]
    assert "five years" in as_at(client, "period", "2032-06-01")[0][1]
    assert "three years" in as_at(client, "period", "2033-06-01")[0][1]
    assert as_at(client, "cited", "2032-06-01") == []  # s 4 is in no scope
    fees = as_at(client, "fee", "2032-06-01")
    if "section-3" in held:
        assert [hit for hit, _ in fees] == [f"{ACT}/2032-04-01/section/3"]
        assert "regulations" in fees[0][1]
        assert "decides" in as_at(client, "fee", "2031-08-01")[0][1]
    else:
        assert fees == []


def test_a_fragment_whose_current_text_began_on_a_listed_day_is_held_once(tmp_path, client_for):
    result, out, asked = crawl_scoped(tmp_path, "[section/3]")
    assert result.exit_code == 0, result.output
    assert asked == sorted(
        [
            f"/{ACT}/data.xml",
            f"/{ACT}/section/3/data.xml",
            f"/{ACT}/section/3/enacted/data.xml",
            f"/{ACT}/section/3/2032-04-01/data.xml",
        ]
    )
    # s 3 as it stood on 1 April 2032 is its current text: not an earlier version of it, and
    # the current text applies from that day, not from the Act's current date (2034-09-01)
    versions = versions_written(out)
    assert {day: window[:2] for day, window in versions.items()} == {
        "2031-07-01": ("2031-07-01", "2032-04-01")
    }
    assert sections_in(versions["2031-07-01"][2]) == ["section-3"]
    current = read_document(out / f"{ACT}.md").document
    assert (current.valid_from, current.extra["version_date"]) == ("2032-04-01", "2032-04-01")

    client = client_for(out)
    assert [hit for hit, _ in as_at(client, "fee", "2033-06-01")] == [f"{ACT}/section/3"]
    assert [hit for hit, _ in as_at(client, "fee", "2031-08-01")] == [f"{ACT}/2031-07-01/section/3"]
    body = client.get(f"/api/v1/passages/{ACT}/section/3").get_json()
    assert [(v["valid_from"], v["valid_to"], v["current"]) for v in body["versions"]] == [
        ("2031-07-01", "2032-04-01", False),
        ("2032-04-01", None, True),
    ]
