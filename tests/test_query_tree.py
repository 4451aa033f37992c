"""The typed query tree against what it replaced: Whoosh's MultifieldParser reading a string.

The Whoosh engine compiles kb.core.query trees into whoosh.query objects itself. For a few
hundred queries (the judged queries, the tests' queries, and generated mixes of words,
phrases, wildcards, fields, AND/OR/NOT, brackets, stop words, "2.1", hyphenated words and
synonyms) the compiled query must be the very object the old parser made of the old string
(synonyms expanded as a string, as kb.core.synonyms did), compared node by node with the
parts Whoosh's own == leaves out (an Or's scale, a phrase's slop), so scores, ranks and
totals cannot have moved. The old parser and the old string rewriting live only here, as
the oracle.
"""

from __future__ import annotations

import random
import re
import urllib.parse
from pathlib import Path

import pytest
from whoosh import qparser
from whoosh import query as wq

from indexer.index.engine import SEARCH_FIELDS, SearchRequest
from indexer.index.plan import for_request
from indexer.index.whoosh_engine import _Compiler, make_schema
from kb.core import synonyms
from kb.core.query import Group, Or, Phrase, QueryError, Term, check, parse
from kb.core.words import STOP_WORDS

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = make_schema()


# --- The oracle: the old string path -------------------------------------------------------


def _old_parser(group):
    parser = qparser.MultifieldParser(list(SEARCH_FIELDS), SCHEMA, group=group)
    for plugin in (qparser.RangePlugin, qparser.BoostPlugin, qparser.EveryPlugin):
        parser.remove_plugin_class(plugin)
    return parser


OLD_ALL = _old_parser(qparser.AndGroup)
OLD_ANY = _old_parser(qparser.OrGroup.factory(0.9))

_PROTECTED = re.compile(r'"[^"]*"|\b\w+:\S+|\b(?:AND|OR|NOT)\b')
_GROUP_OF = {m.lower(): g for g in synonyms.GROUPS for m in g}
_MEMBER = re.compile(
    r"\b(?:" + "|".join(re.escape(m) for m in sorted(_GROUP_OF, key=len, reverse=True)) + r")\b",
    re.I,
)
_OPERATOR = re.compile(r"\b(?:AND|OR|NOT)\b|[():]")
_UNIT = re.compile(r'"[^"]*"|\S+')


def old_expand(q: str) -> str:
    def alternatives(match):
        group = _GROUP_OF[" ".join(match.group().lower().split())]
        return "(" + " OR ".join(f'"{m}"' if " " in m else m for m in group) + ")"

    pieces, last = [], 0
    for protected in _PROTECTED.finditer(q):
        pieces += [_MEMBER.sub(alternatives, q[last : protected.start()]), protected.group()]
        last = protected.end()
    return "".join(pieces) + _MEMBER.sub(alternatives, q[last:])


def old_explicit(typed: str) -> bool:
    return bool(_OPERATOR.search(re.sub(r'"[^"]*"', " ", typed)))


def old_exact_phrase(typed: str) -> str | None:
    words = typed.split()
    if len(words) < 2 or '"' in typed or "*" in typed or old_explicit(typed):
        return None
    return '"' + " ".join(words) + '"'


def old_units(typed: str) -> list[str]:
    if old_explicit(typed):
        return [typed]
    words = [w for w in _UNIT.findall(typed) if w.strip('"').lower() not in STOP_WORDS]
    return list(dict.fromkeys(words))[:8]


def shape(q: wq.Query):
    """Everything about a query object that scoring reads, as nested tuples."""
    parts = [type(q).__name__, getattr(q, "boost", 1.0)]
    if isinstance(q, wq.Or):
        parts += [q.scale, q.minmatch]
    if isinstance(q, wq.Phrase):
        parts += [q.fieldname, tuple(q.words), q.slop]
    elif hasattr(q, "fieldname"):
        parts += [q.fieldname, q.text]
    if isinstance(q, wq.Not):
        parts.append(shape(q.query))
    elif isinstance(q, wq.CompoundQuery):
        parts.append(tuple(shape(sub) for sub in q.subqueries))
    return tuple(parts)


# --- The queries --------------------------------------------------------------------------


def _judged() -> list[str]:
    lines = (ROOT / "eval" / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[1] for line in lines if line and not line.startswith("#")]


_IN_TESTS = (
    re.compile(r'search\(\w+, "([^"]+)"'),
    re.compile(r'"q": "([^"]+)"'),
    re.compile(r"[?&]q=([^&\"']+)"),
    re.compile(r'^    "([^"]+)",$', re.M),  # parametrised query lists
)


def _from_tests() -> list[str]:
    found = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in _IN_TESTS:
            found += [urllib.parse.unquote_plus(m) for m in pattern.findall(text)]
    return found


WORDS = [
    "duty", "consult", "the", "of", "to", "2.1", "s", "3", "hyphen-ated", "two-tier", "code",
    "TUPE", "tupe,", "best", "value", "LGA", "1999", "Local", "Government", "Act", "SoS",
    "outsourcing", "new", "joiners", "pension", "consulting", "employer's", "a", "union",
]  # fmt: skip
ATOMS = [
    '"duty to consult"', '"the"', '"best value"', '"2.1"', "consult*", "consult?ng",
    "type:act", "status:withdrawn", "title:tupe", "text:pension", "heading:staff",
    "doc:ukpga/2031/12", "cite:1999", "type:gui*",
]  # fmt: skip


