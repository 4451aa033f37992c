"""Amendment links a lawyer can trust: the operative amending provision, the kind of change
and its date, from F notes (the amended side) and BlockAmendments (the amending side)."""

from __future__ import annotations

from indexer.clml import parse_clml
from indexer.links import amendments, collect
from indexer.passages import parse_document
from kb.core.cite import Registry
from tests.test_clml import anchor_attrs
from tests.test_clml_status import LIBRARY, MIRROR, real

REFORM = MIRROR / "ukpga/2036/3/enacted/data.xml"


def test_inserted_section_names_the_operative_provision_kind_and_date():
    _, body = parse_clml(LIBRARY.read_bytes())
    s5 = anchor_attrs(body, "section-5")
    # "S. 5 inserted (1.4.2037) by Example Reform Act 2036 (c. 3), ss. 12, 40(2);
    # S.I. 2037/15, reg. 2": s 12 is Operative; s 40(2) and the commencement SI are not
    assert s5["amended_by"] == "ukpga/2036/3/section/12"
    assert s5["amended_by_change"] == "inserted"
    assert s5["amended_by_date"] == "2037-04-01"
    assert "uksi/2037/15" not in body  # a commencement order never amends
    # a C note (modification) names nobody as amending
    assert "C1" in body


def test_amending_act_amends_the_target_named_in_it_or_one_level_up():
    _, body = parse_clml(REFORM.read_bytes())
    s12 = anchor_attrs(body, "section-12")
    assert s12["amends"] == "ukpga/2035/2/section/5" and s12["amends_change"] == "inserted"
    # "In section 4 of the … Act 2035— (a) after subsection (2) insert— (3) …"
    s13a = anchor_attrs(body, "section-13-a")
    assert s13a["amends"] == "ukpga/2035/2/section/4/3"
    assert s13a["amends_change"] == "inserted"
    assert "amends_date" not in s13a  # the amending text does not say when


def test_attribute_encoding_is_read_back_aligned():
    attrs = {
        "amended_by": "a/1 b/2 c/3",
        "amended_by_change": "inserted;words substituted;",
        "amended_by_date": "2008-02-01;;",
    }
    assert amendments(attrs, "amended_by") == [
        ("a/1", "inserted", "2008-02-01"),
        ("b/2", "words substituted", None),
        ("c/3", None, None),
    ]
    assert amendments({"amends": "x/1"}, "amends") == [("x/1", None, None)]  # old corpus files


def test_real_notes_operative_refs_only_never_commencement_or_self():
    _, body = real("ukpga-2000-8-schedule-6-paragraph-4A.xml")
    # "Sch. 6 para. 4A(6)(a) substituted (31.12.2020) by … (S.I. 2019/632), regs. 1(3),
    # 100(a); 2020 c. 1, Sch. 5 para. 1(1)": reg 100(a) only
    a = anchor_attrs(body, "schedule-6-paragraph-4A-6-a")
    paths = a["amended_by"].split()
    changes = dict(zip(paths, a["amended_by_change"].split(";"), strict=True))
    dates = dict(zip(paths, a["amended_by_date"].split(";"), strict=True))
    assert "uksi/2019/632/regulation/100/a" in paths
    assert changes["uksi/2019/632/regulation/100/a"] == "substituted"
    assert dates["uksi/2019/632/regulation/100/a"] == "2020-12-31"
    assert "uksi/2019/632/regulation/1/3" not in paths
    assert not any(p.startswith("ukpga/2020/1") for p in paths)
    # "… 100(c) (as inserted by S.I. 2019/1233, regs. 1(3), 5(d))": not the 2019/1233 one
    seven = anchor_attrs(body, "schedule-6-paragraph-4A-7")["amended_by"].split()
    assert "uksi/2019/632/regulation/100/c" in seven
    assert not any(p.startswith("uksi/2019/1233") for p in seven)


def test_real_repeal_notes_name_the_repealing_act_not_the_act_itself():
    _, body = real("ukpga-Geo6-6-7-48-1991-02-01.xml")
    s125 = anchor_attrs(body, "section-125")
    assert s125["status"] == "repealed"
    assert s125["amended_by"] == "ukpga/1948/65/schedule/13"
    assert s125["amended_by_change"] == "repealed"
    # "Words amend Meeting of Parliament Act 1797": s 34 amends, it is not amended
    assert "amended_by" not in anchor_attrs(body, "section-34")


def test_links_carry_the_kind_and_date_from_either_end():
    parsed = [parse_document(*parse_clml(p.read_bytes())) for p in (LIBRARY, REFORM)]
    registry = Registry.from_documents(item.document for item in parsed)
    maps = collect(parsed, registry)
    assert maps["amended_by"]["ukpga/2035/2/section/5"] == ["ukpga/2036/3/section/12"]
    assert maps["amends"]["ukpga/2036/3/section/12"] == ["ukpga/2035/2/section/5"]
    detail = maps["changes"]
    assert detail["amended_by"]["ukpga/2035/2/section/5"]["ukpga/2036/3/section/12"] == {
        "change": "inserted",
        "date": "2037-04-01",
    }
    # the amending side learns the date from the F note of the amended side
    assert detail["amends"]["ukpga/2036/3/section/12"]["ukpga/2035/2/section/5"] == {
        "change": "inserted",
        "date": "2037-04-01",
    }
    # known from the amending side only: the kind, no date
    assert detail["amends"]["ukpga/2036/3/section/13/a"]["ukpga/2035/2/section/4/3"] == {
        "change": "inserted",
        "date": None,
    }
