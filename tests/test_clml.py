"""The CLML parser, on invented instruments written in legislation.gov.uk's exact shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from indexer.clml import CLMLError, in_scope, parse_clml
from indexer.corpus import read_document, write_document

FIXTURES = Path(__file__).parent / "fixtures"
MIRROR = FIXTURES / "mirror" / "www.legislation.gov.uk"
ACT = MIRROR / "ukpga/2031/7/data.xml"
AMENDING = MIRROR / "ukpga/2032/4/enacted/data.xml"
REGS = MIRROR / "uksi/2031/112/data.xml"
ORDER = FIXTURES / "clml/uksi-2033-9.xml"
TABLES = FIXTURES / "clml/ukpga-2034-3.xml"
SCHEMA = Path(__file__).resolve().parents[1].parent / "shared/reference/clml-schema/schema"
ALL_CLML = sorted(FIXTURES.glob("clml/*.xml")) + sorted(MIRROR.rglob("*.xml"))


def parse(path: Path, **kw):
    return parse_clml(path.read_bytes(), **kw)


def anchor_attrs(body: str, anchor: str) -> dict[str, str] | None:
    """The attributes of one anchor line, or None when the anchor is absent."""
    match = re.search(r"^\{#" + re.escape(anchor) + r"((?: [a-z_]+=\"[^\"]*\")*)\}$", body, re.M)
    if not match:
        return None
    return dict(re.findall(r'([a-z_]+)="([^"]*)"', match.group(1)))


def node_text(body: str, anchor: str) -> str:
    """Everything from an anchor line to the next anchor line."""
    start = body.index("{#" + anchor)
    following = body.find("\n{#", start + 1)
    return body[start : following if following != -1 else len(body)]


@pytest.fixture(scope="module")
def schema():
    if not (SCHEMA / "legislation.xsd").is_file():
        pytest.skip(f"CLML schema not found at {SCHEMA} (../shared is absent on this machine)")
    return etree.XMLSchema(etree.parse(str(SCHEMA / "legislation.xsd")))


@pytest.mark.parametrize("path", ALL_CLML, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_is_valid_clml(schema, path):
    doc = etree.parse(str(path))
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)


def test_fixtures_cover_every_construct():
    assert len(ALL_CLML) >= 4
    text = "".join(p.read_text("utf-8") for p in ALL_CLML)
    for construct in (
        "<Part ",
        "<Chapter ",
        "<Pblock ",
        "<P1group",
        "<P2 ",
        "<P3 ",
        "<P4 ",
        "<Schedule ",
        "<Term ",
        "<Definition ",
        "<BlockAmendment ",
        'Status="Repealed"',
        'Status="Prospective"',
        "<CommentaryRef ",
        "<Addition ",
        "<Substitution ",
        "<Repeal ",
        'Type="F"',
        'Type="C"',
        'Type="I"',
        'Type="E"',
        "<dct:valid>",
        "<ukm:Made ",
        "<ukm:EnactmentDate ",
        "<Tabular ",
        "<xhtml:thead>",
        "<PrimaryPreamble>",
        "<SignedSection ",
        "<ExplanatoryNotes ",
        "<FootnoteRef ",
        "<AppendText>",
        "<Contents>",
        "<P><Text>",
    ):
        assert construct in text, construct


def test_act_metadata():
    doc, _ = parse(ACT, base_url="http://mirror.test/", short_title="ESA 2031", aliases=["ESA"])
    assert doc.id == doc.identifier == "ukpga/2031/7"
    assert doc.title == "Example Services Act 2031"
    assert doc.doc_type == "act"
    assert doc.source_url == "http://mirror.test/ukpga/2031/7"
    assert doc.extent == "E+W"
    assert doc.valid_from == "2033-04-01"  # dct:valid of the revised version
    assert doc.extra["enacted"] == "2031-03-15"
    assert doc.short_title == "ESA 2031" and doc.aliases == ["ESA"]
    assert doc.licence == "Open Government Licence v3.0" and "legislation.gov.uk" in doc.attribution
    assert doc.sha256 and len(doc.sha256) == 64
    # s 5 is prospective, the rest in force
    assert doc.status == "partially_in_force"
    assert "s 5" in doc.status_note


def test_structure_and_anchors():
    _, body = parse(ACT)
    for anchor in (
        "part-1",
        "part-2",
        "part-2-chapter-1",
        "section-1",
        "section-3",
        "section-3-2",
        "section-3-2-a",
        "section-3-2-b-i",
        "section-3-2-b-ii",
        "section-3A",
        "section-3A-2",
        "schedule-1",
        "schedule-1-paragraph-1",
        "schedule-1-paragraph-2-2",
    ):
        assert anchor_attrs(body, anchor) is not None, anchor
    assert "# Part 1 Example service duties" in body
    assert "## General duties" in body  # a cross-heading: a heading without a pin
    assert "### 3 General duty of example authorities" in body
    assert "(2) For the purpose of subsection (1) an authority must consult—" in body
    assert "(ii) local widget makers." in body
    # definitions: the term is marked, the definition kept
    assert "“**widget service**” means any service of supplying imaginary widgets" in body
    order = [body.index("{#" + a + " ") for a in ("section-3-1", "section-3-2", "section-3-2-a")]
    assert order == sorted(order)


def test_repealed_and_prospective_provisions_are_marked():
    _, body = parse(ACT)
    assert anchor_attrs(body, "section-2")["status"] == "repealed"
    assert anchor_attrs(body, "section-3-3")["status"] == "repealed"
    assert anchor_attrs(body, "section-5")["status"] == "prospective"
    assert anchor_attrs(body, "section-5")["extent"] == "E"  # narrower than the Act's E+W
    # the Act is partly in force: a provision with no status of its own says it is in force
    assert anchor_attrs(body, "section-3-1")["status"] == "in_force"


def test_commentaries_are_annotations_on_their_provision():
    _, body = parse(ACT)
    s4 = node_text(body, "section-4")
    assert "**C1** S. 4 modified" in s4
    s3a = node_text(body, "section-3A ")
    assert "**Annotations**" in s3a and "**F4** S. 3A inserted" in s3a
    # shown once, on the section, not repeated on each inserted subsection
    assert "F4" not in node_text(body, "section-3A-1")
    assert "**F3** S. 3(4) substituted" in node_text(body, "section-3-4")
    assert "**I1**" in node_text(body, "section-5")
    assert body.count("**F1**") == 1


def test_amended_provision_links_to_amending_provision():
    _, body = parse(ACT)
    assert anchor_attrs(body, "section-3A")["amended_by"] == "ukpga/2032/4/section/2"
    assert anchor_attrs(body, "section-3-4")["amended_by"] == "ukpga/2032/4/section/1"
    assert anchor_attrs(body, "section-2")["amended_by"] == "ukpga/2032/4/section/3"


def test_block_amendment_is_quoted_in_the_amending_provision():
    doc, body = parse(AMENDING)
    assert doc.id == "ukpga/2032/4" and doc.status == "in_force"
    assert anchor_attrs(body, "section-2-1")["amends"] == "ukpga/2031/7/section/3A"
    assert anchor_attrs(body, "section-1")["amends"] == "ukpga/2031/7/section/3/4"
    # the inserted text is part of s 2(1), quoted, never a provision of the amending Act
    s21 = node_text(body, "section-2-1")
    assert "> 3A Duty to involve service users" in s21
    assert "> (1) An example authority must involve users" in s21
    assert "\n.\n" not in s21  # the closing AppendText is not a stray paragraph
    anchors = re.findall(r"^\{#([A-Za-z0-9-]+)", body, re.M)
    # the prelims are a passage of their own, not law: "introduction" (operative="false")
    assert anchors == [
        "introduction",
        "section-1",
        "section-2",
        "section-2-1",
        "section-2-2",
        "section-3",
    ]


def test_statutory_instrument():
    doc, body = parse(REGS)
    assert doc.doc_type == "si" and doc.id == "uksi/2031/112"
    assert doc.extra["made"] == "2031-02-06"
    assert anchor_attrs(body, "regulation-13A")["amended_by"] == "uksi/2032/5/regulation/3"
    assert "# 13A Small employers" in body
    assert anchor_attrs(body, "regulation-13-1-b") is not None
    assert "“**transferor**” means the employer" in body


def test_order_point_in_time_and_whole_document_status():
    doc, body = parse(ORDER)
    assert doc.status == "prospective"  # Status="Prospective" on the whole Order
    assert doc.valid_from == "2033-06-01"
    assert doc.extent == "E"
    assert anchor_attrs(body, "article-1") is not None  # Orders have articles
    assert anchor_attrs(body, "schedule-part-1") is not None
    assert anchor_attrs(body, "schedule-paragraph-2")["status"] == "repealed"
    assert "**E1** Art. 1 extends to England only." in node_text(body, "article-1")


def test_scope_filters_provisions_but_keeps_their_headings():
    doc, body = parse(ACT, scope=["part/I"])  # Roman and Arabic Part numbers are the same Part
    assert anchor_attrs(body, "section-3A") is not None
    assert anchor_attrs(body, "section-4") is None and anchor_attrs(body, "schedule-1") is None
    assert doc.extra["scope"] == ["part/I"]
    assert doc.status == "in_force"  # s 5, the prospective one, is out of scope
    _, body = parse(ACT, scope=["section/3-3A", "schedule/1"])
    assert anchor_attrs(body, "part-1") is not None  # context for s 3
    assert anchor_attrs(body, "section-1") is None and anchor_attrs(body, "section-2") is None
    assert anchor_attrs(body, "section-3A-2") is not None
    assert anchor_attrs(body, "schedule-1-paragraph-2-1") is not None
    with pytest.raises(CLMLError, match="matched no provision"):
        parse(ACT, scope=["section/99"])


def test_in_scope_ranges():
    assert in_scope("section/138", ["section/137-139"])
    assert in_scope("section/138A/2", ["section/137-139"])
    assert not in_scope("section/140", ["section/137-139"])
    assert in_scope("part/5/chapter/1", ["part/V"])
    assert not in_scope("schedule/8", ["schedule/80"])


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<Legislation xmlns="http://www.legislation.gov.uk/namespaces/legislation">&lol9;</Legislation>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Legislation xmlns="http://www.legislation.gov.uk/namespaces/legislation">&secret;</Legislation>
"""


