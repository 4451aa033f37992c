"""legislation.gov.uk identifiers (kb.core.legislation) and the OSCOLA citation of every type.

Like eyecite, citations are small typed values tested on many real strings: the `dc:title`,
`dc:identifier`, `dc:language` and `ukm:AlternativeNumber` of the legislation.gov.uk responses
in ../shared/reference/legislation-gov-uk/responses (read in place; skipped when absent), each
with the expected citation of the document and of one provision; then invented regnal and
devolved examples, the resolver on URLs and id URIs, and the sources manifest's path and scope
shapes.

OSCOLA forms, and where they were checked (OSCOLA 4th edn as restated by university guides):
- UK Acts: short title and year, no comma ('Act of Supremacy 1558'); for older statutes the
  regnal year and chapter are optional ("it is helpful to include" them when there is no short
  title): https://library.rgu.ac.uk/oscola/statutes-uk. So pre-1963 Acts are cited by title and
  calendar year: 'Parliament (Elections and Meeting) Act 1943, s 125'.
- UK SIs: 'Title Year, SI year/number', and "Do not include 'The' at the beginning of the
  title": https://libguides.bournemouth.ac.uk/c.php?g=471702&p=3226267 and
  https://gcu.libguides.com/c.php?g=729720&p=5318708 ('Penalties for Disorderly Behaviour
  (Amendment of Minimum Age) Order 2004, SI 2004/3166').
- Scottish SIs: 'Breeding of Dogs (Licensing Records) (Scotland) Regulations 1999, SSI
  1999/176': https://library.rgu.ac.uk/oscola/secondary-scotland (and the GCU guide).
- Acts of the Scottish Parliament: short title, year, '(asp N)' ('Crofting Reform etc Act 2007
  (asp 7)'): https://library.rgu.ac.uk/oscola/primary-scotland.
- Welsh Assembly Measures: '(nawm N)', in Welsh '(mccc N)' ('Learner Travel (Wales) Measure
  2008 (nawm 2)'): https://library.rgu.ac.uk/c.php?g=673804&p=4834520; Acts of the Assembly
  '(anaw N)' ('Public Health (Wales) Act 2017 (anaw 2)'):
  https://lizbrownediting.com/oscola-basics-scotland-wales-ni/; in Welsh 'dccc' (the Act's own
  citation '2012 dccc 1'). Acts of Senedd Cymru (2020-) postdate OSCOLA 4th edn: '(asc N)' by
  analogy, the number legislation.gov.uk gives them.
- Northern Ireland: Acts of the Parliament of Northern Ireland put '(NI)' between short title
  and year; Acts of the Assembly '(Northern Ireland)' (already in their titles):
  https://steamreplacedcauses.pages.dev/876934.html (a copy of a university OSCOLA guide).
  No number is added.
- Northern Ireland Orders in Council: 'Airports (Northern Ireland) Order 1994, SI 1994/426
  (NI 1)' (Law Society of NI, https://studylib.net/doc/18730946/11-how-to---the-law-society).
- Not confirmed in the search corpus (the guides' paragraphs were cut off), so by OSCOLA 4th edn
  as remembered and by analogy with the SI form: NI Statutory Rules 'SR 2022/1'; Welsh SIs
  'SI 2024/1002 (W 171)' with the Welsh number from ukm:AlternativeNumber ('Cy 171' on the
  Welsh-language text); Church Measures by title and year, like Acts.
- EU-origin legislation: the full title (OSCOLA adds the OJ reference, which the CLML does not
  carry), without '(Text with EEA relevance)':
  https://libguides.solent.ac.uk/c.php?g=709292&p=5124007.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import clml
from indexer.manifest import ManifestError, load_manifest
from kb.cite_cli import cite
from kb.core import legislation, pins
from kb.core.cite import Instrument, Registry, find_citations, resolve, unresolved
from kb.core.config import Settings
from kb.core.models import Document
from tests.conftest import LEGISLATION_RESPONSES

RESPONSES = LEGISLATION_RESPONSES

# document path -> (citation of the document, a provision's pin, citation of that provision)
REAL = {
    "aep/Ann/6/11": (
        "Union with Scotland Act 1706",
        "part/1",
        "Union with Scotland Act 1706, pt 1",
    ),
    "anaw/2020/3": (
        "Deddf Plant (Diddymu Amddiffyniad Cosb Resymol) (Cymru) 2020 (dccc 3)",
        "section/2",
        "Deddf Plant (Diddymu Amddiffyniad Cosb Resymol) (Cymru) 2020 (dccc 3), s 2",
    ),
    "aosp/1707/8": ("Election Act 1707", "paragraph/p3", "Election Act 1707, para p3"),
    "apgb/Geo3/39-40/14": (
        "Meeting of Parliament Act 1799",
        "section/2",
        "Meeting of Parliament Act 1799, s 2",
    ),
    "asc/2025/1": (
        "Health and Social Care (Wales) Act 2025 (asc 1)",
        "part/1/chapter/2",
        "Health and Social Care (Wales) Act 2025 (asc 1), pt 1, ch 2",
    ),
    "asp/2023/5": (
        "Charities (Regulation and Administration) (Scotland) Act 2023 (asp 5)",
        "section/1",
        "Charities (Regulation and Administration) (Scotland) Act 2023 (asp 5), s 1",
    ),
    "asp/2025/11": (
        "Education (Scotland) Act 2025 (asp 11)",
        "section/1/2",
        "Education (Scotland) Act 2025 (asp 11), s 1(2)",
    ),
    "eudr/2020/2089": (
        "Commission Directive (EU) 2020/2089 of 11 December 2020 amending Annex II to Directive "
        "2009/48/EC of the European Parliament and of the Council as regards the prohibition of "
        "allergenic fragrances in toys",
        "article/1",
        "Commission Directive (EU) 2020/2089 of 11 December 2020 amending Annex II to Directive "
        "2009/48/EC of the European Parliament and of the Council as regards the prohibition of "
        "allergenic fragrances in toys, art 1",
    ),
    "mnia/1974/4": (
        "National Insurance Measure (Northern Ireland) 1974",
        "section/5",
        "National Insurance Measure (Northern Ireland) 1974, s 5",
    ),
    "mwa/2011/7": (
        "Education (Wales) Measure 2011 (nawm 7)",
        "section/1",
        "Education (Wales) Measure 2011 (nawm 7), s 1",
    ),
    "nia/2022/21": (
        "School Age Act (Northern Ireland) 2022",
        "section/1",
        "School Age Act (Northern Ireland) 2022, s 1",
    ),
    "ssi/2025/281": (
        "Climate Change (Scotland) Act 2009 (Scottish Carbon Budgets) Amendment Regulations "
        "2025, SSI 2025/281",
        "regulation/1",
        "Climate Change (Scotland) Act 2009 (Scottish Carbon Budgets) Amendment Regulations "
        "2025, SSI 2025/281, reg 1",
    ),
    "ukcm/2025/2": (
        "Church Funds Investment Measure 2025",
        "section/1",
        "Church Funds Investment Measure 2025, s 1",
    ),
    "ukla/2017/1": (
        "Faversham Oyster Fishery Company Act 2017",
        "part/3",
        "Faversham Oyster Fishery Company Act 2017, pt 3",
    ),
    "ukla/2022/1": ("Highgate Cemetery Act 2022", "section/2", "Highgate Cemetery Act 2022, s 2"),
    "ukpga/1990/8": (
        "Town and Country Planning Act 1990",
        "section/1",
        "Town and Country Planning Act 1990, s 1",
    ),
    "ukpga/2000/8": (
        "Financial Services and Markets Act 2000",
        "schedule/6/paragraph/4A",
        "Financial Services and Markets Act 2000, sch 6, para 4A",
    ),
    "ukpga/Geo6/6-7/48": (
        "Parliament (Elections and Meeting) Act 1943",
        "section/125",
        "Parliament (Elections and Meeting) Act 1943, s 125",
    ),
    "uksi/2010/2493": (
        "Statutory Payment Schemes (Electronic Communications) (Amendment) Regulations 2010, "
        "SI 2010/2493",
        "regulation/2",
        "Statutory Payment Schemes (Electronic Communications) (Amendment) Regulations 2010, "
        "SI 2010/2493, reg 2",
    ),
    "uksi/2015/1669": (
        "Organic Products (Amendment) Regulations 2015, SI 2015/1669",
        "regulation/1",
        "Organic Products (Amendment) Regulations 2015, SI 2015/1669, reg 1",
    ),
    "wsi/2024/1002": (
        "Rheoliadau Addysg (Diwygiadau sy’n Ymwneud â Chydlynu Trefniadau Derbyn Ysgolion) "
        "(Cymru) 2024, SI 2024/1002 (Cy 171)",
        "regulation/2",
        "Rheoliadau Addysg (Diwygiadau sy’n Ymwneud â Chydlynu Trefniadau Derbyn Ysgolion) "
        "(Cymru) 2024, SI 2024/1002 (Cy 171), reg 2",
    ),
}


def document_from_clml(path: Path) -> Document | None:
    """The Document fields kb.core.pins cites from, as the CLML parser reads them: the dc:title as
    published (with its 'The'), the document path, the language and an SI's Welsh / NI number."""
    try:
        meta = clml.read_meta(clml.parse_xml(path.read_bytes()))
    except clml.CLMLError:  # not CLML (asp-2025-11-metadata-simple.xml)
        return None
    return _doc(
        meta.path,
        meta.title,
        language=meta.language,
        subsidiary_number=meta.subsidiary_number,
        source_url=f"https://www.legislation.gov.uk/{meta.path}",
    )


