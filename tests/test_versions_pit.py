"""Point in time: earlier versions of legislation crawled, indexed with their dates, searched
with as_at, and offered on the reader page (indexer/sources/legislation/versions.py).

(tests/test_versions.py is about index versions, not versions of the law.)

The invented Example Registers Act 2031 (tests/fixtures/versions/, shaped like
legislation.gov.uk's point-in-time responses) is served over real HTTP at four points in time:
as enacted (10 May 2031: s 1 a "ledger"), 1 January 2032 (s 1 a "catalogue"; s 2 prospective),
1 June 2033 (s 2 in force) and the current text of 1 April 2034 (s 1 an "online directory").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from indexer.corpus import read_document
from indexer.index.build import build
from indexer.manifest import ManifestError, load_manifest
from kb.cli import cli
from kb.core.legislation import parse_path
from kb.service import KnowledgeBase
from kb.web import create_app
from tests.conftest import make_settings
from tests.pointintime import crawl_entry, serve_fixtures
from tests.test_http import LocalServer, status
from tests.test_openapi import conformance_errors

FIXTURES = Path(__file__).parent / "fixtures" / "versions"
ACT = "ukpga/2031/9"
ROUTES = {
    f"/{ACT}/data.xml": "current.xml",
    f"/{ACT}/enacted/data.xml": "enacted.xml",
    f"/{ACT}/2032-01-01/data.xml": "2032-01-01.xml",
    f"/{ACT}/2033-06-01/data.xml": "2033-06-01.xml",
}
VERSION_URLS = [path for path in ROUTES if path != f"/{ACT}/data.xml"]


def serve(server: LocalServer, **overrides) -> None:
    serve_fixtures(server, FIXTURES, ROUTES, overrides)


def crawl_act(tmp_path: Path, server: LocalServer, extra: str = ""):
    entry = f"id: example-registers, kind: legislation, path: {ACT}, short_title: ERA 2031{extra}"
    return crawl_entry(tmp_path, server, entry)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The Act crawled once with every version: (crawl result, corpus folder)."""
    server = LocalServer()
    try:
        serve(server)
        yield crawl_act(tmp_path_factory.mktemp("pit"), server)
    finally:
        server.close()


@pytest.fixture(scope="module")
def pit_kb(crawled, engine, tmp_path_factory):
    result, corpus = crawled
    assert result.exit_code == 0, result.output
    settings = make_settings(tmp_path_factory.mktemp(f"pit-{engine}"), corpus)
    settings.engine = engine
    report = build(settings, progress=False)
    assert not report.problems, report.problems
    kb = KnowledgeBase(settings, check_interval=0)
    yield kb, settings
    kb.close()


@pytest.fixture()
def pit_client(pit_kb):
    kb, settings = pit_kb
    app = create_app(settings, kb=kb)
    app.testing = True
    return app.test_client()