# The full-strength bomb: 10**9 copies of "lol" (3 GB) if it were ever expanded.
FULL_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10))
    + b']>\n<Legislation xmlns="http://www.legislation.gov.uk/namespaces/legislation">&lol9;'
    b"</Legislation>"
)


@pytest.mark.parametrize(
    "data", [BOMB, FULL_BOMB, XXE], ids=["billion-laughs", "full-billion-laughs", "external-entity"]
)
def test_entity_declarations_are_refused(data):
    # The result, not a stopwatch, shows the bomb never went off: the declarations themselves are
    # refused, whatever they would expand to. (An expansion would run out of memory, or into
    # libxml2's own amplification limit, which reports "malformed XML" instead of this refusal.)
    with pytest.raises(CLMLError, match="refused: the document declares a DOCTYPE"):
        parse_clml(data)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            b"<Legislation xmlns='http://www.legislation.gov.uk/namespaces/legislation'><Primary>",
            "malformed XML",
        ),
        (b"<html><body>Service unavailable</body></html>", "not CLML"),
        (b"", "empty"),
    ],
)
def test_unusable_documents_are_refused_with_a_reason(data, message):
    with pytest.raises(CLMLError, match=message):
        parse_clml(data)


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html>\n<html lang='en'><head><title>503</title></head><body>Down</body></html>",
        b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML><BODY>Error</BODY></HTML>',
    ],
    ids=["html5", "html4"],
)
def test_an_html_error_page_is_named_as_one_not_as_entities(data):
    """An error page has a DOCTYPE too; the reason says what it is, not "declares entities"."""
    with pytest.raises(CLMLError) as refused:
        parse_clml(data)
    assert str(refused.value) == "not CLML: the response is an HTML page, not legislation XML"


