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


# --- What the tantivy engine indexes: stems_and_spellings, split by whitespace tokenizers ------

# Pieces of adversarial text: stop words in every case, words that start or end like one,
# stars, dots, digits, underscores, punctuation, white space of every kind, letters that
# lower() lengthens or changes, combining marks, numbers Python reads as word characters.
PIECES = [
    *("the", "The", "THE", "tHe", "a", "A", "an", "AND", "And", "is", "IT", "us", "Us", "tbd"),
    *("your", "YOU", "them", "thee", "th", "t", "andy", "ands", "as", "at", "it's", "yet"),
    *("*", "**", "*the", "the*", "a*b", ".", "..", "the.", ".the", "the.x", "x.the"),
    *("2.1", "1.2.3", "3.", "s.3(2)", "_", "the_", "_the", "__", "0", "42", "007"),
    *(",", ";", ":", "(", ")", "'", "’", "‘", "-", "–", "—", "/", "§", "£", "“", "”", "!"),
    *(" ", "  ", "\t", "\n", "\u00a0", "\u2003", "\u3000", "\u200b", "\u0085"),
    *("café", "CAFÉ", "naïve", "Straße", "İstanbul", "ǅemal", "ﬁnance", "ΑΣ", "σς"),
    *("e\u0301", "\u0301", "²", "½", "Ⅻ", "\u212a", "ſ", "Ÿ", "ŵ", "ŷ", "𝐀", "🙂"),
    *("duty", "Duties", "consulting", "transferring", "employer", "Act", "section"),
]


def adversarial_texts(count: int, seed: int = 17) -> list[str]:
    import random

    rng = random.Random(seed)
    glue = ["", "", " ", " ", ".", "*", "_", "-", "\n"]
    return [
        "".join(rng.choice(PIECES) + rng.choice(glue) for _ in range(rng.randint(1, 14)))
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    """Every searched text of the sample corpus and of the real legislation.gov.uk and GOV.UK
    items in ../shared (when present), as the project's own parsers make passages of them."""
    return [
        text for passage in _real_passages() for text in writing.indexed(passage).texts.values()
    ]


def _real_passages():
    import json

    from indexer.clml import CLMLError, parse_clml
    from indexer.corpus import read_document, select_corpus
    from indexer.passages import parse_document
    from indexer.sources.govuk import parse_content_item
    from tests.conftest import LEGISLATION_RESPONSES, SAMPLES, SHARED

    parsed = [(f.document, f.body) for f in map(read_document, select_corpus([SAMPLES]).paths)]
    for path in sorted(LEGISLATION_RESPONSES.glob("*.xml")):
        try:
            parsed.append(parse_clml(path.read_bytes()))
        except CLMLError:  # a table of contents, a feed: no document
            pass
    for path in sorted((SHARED / "reference" / "govuk-content").glob("*.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        parsed += parse_content_item(item, base_url="https://www.gov.uk")
    for document, body in parsed:
        yield from parse_document(document, body).passages


def _relative(tokens: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(word, pos - tokens[0][1]) for word, pos in tokens]


def _tantivy_tokens(text: str) -> list[tuple[str, int]]:
    """The (term, position) pairs the tantivy engine indexes for a searched text."""
    from indexer.index import tantivy_engine

    stems, _ = analysis.stems_and_spellings(text)
    tokens = tantivy_engine.words_tokenizer().pre_tokenize(stems).tokens
    return [(token.text, token.position) for token in tokens]


def test_tantivy_indexes_the_analysers_words_at_their_positions(texts, real_texts):
    """The same stems as Whoosh's analyser, each where it stands once stop words are left
    out (consecutive: a phrase means the same in both engines), on the benchmark's passages,
    the sample corpus, the real reference documents and thousands of adversarial strings."""
    every = texts + real_texts + adversarial_texts(5000)
    for text in every:
        expected = [(word, pos) for word, pos, _, _ in analysis.tokens(analysis.STEM, text)]
        assert _tantivy_tokens(text) == _relative(expected), text
    assert sum(not text.isascii() for text in every) > 1000  # the adversarial ones test Unicode


def test_real_texts_are_read(real_texts):
    """The real documents are there to compare (a whole corpus, not a handful of lines)."""
    from tests.conftest import SHARED

    if not (SHARED / "reference").is_dir():
        pytest.skip(f"shared reference documents not found at {SHARED}")
    assert len(real_texts) > 10_000
    assert any(not text.isascii() for text in real_texts)


def test_the_spelling_words_are_the_spell_analysers(texts, real_texts):
    """The "did you mean" field holds SPELL's words (and the short ones SPELL leaves out,
    which no suggestion can reach: only words of four letters or more are checked)."""
    from indexer.index import tantivy_engine

    tokenizer = tantivy_engine.words_tokenizer()
    for text in texts + real_texts + adversarial_texts(2000):
        _, spellings = analysis.stems_and_spellings(text)
        found = [word for word in tokenizer.analyze(spellings) if len(word) >= 3]
        assert found == [word for word, *_ in analysis.tokens(analysis.SPELL, text)], text


def test_a_text_of_stop_words_gives_no_words():
    assert analysis.stems_and_spellings("The AND of, to.") == ("", "")
    assert _tantivy_tokens("the") == []
    assert _tantivy_tokens("The duty to consult the users") == [
        ("duti", 0),
        ("consult", 1),
        ("user", 2),
    ]
