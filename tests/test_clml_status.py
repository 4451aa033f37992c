"""Status, dates, extent and outstanding changes per provision, from the CLML's own attributes.

Real responses in ../shared are read in place (skipped with a reason when absent); invented
fixtures (tests/fixtures/mirror) cover what no real response shows (Match="false" repeals,
RestrictEndDate, partial repeals).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.clml import parse_clml
from indexer.corpus import read_document, write_document
from indexer.passages import parse_document
from tests.conftest import LEGISLATION_RESPONSES
from tests.test_clml import anchor_attrs

RESPONSES = LEGISLATION_RESPONSES
MIRROR = Path(__file__).parent / "fixtures" / "mirror" / "www.legislation.gov.uk"
LIBRARY = MIRROR / "ukpga/2035/2/data.xml"


def real(name: str):
    path = RESPONSES / name
    if not path.is_file():
        pytest.skip(f"real response {name} not found in {RESPONSES} (../shared is absent)")
    return parse_clml(path.read_bytes())


def passages(document, body, tmp_path):
    write_document(tmp_path / "doc.md", document, body)
    back = read_document(tmp_path / "doc.md")
    parsed = parse_document(back.document, back.body)
    return {p.pin: p for p in parsed.passages}, {n.pin: n for n in parsed.nodes}


def test_real_scottish_act_provisions_have_their_own_status(tmp_path):
    # asp 2025/11 at 2025-08-07: Part 1 is Status="Prospective" Match="false"; Part 2's
    # commencement sections are in force (RestrictStartDate 2025-08-07, the version's date)
    document, body = real("asp-2025-11-2025-08-07.xml")
    assert document.status == "partially_in_force"
    assert anchor_attrs(body, "part-1")["status"] == "prospective"
    assert anchor_attrs(body, "section-1")["status"] == "prospective"
    by_pin, _ = passages(document, body, tmp_path)
    in_force = [p for p in by_pin.values() if p.operative and p.status == "in_force"]
    prospective = [p for p in by_pin.values() if p.status == "prospective"]
    assert in_force and prospective
    assert by_pin["section/1/1"].status == "prospective"
    # no provision inherits the document's "partially_in_force"
    assert all(p.status != "partially_in_force" for p in by_pin.values() if p.operative)


def test_real_senedd_act_status_and_dates(tmp_path):
    document, body = real("asc-2025-1-2025-03-25.xml")
    assert document.valid_from == "2025-03-25" and document.extent == "E+W"
    assert anchor_attrs(body, "section-1")["status"] == "in_force"
    assert anchor_attrs(body, "section-2")["status"] == "prospective"
    by_pin, _ = passages(document, body, tmp_path)
    assert by_pin["section/1/1"].status == "in_force"
    assert by_pin["section/2/a"].status == "prospective"


def test_real_provision_versions_carry_their_own_start_date(tmp_path):
    # asp 2023/5 at 2024-04-01: ss 20-22 are the version in force since 2023-08-10
    document, body = real("asp-2023-5.xml")
    assert document.valid_from == "2024-04-01"
    assert anchor_attrs(body, "section-20")["valid_from"] == "2023-08-10"
    assert anchor_attrs(body, "section-20-1")["valid_from"] == "2023-08-10"
    by_pin, _ = passages(document, body, tmp_path)
    assert by_pin["section/20/1"].valid_from == "2023-08-10"
    # a provision whose text has the document's date says nothing of its own
    assert "valid_from" not in anchor_attrs(body, "section-2")


def test_real_schedule_paragraph_dates_and_outstanding_changes():
    document, body = real("ukpga-2000-8-schedule-6-paragraph-4A.xml")
    assert anchor_attrs(body, "schedule-6")["valid_from"] == "2020-12-31"
    assert anchor_attrs(body, "schedule-6-paragraph-4A-7")["valid_from"] == "2020-12-31"
    changes = document.extra["outstanding_changes"]
    assert len(changes) == 34
    first = changes[0]
    assert first == {
        "affected": "s. 86(9A)",
        "pin": "section/86/9A",
        "type": "inserted",
        "by": "uksi/2019/707",
        "by_provisions": "reg. 8(9)",
        "note": first["note"],
    }
    assert first["note"].startswith("This amendment not applied to legislation.gov.uk.")
    by_affected = {(c["affected"], c["by_provisions"]): c for c in changes}
    # "Sch. 6 para. 4A(7)": schedule/6, then the paragraph inside it -> the paragraph
    assert by_affected[("Sch. 6 para. 4A(7)", "reg. 10(a)(i)")]["pin"] == (
        "schedule/6/paragraph/4A/7"
    )
    assert by_affected[("Sch. 6 para. 4A(7)", "reg. 10(a)(i)")]["type"] == "words substituted"
    # the whole Act, a range, two Schedules side by side: no one pin
    assert by_affected[("Act", "s. 79(4)")]["pin"] is None
    assert by_affected[("s. 395(13)(bc)-(be)", "Sch. 8 para. 12(2)(b)")]["pin"] is None
    assert by_affected[("Sch. 2A 2B", "s. 23(10)")]["pin"] is None
    assert all(
        set(c) <= {"affected", "pin", "type", "by", "by_provisions", "note"} for c in changes
    )


def test_outstanding_changes_survive_the_corpus_file(tmp_path):
    document, body = parse_clml(LIBRARY.read_bytes())
    write_document(tmp_path / "doc.md", document, body)
    back = read_document(tmp_path / "doc.md")
    assert back.document.extra["outstanding_changes"] == [
        {
            "affected": "s. 4(2)",
            "pin": "section/4/2",
            "type": "words substituted",
            "by": "uksi/2037/40",
            "by_provisions": "reg. 3(b)",
            "note": "Invented effect for tests.",
        }
    ]


def test_invented_act_repealed_prospective_partly_repealed_and_dates(tmp_path):
    document, body = parse_clml(LIBRARY.read_bytes())
    assert document.status == "partially_in_force"
    # Status="Repealed" Match="false" RestrictEndDate on the P1group: repealed on that date
    s6 = anchor_attrs(body, "section-6")
    assert s6["status"] == "repealed" and s6["status_date"] == "2036-09-01"
    assert s6["valid_to"] == "2036-09-01"
    # Status="Prospective" Match="false", narrower extent
    assert anchor_attrs(body, "section-7")["status"] == "prospective"
    assert anchor_attrs(body, "section-7")["extent"] == "E"
    # a word repealed among the words kept: in force, partly repealed
    s42 = anchor_attrs(body, "section-4-2")
    assert s42["status"] == "in_force" and s42["status_note"] == "Partly repealed."
    # the P1group's own RestrictStartDate, on the section and its subsections
    assert anchor_attrs(body, "section-4")["valid_from"] == "2035-04-01"
    assert anchor_attrs(body, "section-4-1")["valid_from"] == "2035-04-01"
    by_pin, _ = passages(document, body, tmp_path)
    assert by_pin["section/6"].status == "repealed"
    assert by_pin["section/6"].status_date == "2036-09-01"
    assert by_pin["section/6"].valid_to == "2036-09-01"
    assert by_pin["section/4/1"].status == "in_force"
    assert by_pin["section/4/1"].valid_from == "2035-04-01"
    assert by_pin["section/7"].status == "prospective"


def test_a_wholly_in_force_document_adds_no_status_marks():
    document, body = parse_clml((MIRROR / "ukpga/2036/3/enacted/data.xml").read_bytes())
    assert document.status == "in_force"
    assert "status=" not in body and "__in_force__" not in body


def test_no_placeholder_status_is_ever_written_on_real_responses():
    files = sorted(RESPONSES.glob("*.xml")) if RESPONSES.is_dir() else []
    if not files:
        pytest.skip(f"no real responses in {RESPONSES}")
    for path in files:
        if "contents" in path.name or "metadata" in path.name:
            continue
        try:
            _, body = parse_clml(path.read_bytes())
        except ValueError:
            continue
        assert "__in_force__" not in body, path.name
        assert not re.search(r'status="(?!in_force"|prospective"|repealed")', body), path.name


def test_a_sole_schedule_is_pinned_schedule_as_legislation_gov_uk_pins_it(tmp_path):
    # asp 2023/5 has one Schedule, printed "SCHEDULE": its paragraphs are schedule/paragraph/N
    document, body = real("asp-2023-5.xml")
    by_pin, nodes = passages(document, body, tmp_path)
    assert "schedule" in nodes
    assert not [pin for pin in nodes if "SCHEDULE" in pin]
    assert "schedule/paragraph/1/1" in by_pin
    assert by_pin["schedule/paragraph/1/1"].citation.endswith("(asp 5), sch, para 1(1)")