def test_output_round_trips_through_the_corpus_format(tmp_path):
    doc, body = parse(ACT, retrieved_at="2033-05-01T10:00:00+00:00")
    path = tmp_path / f"{doc.id}.md"
    write_document(path, doc, body)
    back = read_document(path)
    assert back.document.id == "ukpga/2031/7"
    assert back.document.status == "partially_in_force"
    assert back.document.extra["enacted"] == "2031-03-15"
    assert "{#section-3-2-b-i " in back.body


def test_passages_have_legislation_ids_and_oscola_citations():
    passages_mod = pytest.importorskip("indexer.passages")
    doc, body = parse(ACT, short_title="ESA 2031")
    parsed = passages_mod.parse_document(doc, body)
    by_id = {p.id: p for p in parsed.passages}
    s32 = by_id["ukpga/2031/7/section/3/2"]
    assert s32.citation == "Example Services Act 2031, s 3(2)"
    assert s32.short_citation == "ESA 2031 s 3(2)"
    assert s32.source_url == "https://www.legislation.gov.uk/ukpga/2031/7/section/3/2"
    assert by_id["ukpga/2031/7/section/2"].status == "repealed"
    assert by_id["ukpga/2031/7/section/5"].status == "prospective"
    assert "widget makers" in by_id["ukpga/2031/7/section/3/2/b/ii"].text
    nodes = {n.pin: n for n in parsed.nodes}
    assert nodes["section/3A"].attrs["amended_by"] == "ukpga/2032/4/section/2"
    # the amending Act: s 2(1) carries the quoted text; there is no s 3A of the 2032 Act
    amending = passages_mod.parse_document(*parse(AMENDING))
    ids = {p.id for p in amending.passages}
    assert "ukpga/2032/4/section/3A" not in ids
    s21 = next(p for p in amending.passages if p.id == "ukpga/2032/4/section/2/1")
    assert "involve users of widget services" in s21.text
    node = next(n for n in amending.nodes if n.pin == "section/2/1")
    assert node.attrs["amends"] == "ukpga/2031/7/section/3A"