def _real_documents() -> dict[str, Document]:
    if not RESPONSES.is_dir():
        pytest.skip(f"the shared legislation.gov.uk responses are not at {RESPONSES}")
    docs: dict[str, Document] = {}
    for path in sorted(RESPONSES.glob("*.xml")):
        doc = document_from_clml(path)
        if doc is not None:
            docs.setdefault(doc.identifier, doc)
    return docs


@pytest.fixture(scope="module")
def real() -> dict[str, Document]:
    return _real_documents()


def test_every_real_document_has_an_expected_citation(real):
    assert set(real) == set(REAL)
    # titles as published keep their 'The' and notes; citations drop them
    assert real["uksi/2015/1669"].title.startswith("The ")
    assert real["aosp/1707/8"].title == "Election Act 1707(repealed)"
    assert real["wsi/2024/1002"].subsidiary_number == "Cy 171"


@pytest.mark.parametrize("path", sorted(REAL))
def test_real_document_and_provision_citations(real, path):
    doc = real[path]
    whole, pin, provision = REAL[path]
    assert pins.oscola(doc, None) == whole
    assert pins.oscola(doc, pin) == provision
    assert not doc.cite_name.startswith("The ")
    assert pins.short_citation(doc, pin).startswith(doc.cite_name)


@pytest.mark.parametrize("path", sorted(REAL))
def test_real_urls_and_id_uris_resolve_to_the_same_citation(real, path):
    registry = Registry.from_documents(real.values(), include_defaults=False)
    whole, pin, provision = REAL[path]
    for url in (
        f"https://www.legislation.gov.uk/{path}/{pin}",
        f"http://www.legislation.gov.uk/id/{path}/{pin}",
        f"https://www.legislation.gov.uk/{path}/{pin}/data.xml",
    ):
        found = resolve(url, registry)
        assert found is not None, url
        assert found.id == f"{path}/{pin}" or path == "aosp/1707/8"  # 'p3': not a pin number
        if found.pin == pin:
            assert found.citation == provision
        assert found.url().startswith(f"https://www.legislation.gov.uk/{path}")
    bare = resolve(f"https://www.legislation.gov.uk/{path}", registry)
    assert bare.id == path and bare.citation == whole