def _generated(count: int = 300) -> list[str]:
    rng = random.Random(16)
    out = []
    while len(out) < count:
        tokens = []
        for _ in range(rng.randint(1, 6)):
            atom = rng.choice(WORDS) if rng.random() < 0.7 else rng.choice(ATOMS)
            if rng.random() < 0.15:
                atom = "NOT " + atom
            tokens.append(atom)
            if rng.random() < 0.25:
                tokens.append(rng.choice(["AND", "OR"]))
        if tokens[-1] in ("AND", "OR"):
            tokens.pop()
        if len(tokens) > 2 and rng.random() < 0.3:
            at = rng.randrange(len(tokens) - 1)
            tokens[at] = "(" + tokens[at]
            tokens[-1] += ")"
        out.append(" ".join(tokens))
    return out


def _checked(queries):
    seen = {}
    for q in queries:
        try:
            checked = check(q)
        except QueryError:
            continue
        seen.setdefault(checked.text, checked)
    return list(seen.values())


QUERIES = _checked(_judged() + _from_tests() + _generated())


def test_the_queries_cover_the_syntax():
    texts = [c.text for c in QUERIES]
    assert len(texts) > 300
    for needle in ("AND", "OR", "NOT", "(", '"', "*", "?", "doc_type:", "2.1", "-", "TUPE"):
        assert any(needle in t for t in texts), needle


# --- Compiling the tree is the old parse ---------------------------------------------------


def _expansion_moves_an_operator(text: str) -> bool:
    """Where the old string rewriting changed what an operator binds, the tree keeps the
    precedence typed (so these are not compared): it put a multi-word member in brackets
    even where an operator touched it ("best value OR x" became ("best value" ...) OR x, so
    OR no longer bound "value"), and cut a member from punctuation typed on it ("tupe, AND
    x" became (TUPE ...), AND x, so AND bound the comma, not TUPE)."""
    protected = [m.span() for m in _PROTECTED.finditer(text)]
    for match in _MEMBER.finditer(text):
        if any(start <= match.start() < end for start, end in protected):
            continue
        before, after = text[: match.start()], text[match.end() :]
        glued = (before[-1:] + after[:1]).strip()
        # the tokens either side of the one(s) the member is in
        near = before.rsplit(" ", 1)[0].split()[-1:] + after.split(" ", 1)[-1].split()[:1]
        if (" " in match.group() or glued) and any(_binds(t) for t in near):
            return True
    return False


def _binds(token: str) -> bool:
    return token in ("AND", "OR", "NOT")


@pytest.mark.parametrize("all_words", [True, False], ids=["all-words", "any-word"])
def test_compiled_tree_is_the_old_parse(all_words):
    old = OLD_ALL if all_words else OLD_ANY
    compile_ = _Compiler(SCHEMA, all_words)
    differ = [c.text for c in QUERIES if shape(compile_(c.tree)) != shape(old.parse(c.text))]
    assert not differ, differ[:5]


@pytest.mark.parametrize("all_words", [True, False], ids=["all-words", "any-word"])
def test_compiled_synonyms_are_the_old_expansion(all_words):
    old = OLD_ALL if all_words else OLD_ANY
    compile_ = _Compiler(SCHEMA, all_words)
    compared = [c for c in QUERIES if not _expansion_moves_an_operator(c.text)]
    assert sum(1 for c in compared if old_expand(c.text) != c.text) > 40
    differ = [
        c.text
        for c in compared
        if shape(compile_(synonyms.expand(c.tree))) != shape(old.parse(old_expand(c.text)))
    ]
    assert not differ, differ[:5]


def test_the_plan_is_the_old_phrase_units_and_explicitness():
    loose, strict = _Compiler(SCHEMA, False), _Compiler(SCHEMA, True)
    for c in QUERIES:
        found = for_request(SearchRequest(q=synonyms.expand(c.tree), typed=c.tree))
        assert found.explicit == old_explicit(c.text), c.text
        phrase = old_exact_phrase(c.text)
        assert (found.exact is None) == (phrase is None), c.text
        if phrase is not None:
            assert shape(strict(found.exact)) == shape(OLD_ALL.parse(phrase)), c.text
        units = [shape(OLD_ANY.parse(u)) for u in old_units(c.text)]
        assert [shape(loose(u)) for u in found.units] == units, c.text


# --- The tree itself ----------------------------------------------------------------------


def test_a_query_renders_back_as_typed():
    for c in QUERIES:
        assert parse(str(c.tree)) == c.tree, c.text


def test_precedence_not_then_and_then_or_then_side_by_side():
    tree = parse("a OR b AND NOT c d")
    (either, d) = tree.children
    assert d == Term("d")
    assert str(either) == "a OR b AND NOT c"
    assert either.children[0] == Term("a")
    assert str(either.children[1]) == "b AND NOT c"


def test_synonyms_expand_runs_of_words_and_leave_phrases_and_fields():
    tree = synonyms.expand(check('tupe, "TUPE" title:TUPE Local Government Act 1999').tree)
    first, phrase, field, act = tree.children
    assert first == Group((Or((Term("TUPE"), Phrase(("transfer", "of", "undertakings")))),))
    assert phrase == Phrase(("TUPE",)) and field == Term("TUPE", "title")
    assert str(act) == '("LGA 1999" OR "Local Government Act 1999")'
