"""legislation.gov.uk's effects on a passage: in the API, on the reader page and the search card,
and winning over the CLML commentary's amendment links where the two disagree."""

from __future__ import annotations

import re

import pytest

from indexer.links import collect
from indexer.passages import parse_document
from kb.core.cite import Registry
from kb.core.models import Document
from kb.web import create_app
from tests.effects_corpus import ACT, ACT_BODY, ACT_ID, AMENDING_ID, write_corpus


@pytest.fixture()
def client(engine, tmp_kb, write_md):
    write_corpus(write_md)
    kb = tmp_kb(engine)
    app = create_app(kb.settings, kb=kb)
    app.testing = True
    return app.test_client()


def passage(client, pin: str) -> dict:
    response = client.get(f"/api/v1/passages/{ACT_ID}/{pin}")
    assert response.status_code == 200
    return response.get_json()


def effect_ids(client, pin: str) -> list[str]:
    return [e["id"] for e in passage(client, pin)["effects"]]


def panel(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return page[page.index('class="provision-panel"') : page.index('class="toc"')]


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_effects_are_on_their_provision_and_those_around_it_only(client):
    assert effect_ids(client, "section/3/4") == ["key-subst"]
    assert effect_ids(client, "section/3/5") == ["key-insert"]
    # s 3 encloses both; s 3(1) is neither
    assert effect_ids(client, "section/3") == ["key-insert", "key-subst"]
    assert effect_ids(client, "section/3/1") == []
    # an effect on s 1 (its commencement) is shown on the s 1(1) inside it too
    assert effect_ids(client, "section/1/1") == ["key-multi", "key-commence"]
    assert effect_ids(client, "section/4/1") == ["key-out"]
    # the amending Act has no effects feed
    assert client.get(f"/api/v1/passages/{AMENDING_ID}/section/5/1").get_json()["effects"] == []


def test_an_effect_names_both_ends_here_or_at_legislation_gov_uk(client):
    (subst,) = passage(client, "section/3/4")["effects"]
    assert subst["type"] == "words substituted"
    assert subst["applied"] is True and subst["outstanding"] is False
    assert subst["affected"] == {
        "id": f"{ACT_ID}/section/3/4",
        "citation": "Example Services Act 2031, s 3(4)",
        "short_citation": "ESA 2031 s 3(4)",
        "url": f"/p/{ACT_ID}/section/3/4",
        "in_index": True,
    }
    assert subst["affecting"]["id"] == f"{AMENDING_ID}/section/6/2"
    assert subst["affecting"]["url"] == f"/p/{AMENDING_ID}/section/6/2"
    assert subst["in_force"] == [
        {"date": "2032-06-01", "qualification": "wholly in force", "applied": False,
         "prospective": False}
    ]  # fmt: skip
    (out,) = passage(client, "section/4/1")["effects"]
    assert out["outstanding"] is True
    # an instrument not indexed: cited from the effect's own words, linked to the source
    assert out["affecting"] == {
        "id": "uksi/2033/12/regulation/3",
        "citation": "Example Services (Charges) Regulations 2033, reg. 3",
        "short_citation": "Example Services (Charges) Regulations 2033, reg. 3",
        "url": "https://www.legislation.gov.uk/uksi/2033/12/regulation/3",
        "in_index": False,
    }


def test_outstanding_changes_come_from_the_effects_once(client):
    changes = passage(client, "section/4/1")["outstanding_changes"]
    # the CLML's own copy of the same change (its note) is not listed beside the effect's
    assert [(c["affected"], c["by"], c["note"]) for c in changes] == [
        ("s. 4(1)", "uksi/2033/12", None)
    ]
    document = client.get(f"/api/v1/documents/{ACT_ID}").get_json()
    assert [c["affected"] for c in document["outstanding_changes"]] == ["s. 4(1)"]
    side = panel(client, f"/p/{ACT_ID}/section/4/1")
    sentence = (
        "Outstanding: substituted by Example Services (Charges) Regulations 2033, reg. 3, "
        "in force 1 January 2033 (not yet applied to this text)"
    )
    assert text_of(side).count(sentence) == 1
    assert "CLML metadata copy" not in client.get(f"/p/{ACT_ID}/section/4/1").get_data(as_text=True)
    assert "not yet made to this text" in side
    assert "not yet made to this provision" not in side  # the older banner is not added


def test_the_panel_says_what_changed_the_provision_with_uk_dates(client):
    side = text_of(panel(client, f"/p/{ACT_ID}/section/3/5"))
    assert "Inserted by ESAA 2032 s 5, in force 1 April 2032" in side
    assert "Outstanding" not in side
    several = text_of(panel(client, f"/p/{ACT_ID}/section/1/1"))
    assert (
        "Words inserted by ESAA 2032 s 2, in force 1 April 2032 (E.) and 1 October 2032 (W.)"
        in several
    )
    assert "Coming into force by ESAA 2032 s 40, in force 1 September 2032" in several
    assert "Changes to legislation" not in panel(client, f"/p/{ACT_ID}/section/3/1")


def test_effect_text_is_escaped(engine, tmp_kb, write_md):
    hostile = dict(ACT, effects=[dict(ACT["effects"][2], affecting_title="<script>x</script>")])
    write_md("act.md", hostile, ACT_BODY)
    kb = tmp_kb(engine)
    page = create_app(kb.settings, kb=kb).test_client().get(f"/p/{ACT_ID}/section/4/1")
    html = page.get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_effects_win_over_the_commentary_links(client):
    # The commentary names s 9 of the amending Act; the effect names s 6(2) of it: s 6(2) wins,
    # with the effect's type and in-force date.
    subst = passage(client, "section/3/4")["amended_by"]
    assert [(a["id"], a["change"], a["date"]) for a in subst] == [
        (f"{AMENDING_ID}/section/6/2", "words substituted", "2032-06-01")
    ]
    amends = client.get(f"/api/v1/passages/{AMENDING_ID}/section/6/2").get_json()["amends"]
    assert [a["id"] for a in amends] == [f"{ACT_ID}/section/3/4"]
    assert client.get(f"/api/v1/passages/{AMENDING_ID}/section/9/1").get_json()["amends"] == []
    # No commentary link at all: the effect's is added. A commencement is no amendment.
    added = passage(client, "section/1/1")["amended_by"]
    assert [(a["id"], a["change"]) for a in added] == [
        (f"{AMENDING_ID}/section/2", "words inserted")
    ]
    # Where the two agree, one link.
    agreed = passage(client, "section/3/5")["amended_by"]
    assert [(a["id"], a["change"], a["date"]) for a in agreed] == [
        (f"{AMENDING_ID}/section/5", "inserted", "2032-04-01")
    ]
    assert "Words substituted by" in panel(client, f"/p/{ACT_ID}/section/3/4")


def _links_of(meta: dict) -> dict:
    doc = Document.from_front_matter(meta)
    parsed = [parse_document(doc, ACT_BODY)]
    return collect(parsed, Registry.from_documents([doc]))


def test_a_document_without_effects_keeps_its_commentary_links():
    plain = {k: v for k, v in ACT.items() if k != "effects"}
    links = _links_of(plain)
    assert links["amended_by"][f"{ACT_ID}/section/3/4"] == [f"{AMENDING_ID}/section/9"]
    assert links["changes"]["amended_by"][f"{ACT_ID}/section/3/4"] == {
        f"{AMENDING_ID}/section/9": {"change": "substituted", "date": "2032-05-01"}
    }
    corrected = _links_of(ACT)
    assert corrected["amended_by"][f"{ACT_ID}/section/3/4"] == [f"{AMENDING_ID}/section/6/2"]
    assert f"{AMENDING_ID}/section/9" not in corrected["amends"]


def test_search_hits_carry_their_effects_and_the_card_says_so(client):
    body = client.get(f"/api/v1/search?q=review&document={ACT_ID}").get_json()
    hits = {hit["pin"]: hit for hit in body["results"]}
    assert [e["id"] for e in hits["section/3/5"]["effects"]] == ["key-insert"]
    assert hits["section/3/1"]["effects"] == []
    charges = client.get(f"/api/v1/search?q=charge&document={ACT_ID}").get_json()["results"]
    assert [(h["pin"], h["outstanding_changes"]) for h in charges] == [("section/4/1", 1)]
    page = client.get(f"/?q=review&document={ACT_ID}").get_data(as_text=True)
    cards = {
        re.search(r'href="/p/[^"]+/(section/[^"]+)"', card).group(1): text_of(card)
        for card in page.split('<li class="result')[1:]
    }
    assert "Inserted by ESAA 2032 s 5, in force 1 April 2032" in cards["section/3/5"]
    assert "Inserted by" not in cards["section/3/1"]