def test_kb_cite_regnal_url_and_id_uri(real):
    registry = Registry.from_documents(real.values(), include_defaults=False)
    for url in (
        "https://www.legislation.gov.uk/ukpga/Geo6/6-7/48/section/125",
        "http://www.legislation.gov.uk/id/ukpga/Geo6/6-7/48/section/125",
    ):
        result = CliRunner().invoke(cite, ["--json", url], obj={"registry": registry})
        assert result.exit_code == 0, result.output
        assert '"id": "ukpga/Geo6/6-7/48/section/125"' in result.output
        assert '"citation": "Parliament (Elections and Meeting) Act 1943, s 125"' in result.output
        assert "https://www.legislation.gov.uk/ukpga/Geo6/6-7/48/section/125" in result.output


def test_real_names_resolve(real):
    registry = Registry.from_documents(real.values(), include_defaults=False)
    cases = {
        "s 125 of the Parliament (Elections and Meeting) Act 1943": "ukpga/Geo6/6-7/48/section/125",
        "6 & 7 Geo. 6 c. 48, s 125": "ukpga/Geo6/6-7/48/section/125",
        "39 & 40 Geo 3 c 14 s 2": "apgb/Geo3/39-40/14/section/2",
        "s 2 Meeting of Parliament Act 1799": "apgb/Geo3/39-40/14/section/2",
        "Part 1 of the Union with Scotland Act 1706": "aep/Ann/6/11/part/1",
        "6 Ann c 11": "aep/Ann/6/11",
        "2023 asp 5, s 1": "asp/2023/5/section/1",
        "reg 1 SSI 2025/281": "ssi/2025/281/regulation/1",
        "The Organic Products (Amendment) Regulations 2015, reg 1": "uksi/2015/1669/regulation/1",
        "Organic Products (Amendment) Regulations 2015, SI 2015/1669, reg 1": (
            "uksi/2015/1669/regulation/1"
        ),
        "2011 nawm 7 s 1": "mwa/2011/7/section/1",
        "s 1 of the School Age Act (Northern Ireland) 2022": "nia/2022/21/section/1",
        "Election Act 1707": "aosp/1707/8",
    }
    for text, expected in cases.items():
        found = resolve(text, registry)
        assert found is not None and found.id == expected, text
    # the citation kb cite prints is the one a search result and the copy button show
    found = resolve("The Organic Products (Amendment) Regulations 2015, reg 1", registry)
    assert found.citation == pins.oscola(real["uksi/2015/1669"], "regulation/1")


