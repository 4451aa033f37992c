"""Guidance citing a provision changed since the guidance was issued: flagged on its passage, in
the API (`stale_citations`), as a facet and a filter (`stale=true`, `kb search --stale`)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.core.effects import guidance_date
from kb.core.models import Document
from kb.web import create_app
from tests.effects_corpus import (
    ACT_ID,
    AMENDING_ID,
    EARLY_GUIDANCE,
    UPDATED_POLICY,
    write_corpus,
)

EARLY = "guidance/early-services-guidance/para/1.1"
POLICY = "local/services-review-policy/para/1.1"
LATE = "guidance/late-services-guidance/para/1.1"
LATE_S1 = "guidance/late-services-guidance/para/1.2"


@pytest.fixture()
def client(engine, tmp_kb, write_md):
    write_corpus(write_md)
    kb = tmp_kb(engine)
    app = create_app(kb.settings, kb=kb)
    app.testing = True
    return app.test_client()


def stale_of(client, passage_id: str) -> list[dict]:
    return client.get(f"/api/v1/passages/{passage_id}").get_json()["stale_citations"]


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_guidance_issued_before_a_change_to_what_it_cites_is_stale(client):
    (item,) = stale_of(client, EARLY)
    assert item == {
        "cited": f"{ACT_ID}/section/3/4",
        "affected": f"{ACT_ID}/section/3/4",
        "affected_provisions": "s. 3(4)",
        "citation": "Example Services Act 2031, s 3(4)",
        "short_citation": "ESA 2031 s 3(4)",
        "type": "words substituted",
        "date": "2032-06-01",
        "effect": "key-subst",
        "affecting": {
            "id": f"{AMENDING_ID}/section/6/2",
            "citation": "Example Services (Amendment) Act 2032, s 6(2)",
            "short_citation": "ESAA 2032 s 6(2)",
            "in_index": True,
        },
        "since": "2032-01-15",
        "since_basis": "issued",
    }


def test_guidance_issued_after_the_changes_is_not_stale(client):
    assert stale_of(client, LATE) == []
    # s 1(1) was changed before it was issued; s 1's commencement after, but is no change
    assert stale_of(client, LATE_S1) == []
    assert stale_of(client, "guidance/early-services-guidance/para/1.2") == []  # cites nothing


def test_a_cited_provision_changed_inside_counts_from_the_last_update(client):
    items = stale_of(client, POLICY)
    assert [(i["cited"], i["affected"], i["effect"]) for i in items] == [
        (f"{ACT_ID}/section/3", f"{ACT_ID}/section/3/5", "key-insert"),
        (f"{ACT_ID}/section/3", f"{ACT_ID}/section/3/4", "key-subst"),
    ]
    assert {(i["since"], i["since_basis"]) for i in items} == {("2032-02-01", "last updated")}


def test_legislation_is_never_stale(client):
    cites = client.get(f"/api/v1/passages/{AMENDING_ID}/section/6/2").get_json()
    assert cites["cites"] and cites["stale_citations"] == []


def test_guidance_date_prefers_a_later_update():
    assert guidance_date(Document.from_front_matter(EARLY_GUIDANCE)) == ("2032-01-15", "issued")
    assert guidance_date(Document.from_front_matter(UPDATED_POLICY)) == (
        "2032-02-01",
        "last updated",
    )
    undated = {k: v for k, v in EARLY_GUIDANCE.items() if k != "published"}
    assert guidance_date(Document.from_front_matter(undated)) == (None, "issued")


def test_the_stale_filter_and_facet(client):
    body = client.get("/api/v1/search?q=review+OR+services&stale=true").get_json()
    assert sorted(hit["id"] for hit in body["results"]) == [EARLY, POLICY]
    assert body["facets"]["stale"] == [{"value": "stale", "count": 2}]
    everything = client.get("/api/v1/search?q=review+OR+services").get_json()
    assert everything["total"] > 2
    assert everything["facets"]["stale"] == [{"value": "stale", "count": 2}]
    # the facet's own value works as the filter too
    same = client.get("/api/v1/search?q=review+OR+services&stale=stale").get_json()
    assert same["total"] == 2
    refused = client.get("/api/v1/search?q=review&stale=maybe")
    assert refused.status_code == 400 and "stale" in refused.get_json()["message"]


def test_the_passage_page_flags_each_changed_citation(client):
    page = client.get(f"/p/{EARLY}").get_data(as_text=True)
    side = text_of(page[page.index('class="provision-panel"') : page.index('class="toc"')])
    assert (
        "ESA 2031 s 3(4) has been amended (words substituted) since this guidance was issued "
        "on 15 January 2032 (by ESAA 2032 s 6(2), in force 1 June 2032)" in side
    )
    policy = client.get(f"/p/{POLICY}").get_data(as_text=True)
    assert (
        "ESA 2031 s 3 has been amended (s. 3(5) inserted) since this policy was last updated "
        "on 1 February 2032" in text_of(policy)
    )
    assert "Cited law has changed" not in client.get(f"/p/{LATE}").get_data(as_text=True)


def test_the_search_page_filter_and_card(client):
    page = client.get("/?q=review&stale=true").get_data(as_text=True)
    assert 'id="stale-only" name="stale" value="true" checked' in page
    cards = page.split('<li class="result')[1:]
    assert len(cards) == 2
    early = next(text_of(c) for c in cards if f"/p/{EARLY}" in c)
    assert "Cited law changed" in early
    assert "since this guidance was issued on 15 January 2032" in early
    assert "Cites a provision changed since issue (2)" in text_of(page)
    unfiltered = client.get("/?q=review").get_data(as_text=True)
    late = next(c for c in unfiltered.split('<li class="result')[1:] if f"/p/{LATE}" in c)
    assert "Cited law changed" not in late


def test_cli_search_stale(tmp_path, write_md, engine):
    write_corpus(write_md)
    runner = CliRunner()
    env = {
        "KB_HOME": str(tmp_path / "home"),
        "KB_CORPUS": str(tmp_path / "corpus"),
        "KB_ENGINE": engine,
    }
    built = runner.invoke(cli, ["build", "--quiet", "--no-samples"], env=env, obj={})
    assert built.exit_code == 0, built.output
    found = runner.invoke(cli, ["search", "--json", "--stale", "review"], env=env, obj={})
    assert found.exit_code == 0, found.output
    assert sorted(h["id"] for h in json.loads(found.output)["results"]) == [EARLY, POLICY]
    shown = runner.invoke(cli, ["search", "--stale", "review"], env=env, obj={})
    assert "[STALE CITATIONS: 1]" in shown.output and "[STALE CITATIONS: 2]" in shown.output
    assert "since this guidance was issued on 15 January 2032" in shown.output
    assert LATE not in shown.output
