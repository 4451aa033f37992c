"""Instrument names found in text through kb.core.cite_names (only the names a stretch of the
text could spell are compiled) find exactly what one pattern of every name found, in a registry
of 400 invented instruments, however the names are punctuated, dotted or cased."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.core import cite
from kb.core.cite import Instrument, Registry, find_citations, resolve
from kb.core.cite_names import squash

WORDS = ["Regional", "Civic", "Waste", "Housing", "Grant", "Services", "Example", "Public"]
KINDS = [("Act", "ukpga", "act"), ("Regulations", "uksi", "si")]


def _instruments() -> list[Instrument]:
    found = []
    for i in range(400):
        first, second = WORDS[i % 8], WORDS[(i // 8) % 8]
        kind, code, doc_type = KINDS[i % 2]
        year = 2030 + i % 40
        title = f"{first} {second} (England) {kind} {year}" if i % 7 == 0 else None
        title = title or f"{first} and {second} {kind} {year}"
        found.append(
            Instrument(
                id=f"{code}/{year}/{i + 1}",
                title=title,
                doc_type=doc_type,
                identifier=f"{code}/{year}/{i + 1}",
                aliases=(f"{first[0]}{second[0]}{kind[0]} {year}/{i}",),
            )
        )
    return found


REGISTRY = Registry.from_instruments(_instruments())
NAMES = [REGISTRY._names[key] for key in REGISTRY._name_index.ordered]


@pytest.fixture(scope="module")
def oracle():
    """The scan as it was: one pattern of every name, longest key first."""
    alternatives = "|".join(cite._name_pattern(name) for name in NAMES)
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)

    each = [(re.compile(cite._name_pattern(n), re.I), n) for n in NAMES]

    def scan(text: str) -> list[tuple[int, int, str]]:
        out = []
        for match in pattern.finditer(text):
            inst = REGISTRY.lookup(match.group())
            for one, name in each if inst is None else ():
                if one.fullmatch(match.group()):
                    inst = REGISTRY.lookup(name)
                    break
            if inst:
                out.append((match.start(), match.end(), inst.id))
        return out

    return scan


SPACES = st.sampled_from([" ", "  ", ", ", ". ", " (", ") ", "-", "–", "", " & ", "/"])
LETTERS = {"s": "ſS", "k": "KK", "i": "ıİI"}  # what a case-insensitive match allows


@st.composite
def spelled(draw) -> str:
    """A name as someone might type it: gaps changed, a few letters re-cased (or as the
    letters a case-insensitive match takes for them: 'ſ' for 's'), a dot after one or none."""
    name = draw(st.sampled_from(NAMES))
    where = st.integers(0, len(name) - 1)
    changed = set(draw(st.lists(where, max_size=3)))
    dotted = draw(st.lists(where, max_size=1))
    out = []
    for i, ch in enumerate(name):
        if ch == " ":
            ch = draw(SPACES)
        elif ch.isalpha() and i in changed:
            ch = draw(st.sampled_from(LETTERS.get(ch.lower(), ch.swapcase())))
        out.append(ch + ("." if i in dotted else ""))
    return "".join(out)


GLUE = st.sampled_from(["", " ", "s 3 of the ", ", reg 4", "x", "1", ".", " and ", "(", "/"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(GLUE, spelled(), GLUE), min_size=1, max_size=3))
def test_names_found_are_those_one_pattern_of_every_name_finds(oracle, pieces):
    text = "".join(before + name + after for before, name, after in pieces)
    assert [(s, e, inst.id) for s, e, inst in REGISTRY.scan(text)] == oracle(text)


@pytest.mark.parametrize(("plain", "typed"), [("i", "ı"), ("i", "İ"), ("s", "ſ"), ("I", "ı")])
def test_letters_a_case_insensitive_match_allows_are_read_as_theirs(oracle, plain, typed):
    for name in NAMES[::20]:
        text = f"s 3 {name.replace(plain, typed)}, and {name.replace(plain, typed, 1)}"
        assert [(s, e, inst.id) for s, e, inst in REGISTRY.scan(text)] == oracle(text)
    assert resolve("s 3 Regıonal and Cıvıc Act 2038", REGISTRY).id == "ukpga/2038/9/section/3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s 3 Regional and Civic Act 2038", "ukpga/2038/9/section/3"),
        ("s 3 regional & civic act 2038", "ukpga/2038/9/section/3"),
        ("s 3 REGIONAL AND CIVIC ACT, 2038", "ukpga/2038/9/section/3"),
        ("reg 2 Civic and Regional Regulations 2031", "uksi/2031/2/regulation/2"),
        ("s 3 R.C.A. 2038/8", "ukpga/2038/9/section/3"),  # a dotted alias
        ("s 3 R.C.A 2038 / 8.", "ukpga/2038/9/section/3"),
        ("s 4 Regional Regional (England) Act 2030", "ukpga/2030/1/section/4"),
        ("s 4 Regional Regional Act 2030", "ukpga/2030/1/section/4"),
    ],
)
def test_names_resolve_in_a_large_registry(text, expected):
    found = resolve(text, REGISTRY)
    assert found is not None and found.id == expected


def test_a_name_inside_a_longer_word_is_not_found():
    assert find_citations("s 3 XRegional and Civic Act 2038", REGISTRY) == []
    assert find_citations("s 3 Regional and Civic Act 20381", REGISTRY) == []
    assert find_citations("", REGISTRY) == []


def test_the_year_act_is_the_one_act_of_that_year():
    one = Registry.from_instruments(_instruments()[:40])  # one Act of each even year 2030-2068
    assert resolve("s 5 of the 2032 Act", one).id == "ukpga/2032/3/section/5"
    assert resolve("s 5 of the 2032 Act", REGISTRY) is None  # 2032: several Acts


def test_squash_reads_as_a_key_does():
    assert squash("L.G.A., 1999") == "lga1999"
    assert squash("Waste & Housing") == "wasteandhousing"
    assert squash("Servİceſ – KK") == "serviceskk"