def test_two_versions_of_one_provision_keep_one_anchor():
    """Revised texts may carry a provision twice (say, for England and for Wales)."""
    data = ACT.read_bytes().decode()
    start = data.index("<P1group", data.index("<Chapter "))
    end = data.index("</P1group>", start) + len("</P1group>")
    welsh = data[start:end].replace('RestrictExtent="E+W"', 'RestrictExtent="W"')
    _, body = parse_clml((data[:end] + welsh + data[end:]).encode())
    assert body.count("{#section-4") == 1
    assert "**4 Partnership agreements** (another version, extent W)" in body
    passages_mod = pytest.importorskip("indexer.passages")
    passages_mod.parse_document(parse_clml(ACT.read_bytes())[0], body)  # no duplicate anchors


def test_tables_become_markdown_tables():
    """A Tabular (thead or not) is a GFM table, as GOV.UK tables are; its cells stay searchable."""
    doc, body = parse(TABLES)
    s1 = node_text(body, "section-1")
    expected = (
        "Table 1 Widget service charges\n\n"
        "| Service | Charge | Basis |\n"
        "| --- | --- | --- |\n"
        "| Widget inspection | £10 | Band A \\| B *per widget* |\n"
        "| Widget registration | £5 |  |\n"  # the empty row is dropped, the short one padded
    )
    assert expected in s1
    assert "**C1** Table 1 modified" in s1  # a note referenced from a cell is the section's
    # a Schedule that is only a table, with no thead: its first row is the header
    sched = "| Authority | Area |\n| --- | --- |\n| Example Widget Board | England |\n"
    assert sched in node_text(body, "schedule-1")
    assert sched in parse(TABLES, scope=["schedule/1"])[1]
    passages_mod = pytest.importorskip("indexer.passages")
    by_id = {p.id: p for p in passages_mod.parse_document(doc, body).passages}
    text = by_id["ukpga/2034/3/section/1"].text
    assert "Service Charge Basis Widget inspection £10 Band A | B per widget" in text
    assert "Widget registration £5" in text
    assert "---" not in text and "\\|" not in text and "*" not in text
    assert by_id["ukpga/2034/3/schedule/1"].text == "Authority Area Example Widget Board England"


