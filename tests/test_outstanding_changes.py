"""legislation.gov.uk's outstanding changes (effects not yet made to the text): flagged on the
document and on each affected provision, in the page and in the API."""

from __future__ import annotations

import pytest

from kb.core.models import change_affects, outstanding_changes
from kb.web import create_app

ACT = {
    "id": "ukpga/2030/7",
    "title": "Licensing Act 2030",
    "doc_type": "act",
    "status": "in_force",
    "extent": "E+W",
    "outstanding_changes": [
        {
            "affected": "s. 2(9A)",
            "pin": "section/2/9A",  # an insertion: the provision is not in the text yet
            "type": "inserted",
            "by": "uksi/2031/40",  # in this index
            "by_provisions": "reg. 3(2)",
        },
        {
            "affected": "s. 1",
            "pin": "section/1",
            "type": "substituted",
            "by": "http://www.legislation.gov.uk/id/ukpga/2032/4",  # not in this index
            "by_provisions": "s. 12",
            "note": "<script>alert(1)</script> Not yet in force.",
        },
        {
            "affected": "Sch. 2 para. 1",
            "pin": None,
            "type": "words repealed",
            "by": "ukpga/2033/1",
            "by_provisions": "Sch. 1",
        },
        "not a change",  # ignored
    ],
}
BODY = """{#section-1}
### 1 Licences

{#section-1-1}
(1) A licensing authority must keep a register of licences.

{#section-2}
### 2 Fees

{#section-2-9}
(9) A licensing authority may charge a fee for a licence.
"""
SI = {
    "id": "uksi/2031/40",
    "title": "Licensing (Fees) Regulations 2031",
    "doc_type": "si",
    "status": "in_force",
}


@pytest.fixture()
def client(engine, tmp_kb, write_md):
    write_md("act.md", ACT, BODY)
    write_md("si.md", SI, "{#regulation-3}\n### 3 Fees\n\n{#regulation-3-1}\n(1) Fees.\n")
    kb = tmp_kb(engine)
    app = create_app(kb.settings, kb=kb)
    app.testing = True
    return app.test_client()


def test_front_matter_is_checked_and_normalised():
    changes = outstanding_changes(ACT["outstanding_changes"])
    assert len(changes) == 3
    assert changes[1]["by"] == "ukpga/2032/4"
    assert changes[0]["note"] is None and changes[2]["pin"] is None
    assert outstanding_changes("nonsense") == [] and outstanding_changes(None) == []


@pytest.mark.parametrize(
    "change_pin,pin,shown",
    [
        ("section/1", "section/1", True),
        ("section/1", "section/1/1", True),  # a change to s 1 is a change to s 1(1)
        ("section/2/9A", "section/2", True),  # an insertion into s 2
        ("section/2/9A", "section/2/9", False),
        ("section/1", "section/10", False),
        (None, "section/1", False),  # a change with no pin: the document only
    ],
)
def test_which_provisions_a_change_is_shown_on(change_pin, pin, shown):
    assert change_affects(change_pin, pin) is shown


def test_the_document_api_lists_every_change_with_links(client):
    body = client.get("/api/v1/documents/ukpga/2030/7").get_json()
    changes = {c["affected"]: c for c in body["outstanding_changes"]}
    assert set(changes) == {"s. 2(9A)", "s. 1", "Sch. 2 para. 1"}
    inserted = changes["s. 2(9A)"]
    assert inserted["by_in_index"] is True and inserted["by_url"] == "/d/uksi/2031/40"
    assert inserted["by_citation"] == "Licensing (Fees) Regulations 2031, SI 2031/40"
    substituted = changes["s. 1"]
    assert substituted["by_in_index"] is False
    assert substituted["by_url"] == "https://www.legislation.gov.uk/ukpga/2032/4"
    assert substituted["by_citation"] == "2032 c 4"


def test_a_passage_carries_only_the_changes_that_affect_it(client):
    def affected(pid):
        body = client.get(f"/api/v1/passages/ukpga/2030/7/{pid}").get_json()
        return [c["affected"] for c in body["outstanding_changes"]]

    assert affected("section/1/1") == ["s. 1"]
    assert affected("section/1") == ["s. 1"]
    assert affected("section/2") == ["s. 2(9A)"]
    assert affected("section/2/9") == []


def test_search_results_count_the_changes_shown_on_them(client):
    results = client.get("/api/v1/search?q=licensing+authority&document=ukpga/2030/7").get_json()[
        "results"
    ]
    assert {r["pin"]: r["outstanding_changes"] for r in results} == {
        "section/1/1": 1,
        "section/2/9": 0,
    }
    page = client.get("/?q=licensing+authority").get_data(as_text=True)
    items = page.split('<li class="result')[1:]
    flagged = [i for i in items if "Outstanding changes" in i]
    assert len(flagged) == 1 and "s 1(1)" in flagged[0]


def test_the_document_page_has_a_banner_and_flags_each_provision(client):
    page = client.get("/d/ukpga/2030/7").get_data(as_text=True)
    banner = page[page.index('class="banner banner-changes"') :]
    banner = banner[: banner.index("</section>")]
    assert "Changes to legislation" in banner and "not yet made to this document" in banner
    assert "<strong>s. 2(9A)</strong> inserted by" in banner
    assert '<a href="/d/uksi/2031/40">Licensing (Fees) Regulations 2031, SI 2031/40</a>' in banner
    assert (
        'href="https://www.legislation.gov.uk/ukpga/2032/4" rel="noopener">2032 c 4</a>' in banner
    )
    assert "Sch. 2 para. 1" in banner  # no pin: on the document only
    # Whatever the front matter says is escaped.
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Not yet in force." in banner
    # Each change is flagged once in the text: on its provision, or the nearest enclosing one.
    flags = page.split('class="change-flag"')[1:]
    assert len(flags) == 2
    section_1 = page[page.index('id="section-1"') : page.index('id="section-1-1"')]
    assert "<strong>s. 1</strong> substituted" in section_1
    section_2 = page[page.index('id="section-2"') : page.index('id="section-2-9"')]
    assert "<strong>s. 2(9A)</strong> inserted" in section_2


def test_a_provision_page_shows_its_own_changes(client):
    page = client.get("/p/ukpga/2030/7/section/1/1").get_data(as_text=True)
    panel = page[page.index('class="provision-panel"') : page.index('class="toc"')]
    assert "not yet made to this provision" in panel
    assert "<strong>s. 1</strong> substituted by" in panel
    assert "s. 2(9A)" not in panel and "Sch. 2 para. 1" not in panel
    quiet = client.get("/p/ukpga/2030/7/section/2/9").get_data(as_text=True)
    panel = quiet[quiet.index('class="provision-panel"') : quiet.index('class="toc"')]
    assert "Changes to legislation" not in panel


def test_a_document_without_changes_has_no_banner(client):
    page = client.get("/d/uksi/2031/40").get_data(as_text=True)
    assert "Changes to legislation" not in page
    assert client.get("/api/v1/documents/uksi/2031/40").get_json()["outstanding_changes"] == []
