"""The one highlighter (indexer/index/highlight.py) both engines call for a page of hits.

Whoosh's own highlighter made these highlights before; it is kept here, only here, as the
oracle: over the sample corpus and a generated one (long passages, many fragments), for the
judged queries, the parity queries and the benchmark's mix, each hit the Whoosh engine
returns must show exactly what Whoosh's highlighter made of it.
"""

from __future__ import annotations

import html

import pytest
from whoosh import query as wq
from whoosh.highlight import ContextFragmenter, Formatter, WholeFragmenter, get_text

from indexer.index import highlight, plan
from indexer.index.engine import SearchRequest
from indexer.index.highlight import SHORT_PASSAGE_CHARS, highlights
from indexer.index.whoosh_engine import WhooshEngine
from kb.core.config import PROJECT_ROOT
from kb.core.query import QueryError, parse
from kb.evaluate import read_qrels
from kb.search import make_request
from tests.conftest import generated_engine

QRELS = PROJECT_ROOT / "eval" / "qrels.tsv"
EXTRA = [
    "consult*",
    "consult* review",
    "procure* OR commission*",
    "t*",  # cut to the 64 most frequent words: only those are marked
    "emp?oyer",
    "heading:consultation",
    "body:pension staff",
    "title:regulations transfer",
    '"duty to consult"',
    '"terms and conditions" pension',
    "consult NOT unions",
    "(staff OR workforce) AND transfer",
    "TUPE",
    "s 3 LGA 1999",
    "zebra unions",
    "the duty of the authority",
    "2.1 28 days",
]


class _OracleFormatter(Formatter):
    """The Whoosh engine's formatter before the shared highlighter: text escaped, matches in
    <mark>."""

    between = " … "

    def _text(self, text):
        return html.escape(text, quote=False)

    def format_token(self, text, token, replace=False):
        return "<mark>" + html.escape(get_text(text, token, replace), quote=False) + "</mark>"


def _oracle(hit) -> tuple[str, str]:
    """What the Whoosh engine showed for a hit with Whoosh's highlighter."""
    text = hit["body"]
    hit.results.formatter = _OracleFormatter()
    short = len(text) <= SHORT_PASSAGE_CHARS
    hit.results.fragmenter = WholeFragmenter() if short else ContextFragmenter(240, 70)
    snippet = hit.highlights("body", top=2)
    hit.results.fragmenter = WholeFragmenter()
    heading = hit.highlights("heading")
    return snippet or highlight.lead(text), heading or html.escape(hit["heading"], quote=False)


def _queries() -> list[str]:
    from bench.queries import query_mix

    judged = [item.query for item in read_qrels(QRELS)]
    return list(dict.fromkeys(judged + [q.q for q in query_mix("x")] + EXTRA))


def _requests():
    for q in _queries():
        try:
            yield q, make_request({"q": q, "limit": 30})
        except QueryError:
            continue


def _compare(engine: WhooshEngine) -> int:
    """Every hit of every query, highlighted by the engine and by the oracle: the number of
    hits compared (each must agree)."""
    searcher = engine._searcher()
    compared = 0
    for q, request in _requests():
        results = engine.search(request).results
        if not results:
            continue
        scored, *_ = engine._queries(plan.for_request(request), searcher)
        ids = wq.Or([wq.Term("id", hit["id"]) for hit in results])
        oracle = {h["id"]: _oracle(h) for h in searcher.search(scored, limit=None, filter=ids)}
        for hit in results:
            assert (hit["snippet_html"], hit["heading_html"]) == oracle[hit["id"]], (q, hit["id"])
            compared += 1
    return compared


def test_highlights_are_whooshs_on_the_samples(whoosh_kb):
    assert _compare(whoosh_kb.current().engine) > 300


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    engine = generated_engine(tmp_path_factory, "whoosh")
    yield engine
    engine.close()


def test_highlights_are_whooshs_on_a_generated_corpus(generated):
    assert _compare(generated) > 1000


# --- The highlighter on its own ------------------------------------------------------------


def shown(q: str, expanded=None) -> tuple[str, str]:
    planned = plan.for_request(SearchRequest(q=q))
    return planned, plan.marks(planned, expanded or {})


def test_everything_is_escaped_and_only_query_words_are_marked():
    # Quotes need no escaping in element text; <, > and & always do.
    _, found = shown("script transfers")
    text = 'Transfers <script>alert("x")</script> & staff; a transfer.'
    snippet, heading = highlights(text, "<b>Transfer</b> & <i>scripts</i>", found)
    assert snippet == (
        '<mark>Transfers</mark> &lt;<mark>script</mark>&gt;alert("x")&lt;/'
        "<mark>script</mark>&gt; &amp; staff; a <mark>transfer</mark>."
    )
    assert (
        heading
        == "&lt;b&gt;<mark>Transfer</mark>&lt;/b&gt; &amp; &lt;i&gt;<mark>scripts</mark>&lt;/i&gt;"
    )


