"""Pinpoints: anchors to legislation.gov.uk paths, and the citations lawyers paste."""

import pytest

from kb.core import pins
from kb.core.models import Document

LGA = Document(
    id="ukpga/1999/27",
    title="Local Government Act 1999",
    short_title="LGA 1999",
    doc_type="act",
    status="in_force",
    identifier="ukpga/1999/27",
    source_url="https://www.legislation.gov.uk/ukpga/1999/27",
)
TUPE = Document(
    id="uksi/2006/246",
    title="Transfer of Undertakings (Protection of Employment) Regulations 2006",
    short_title="TUPE 2006",
    doc_type="si",
    status="in_force",
    identifier="uksi/2006/246",
)
LGPIHA = Document(
    id="ukpga/2007/28",
    title="Local Government and Public Involvement in Health Act 2007",
    short_title="LGPIHA 2007",
    doc_type="act",
    status="in_force",
)
GUIDE = Document(
    id="guidance/best-value-2024",
    title="Best value standards and intervention: a statutory guide for best value authorities",
    short_title="Best value statutory guide 2024",
    doc_type="statutory_guidance",
    status="in_force",
    publisher="Department for Levelling Up, Housing and Communities",
    published="2024-05-08",
    source_url="https://www.gov.uk/government/publications/best-value",
)


@pytest.mark.parametrize(
    "anchor,pin",
    [
        ("section-3-2", "section/3/2"),
        ("section-3A", "section/3A"),
        ("regulation-13-2-a", "regulation/13/2/a"),
        ("schedule-8-paragraph-5", "schedule/8/paragraph/5"),
        ("schedule-8-paragraph-5-1-b", "schedule/8/paragraph/5/1/b"),
        ("part-I", "part/I"),
        ("para-2.3", "para/2.3"),
        ("heading-scope-and-purpose", "heading/scope-and-purpose"),
        ("crossheading-best-value-authorities", "crossheading/best-value-authorities"),
        ("preamble", "preamble"),
    ],
)
def test_anchor_to_pin_follows_legislation_paths(anchor, pin):
    assert pins.anchor_to_pin(anchor) == pin
    if not pin.startswith(("heading/", "crossheading/")):
        assert pins.pin_to_anchor(pin) == anchor


@pytest.mark.parametrize(
    "doc,pin,oscola,short",
    [
        (LGA, "section/3/2", "Local Government Act 1999, s 3(2)", "LGA 1999 s 3(2)"),
        (LGA, "section/3A", "Local Government Act 1999, s 3A", "LGA 1999 s 3A"),
        (
            TUPE,
            "regulation/13/2/a",
            "Transfer of Undertakings (Protection of Employment) Regulations 2006, SI 2006/246, reg 13(2)(a)",
            "TUPE 2006 reg 13(2)(a)",
        ),
        (
            LGPIHA,
            "schedule/8/paragraph/5",
            "Local Government and Public Involvement in Health Act 2007, sch 8, para 5",
            "LGPIHA 2007 sch 8, para 5",
        ),
        (
            GUIDE,
            "para/2.3",
            "Department for Levelling Up, Housing and Communities, Best value standards and "
            "intervention: a statutory guide for best value authorities (2024) para 2.3",
            "Best value statutory guide 2024 para 2.3",
        ),
    ],
)
def test_oscola_and_short_citations(doc, pin, oscola, short):
    assert pins.oscola(doc, pin) == oscola
    assert pins.short_citation(doc, pin) == short


SI_WITH_THE = Document(
    id="uksi/2006/246",
    title="The Transfer of Undertakings (Protection of Employment) Regulations 2006",
    doc_type="si",
    status="in_force",
    identifier="uksi/2006/246",
)
REGNAL = Document(
    id="ukpga/Geo6/6-7/48",
    title="Parliament (Elections and Meeting) Act 1943",
    doc_type="act",
    status="in_force",
    identifier="ukpga/Geo6/6-7/48",
    source_url="https://www.legislation.gov.uk/ukpga/Geo6/6-7/48",
)
ASP = Document(
    id="asp/2023/5",
    title="Charities (Regulation and Administration) (Scotland) Act 2023",
    doc_type="act",
    status="in_force",
    identifier="asp/2023/5",
)


@pytest.mark.parametrize(
    "doc,pin,oscola,short",
    [
        (  # dc:title keeps "The"; OSCOLA drops it (tests/test_legislation.py has the sources)
            SI_WITH_THE,
            "regulation/4/1",
            "Transfer of Undertakings (Protection of Employment) Regulations 2006, SI 2006/246, "
            "reg 4(1)",
            "Transfer of Undertakings (Protection of Employment) Regulations 2006 reg 4(1)",
        ),
        (
            REGNAL,
            "section/125",
            "Parliament (Elections and Meeting) Act 1943, s 125",
            "Parliament (Elections and Meeting) Act 1943 s 125",
        ),
        (
            ASP,
            "section/1/2",
            "Charities (Regulation and Administration) (Scotland) Act 2023 (asp 5), s 1(2)",
            "Charities (Regulation and Administration) (Scotland) Act 2023 s 1(2)",
        ),
    ],
)
def test_oscola_per_legislation_type(doc, pin, oscola, short):
    assert pins.oscola(doc, pin) == oscola
    assert pins.short_citation(doc, pin) == short


def test_regnal_source_url_pinpoints_the_provision():
    assert pins.source_url(REGNAL, "section/125") == (
        "https://www.legislation.gov.uk/ukpga/Geo6/6-7/48/section/125"
    )


def test_unnumbered_guidance_heading_is_cited_by_its_heading():
    assert pins.short_citation(GUIDE, "heading/scope", "Scope") == (
        "Best value statutory guide 2024 'Scope'"
    )


def test_source_urls_pinpoint_the_provision():
    assert pins.source_url(LGA, "section/3/2") == (
        "https://www.legislation.gov.uk/ukpga/1999/27/section/3/2"
    )
    assert pins.source_url(GUIDE, "para/2.3").endswith("/best-value#para-2.3")
    assert pins.source_url(TUPE, "regulation/4") is None  # no source_url: no invented link


@pytest.mark.parametrize(
    ("pin", "label"),
    [
        ("section/1/1/closing", "s 1(1), closing words"),
        ("section/1/closing", "s 1, closing words"),
        ("regulation/13/2/a/closing", "reg 13(2)(a), closing words"),
        ("schedule/8/paragraph/5/closing", "sch 8, para 5, closing words"),
    ],
)
def test_closing_words_are_cited_as_their_provision_plus_closing_words(pin, label):
    assert pins.label(pin) == label
    assert pins.anchor_to_pin(pins.pin_to_anchor(pin)) == pin
    assert pins.oscola(LGA, "section/3/2/closing") == (
        "Local Government Act 1999, s 3(2), closing words"
    )
    assert pins.short_citation(LGA, "section/3/2/closing") == "LGA 1999 s 3(2), closing words"


def test_a_printed_full_stop_in_an_old_acts_uri_is_not_cited():
    # legislation.gov.uk names s 1 of the Meeting of Parliament Act 1799 'section/1.'
    assert pins.label("section/1.") == "s 1"
    assert pins.label("section/1./2") == "s 1(2)"


def test_non_operative_text_is_cited_by_what_it_is():
    assert pins.label("introduction") == "introductory text"
    assert pins.label("note") == "explanatory note"
    assert pins.label("signature") == "signature"
    assert pins.display_label("note") == ""  # its heading ('Explanatory Note') names it