COMMISSIONING = FIXTURES / "clml/ukpga-2031-9.xml"
CONTENTS = FIXTURES / "clml/ukpga-2031-9-contents.xml"
PANELS = FIXTURES / "clml/uksi-2031-50.xml"


def passages_of(path: Path, **kw):
    from indexer.passages import parse_document

    parsed = parse_document(*parse(path, **kw))
    return {p.pin: p for p in parsed.passages}, {n.pin: n for n in parsed.nodes}


def test_closing_words_and_every_pnpara_are_kept_in_reading_order():
    _, body = parse(COMMISSIONING)
    order = [
        "Where the widget board considers",
        "(a) has failed to commission",
        "(b) has commissioned one",
        "it may impose on the authority a penalty",  # closing words after (a) and (b)
        "(2) A penalty is payable",
        "It is a debt recoverable",  # the second P2para of s 1(2)
        "This Act may be cited",
        "It comes into force on an invented day.",  # the second P1para of s 2
    ]
    at = [body.index(text) for text in order]
    assert at == sorted(at)
    by_pin, _ = passages_of(COMMISSIONING)
    # closing words are s 1(1)'s own, not (b)'s: a passage of their own, cited as s 1(1)
    assert by_pin["section/1/1/b"].text == "(b) has commissioned one without consulting its users,"
    closing = by_pin["section/1/1/closing"]
    assert closing.text.startswith("it may impose on the authority a penalty")
    assert closing.text.endswith("penalty of an invented amount.")
    assert closing.label == "s 1(1), closing words"
    assert closing.citation.endswith("Act 2031, s 1(1), closing words")
    assert anchor_attrs(body, "section-1-1-closing") is not None
    # a citation of s 1(1) is of the provision itself, never of its closing words
    from kb.core.cite import Registry, resolve

    document, _ = parse(COMMISSIONING)
    found = resolve(f"s 1(1) of the {document.title}", Registry.from_documents([document]))
    assert found is not None and found.id == "ukpga/2031/9/section/1/1"
    assert "imaginary tax" in by_pin["section/1/2"].text


def test_unnumbered_text_under_parts_groups_and_schedules_is_kept_with_its_heading():
    _, body = parse(COMMISSIONING)
    assert "## Commissioning principles\n\nEvery example authority shall commission" in body
    by_pin, nodes = passages_of(COMMISSIONING)
    assert by_pin["part/2"].text == "This Part has no sections, only these unnumbered words."
    # a Schedule that is a list of revoked instruments, with its marginal reference
    assert nodes["schedule/1"].title.endswith("Instruments revoked (Section 2)")
    assert by_pin["schedule/1"].text == (
        "The Example Widget Regulations 2029. The Example Widget (Amendment) Regulations 2030."
    )
    # a Schedule that is one BlockAmendment: quoted, and the inserted Schedule gets no pin
    assert "> SCHEDULE 2A Commissioning panels" in body
    assert "three invented members" in by_pin["schedule/2"].text
    assert not any(pin.startswith("schedule/2A") for pin in nodes)
    _, scoped = parse(COMMISSIONING, scope=["schedule/1"])
    assert "Example Widget Regulations 2029" in scoped and "Part 2" not in scoped