# --- invented regnal and devolved examples ---------------------------------------------------


def _doc(identifier: str, title: str, **kw) -> Document:
    kind = legislation.category(identifier.split("/")[0])
    return Document(
        id=identifier,
        title=title,
        doc_type="act" if kind == "primary" else "si",
        status="in_force",
        identifier=identifier,
        **kw,
    )


INVENTED = [
    (
        _doc("ukpga/Eliz2/10-11/40", "Jamaica Independence Act 1962"),
        "section/1",
        "Jamaica Independence Act 1962, s 1",
    ),
    (
        _doc("ukpga/Vict/52-53/63", "Interpretation Act 1889"),
        "section/38/1",
        "Interpretation Act 1889, s 38(1)",
    ),
    (
        _doc("apni/1954/33", "Interpretation Act (Northern Ireland) 1954"),
        "section/47",
        "Interpretation Act (NI) 1954, s 47",
    ),
    (
        _doc("nisr/2022/7", "The Example Services Regulations (Northern Ireland) 2022"),
        "regulation/3/2",
        "Example Services Regulations (Northern Ireland) 2022, SR 2022/7, reg 3(2)",
    ),
    (
        _doc(
            "wsi/2024/1002",
            "The Education (Coordination of Admissions) (Wales) Regulations 2024",
            language="en",
            subsidiary_number="W 171",
        ),
        "regulation/2",
        "Education (Coordination of Admissions) (Wales) Regulations 2024, SI 2024/1002 (W 171), "
        "reg 2",
    ),
    (
        _doc("wsi/2031/5", "The Example (Wales) Order 2031"),
        "article/4",
        "Example (Wales) Order 2031, SI 2031/5, art 4",
    ),  # Welsh number unknown: left out
    (
        _doc(
            "nisi/1994/426", "The Airports (Northern Ireland) Order 1994", subsidiary_number="NI 1"
        ),
        "article/3",
        "Airports (Northern Ireland) Order 1994, SI 1994/426 (NI 1), art 3",
    ),
    (
        _doc("mwa/2008/2", "Learner Travel (Wales) Measure 2008"),
        None,
        "Learner Travel (Wales) Measure 2008 (nawm 2)",
    ),
    (
        _doc("mwa/2008/2", "Mesur Teithio gan Ddysgwyr (Cymru) 2008", language="cy"),
        None,
        "Mesur Teithio gan Ddysgwyr (Cymru) 2008 (mccc 2)",
    ),
    (
        _doc("anaw/2017/2", "Public Health (Wales) Act 2017"),
        "section/3",
        "Public Health (Wales) Act 2017 (anaw 2), s 3",
    ),
    (
        _doc("asp/2007/7", "Crofting Reform etc. Act 2007"),
        None,
        "Crofting Reform etc. Act 2007 (asp 7)",
    ),
    (
        _doc(
            "ssi/1999/176", "The Breeding of Dogs (Licensing Records) (Scotland) Regulations 1999"
        ),
        None,
        "Breeding of Dogs (Licensing Records) (Scotland) Regulations 1999, SSI 1999/176",
    ),
    (
        _doc(
            "uksi/2004/3166",
            "The Penalties for Disorderly Behaviour (Amendment of Minimum Age) Order 2004",
        ),
        "article/3",
        "Penalties for Disorderly Behaviour (Amendment of Minimum Age) Order 2004, "
        "SI 2004/3166, art 3",
    ),
    (
        _doc("ukdsi/2024/9780348259812", "The Draft Example Regulations 2024"),
        None,
        "Draft Example Regulations 2024",
    ),  # a draft has an ISBN, not an SI number
    (
        _doc(
            "eur/2016/679",
            "Regulation (EU) 2016/679 of the European Parliament and of the "
            "Council of 27 April 2016 on the protection of natural persons (Text with EEA "
            "relevance)",
        ),
        "article/6/1/e",
        "Regulation (EU) 2016/679 of the European Parliament and of the Council of 27 April 2016 "
        "on the protection of natural persons, art 6(1)(e)",
    ),
    (
        _doc("ukcm/2018/7", "Church of England (Miscellaneous Provisions) Measure 2018"),
        "section/2",
        "Church of England (Miscellaneous Provisions) Measure 2018, s 2",
    ),
]


