"""Territorial extent per passage: from the provision's own `extent`, else an enclosing one's,
else the document's; an `extent` facet and an `extent=` filter meaning "applies to this nation"
in both engines, the API, the page and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kb.cli import cli
from kb.core.models import extent_codes
from kb.web import create_app

ACT = {
    "id": "ukpga/2030/5",
    "title": "Four Nations Act 2030",
    "doc_type": "act",
    "status": "in_force",
    "extent": "E+W+S+N.I.",
}
BODY = """{#section-1}
### 1 Harbour duty everywhere

{#section-1-1}
(1) A harbour authority must keep a harbour register.

{#section-2 extent="S"}
### 2 Harbour duty in Scotland

{#section-2-1}
(1) A Scottish harbour authority must publish the harbour register.

{#section-3-1 extent="E+W"}
(1) A harbour authority in England or Wales must consult on the harbour register.

{#section-4-1 extent="N.I."}
(1) A harbour authority in Northern Ireland must audit the harbour register.
"""
GUIDANCE = {
    "id": "guidance/harbours",
    "title": "Harbour register guidance",
    "doc_type": "guidance",
    "status": "in_force",
}


@pytest.fixture()
def kb(engine, tmp_kb, write_md):
    write_md("act.md", ACT, BODY)
    write_md(
        "guidance.md", GUIDANCE, "## 1. Registers\n\n1.1 Keep the harbour register up to date.\n"
    )
    return tmp_kb(engine)


@pytest.fixture()
def client(kb):
    app = create_app(kb.settings, kb=kb)
    app.testing = True
    return app.test_client()


def _search(client, query: str) -> dict:
    response = client.get(f"/api/v1/search?q=harbour+register{query}&limit=50")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    "value,codes",
    [
        ("E+W+S+N.I.", ["E", "W", "S", "NI"]),
        ("E+W", ["E", "W"]),
        ("N.I.", ["NI"]),
        ("S", ["S"]),
        ("W+E", ["E", "W"]),
        ("U.K.", ["E", "W", "S", "NI"]),
        ("G.B.", ["E", "W", "S"]),
        ("", []),
        (None, []),
        ("Mars", []),
    ],
)
def test_extent_is_normalised_to_nation_codes(value, codes):
    assert extent_codes(value) == codes


def test_each_passage_takes_the_nearest_extent(client):
    extents = {r["pin"]: r["extent"] for r in _search(client, "")["results"]}
    assert extents == {
        "section/1/1": ["E", "W", "S", "NI"],  # the document's
        "section/2/1": ["S"],  # its section's
        "section/3/1": ["E", "W"],  # its own
        "section/4/1": ["NI"],
        "para/1.1": [],  # guidance with no extent recorded
    }
    passage = client.get("/api/v1/passages/ukpga/2030/5/section/2/1").get_json()
    assert passage["extent"] == ["S"]
    grouping = client.get("/api/v1/passages/ukpga/2030/5/section/2").get_json()
    assert grouping["indexed"] is False and grouping["extent"] == ["S"]


@pytest.mark.parametrize(
    "query,pins",
    [
        ("&extent=W", {"section/1/1", "section/3/1"}),  # E+W applies in Wales
        ("&extent=S", {"section/1/1", "section/2/1"}),
        ("&extent=NI", {"section/1/1", "section/4/1"}),
        ("&extent=n.i.", {"section/1/1", "section/4/1"}),
        ("&extent=S,NI", {"section/1/1", "section/2/1", "section/4/1"}),
        ("&extent=S&extent=NI", {"section/1/1", "section/2/1", "section/4/1"}),
    ],
)
def test_the_extent_filter_keeps_what_applies_to_that_nation(client, query, pins):
    body = _search(client, query)
    assert {r["pin"] for r in body["results"]} == pins
    assert body["total"] == len(pins)


def test_an_unknown_nation_is_refused_with_the_choices(client):
    response = client.get("/api/v1/search?q=harbour&extent=Wales")
    assert response.status_code == 400
    body = response.get_json()
    assert "Unknown extent 'Wales'" in body["message"] and "E, W, S, NI" in body["message"]


def test_the_extent_facet_counts_each_nation(client):
    facet = _search(client, "")["facets"]["extent"]
    assert facet == [
        {"value": "E", "count": 2},
        {"value": "NI", "count": 2},
        {"value": "S", "count": 2},
        {"value": "W", "count": 2},
    ]
    # Choosing a nation keeps the others listed, counted without the extent filter.
    filtered = _search(client, "&extent=S")
    assert {f["value"]: f["count"] for f in filtered["facets"]["extent"]} == {
        "E": 2,
        "W": 2,
        "S": 2,
        "NI": 2,
    }
    assert filtered["total"] == 2


def test_the_page_shows_the_extent_facet_with_names_and_filters_by_it(client):
    page = client.get("/?q=harbour+register").get_data(as_text=True)
    facet = page[page.index('id="facet-extent"') :]
    facet = facet[: facet.index("</ul>")]
    assert ">Extends to</h3>" in page
    for name in ("England", "Wales", "Scotland", "Northern Ireland"):
        assert f">{name} <span" in facet
    assert 'href="/?q=harbour+register&amp;extent=S"' in facet
    filtered = client.get("/?q=harbour+register&extent=S").get_data(as_text=True)
    assert "2 passages found" in filtered
    assert '<abbr title="Scotland">S</abbr>' in filtered
    assert "Northern Ireland must audit" not in filtered


def test_the_reader_says_where_a_provision_extends(client):
    page = client.get("/p/ukpga/2030/5/section/3/1").get_data(as_text=True)
    assert "Extends to England and Wales (E+W)." in page
    document = client.get("/d/ukpga/2030/5").get_data(as_text=True)
    assert '<abbr title="Northern Ireland">N.I.</abbr>' in document  # s 4(1)'s own extent


def test_cli_filters_by_extent(kb):
    env = {"KB_HOME": str(kb.settings.home), "KB_CORPUS": str(kb.settings.corpus)}
    result = CliRunner().invoke(cli, ["search", "harbour", "--extent", "S"], env=env, obj={})
    assert result.exit_code == 0, result.output
    assert "2 passages match" in result.output
    assert "(extent S)" in result.output and "(extent E+W+S+N.I.)" in result.output
    bad = CliRunner().invoke(cli, ["search", "harbour", "--extent", "X"], env=env, obj={})
    assert bad.exit_code == 1 and "Unknown extent" in bad.output
