"""Prelims, signatures and explanatory notes: shown as part of the document, marked as not its
law everywhere (API, page, CLI, widget, embed), and ranked below the operative provisions."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from indexer.index.ranking import NOT_OPERATIVE_FACTOR
from kb.cli import cli
from kb.core.models import non_operative_kind
from kb.search import run_search
from kb.web import create_app

ACT = {
    "id": "ukpga/2030/9",
    "title": "Waste Collection Act 2030",
    "short_title": "WCA 2030",
    "doc_type": "act",
    "status": "in_force",
    "extent": "E+W",
}
# The same words in the operative section, the long title and the explanatory note.
BODY = """{#introduction operative="false"}
An Act to require waste authorities to publish a kerbside recycling plan.

{#section-1}
### 1 Recycling plan

{#section-1-1}
(1) Waste authorities must publish a kerbside recycling plan.

{role="annotation"}
> **Annotations**
>
> F1 Words in s. 1(1) substituted (1.4.2031) by zebrafinch provision.

{#signature operative="false"}
Signed by authority of the Secretary of State, Jane Example, Minister.

{#note operative="false"}
## Explanatory Note

(This note is not part of the Act.) Waste authorities must publish a kerbside recycling plan.
"""


@pytest.fixture()
def kb(engine, tmp_kb, write_md):
    write_md("act.md", ACT, BODY)
    return tmp_kb(engine)


def _client(kb):
    app = create_app(kb.settings, kb=kb)
    app.testing = True
    return app.test_client()


def test_non_operative_text_ranks_below_the_operative_provision(kb):
    body = _client(kb).get("/api/v1/search?q=kerbside+recycling+plan").get_json()
    ranked = [(r["pin"], r["operative"], r["score"]) for r in body["results"]]
    assert ranked[0][:2] == ("section/1/1", True), ranked
    below = {pin: score for pin, operative, score in ranked if not operative}
    assert {"introduction", "note"} <= set(below)
    # The rank factor, not the words: the note's text is the section's, its score ~0.4 of it.
    assert below["note"] < ranked[0][2] * (NOT_OPERATIVE_FACTOR + 0.1)


def test_api_marks_operative_on_results_and_passages(kb):
    client = _client(kb)
    results = client.get("/api/v1/search?q=recycling+plan").get_json()["results"]
    operative = {r["pin"]: r["operative"] for r in results}
    assert operative["section/1/1"] is True
    assert operative["introduction"] is False and operative["note"] is False
    note = client.get("/api/v1/passages/ukpga/2030/9/note").get_json()
    assert note["operative"] is False and note["indexed"] is True
    signature = client.get("/api/v1/passages/ukpga/2030/9/signature").get_json()
    assert signature["operative"] is False
    section = client.get("/api/v1/passages/ukpga/2030/9/section/1/1").get_json()
    assert section["operative"] is True
    contents = client.get("/api/v1/documents/ukpga/2030/9").get_json()["contents"]
    assert {c["pin"]: c["operative"] for c in contents}["note"] is False
    assert {c["pin"]: c["operative"] for c in contents}["section/1/1"] is True


def test_an_explanatory_note_saying_must_is_not_a_duty(kb):
    # The note repeats "Waste authorities must publish …": only the section imposes the duty.
    client = _client(kb)
    duties = client.get("/api/v1/search?q=recycling+plan&duty=duty").get_json()["results"]
    assert [r["pin"] for r in duties] == ["section/1/1"]
    note = client.get("/api/v1/passages/ukpga/2030/9/note").get_json()
    assert note["duty"] == "none" and note["holders"] == []


def test_notes_are_returned_with_the_passage_but_never_searched(kb):
    client = _client(kb)
    assert client.get("/api/v1/search?q=zebrafinch").get_json()["total"] == 0
    section = client.get("/api/v1/passages/ukpga/2030/9/section/1/1").get_json()
    assert "zebrafinch" in section["notes"] and "zebrafinch" not in section["text"]
    results = client.get("/api/v1/search?q=recycling").get_json()["results"]
    assert all("notes" not in r for r in results)


def test_the_page_labels_non_operative_results_and_text(kb):
    client = _client(kb)
    page = client.get("/?q=recycling+plan").get_data(as_text=True)
    assert "Not operative text: explanatory note" in page
    assert "Not operative text: introductory text" in page
    results = page.split('class="result')[1:]
    section = next(r for r in results if "s 1(1)" in r.split("</h3>")[0])
    assert "Not operative" not in section
    reader = client.get("/p/ukpga/2030/9/note").get_data(as_text=True)
    panel = reader[reader.index('class="provision-panel"') : reader.index('class="toc"')]
    assert "Not operative text: explanatory note" in panel
    assert "not its law" in panel
    document = client.get("/d/ukpga/2030/9").get_data(as_text=True)
    assert document.count("Not operative text:") == 3  # introduction, signature, note
    assert re.search(r'id="signature" class="provision [^"]*not-operative', document)


def test_embed_labels_non_operative_results(kb):
    page = _client(kb).get("/embed?q=recycling+plan").get_data(as_text=True)
    assert "Not operative text: explanatory note" in page


def test_cli_flags_non_operative_results(kb):
    env = {"KB_HOME": str(kb.settings.home), "KB_CORPUS": str(kb.settings.corpus)}
    result = CliRunner().invoke(cli, ["search", "recycling", "plan"], env=env, obj={})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if re.match(r"\d+\. ", line)]
    assert "NOT OPERATIVE" not in lines[0] and "s 1(1)" in lines[0]
    assert any("[NOT OPERATIVE TEXT: EXPLANATORY NOTE]" in line for line in lines[1:])
    as_json = CliRunner().invoke(cli, ["search", "--json", "recycling"], env=env, obj={})
    assert {r["operative"] for r in json.loads(as_json.output)["results"]} == {True, False}


def test_both_engines_rank_non_operative_text_alike(tmp_kb, write_md):
    write_md("act.md", ACT, BODY)
    orders = {}
    for name in ("whoosh", "tantivy"):
        version = tmp_kb(name).current()
        response = run_search(version, {"q": "waste authorities recycling plan"})
        orders[name] = [(r["id"], r["operative"]) for r in response["results"]]
    assert orders["whoosh"] == orders["tantivy"]
    assert orders["whoosh"][0] == ("ukpga/2030/9/section/1/1", True)


@pytest.mark.parametrize(
    "pin,kind",
    [
        ("introduction", "introductory text"),
        ("signature", "signature"),
        ("note", "explanatory note"),
        ("note/1", "explanatory note"),
        ("schedule/1", "not operative text"),
    ],
)
def test_non_operative_kinds(pin, kind):
    assert non_operative_kind(pin) == kind
