"""The shared analysis (indexer/index/analysis.py) and what every engine indexes for a passage
(indexer/index/writing.py)."""

from __future__ import annotations

import pytest

from indexer.index import analysis, writing
from indexer.index.engine import SEARCH_FIELDS

TOKEN_TEXTS = [
    "The duty to consult",
    "a an the",
    "",
    "e-mail s.3(2) 1.2.3 café NAÏVE don't",
    "*wild*",
    "İstanbul ǅemal Straße ﬁnance",  # lower() changes the length or the letters
    "under_score a.b. ..x.. 3.  2.1.",
    "The THE the. It is; it was — and so on, to the end",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    from bench.corpus import generate

    _, passages = generate(300)
    found = list(TOKEN_TEXTS)
    for passage in passages:
        found += [passage.text, passage.heading, passage.title, passage.citation]
    return found


def test_the_word_pattern_is_whooshs_tokenizer():
    tokenizer = analysis._parts(analysis.STEM)["RegexTokenizer"]
    # The same pattern as Whoosh's tokenizer, its group made non-capturing for findall.
    assert analysis.WORD.replace("(?:", "(") == tokenizer.expression.pattern


def test_index_words_are_the_analysers_word_for_word(texts):
    """The build's one-pass tokenizer indexes exactly what Whoosh's analyser produces."""
    for text in texts:
        expected = [(word, pos) for word, pos, _, _ in analysis.tokens(analysis.STEM, text)]
        assert analysis.index_words(text) == expected, text


def test_marked_words_are_the_analysers_with_stop_words_kept(texts):
    """What highlighting reads: every word with its characters, stop words as context."""
    for text in texts:
        expected = [
            (start, end, word)
            for word, _, start, end in analysis.tokens(analysis.STEM, text, removestops=False)
        ]
        assert analysis.marked_words(text) == expected, text


def test_the_faster_word_pattern_finds_whooshs_words(texts):
    """WORD_RE (and split_words, by which highlighting reads words and where they are) is a
    rewriting of Whoosh's pattern: the same words at the same places, for every text."""
    import itertools
    import re

    whoosh = re.compile(analysis.WORD)
    short = ["".join(chars) for n in range(1, 6) for chars in itertools.product("a.* é_", repeat=n)]
    for text in texts + short:
        spans = [m.span() for m in whoosh.finditer(text)]
        assert [m.span() for m in analysis.WORD_RE.finditer(text)] == spans, text
        parts = analysis.split_words(text)
        assert parts[1::2] == whoosh.findall(text), text
        assert "".join(parts) == text


def test_written_stems_are_the_stems_highlighting_reads(texts):
    for text in texts:
        words = analysis.WORD_RE.findall(text)
        assert analysis.written_stems(words) == [stem for *_, stem in analysis.marked_words(text)]


def test_query_words_are_stems_without_stop_words():
    assert analysis.query_words("Consulting") == ["consult"]
    assert analysis.query_words("the") == []
    assert analysis.query_words("s.3 transfers") == ["s.3", "transfer"]


def test_a_passage_is_indexed_with_every_search_field_and_its_record():
    from bench.corpus import generate

    _, passages = generate(30)
    for passage in passages:
        found = writing.indexed(passage)
        assert tuple(found.texts) == SEARCH_FIELDS
        assert found.record["text"] == passage.text and found.record["id"] == passage.id
        assert "url" not in found.record  # pages are addressed by the app (url_for)
        assert found.terms["id"] == (passage.id,)
        assert found.prelim is (not passage.operative)


def test_holders_are_split_stripped_and_listed_once():
    from kb.core.models import Passage

    base = dict(id="x", document_id="x", pin="x", anchor="x", label="", title="", heading="",
                citation="", short_citation="", source_url=None, status_date=None,
                text="", order=0, status="in_force", doc_type="act")  # fmt: skip
    passage = Passage(**base, holders=["employer, authority", "employer", " "])
    assert writing.holders_of(passage) == ["employer", "authority"]
    assert writing.indexed(passage).terms["holder"] == ("employer", "authority")