def test_words_are_matched_by_their_stems_and_stop_words_never_are():
    _, found = shown("consulting the employers")
    snippet, _ = highlights("The employer consults; consultation follows. Transferring", "", found)
    # Porter: consulting, consults, consultation -> consult; employers -> employer
    assert snippet == (
        "The <mark>employer</mark> <mark>consults</mark>; <mark>consultation</mark> follows. "
        "Transferring"
    )
    _, found = shown("transfers")
    assert highlights("Transferring a transfer", "", found)[0] == (
        "Transferring a <mark>transfer</mark>"  # Porter: transferring -> transferr
    )


def test_nothing_marked_shows_the_lead_and_the_heading_escaped():
    _, found = shown("pension")
    text = "word " * 100
    snippet, heading = highlights(text, "A & B", found)
    assert snippet == highlight.lead(text) and snippet.endswith(" …") and len(snippet) <= 242
    assert heading == "A &amp; B"


def test_words_under_not_are_never_marked():
    _, found = shown("consult OR NOT unions")
    snippet, _ = highlights("Consult the unions.", "", found)
    assert snippet == "<mark>Consult</mark> the unions."


def test_a_field_marks_only_that_field():
    _, found = shown("heading:consult body:pension")
    snippet, heading = highlights("Consult on the pension.", "Consult on the pension", found)
    assert snippet == "Consult on the <mark>pension</mark>."
    assert heading == "<mark>Consult</mark> on the pension"


def test_a_wildcard_marks_only_the_words_the_engine_let_it_stand_for():
    # The engine's expansions are indexed words (stems): "consider" is indexed as "consid".
    _, found = shown("cons*", {"body": {"consult", "consid"}})
    snippet, heading = highlights("Consult, consider, construct.", "Consult", found)
    assert snippet == "<mark>Consult</mark>, <mark>consider</mark>, construct."
    assert heading == "Consult"  # no expansion in the heading field


def test_a_long_passage_shows_two_fragments_around_its_matches():
    _, found = shown("pension tribunal")
    text = ("filler " * 60) + "the pension scheme " + ("filler " * 60) + "a tribunal " + "end " * 60
    snippet, _ = highlights(text, "", found)
    parts = snippet.split(" … ")
    assert len(parts) == 2
    assert "<mark>pension</mark>" in parts[0] and "<mark>tribunal</mark>" in parts[1]
    assert all(len(html.unescape(p)) <= 240 + 2 * 70 for p in parts)


def test_the_tree_decides_the_words_not_the_query_text():
    tree = parse("transfer")
    found = highlight.marks([tree, None])
    assert "transfer" in found["body"] and "transfer" in found["heading"]
    assert "unions" not in found["body"]


def _random_text(rng, words: list[str]) -> str:
    """Words of a passage, with long words, punctuation to escape and long runs between."""
    out = []
    for _ in range(rng.randint(5, 900)):
        roll = rng.random()
        if roll < 0.02:
            out.append("x" * rng.randint(40, 300))  # longer than a fragment's surround
        elif roll < 0.04:
            out.append(rng.choice(["&", "<b>", "R&D", "a>b", "s.3(2)", "2.1.", "..x.."]))
        else:
            out.append(rng.choice(words))
    return " ".join(out)


def test_fragments_are_whooshs_for_any_text():
    """The fragmenter skips runs of unmarked words by bisection: Whoosh's own highlighter
    (ContextFragmenter(240, 70), the two best fragments; WholeFragmenter for text shown whole)
    is the oracle, over random texts with long words, long gaps between matches, text to
    escape and words past CHAR_LIMIT."""
    import random

    from whoosh.highlight import highlight as whoosh_highlight

    from indexer.index import analysis

    rng = random.Random(17)
    words = "the consult consultation of pension staff a transfer tribunal and employer".split()
    texts = [_random_text(rng, words) for _ in range(400)]
    texts += ["pension " + "filler " * 6000 + "tribunal staff", "staff " * 7000]  # past 2**15
    compared = 0
    for text in texts:
        terms = set(rng.sample(["consult", "pension", "staff", "transfer", "tribun"], 2))
        expected = whoosh_highlight(
            text, terms, analysis.STEM, ContextFragmenter(240, 70), _OracleFormatter(), top=2
        )
        got = highlight.highlight(text, highlight.Marks(stems=terms), whole=False)
        assert got == expected, text[:200]
        whole = whoosh_highlight(
            text, terms, analysis.STEM, WholeFragmenter(), _OracleFormatter(), top=1
        )
        assert highlight.highlight(text, highlight.Marks(stems=terms), whole=True) == whole
        compared += bool(expected)
    assert compared > 300