def test_prelims_signature_and_explanatory_note_are_passages_that_are_not_law():
    by_pin, nodes = passages_of(COMMISSIONING)
    intro = by_pin["introduction"]
    assert intro.operative is False and nodes["introduction"].attrs["operative"] == "false"
    assert "An Act to make invented provision" in intro.text
    assert "Be it enacted by the invented legislature" in intro.text  # the enacting formula
    assert "Whereas it is expedient" in intro.text  # the preamble
    assert all(p.operative for pin, p in by_pin.items() if pin != "introduction")
    si, _ = passages_of(PANELS)
    assert [pin for pin, p in si.items() if not p.operative] == [
        "introduction",
        "signature",
        "note",
    ]
    assert "Alex Example" in si["signature"].text
    assert "quarterly" in si["note"].text and "not part of the Regulations" in si["note"].text
    assert "Local Government, England" in si["introduction"].text
    assert si["regulation/1"].operative and si["regulation/1"].citation.endswith("reg 1")
    # a scoped source holds its provisions only
    _, scoped = parse(PANELS, scope=["regulation/1"])
    assert "{#introduction" not in scoped and "{#signature" not in scoped


def test_commentary_and_footnotes_are_shown_once_and_never_searched_as_law():
    _, body = parse(COMMISSIONING)
    assert body.count("**C1**") == 1  # on (a), not repeated on its sibling (b)
    assert '{role="annotation"}\n> **Footnotes**' in body
    by_pin, nodes = passages_of(COMMISSIONING)
    a = by_pin["section/1/1/a"]
    assert "modified by an invented order" not in a.text
    assert "modified by an invented order" in a.notes  # kept apart, for display
    assert "modified by an invented order" in nodes["section/1/1/a"].markdown
    assert "invented footnote" not in by_pin["introduction"].text
    assert "invented footnote" in by_pin["introduction"].notes
    # older crawls wrote annotation blockquotes without the role marker: still not text
    act_doc, act_body = parse(ACT)
    from indexer.passages import parse_document

    old = act_body.replace('{role="annotation"}\n', "")
    s4 = next(p for p in parse_document(act_doc, old).passages if p.pin == "section/4")
    assert "S. 4 modified" not in s4.text and "S. 4 modified" in s4.notes


def test_a_table_of_contents_is_refused_not_made_a_document():
    from indexer.clml import check

    with pytest.raises(CLMLError, match="table of contents"):
        parse(CONTENTS)
    with pytest.raises(CLMLError, match="table of contents"):
        check(CONTENTS.read_bytes())  # so the fetcher keeps the last good copy


def test_regnal_year_paths_and_welsh_language():
    data = COMMISSIONING.read_text("utf-8").replace("ukpga/2031/9", "ukpga/Geo6/6-7/9")
    doc, body = parse_clml(data.encode())
    assert doc.id == "ukpga/Geo6/6-7/9"
    assert doc.source_url == "https://www.legislation.gov.uk/ukpga/Geo6/6-7/9"
    assert anchor_attrs(body, "section-1-1-a") is not None  # not "9-section-1-1-a"
    assert anchor_attrs(body, "schedule-1") is not None
    welsh = COMMISSIONING.read_text("utf-8").replace('xml:lang="en"', 'xml:lang="cy"')
    welsh = welsh.replace("/enacted", "/enacted/welsh")
    doc, body = parse_clml(welsh.encode())
    assert language(doc) == "cy" and doc.id == "ukpga/2031/9"
    assert anchor_attrs(body, "section-1-1-a") is not None
    assert language(parse(COMMISSIONING)[0]) == "en"


def language(doc) -> str | None:
    """The Document's own `language` field where kb.core.models has one, else extra['language']."""
    return getattr(doc, "language", None) or doc.extra.get("language")
