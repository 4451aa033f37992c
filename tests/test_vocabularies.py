"""The shared vocabularies (kb/core/vocabularies.py): Roman numerals, and Part numbering both ways."""

from __future__ import annotations

import pytest

from kb.core.cite import Instrument, Registry, resolve
from kb.core.cite_tokens import scan_pins
from kb.core.vocabularies import int_to_roman, roman_or_arabic, roman_to_int

# I..XXXIX written out by hand, not by the formatter under test.
NUMERALS = (
    "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX "
    "XXI XXII XXIII XXIV XXV XXVI XXVII XXVIII XXIX XXX "
    "XXXI XXXII XXXIII XXXIV XXXV XXXVI XXXVII XXXVIII XXXIX"
).split()


@pytest.mark.parametrize(("number", "numeral"), enumerate(NUMERALS, start=1))
def test_roman_numerals_read_and_write_from_i_to_xxxix(number, numeral):
    assert roman_to_int(numeral) == number
    assert roman_to_int(numeral.lower()) == number  # sub-paragraphs: (iv), (xii)
    assert int_to_roman(number) == numeral
    assert int_to_roman(number, lower=True) == numeral.lower()
    assert roman_or_arabic(numeral) == str(number)
    assert roman_or_arabic(str(number)) == numeral


@pytest.mark.parametrize("text", ["L", "C", "XL", "IIII", "VX", "IC", "", "A", "Part", "4"])
def test_what_is_not_a_numeral_from_i_to_xxxix_is_refused(text):
    """'Part L' and 'Part C' (the Building Regulations' Schedule 1) are letters, not Parts 50
    and 100; XL and beyond are not read either, so a numeral read is one written back."""
    assert roman_to_int(text) is None


@pytest.mark.parametrize("number", [0, 40, 50, -1])
def test_numbers_outside_the_range_have_no_numeral(number):
    assert int_to_roman(number) is None
    assert roman_or_arabic(str(number)) is None


@pytest.mark.parametrize(
    ("text", "pin"),
    [
        ("Part XXV", "part/25"),
        ("Part XXXIX", "part/39"),
        ("Chapter xii of Part IV", "part/4/chapter/12"),
        ("Part L", "part/L"),  # a lettered Part stays a letter
        ("Part XL", "part/XL"),  # beyond XXXIX: kept as written
    ],
)
def test_citations_number_roman_parts_in_arabic(text, pin):
    phrases = scan_pins(text, strict=False)
    assert [ref.pin() for phrase in phrases for ref in phrase.refs] == [pin]


def test_a_cited_part_past_xx_resolves():
    registry = Registry.from_instruments(
        [Instrument("ukpga/2031/9", "Example Services Act 2031", doc_type="act")]
    )
    found = resolve("Part XXV of the Example Services Act 2031", registry)
    assert found is not None and found.id == "ukpga/2031/9/part/25"


ACT = {
    "id": "ukpga/2031/9",
    "title": "Example Services Act 2031",
    "doc_type": "act",
    "identifier": "ukpga/2031/9",
    "status": "in_force",
}


def _body(part: str) -> str:
    return (
        f"{{#part-{part}}}\n# Part {part} Registers\n\n"
        f"{{#part-{part}-section-90}}\n## 90 Keeping a register\n\n"
        "A relevant authority must keep a register of contracts.\n"
    )


@pytest.mark.parametrize(("held", "asked"), [("25", "XXV"), ("XXV", "25"), ("39", "XXXIX")])
def test_the_service_finds_a_part_numbered_the_other_way_past_xx(
    engine, tmp_kb, write_md, held, asked
):
    write_md("act.md", ACT, _body(held))
    version = tmp_kb(engine).current()
    want = f"ukpga/2031/9/part/{held}"
    assert version.canonical_id(f"ukpga/2031/9/part/{asked}") == want
    assert version.canonical_id(f"ukpga/2031/9/part/{asked}/section/90") == f"{want}/section/90"
    assert version.canonical_id("ukpga/2031/9/part/XL") is None