@pytest.mark.parametrize(("doc", "pin", "expected"), INVENTED, ids=lambda v: str(v)[:40])
def test_invented_citations(doc, pin, expected):
    assert pins.oscola(doc, pin) == expected
    # the resolver gives the same string through its Instrument
    inst = Instrument.from_document(doc)
    assert pins.oscola(inst.to_document(), pin) == expected


def test_the_is_dropped_only_at_the_start_and_only_for_legislation():
    assert legislation.citation_title("The Theft Act 1968", "ukpga") == "Theft Act 1968"
    assert legislation.citation_title("Theft Act 1968", "ukpga") == "Theft Act 1968"
    guide = Document(id="g/x", title="The Green Book", doc_type="guidance", status="in_force")
    assert guide.cite_name == "The Green Book" and pins.oscola(guide, None) == "The Green Book"
    tupe = _doc(
        "uksi/2006/246", "The Transfer of Undertakings (Protection of Employment) Regulations 2006"
    )
    assert pins.oscola(tupe, "regulation/4/1") == (
        "Transfer of Undertakings (Protection of Employment) Regulations 2006, SI 2006/246, "
        "reg 4(1)"
    )
    assert pins.short_citation(tupe, "regulation/4/1") == (
        "Transfer of Undertakings (Protection of Employment) Regulations 2006 reg 4(1)"
    )


