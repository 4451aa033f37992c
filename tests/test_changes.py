"""/changes, /api/v1/changes and /changes.atom: what each build changed, as a reader sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from indexer.index.build import build
from kb.service import KnowledgeBase
from kb.web import create_app
from tests.conftest import make_settings

ATOM = "{http://www.w3.org/2005/Atom}"


def act(status="in_force", sha="a" * 64, s2="The authority may publish a plan.", more=True):
    meta = {
        "id": "ukpga/2031/77",
        "title": "Example Changes Act 2031",
        "doc_type": "act",
        "identifier": "ukpga/2031/77",
        "status": status,
        "sha256": sha,
    }
    body = "{#section-1}\n### 1 Duty\n\nThe authority must keep a register.\n\n"
    body += f"{{#section-2}}\n### 2 Plans\n\n{s2}\n\n"
    if more:
        body += "{#section-3}\n### 3 Fees\n\nThe authority may charge a fee.\n"
    return meta, body


def guidance(doc_id="example-guide", status="in_force"):
    meta = {"id": doc_id, "title": f"Guide {doc_id}", "doc_type": "guidance", "status": status}
    return meta, "## 1 About\n\nThis guide explains the register.\n"


@pytest.fixture()
def rebuild(tmp_path, write_md):
    """Write the documents given, build, and return a test client over the new version."""
    opened = []

    def run(*docs, engine="whoosh"):
        corpus = tmp_path / "corpus"
        for old in corpus.glob("*.md"):
            old.unlink()
        for name, (meta, body) in docs:
            write_md(name, meta, body)
        settings = make_settings(tmp_path, corpus)
        settings.engine = engine
        report = build(settings, progress=False)
        kb = KnowledgeBase(settings, check_interval=0)
        opened.append(kb)
        return report, create_app(settings, kb=kb).test_client()

    yield run
    for kb in opened:
        kb.close()


def kinds(client, **params):
    body = client.get("/api/v1/changes", query_string=params).get_json()
    return [
        (c["kind"], c["document"]["id"], [p["label"] for p in c["provisions"]])
        for c in body["changes"]
    ]


def test_first_build_lists_every_document_as_new(rebuild, engine):
    report, client = rebuild(("act.md", act()), ("g.md", guidance()), engine=engine)
    assert report.changes == 2
    assert sorted(kinds(client)) == [("new", "example-guide", []), ("new", "ukpga/2031/77", [])]


def test_amended_withdrawn_removed_and_new_between_builds(rebuild):
    rebuild(("act.md", act()), ("g.md", guidance()), ("h.md", guidance("old-guide")))
    report, client = rebuild(
        ("act.md", act(sha="b" * 64, s2="The authority must publish a plan.", more=False)),
        ("g.md", guidance(status="withdrawn")),
        ("n.md", guidance("new-guide")),
    )
    body = client.get("/api/v1/changes").get_json()
    latest = [c for c in body["changes"] if c["date"] == body["changes"][0]["date"]]
    found = {(c["kind"], c["document"]["id"]): c for c in latest}
    assert set(found) == {
        ("amended", "ukpga/2031/77"),
        ("withdrawn", "example-guide"),
        ("removed", "old-guide"),
        ("new", "new-guide"),
    }
    amended = found[("amended", "ukpga/2031/77")]
    assert [p["id"] for p in amended["provisions"]] == ["ukpga/2031/77/section/2"]
    assert amended["provisions"][0]["url"] == "/p/ukpga/2031/77/section/2"
    assert [p["id"] for p in amended["removed_provisions"]] == ["ukpga/2031/77/section/3"]
    assert found[("removed", "old-guide")]["document"]["url"] is None
    assert report.changes == 4
    # the first build's entries are still in the log, after this build's
    assert [c["kind"] for c in body["changes"][4:]] == ["new", "new", "new"]


def test_parser_only_changes_are_not_amendments(rebuild):
    """Same source hash, different words: our parser changed, not the law."""
    rebuild(("act.md", act()))
    report, client = rebuild(("act.md", act(s2="The authority may publish its plan.")))
    assert report.changes == 0
    assert kinds(client) == [("new", "ukpga/2031/77", [])]


def test_a_provision_repealed_is_a_repeal_not_an_amendment(rebuild, write_md):
    meta, body = act()
    rebuild(("act.md", (meta, body)))
    body = body.replace("{#section-3}", '{#section-3 status="repealed"}')
    _, client = rebuild(("act.md", ({**meta, "sha256": "c" * 64}, body)))
    latest = kinds(client)[0]
    assert latest == ("repealed", "ukpga/2031/77", ["s 3"])


def test_since_and_kind_filters_and_bad_input(rebuild):
    _, client = rebuild(("act.md", act()))
    today = dt.datetime.now(dt.UTC).date()
    assert kinds(client, since=today.isoformat()) == [("new", "ukpga/2031/77", [])]
    assert kinds(client, since=(today + dt.timedelta(days=1)).isoformat()) == []
    assert kinds(client, kind="amended") == []
    for params, word in (
        ({"since": "yesterday"}, "since"),
        ({"kind": "moved"}, "kind"),
        ({"limit": "0"}, "limit"),
    ):
        response = client.get("/api/v1/changes", query_string=params)
        assert response.status_code == 400
        assert word in response.get_json()["message"]
    page = client.get("/changes?since=yesterday")
    assert page.status_code == 400 and "must be a date" in page.get_data(as_text=True)


def test_page_shows_uk_dates_links_and_escapes(rebuild):
    meta, body = guidance("odd-guide")
    meta["title"] = "Guide <script>alert(1)</script>"
    _, client = rebuild(("act.md", act()), ("g.md", (meta, body)))
    html = client.get("/changes").get_data(as_text=True)
    today = dt.datetime.now(dt.UTC).date()
    assert f"{today.day} {today:%B %Y}" in html
    assert 'href="/d/ukpga/2031/77"' in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert 'href="/changes.atom"' in html


def test_atom_feed_is_valid_and_links_to_the_documents(rebuild):
    rebuild(("act.md", act()))
    _, client = rebuild(("act.md", act(sha="d" * 64, s2="The authority must publish a plan.")))
    response = client.get("/changes.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = etree.fromstring(response.data)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Amended: Example Changes Act 2031",
        "New: Example Changes Act 2031",
    ]
    first = entries[0]
    assert first.find(f"{ATOM}link").get("href") == "http://localhost/p/ukpga/2031/77/section/2"
    assert first.findtext(f"{ATOM}summary") == "Amended: s 2"
    assert first.find(f"{ATOM}category").get("term") == "amended"
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 2
    updated = feed.findtext(f"{ATOM}updated")
    assert updated == first.findtext(f"{ATOM}updated") and updated.endswith("Z")
