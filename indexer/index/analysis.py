"""The text analysis every engine shares: what a word of a passage or a query is indexed as.

One definition, Whoosh's analysers: words by Whoosh's RegexTokenizer pattern ("2.1" kept
whole), lowercased, Whoosh's stop words left out (kb.core.words), Porter stems. The Whoosh
engine's schema uses these analysers; the tantivy engine is handed the words they make, as
one string of stems (stems_and_spellings) that tantivy's whitespace tokenizer splits again:
the stems at consecutive positions, as index_words gives them. (tantivy's own "en_stem" is
Snowball English: it stems "transferring" to "transfer" and "employer" to "employ", which
Porter does not, so the two engines would match different passages; and its regex tokenizer,
which could skip the stop words and keep positions consecutive, costs ~0.3 µs a word, more
than this module's whole analysis.) "Did you mean" reads unstemmed words of three letters or
more (spell_analyzer).

The fast paths (index_words, marked_words, and for highlighting split_words and
written_stems) give exactly what the analysers give, in one regular-expression pass instead of
Whoosh's pipeline of generators (about 3x faster, which is most of a tantivy build and all of
highlighting); tests/test_analysis.py checks they agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from whoosh.analysis import StandardAnalyzer, StemmingAnalyzer

from kb.core.words import STOP_WORDS

# Whoosh's RegexTokenizer expression with its group made non-capturing, so findall gives words.
WORD = r"[\w\*]+(?:\.?[\w\*]+)*"
# The same words (the longest run of word characters with single dots inside it), written so
# Python's regular expressions try less: ~20% faster, which highlighting and builds feel.
WORD_RE = re.compile(r"[\w*]+(?:\.[\w*]+)*")
# Split on words, keeping them: text between words, a word, text between words, ..., so one
# pass gives the words and (by the lengths) where each starts and ends.
WORD_SPLIT = re.compile(f"({WORD_RE.pattern})")
# The same for ASCII text, ~15% faster (for ASCII characters \w is [A-Za-z0-9_] either way).
_WORD_SPLIT_ASCII = re.compile(f"({WORD_RE.pattern})", re.ASCII)
_WORD_ASCII = re.compile(WORD_RE.pattern, re.ASCII)


def split_words(text: str) -> list[str]:
    """WORD_SPLIT.split(text): text between words, a word, ..., text between words."""
    return (_WORD_SPLIT_ASCII if text.isascii() else WORD_SPLIT).split(text)


def stemming_analyzer() -> StemmingAnalyzer:
    """Stemmed words, for every searched text field. minsize=1 keeps section numbers ("3",
    "a") searchable."""
    return StemmingAnalyzer(minsize=1, stoplist=STOP_WORDS)


def spell_analyzer() -> StandardAnalyzer:
    """Unstemmed words of three letters or more, for "did you mean"."""
    return StandardAnalyzer(minsize=3, stoplist=STOP_WORDS)


STEM = stemming_analyzer()
SPELL = spell_analyzer()


def _parts(analyzer) -> dict[str, Any]:
    return {type(item).__name__: item for item in analyzer.items}


STOPS: frozenset[str] = frozenset(_parts(STEM)["StopFilter"].stops)
SPELL_STOPS: frozenset[str] = frozenset(_parts(SPELL)["StopFilter"].stops)


def _memo(fn):
    """The stemmer with an unbounded dict cache: a corpus has a few tens of thousands of words."""
    cache: dict[str, str] = {}

    def stem(word: str) -> str:
        found = cache.get(word)
        if found is None:
            found = cache[word] = fn(word)
        return found

    return stem


stem = _memo(_parts(STEM)["StemFilter"].stemfn)


_WRITTEN: dict[str, str] = {}  # a word as written in a text -> written_stems' answer
_SPELT: dict[str, str] = {}  # a word as written in a text -> written_spellings' answer
WRITTEN_LIMIT = 500_000  # words as written remembered (a corpus has a few tens of thousands)


def written_stems(words: list[str]) -> list[str]:
    """The stem STEM reads each word of a text as (words as WORD_RE finds them, not yet
    lowercased), "" for a stop word: marked_words' stems."""
    return _read_all(words, _WRITTEN, _stem_of)


def written_spellings(words: list[str]) -> list[str]:
    """Each word lowercased, "" for one of SPELL_STOPS: the words the tantivy engine's "did
    you mean" field indexes (words as WORD_RE finds them)."""
    return _read_all(words, _SPELT, _spelling_of)