def test_citation_fields_round_trip_through_front_matter():
    doc = Document.from_front_matter(
        {
            "id": "wsi/2024/1002",
            "title": "X (Wales) Regulations 2024",
            "doc_type": "si",
            "status": "in_force",
            "identifier": "wsi/2024/1002",
            "language": "en",
            "subsidiary_number": "W 171",
        }
    )
    assert (doc.language, doc.subsidiary_number) == ("en", "W 171")
    assert Document.from_front_matter(doc.front_matter()) == doc
    assert "language" not in _doc("uksi/2006/246", "X").front_matter()


# --- paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "document", "pin"),
    [
        ("ukpga/1999/27/section/3/2", "ukpga/1999/27", "section/3/2"),
        ("ukpga/Geo6/6-7/48/part/1", "ukpga/Geo6/6-7/48", "part/1"),
        (
            "http://www.legislation.gov.uk/id/apgb/Geo3/39-40/14/section/2",
            "apgb/Geo3/39-40/14",
            "section/2",
        ),
        ("https://www.legislation.gov.uk/aep/Ann/6/11/1991-02-01/data.xml", "aep/Ann/6/11", ""),
        ("wsi/2024/1002/regulation/2/made/welsh", "wsi/2024/1002", "regulation/2"),
        (
            "asp/2025/11/part/1/crossheading/reviews/2025-08-07",
            "asp/2025/11",
            "part/1/crossheading/reviews",
        ),
    ],
)
def test_split_path(value, document, pin):
    assert legislation.split_path(value) == (document, pin)


@pytest.mark.parametrize(
    ("path", "regnal", "chapter"),
    [
        ("ukpga/Geo6/6-7/48", "6 & 7 Geo 6", "6 & 7 Geo 6 c 48"),
        ("apgb/Geo3/39-40/14", "39 & 40 Geo 3", "39 & 40 Geo 3 c 14"),
        ("aep/Ann/6/11", "6 Ann", "6 Ann c 11"),
        ("ukpga/1999/27", None, "1999 c 27"),
        ("asp/2023/5", None, None),
    ],
)
def test_regnal_years_and_chapters(path, regnal, chapter):
    parsed = legislation.parse_path(path)
    assert legislation.regnal_year(parsed) == regnal
    assert legislation.chapter_citation(parsed) == chapter


def test_every_type_code_is_known_to_the_resolver():
    registry = Registry.from_instruments(
        Instrument(f"{code}/2031/1", f"Example {code} Act 2031") for code in legislation.TYPES
    )
    for code in legislation.TYPES:
        found = resolve(f"https://www.legislation.gov.uk/{code}/2031/1/section/1", registry)
        assert found is not None and found.id == f"{code}/2031/1/section/1", code
        refs = find_citations(f"See {code}/2031/1/section/1.", registry)
        assert [r.id for r in refs] == [f"{code}/2031/1/section/1"], code


def test_unknown_regnal_url_names_the_instrument():
    body = unresolved("https://www.legislation.gov.uk/ukpga/Geo6/6-7/48/section/125")
    assert "ukpga/Geo6/6-7/48 is not a known instrument" in body["message"]


# --- the sources manifest ------------------------------------------------------------------


def _load(tmp_path: Path, entry: str):
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(f"sources:\n  - {entry}\n", encoding="utf-8")
    return load_manifest([manifest], Settings())


