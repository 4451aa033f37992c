"""The citation resolver on real-world citation strings (tests/fixtures/citations.tsv),
generated spelling variations, prose from the 2008 DCLG letter, and the `kb cite` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cite_cli import cite
from kb.core.cite import (
    DEFAULT_REGISTRY,
    CitationRef,
    Instrument,
    Registry,
    find_citations,
    name_key,
    resolve,
    unresolved,
)
from kb.core.cite_tokens import roman_to_int
from kb.core.models import Document

FIXTURE = Path(__file__).parent / "fixtures" / "citations.tsv"
LETTER = Path(__file__).resolve().parents[2] / "shared" / "seed" / "dclg-letter-2008-10-21.md"

LGA, LGPIHA, TUPE = "ukpga/1999/27", "ukpga/2007/28", "uksi/2006/246"


def _rows(mode: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, default, text, expected = line.split("\t")
        if kind == mode:
            rows.append((None if default == "-" else default, text, expected))
    return rows


RESOLVE_ROWS = _rows("resolve")
FIND_ROWS = _rows("find")


def test_fixture_is_large_and_balanced():
    assert len(RESOLVE_ROWS) + len(FIND_ROWS) >= 300
    assert len(FIND_ROWS) >= 40
    assert sum(1 for _, _, exp in RESOLVE_ROWS if exp == "UNRESOLVED") >= 25
    assert sum(1 for _, _, exp in FIND_ROWS if exp == "NONE") >= 8


@pytest.mark.parametrize(("default", "text", "expected"), RESOLVE_ROWS, ids=lambda v: str(v))
def test_resolve_fixture(default, text, expected):
    found = resolve(text, DEFAULT_REGISTRY, default)
    assert (found.id if found else "UNRESOLVED") == expected


@pytest.mark.parametrize(("default", "text", "expected"), FIND_ROWS, ids=lambda v: str(v))
def test_find_fixture(default, text, expected):
    refs = find_citations(text, DEFAULT_REGISTRY, default_instrument=default)
    assert [ref.id for ref in refs] == ([] if expected == "NONE" else expected.split(" | "))
    for ref in refs:  # spans point at the text they claim
        assert text[ref.start : ref.end] == ref.text and ref.text.strip() == ref.text


# --- generated variations -----------------------------------------------------------------

SECTION_WORDS = ["s", "s.", "S", "S.", "section", "Section", "sec.", "SECTION"]
LGA_NAMES = ["LGA 1999", "L.G.A. 1999", "lga 1999", "Local Government Act 1999", "1999 c. 27"]
SUB_FORMS = {"(2)": "/2", " (2)": "/2", "(2)(a)": "/2/a", " (2) (a)": "/2/a", "": ""}


def _section_variants():
    for word in SECTION_WORDS:
        for sub, pin_tail in SUB_FORMS.items():
            for name in LGA_NAMES:
                expected = f"{LGA}/section/3A{pin_tail}"
                yield f"{word} 3A{sub} {name}", expected
                yield f"{name}, {word} 3A{sub}", expected
                yield f"{word} 3A{sub} of the {name}", expected


@pytest.mark.parametrize(("text", "expected"), list(_section_variants()))
def test_section_variations(text, expected):
    found = resolve(text, DEFAULT_REGISTRY)
    assert found is not None and found.id == expected


REG_WORDS = ["reg", "reg.", "Reg", "regulation", "Regulation", "regs", "regulations"]
TUPE_NAMES = ["TUPE", "TUPE 2006", "SI 2006/246", "S.I. 2006/246", "tupe"]


@pytest.mark.parametrize("word", REG_WORDS)
@pytest.mark.parametrize("name", TUPE_NAMES)
@pytest.mark.parametrize("trail", ["", ".", ";", ")", " "])
def test_regulation_variations(word, name, trail):
    for text in (f"{word} 13(2)(a) {name}{trail}", f"{name}, {word} 13(2)(a){trail}"):
        found = resolve(text, DEFAULT_REGISTRY)
        assert found is not None and found.id == f"{TUPE}/regulation/13/2/a", text


SCHEDULE_FORMS = [
    "{sch} 8 {para} 5",
    "{sch} 8, {para} 5",
    "{para} 5 of {sch} 8 to the",
    "{para} 5, {sch} 8,",
]


@pytest.mark.parametrize("sch", ["Sch", "Sch.", "sch", "sched.", "Schedule", "schedule"])
@pytest.mark.parametrize("para", ["para", "para.", "paragraph", "Para"])
@pytest.mark.parametrize("form", SCHEDULE_FORMS)
def test_schedule_variations(sch, para, form):
    text = form.format(sch=sch, para=para) + " LGPIHA 2007"
    found = resolve(text, DEFAULT_REGISTRY)
    assert found is not None and found.id == f"{LGPIHA}/schedule/8/paragraph/5"


@pytest.mark.parametrize("dash", ["–", "—", "-", " – ", " to "])
def test_ranges_give_both_ends(dash):
    refs = find_citations(f"ss 3{dash}3A LGA 1999", DEFAULT_REGISTRY)
    assert [r.id for r in refs] == [f"{LGA}/section/3", f"{LGA}/section/3A"]


@pytest.mark.parametrize("scheme", ["https://", "http://", ""])
@pytest.mark.parametrize("www", ["www.", ""])
@pytest.mark.parametrize("id_", ["id/", ""])
@pytest.mark.parametrize(
    "tail", ["", "/", "/2008-04-01", "/data.xml", "/enacted", "/2008-04-01/data.xml"]
)
def test_url_variations(scheme, www, id_, tail):
    url = f"{scheme}{www}legislation.gov.uk/{id_}ukpga/1999/27/section/3/2{tail}"
    assert resolve(url, DEFAULT_REGISTRY).id == f"{LGA}/section/3/2"
    refs = find_citations(f"See {url}.", DEFAULT_REGISTRY)
    assert [r.id for r in refs] == [f"{LGA}/section/3/2"]


@pytest.mark.parametrize("id_", ["id/", ""])
@pytest.mark.parametrize("tail", ["", "/", "/1991-02-01", "/data.xml", "/enacted"])
def test_regnal_url_variations(id_, tail):
    reg = Registry.from_instruments(
        [Instrument("ukpga/Geo6/6-7/48", "Parliament (Elections and Meeting) Act 1943")]
    )
    url = f"https://www.legislation.gov.uk/{id_}ukpga/Geo6/6-7/48/section/125{tail}"
    found = resolve(url, reg)
    assert found.id == "ukpga/Geo6/6-7/48/section/125"
    assert found.citation == "Parliament (Elections and Meeting) Act 1943, s 125"
    assert found.url() == "https://www.legislation.gov.uk/ukpga/Geo6/6-7/48/section/125"
    assert [r.id for r in find_citations(f"See {url}.", reg)] == [found.id]
    assert resolve("s 125 of 6 & 7 Geo. 6 c. 48", reg).id == found.id
    assert resolve("section 125 of the 1943 Act", reg).id == found.id


@pytest.mark.parametrize(
    ("numeral", "number"),
    [("I", "1"), ("II", "2"), ("III", "3"), ("IV", "4"), ("V", "5"), ("IX", "9"), ("XIV", "14")],
)
def test_roman_parts_become_arabic(numeral, number):
    assert resolve(f"Part {numeral} LGA 1999", DEFAULT_REGISTRY).id == f"{LGA}/part/{number}"
    assert resolve(f"Pt {number} LGA 1999", DEFAULT_REGISTRY).id == f"{LGA}/part/{number}"


def test_roman_numerals():
    assert [roman_to_int(r) for r in ("I", "iv", "IX", "XXXIX")] == [1, 4, 9, 39]
    assert roman_to_int("L") is None and roman_to_int("IIII") is None and roman_to_int("") is None
    assert resolve("Part L LGA 1999", DEFAULT_REGISTRY).id == f"{LGA}/part/L"


@pytest.mark.parametrize(
    "text",
    ["section of the community", "regulations generally", "the 2031 Act", "s 3", "reg 13(2)"],
)
def test_negatives_without_default(text):
    assert resolve(text, DEFAULT_REGISTRY) is None
    assert find_citations(text, DEFAULT_REGISTRY) == []


# --- the 2008 letter ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def letter() -> str:
    if not LETTER.is_file():
        pytest.skip(
            f"the shared seed letter is not at {LETTER} (clone outside the team's machines)"
        )
    return LETTER.read_text(encoding="utf-8")


def test_letter_citations(letter):
    refs = find_citations(letter, DEFAULT_REGISTRY)
    cited = {ref.id for ref in refs}
    assert f"{LGPIHA}/section/138" in cited
    assert f"{LGA}/section/3" in cited
    assert TUPE in cited
    by_id = {ref.id: ref for ref in refs}
    assert by_id[f"{LGPIHA}/section/138"].text.startswith("Section 138 of the Local Government")
    assert by_id[f"{LGA}/section/3"].text == "section 3 of the Local Government Act 1999"
    assert any(r.text.endswith("Regulations (TUPE)") for r in refs if r.id == TUPE)
    # Nothing else in the letter is legislation: no stray pins
    assert all(ref.instrument in (LGA, LGPIHA, TUPE) for ref in refs)
    assert sum(1 for ref in refs if ref.pin) == 2


def test_letter_sentences_resolve_one_by_one(letter):
    for sentence in letter.replace("\n", " ").split(". "):
        for ref in find_citations(sentence, DEFAULT_REGISTRY):
            again = resolve(ref.text, DEFAULT_REGISTRY)
            assert again is not None and again.id == ref.id, ref.text


# --- models, registry and output ----------------------------------------------------------


def test_to_dict_oscola_and_short_citation():
    data = resolve("TUPE 2006 reg. 13(2)(a)", DEFAULT_REGISTRY).to_dict(in_index=True)
    assert data == {
        "ref": "TUPE 2006 reg. 13(2)(a)",
        "id": "uksi/2006/246/regulation/13/2/a",
        "citation": "Transfer of Undertakings (Protection of Employment) Regulations 2006, "
        "SI 2006/246, reg 13(2)(a)",
        "short_citation": "TUPE 2006 reg 13(2)(a)",
        "url": "https://www.legislation.gov.uk/uksi/2006/246/regulation/13/2/a",
        "in_index": True,
    }
    lga = resolve("section 3(2) of the Local Government Act 1999", DEFAULT_REGISTRY)
    out = lga.to_dict(False, base_url="http://localhost:9999/")
    assert out["citation"] == "Local Government Act 1999, s 3(2)"
    assert out["short_citation"] == "LGA 1999 s 3(2)"
    assert out["url"] == "http://localhost:9999/ukpga/1999/27/section/3/2"
    assert out["in_index"] is False
    sched = resolve("Sch 8 para 5 LGPIHA 2007", DEFAULT_REGISTRY)
    assert sched.citation == (
        "Local Government and Public Involvement in Health Act 2007, sch 8, para 5"
    )
    bare = resolve("LGA 1999", DEFAULT_REGISTRY).to_dict(False)
    assert bare["id"] == LGA and bare["citation"] == "Local Government Act 1999"


def test_unresolved_body_and_candidates():
    body = unresolved("s 3 Local Government Act 1998", DEFAULT_REGISTRY)
    assert body["error"] == "unresolved"
    assert "names no known instrument" in body["message"]
    assert [c["id"] for c in body["candidates"]][:1] == [LGA]
    assert unresolved("TUPEE 2006", DEFAULT_REGISTRY)["candidates"][0]["id"] == TUPE
    assert "names no instrument" in unresolved("s 3", DEFAULT_REGISTRY)["message"]
    assert unresolved("s 3", DEFAULT_REGISTRY)["candidates"] == []
    url = unresolved("https://www.legislation.gov.uk/ukpga/2010/15/section/149")
    assert "ukpga/2010/15" in url["message"]
    assert unresolved("zzzz qqqq", DEFAULT_REGISTRY)["candidates"] == []


def test_name_key_normalisation():
    assert name_key("the L.G.A., 1999") == "lga 1999"
    assert name_key("S.I. 2006 / 246") == "si 2006/246"
    assert name_key("Local Government & Public Involvement in Health Act 2007") == (
        "local government and public involvement in health act 2007"
    )
    assert name_key("1999 c. 27") == "1999 c 27"


def _doc(**kw) -> Document:
    meta = {"status": "in_force", **kw}
    return Document.from_front_matter(meta)


def test_registry_from_documents_and_manifest():
    docs = [
        _doc(
            id="ukpga/2010/15",
            title="Equality Act 2010",
            doc_type="act",
            identifier="ukpga/2010/15",
            aliases=["EqA 2010"],
        ),
        _doc(
            id="guidance/best-value-statutory-guidance",
            title="Best Value Statutory Guidance",
            doc_type="statutory_guidance",
            short_title="BVSG 2015",
            source_url="https://www.gov.uk/government/publications/best-value-statutory-guidance",
            published="2015-03-01",
        ),
    ]
    extra = [
        {
            "id": "ukpga/2011/20",
            "title": "Localism Act 2011",
            "short_title": "LA 2011",
            "aliases": ["Localism Act"],
            "identifier": "ukpga/2011/20",
        }
    ]
    reg = Registry.from_documents(docs, extra=extra)
    assert resolve("s 149 EqA 2010", reg).id == "ukpga/2010/15/section/149"
    assert resolve("Equality Act 2010, s 149(1)", reg).id == "ukpga/2010/15/section/149/1"
    assert resolve("s 149 EA 2010", reg).id == "ukpga/2010/15/section/149"  # derived acronym
    assert resolve("2010 c. 15, s 149", reg).id == "ukpga/2010/15/section/149"
    assert resolve("s 1 Localism Act", reg).id == "ukpga/2011/20/section/1"
    assert resolve("Localism Act 2011, s 1", reg).instrument.doc_type == "act"
    assert resolve("s 3 LGA 1999", reg).id == f"{LGA}/section/3"  # defaults included
    guide = resolve("paragraph 2.3 of the Best Value Statutory Guidance", reg)
    assert guide.id == "guidance/best-value-statutory-guidance/para/2.3"
    assert guide.to_dict(False)["url"].endswith("#para-2.3")
    without = Registry.from_documents(docs, include_defaults=False)
    assert resolve("s 3 LGA 1999", without) is None


def test_documents_override_defaults_and_merge_aliases():
    doc = _doc(
        id=LGA,
        title="Local Government Act 1999",
        doc_type="act",
        identifier=LGA,
        short_title="LGA99",
        aliases=["Best Value Act"],
    )
    reg = Registry.from_documents([doc])
    assert reg.get(LGA).short_title == "LGA99"
    assert resolve("s 3 Best Value Act", reg).short_citation == "LGA99 s 3"
    assert resolve("s 3 LGA 1999", reg).id == f"{LGA}/section/3"  # default alias kept


def test_ambiguous_derived_names_are_dropped():
    reg = Registry.from_instruments(
        [
            Instrument("ukpga/2000/1", "Local Authorities Act 2000"),
            Instrument("ukpga/2000/2", "Land Acquisition Act 2000"),
        ]
    )
    assert resolve("s 1 LAA 2000", reg) is None
    assert resolve("s 1 Land Acquisition Act 2000", reg).id == "ukpga/2000/2/section/1"


def test_default_instrument_accepts_id_or_instrument():
    inst = DEFAULT_REGISTRY.get(TUPE)
    for default in (TUPE, inst, "TUPE"):
        refs = find_citations("see regulation 4(1)", DEFAULT_REGISTRY, default_instrument=default)
        assert [r.id for r in refs] == [f"{TUPE}/regulation/4/1"]


def test_unknown_instrument_blocks_the_default():
    text = "section 188 of the Trade Union and Labour Relations (Consolidation) Act 1992"
    assert find_citations(text, DEFAULT_REGISTRY, default_instrument=TUPE) == []
    assert find_citations("Equality Act 2010, s 149", DEFAULT_REGISTRY, LGA) == []
    assert find_citations("s 3 of the 2031 Act", DEFAULT_REGISTRY, LGA) == []


def test_spans_cover_the_citation():
    text = "Read paragraph 5 of Schedule 8 to the 2007 Act now."
    [ref] = find_citations(text, DEFAULT_REGISTRY)
    assert isinstance(ref, CitationRef)
    assert ref.text == "paragraph 5 of Schedule 8 to the 2007 Act"
    assert (ref.start, ref.end) == (5, 5 + len(ref.text))
    first, second = find_citations("sections 3 and 3A of the LGA 1999", DEFAULT_REGISTRY)
    assert first.text == "sections 3" and second.text == "3A of the LGA 1999"


def test_models_are_frozen():
    ref = find_citations("s 3 LGA 1999", DEFAULT_REGISTRY)[0]
    with pytest.raises(AttributeError):
        ref.pin = "section/4"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        DEFAULT_REGISTRY.get(LGA).title = "x"  # type: ignore[misc]


# --- kb cite ------------------------------------------------------------------------------


def test_cli_json_resolved():
    result = CliRunner().invoke(cite, ["--json", "s 3(2) LGA 1999"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["id"] == f"{LGA}/section/3/2"
    assert data["citation"] == "Local Government Act 1999, s 3(2)"
    assert data["short_citation"] == "LGA 1999 s 3(2)"
    assert data["url"] == "https://www.legislation.gov.uk/ukpga/1999/27/section/3/2"
    assert data["in_index"] is False
    assert set(data) == {"ref", "id", "citation", "short_citation", "url", "in_index"}


def test_cli_uses_injected_lookup_and_registry():
    seen = []

    def in_index(passage_id):
        seen.append(passage_id)
        return True

    result = CliRunner().invoke(cite, ["--json", "reg 13 TUPE"], obj={"in_index": in_index})
    assert json.loads(result.output)["in_index"] is True
    assert seen == [f"{TUPE}/regulation/13"]
    reg = Registry.from_instruments([Instrument("ukpga/2010/15", "Equality Act 2010")])
    result = CliRunner().invoke(cite, ["--json", "s 149 EA 2010"], obj={"registry": reg})
    assert json.loads(result.output)["id"] == "ukpga/2010/15/section/149"


def test_cli_unresolved_exits_1():
    result = CliRunner().invoke(cite, ["--json", "s 3 Local Government Act 1998"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["error"] == "unresolved" and data["message"]
    assert data["candidates"][0]["id"] == LGA
    plain = CliRunner().invoke(cite, ["section of the community"])
    assert plain.exit_code == 1


def test_cli_human_line():
    result = CliRunner().invoke(cite, ["s138 LGPIHA 2007"])
    assert result.exit_code == 0
    assert "Local Government and Public Involvement in Health Act 2007, s 138" in result.output
    assert "ukpga/2007/28/section/138" in result.output
    assert "not in the index" in result.output