def _stem_of(word: str) -> str:
    lowered = word.lower()
    return "" if lowered in STOPS else stem(lowered)


def _spelling_of(word: str) -> str:
    lowered = word.lower()
    return "" if lowered in SPELL_STOPS else lowered


def _read_all(words: list[str], known: dict[str, str], read: Callable[[str], str]) -> list[str]:
    """read(word) for each word, remembered in known (up to WRITTEN_LIMIT words)."""
    try:  # most words of a passage have been read before
        return list(map(known.__getitem__, words))
    except KeyError:
        pass
    # This text's words in a dict of its own: another thread may clear the shared one.
    found = {word: known.get(word) for word in set(words)}
    for word, value in found.items():
        if value is None:
            found[word] = read(word)
    if len(known) + len(found) > WRITTEN_LIMIT:
        known.clear()
    known.update(found)
    return list(map(found.__getitem__, words))


def tokens(analyzer, text: str, removestops: bool = True) -> list[tuple[str, int, int, int]]:
    """(word, position, start, end) of each token, by the Whoosh analyser itself (Whoosh
    reuses one Token, so each is copied now). With removestops=False, stop words are kept
    (as context) with word ""."""
    return [
        ("" if t.stopped else t.text, t.pos, t.startchar, t.endchar)
        for t in analyzer(text, positions=True, chars=True, removestops=removestops)
    ]


def query_words(text: str) -> list[str]:
    """The indexed words (stems) a word or phrase of a query stands for, stop words left out."""
    return list(_query_words(text))


@functools.lru_cache(maxsize=4096)
def _query_words(text: str) -> tuple[str, ...]:
    # A search reads each of its words several times (each reading compiled, the rank
    # groups, the highlights).
    return tuple(word for word, _ in index_words(text))


def wildcard(pattern: str) -> str:
    """A wildcard of a query as the indexed words are matched against it, as Whoosh's query
    parser read it: lowercased and stemmed as one word, a plain prefix (one trailing *)
    without its star, so "procure*" is "procur*" and finds "procurement" (indexed as
    "procur"). A stop word is not stemmed."""
    lowered = pattern.lower()
    if len(lowered) > 1 and "?" not in lowered and lowered.find("*") == len(lowered) - 1:
        return _stemmed(lowered[:-1]) + "*"
    return _stemmed(lowered)


def _stemmed(word: str) -> str:
    return word if word in STOPS else stem(word)


def wildcard_regex(processed: str) -> str:
    """The regular expression a processed wildcard's words match in full (* any letters, ?
    one)."""
    return re.escape(processed).replace(r"\*", ".*").replace(r"\?", ".")


def index_words(text: str) -> list[tuple[str, int]]:
    """(stem, position) of each word STEM indexes: stop words go and later positions close
    up, as Whoosh's StopFilter renumbers them."""
    lowered = text.lower()
    if len(lowered) == len(text):  # one lower() for the whole text, when lengths allow
        words = WORD_RE.findall(lowered)
    else:
        words = [word.lower() for word in WORD_RE.findall(text)]
    kept = [word for word in words if word not in STOPS]
    if not kept:
        return []
    first = words.index(kept[0])
    return [(stem(word), pos) for pos, word in enumerate(kept, first)]


def stems_and_spellings(text: str, spellings: bool = True) -> tuple[str, str]:
    """What the tantivy engine is handed for a text, each for its whitespace tokenizer: the
    stems index_words gives, space-separated (indexed at consecutive positions, as they
    stand once stop words are left out; no stem holds white space, each being made of word
    characters, "*" and "."), and the words written_spellings gives ("did you mean"; ""
    unless spellings)."""
    words = words_of(text)
    stems = " ".join(filter(None, written_stems(words)))
    return stems, " ".join(filter(None, written_spellings(words))) if spellings else ""


def words_of(text: str) -> list[str]:
    """WORD_RE.findall(text)."""
    return (_WORD_ASCII if text.isascii() else WORD_RE).findall(text)


def marked_words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, stem) of every word of text as STEM reads it for highlighting (stop
    words kept, as context, with stem ""): Whoosh's analyser with removestops=False."""
    found = []
    for match in WORD_RE.finditer(text):
        word = match.group().lower()
        found.append((match.start(), match.end(), "" if word in STOPS else stem(word)))
    return found