def search(client, q: str, **params) -> dict:
    response = client.get("/api/v1/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- crawl --------------------------------------------------------------------------------


def test_crawl_writes_each_earlier_version_as_its_own_document(crawled):
    result, out = crawled
    assert result.exit_code == 0, result.output
    current = read_document(out / f"{ACT}.md").document
    assert current.extra["version_date"] == "2034-04-01"
    assert "version_of" not in current.extra
    assert current.valid_from == "2034-04-01"
    windows = []
    for day in ("2031-05-10", "2032-01-01", "2033-06-01"):
        version = read_document(out / f"{ACT}/{day}.md").document
        assert version.id == f"{ACT}/{day}"
        assert version.extra["version_of"] == ACT
        assert version.extra["version_date"] == day
        assert version.title == "Example Registers Act 2031"
        windows.append((version.valid_from, version.valid_to))
    # each version ends when the next begins; the last when the current text begins
    assert windows == [
        ("2031-05-10", "2032-01-01"),
        ("2032-01-01", "2033-06-01"),
        ("2033-06-01", "2034-04-01"),
    ]
    body = read_document(out / f"{ACT}/2032-01-01.md").body
    assert "catalogue of example services" in body
    assert '{#section-2 status="prospective"' in body


def test_welsh_versions_are_not_fetched(crawled, tmp_path):
    server = LocalServer()
    try:
        serve(server)
        result, _ = crawl_act(tmp_path, server)
        assert result.exit_code == 0, result.output
        asked = {path for path, _ in server.requests}
        assert not any("welsh" in path for path in asked)
        assert set(VERSION_URLS) <= asked
    finally:
        server.close()


def test_versions_none_fetches_nothing_extra(tmp_path):
    server = LocalServer()
    try:
        serve(server)
        result, out = crawl_act(tmp_path, server, ", versions: none")
        assert result.exit_code == 0, result.output
        assert not any(server.hits(path) for path in VERSION_URLS)
        assert [p.relative_to(out).as_posix() for p in out.rglob("*.md")] == [f"{ACT}.md"]
        assert "version_date" not in read_document(out / f"{ACT}.md").document.extra
    finally:
        server.close()


def test_versions_since_keeps_the_version_in_force_that_day(tmp_path):
    server = LocalServer()
    try:
        serve(server)
        result, out = crawl_act(tmp_path, server, ", versions: since 2033-01-01")
        assert result.exit_code == 0, result.output
        assert server.hits(f"/{ACT}/enacted/data.xml") == 0
        written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
        assert written == [f"{ACT}.md", f"{ACT}/2032-01-01.md", f"{ACT}/2033-06-01.md"]
    finally:
        server.close()


def test_a_version_that_fails_leaves_the_crawl_partial_and_the_current_text_written(tmp_path):
    server = LocalServer()
    try:
        failing = f"/{ACT}/2032-01-01/data.xml"
        serve(server, **{failing: status(404)})
        result, out = crawl_act(tmp_path, server)
        assert result.exit_code == 1
        assert f"PARTIAL example-registers: not fetched {server.url(failing)}: " in result.output
        assert "404" in result.output
        current = read_document(out / f"{ACT}.md")
        assert "online directory" in current.body
        assert current.document.extra["not_fetched"] == [server.url(failing)]
        assert not (out / f"{ACT}/2032-01-01.md").exists()
        assert (out / f"{ACT}/2033-06-01.md").is_file()
        settings = make_settings(tmp_path, out)
        build(settings, progress=False)
        kb = KnowledgeBase(settings, check_interval=0)
        try:
            indexed = kb.current().engine.passage(f"{ACT}/section/1")
            assert "online directory" in indexed["text"]
        finally:
            kb.close()
    finally:
        server.close()


def test_manifest_versions_field_is_checked(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "sources:\n  - {id: a, kind: legislation, path: ukpga/2031/9, versions: since 2033-01-01}\n"
    )
    assert load_manifest([path])[0].versions == "since 2033-01-01"
    path.write_text(
        "sources:\n  - {id: a, kind: legislation, path: ukpga/2031/9, versions: some}\n"
    )
    with pytest.raises(ManifestError, match="'versions' must be all, none or 'since YYYY-MM-DD'"):
        load_manifest([path])


def test_a_version_id_is_not_read_as_a_pin():
    parsed = parse_path(f"{ACT}/2032-01-01/section/1")
    assert (parsed.document, parsed.version, parsed.pin) == (ACT, "2032-01-01", "section/1")
    # legislation.gov.uk's own form, the date after the pin, still reads as before
    parsed = parse_path(f"{ACT}/section/1/2032-01-01")
    assert (parsed.version, parsed.pin) == ("2032-01-01", "section/1")


# --- search -------------------------------------------------------------------------------


def test_plain_search_returns_only_the_current_text(pit_client):
    body = search(pit_client, "keep")
    assert body["total"] == 1
    assert [hit["id"] for hit in body["results"]] == [f"{ACT}/section/1"]
    assert search(pit_client, "catalogue")["total"] == 0
    assert search(pit_client, "ledger")["total"] == 0
    documents = {f["value"]: f["count"] for f in body["facets"]["document_id"]}
    assert documents == {ACT: 1}


def test_as_at_returns_the_text_in_force_that_day(pit_client):
    then = search(pit_client, "keep", as_at="2032-06-01")
    assert [hit["id"] for hit in then["results"]] == [f"{ACT}/2032-01-01/section/1"]
    assert "catalogue" in then["results"][0]["text"]
    assert then["results"][0]["citation"] == (
        "Example Registers Act 2031, s 1 (as it stood on 1 January 2032)"
    )
    assert then["total"] == 1
    assert search(pit_client, "online directory", as_at="2032-06-01")["total"] == 0
    enacted = search(pit_client, "ledger", as_at="2031-06-01")
    assert [hit["id"] for hit in enacted["results"]] == [f"{ACT}/2031-05-10/section/1"]
    today = search(pit_client, "keep", as_at="2034-04-01")
    assert [hit["id"] for hit in today["results"]] == [f"{ACT}/section/1"]
    # the day a version ends is the next version's first day
    last_day = search(pit_client, "catalogue", as_at="2034-03-31")
    assert [hit["id"] for hit in last_day["results"]] == [f"{ACT}/2033-06-01/section/1"]
    assert search(pit_client, "catalogue", as_at="2034-04-01")["total"] == 0


def test_a_provision_prospective_that_day_shows_as_not_yet_in_force(pit_client):
    early = search(pit_client, "annually", as_at="2032-06-01")
    assert [(h["id"], h["status"]) for h in early["results"]] == [
        (f"{ACT}/2032-01-01/section/2", "prospective")
    ]
    later = search(pit_client, "annually", as_at="2033-07-01")
    assert [(h["id"], h["status"]) for h in later["results"]] == [
        (f"{ACT}/2033-06-01/section/2", "in_force")
    ]


def test_citation_look_up_with_as_at_gives_that_days_version(pit_client):
    plain = search(pit_client, "s 1 Example Registers Act 2031")
    assert plain["citation"]["id"] == f"{ACT}/section/1"
    then = search(pit_client, "s 1 Example Registers Act 2031", as_at="2032-06-01")
    cited = then["citation"]
    assert cited["id"] == f"{ACT}/2032-01-01/section/1"
    assert cited["url"] == f"/p/{ACT}/2032-01-01/section/1"
    assert "catalogue" in cited["text"]
    assert cited["citation"].endswith("(as it stood on 1 January 2032)")
    assert then["results"][0]["id"] == f"{ACT}/2032-01-01/section/1"


# --- reader page and API --------------------------------------------------------------------


def test_api_lists_every_version_of_the_provision(pit_client):
    body = pit_client.get(f"/api/v1/passages/{ACT}/section/1").get_json()
    assert body["versions"] == [
        {
            "id": f"{ACT}/2031-05-10/section/1",
            "url": f"/p/{ACT}/2031-05-10/section/1",
            "valid_from": "2031-05-10",
            "valid_to": "2032-01-01",
            "current": False,
        },
        {
            "id": f"{ACT}/2032-01-01/section/1",
            "url": f"/p/{ACT}/2032-01-01/section/1",
            "valid_from": "2032-01-01",
            "valid_to": "2033-06-01",
            "current": False,
        },
        {
            "id": f"{ACT}/2033-06-01/section/1",
            "url": f"/p/{ACT}/2033-06-01/section/1",
            "valid_from": "2033-06-01",
            "valid_to": "2034-04-01",
            "current": False,
        },
        {
            "id": f"{ACT}/section/1",
            "url": f"/p/{ACT}/section/1",
            "valid_from": "2034-04-01",
            "valid_to": None,
            "current": True,
        },
    ]
    historical = pit_client.get(f"/api/v1/passages/{ACT}/2032-01-01/section/1").get_json()
    assert historical["versions"] == body["versions"]
    assert historical["source_url"].endswith(f"/{ACT}/section/1/2032-01-01")


def test_reader_page_offers_other_versions_with_uk_dates(pit_client):
    page = pit_client.get(f"/p/{ACT}/section/1").get_data(as_text=True)
    assert "Other versions" in page
    assert f'href="/p/{ACT}/2032-01-01/section/1"' in page
    assert '<time datetime="2032-01-01">1 January 2032</time> – ' in page
    assert '<time datetime="2033-06-01">1 June 2033</time></a>' in page
    assert 'current, since <time datetime="2034-04-01">1 April 2034</time></span>' in page
    assert "This is the text as it stood" not in page


def test_historical_version_page_says_so_and_links_to_the_current(pit_client):
    response = pit_client.get(f"/p/{ACT}/2032-01-01/section/1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This is the text as it stood from " in page
    assert '<time datetime="2032-01-01">1 January 2032</time> to ' in page
    assert f'<a href="/p/{ACT}/section/1">see the current version</a>' in page
    assert "catalogue of example services" in page


# --- document listings ------------------------------------------------------------------------


def test_document_listings_show_each_current_document_once_with_its_earlier_versions(
    pit_kb, pit_client
):
    body = pit_client.get("/api/v1/documents").get_json()
    assert [d["id"] for d in body["documents"]] == [ACT]
    assert body["total"] == 1
    listed = body["documents"][0]
    assert listed["versions"] == {"count": 3, "earliest": "2031-05-10"}
    assert (listed["version_of"], listed["version_date"]) == (None, "2034-04-01")

    page = pit_client.get("/documents").get_data(as_text=True)
    assert page.count(f'href="/d/{ACT}') == 1
    assert "<p>1 document in the index." in page
    assert '3 earlier versions, from <time datetime="2031-05-10">10 May 2031</time>' in page

    kb, settings = pit_kb
    env = {"KB_HOME": str(settings.home), "KB_ENGINE": settings.engine}
    table = CliRunner().invoke(cli, ["documents"], env=env, obj={})
    assert table.exit_code == 0, table.output
    assert table.output.count("Example Registers Act 2031") == 1
    assert "  3 earlier versions, from 10 May 2031\n" in table.output
    assert table.output.rstrip().endswith("1 documents")
    listing = json.loads(CliRunner().invoke(cli, ["documents", "--json"], env=env, obj={}).output)
    assert [(d["id"], d["versions"]) for d in listing["documents"]] == [
        (ACT, {"count": 3, "earliest": "2031-05-10"})
    ]


def test_document_page_lists_earlier_versions_and_each_version_page_still_works(pit_client):
    page = pit_client.get(f"/d/{ACT}").get_data(as_text=True)
    assert "Earlier versions" in page
    assert (
        f'<a href="/d/{ACT}/2032-01-01"><time datetime="2032-01-01">1 January 2032</time> – '
        '<time datetime="2033-06-01">1 June 2033</time></a>'
    ) in page
    assert f'href="/d/{ACT}/2031-05-10"' in page
    assert "This is the text as it stood" not in page
    detail = pit_client.get(f"/api/v1/documents/{ACT}").get_json()
    assert [(v["id"], v["valid_from"], v["valid_to"]) for v in detail["earlier_versions"]] == [
        (f"{ACT}/2031-05-10", "2031-05-10", "2032-01-01"),
        (f"{ACT}/2032-01-01", "2032-01-01", "2033-06-01"),
        (f"{ACT}/2033-06-01", "2033-06-01", "2034-04-01"),
    ]

    response = pit_client.get(f"/d/{ACT}/2032-01-01")
    assert response.status_code == 200
    old = response.get_data(as_text=True)
    assert "This is the text as it stood from " in old
    assert '<time datetime="2032-01-01">1 January 2032</time> to ' in old
    assert f'<a href="/d/{ACT}">see the current version</a>' in old
    assert "catalogue of example services" in old
    assert '<span aria-current="page"><time datetime="2032-01-01">' in old
    version = pit_client.get(f"/api/v1/documents/{ACT}/2032-01-01").get_json()
    assert (version["version_of"], version["version_date"]) == (ACT, "2032-01-01")
    assert version["versions"] == {"count": 3, "earliest": "2031-05-10"}


# --- as_at before the earliest version held ---------------------------------------------------


def test_as_at_before_the_earliest_version_says_no_version_is_held(pit_kb, pit_client):
    body = search(pit_client, "keep", as_at="1999-03-01")
    assert body["total"] == 0
    assert body["as_at_notes"] == [
        {
            "document_id": ACT,
            "title": "Example Registers Act 2031",
            "earliest": "2031-05-10",
            "note": "No version of Example Registers Act 2031 held for 1 March 1999; "
            "the earliest is 10 May 2031.",
        }
    ]
    # a day some version covers, or no as_at, says nothing
    assert search(pit_client, "keep", as_at="2031-05-10")["as_at_notes"] == []
    assert search(pit_client, "keep")["as_at_notes"] == []
    # a filter to other documents leaves it out
    other = search(pit_client, "keep", as_at="1999-03-01", document="local/other")
    assert other["as_at_notes"] == []

    cited = search(pit_client, "s 1 Example Registers Act 2031", as_at="1999-03-01")
    assert cited["citation"]["note"] == (
        "No version held for 1 March 1999; the earliest is 10 May 2031."
    )
    assert "text" not in cited["citation"]
    assert cited["citation"]["url"] == f"/p/{ACT}/section/1"
    assert cited["results"] == []  # the current text is not put first as if it applied

    page = pit_client.get(
        "/", query_string={"q": "s 1 Example Registers Act 2031", "as_at": "1999-03-01"}
    ).get_data(as_text=True)
    assert "No version of Example Registers Act 2031 held for 1 March 1999; the earliest is " in (
        page
    )
    assert "online directory" not in page

    _, settings = pit_kb
    env = {"KB_HOME": str(settings.home), "KB_ENGINE": settings.engine}
    printed = CliRunner().invoke(cli, ["search", "keep", "--as-at", "1999-03-01"], env=env, obj={})
    assert printed.exit_code == 0, printed.output
    assert printed.output.startswith(
        "No version of Example Registers Act 2031 held for 1 March 1999; the earliest is "
        "10 May 2031.\n0 passages match 'keep'"
    )


def test_the_seed_letters_date_finds_the_letter_and_says_no_version_of_the_act_is_held(
    crawled, engine, tmp_path
):
    """The 2008 ministerial letter (read in place from ../shared/seed/) is dated 21 October
    2008: an as_at search for that day finds it, and none of the Act, held only from 2031."""
    from indexer.corpus import write_document
    from indexer.sources.local import parse_source
    from kb.core.config import PROJECT_ROOT, Settings

    manifest = PROJECT_ROOT / "corpus" / "sources" / "guidance.yaml"
    entry = next(e for e in yaml.safe_load(manifest.read_text())["sources"] if e["kind"] == "local")
    letter = (PROJECT_ROOT / entry["path"]).resolve()
    if not letter.exists():
        pytest.skip(f"{letter} is not there (it is read in place, never copied)")
    assert "21 OCT 2008" in letter.read_text(encoding="utf-8")
    assert str(entry["published"]) == "2008-10-21"
    [(document, body)] = parse_source(entry, None, Settings())
    _, corpus = crawled
    both = tmp_path / "corpus"
    shutil.copytree(corpus, both)
    write_document(both / f"{document.id}.md", document, body)
    settings = make_settings(tmp_path, both)
    settings.engine = engine
    build(settings, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        app = create_app(settings, kb=kb)
        app.testing = True
        client = app.test_client()
        then = search(client, "restructuring", as_at="2008-10-21")
        assert [hit["document_id"] for hit in then["results"]] == [document.id]
        assert [n["note"] for n in then["as_at_notes"]] == [
            "No version of Example Registers Act 2031 held for 21 October 2008; "
            "the earliest is 10 May 2031."
        ]
        assert search(client, "keep", as_at="2008-10-21")["total"] == 0
        cited = search(client, "s 1 Example Registers Act 2031", as_at="2008-10-21")
        assert cited["citation"]["note"].startswith("No version held for 21 October 2008;")
        # the day before it was written, the letter did not apply either
        assert search(client, "restructuring", as_at="2008-10-20")["total"] == 0
    finally:
        kb.close()


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/api/v1/search", "/api/v1/search?q=keep&as_at=1999-03-01"),
        ("/api/v1/search", "/api/v1/search?q=s+1+Example+Registers+Act+2031&as_at=1999-03-01"),
        ("/api/v1/search", "/api/v1/search?q=s+1+Example+Registers+Act+2031&as_at=2032-06-01"),
        ("/api/v1/documents", "/api/v1/documents"),
        ("/api/v1/documents/{document_id}", f"/api/v1/documents/{ACT}"),
        ("/api/v1/documents/{document_id}", f"/api/v1/documents/{ACT}/2032-01-01"),
        ("/api/v1/passages/{passage_id}", f"/api/v1/passages/{ACT}/2032-01-01/section/1"),
    ],
)
def test_point_in_time_answers_conform_to_the_openapi_document(pit_client, path, url):
    spec = pit_client.get("/api/v1/openapi.json").get_json()
    response = pit_client.get(url)
    assert response.status_code == 200
    errors = conformance_errors(spec, path, response)
    assert not errors, f"GET {url} differs from the OpenAPI document:\n" + "\n".join(errors)