def test_manifest_takes_a_point_in_time_written_as_yaml_writes_dates(tmp_path):
    # `version: 2008-04-01`, unquoted as the README shows it, is a date to YAML.
    [source] = _load(
        tmp_path, "{id: a, kind: legislation, path: ukpga/1999/27, version: 2008-04-01}"
    )
    assert source.version == "2008-04-01"
    with pytest.raises(ManifestError, match="a value that looks like a date is not one"):
        _load(tmp_path, "{id: a, kind: legislation, path: ukpga/1999/27, version: 2008-13-45}")
    with pytest.raises(ManifestError, match="'version' must be one of"):
        _load(tmp_path, "{id: a, kind: legislation, path: ukpga/1999/27, version: 2008/04/01}")


@pytest.mark.parametrize(
    "path",
    [
        "ukpga/1999/27",
        "ukpga/Geo6/6-7/48",
        "apgb/Geo3/39-40/14",
        "aep/Ann/6/11",
        "asp/2023/5",
        "wsi/2024/1002",
        "nisr/2022/7",
        "eudr/2020/2089",
    ],
)
def test_manifest_accepts_calendar_and_regnal_paths(tmp_path, path):
    [source] = _load(tmp_path, f"{{id: a, kind: legislation, path: '{path}'}}")
    assert source.path == path
    assert source.url == f"https://www.legislation.gov.uk/{path}"


@pytest.mark.parametrize(
    "scope",
    [
        "part/I",
        "part/1",
        "part/1/chapter/2",
        "section/3A",
        "section/137-139",
        "schedule/8",
        "schedule/8/paragraph/5",
        "regulation/13A",
        "part/1/crossheading/reviews",
        "section/3/2/a",
        "schedule",
        "paragraph/p3",
    ],
)
def test_manifest_accepts_scope_shapes(tmp_path, scope):
    [source] = _load(
        tmp_path, f"{{id: a, kind: legislation, path: ukpga/1999/27, scope: [{scope}]}}"
    )
    assert source.scope == [scope]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("path: 'ukpga/Geo6/48'", "'ukpga/Geo6/6-7/48' (type/reign/session/number)"),
        ("path: 'ukpgaa/1999/27'", "'ukpgaa' is not a legislation.gov.uk type"),
        ("path: 'UKPGA/1999/27'", "type codes are lower-case ('ukpga')"),
        ("path: 'ukpga/1999/27/section/3'", "put 'section/3' in 'scope'"),
        ("path: 'ukpga/1999/27/enacted'", "not 'enacted'"),
        ("path: ukpga/1999/27, scope: [part one]", "'part one' does not start with a keyword"),
        ("path: ukpga/1999/27, scope: [part]", "needs a number after 'part'"),
        ("path: ukpga/1999/27, scope: [sectoin/3]", "'sectoin/3' does not start"),
        ("path: ukpga/1999/27, scope: ['section/three']", "needs a number after 'section'"),
        ("path: ukpga/1999/27, scope: ['section/3/(2)']", "'(2)' where a keyword"),
        ("path: ukpga/1999/27, scope: ['part/1//2']", "an empty step"),
    ],
)
def test_manifest_refuses_garbage_naming_the_entry(tmp_path, entry, problem):
    with pytest.raises(ManifestError) as caught:
        _load(tmp_path, f"{{id: old-act, kind: legislation, {entry}}}")
    message = str(caught.value)
    assert "source #1 (old-act)" in message and problem in message


def test_project_manifest_uses_legislation_gov_uk_part_numbers():
    from indexer.clml import in_scope
    from indexer.manifest import manifest_files

    root = Path(__file__).resolve().parents[1] / "corpus/sources/legislation.yaml"
    sources = {s.id: s for s in load_manifest(manifest_files(root), Settings())}
    assert sources["lga-1999"].scope == ["part/I"]  # as legislation.gov.uk writes LGA 1999 Pt I
    # and scope matching treats Roman and Arabic Part numbers alike
    assert in_scope("part/1/section/3", ["part/I"]) and in_scope("part/I", ["part/1"])
