"""The tantivy engine: the Whoosh engine's API and results, fast enough for 100k+ passages.

Same fields, same query syntax, same ranking as indexer/index/whoosh_engine.py (the reference):

- Text is analysed by the shared analyser (indexer/index/analysis: Porter stemming, the stop
  words, "2.1" kept whole), so both engines index the same words, and handed to tantivy as a
  string of stems that its whitespace tokenizer splits (words_tokenizer): the stems at
  consecutive positions, as Whoosh's StopFilter leaves them. The "did you mean" field gets
  the unstemmed words the same way. A plain string is cheap to hand over
  (pre-tokenised text cost a Python object per word), and tantivy indexes it on its own
  thread while Python reads the next passage.
- BM25 per field, summed over fields, made to score as Whoosh's BM25F does: field boosts
  (title 3, names 2.5, heading 2, cite_text 1.5) scale term frequency as in Whoosh (see
  FIELD_COPIES) and each term is boosted by Whoosh's idf over tantivy's. Scores agree with
  Whoosh's to within about 1% on the samples (length norms are quantised differently).
- The rank factor (indexer.index.ranking.rank_factor) multiplies every score exactly: tantivy's
  ``weight_by_field`` multiplies a score by log2(2 + w) for a fast field w, so each passage
  stores w = 2 ** (RANK_SCALE * factor) - 2 and scores are divided by RANK_SCALE again.
  No re-ranking of a candidate set is needed, so paging and totals are exact.
- The query tree (parsed and checked by kb.core.query with Whoosh's precedence, maybe
  expanded by kb.core.synonyms) is analysed here with the shared analyser and compiled, and
  the trees run are those of indexer/index/plan.py, as in Whoosh, so a query means the same
  in both engines.
- Rank groups (indexer.index.ranking.group_order) order the page: one search over the top
  hits reads which words as typed each has, and the page is those hits reordered when no
  other match can rank above the worst of them; else each group is ranked on its own.
- Facets are tantivy terms aggregations over every match (not just the page); a facet with a
  filter of its own is counted without it (indexer.index.engine.FACET_FILTERS), one more
  aggregation. In a large index they are counted on a second thread while the first ranks
  (tantivy releases the GIL while it searches and aggregates).
- Highlights are indexer/index/highlight's, given the words each wildcard stood for here.
- "Did you mean": tantivy has no speller, so a fuzzy term query over an unstemmed "spell"
  field finds passages containing words within 1 (short words) or 2 edits; the candidate
  words are read from those passages and the most frequent one wins (plan.closest), as in
  Whoosh.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import math
import operator
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Query

from indexer.index import analysis, plan, ranking, writing
from indexer.index.engine import (
    FACETS,
    FIELD_BOOSTS,
    MAX_PREFIX_TERMS,
    SEARCH_FIELDS,
    Deadline,
    SearchRequest,
    SearchResponse,
    cap_expansion,
    filter_values,
    filtered_facets,
    truncated_prefix,
)
from kb.core.models import CURRENT_STATUSES, Passage
from kb.core.query import And, Group, Node, Not, Or, Phrase, QueryError, Wildcard

TEXT_FIELDS = SEARCH_FIELDS
# Whoosh applies a field boost to the term frequency (weight = tf x boost) before BM25
# saturates it, so a title match counts ~1.6x a body match, not 3x. Tantivy cannot weight
# frequencies, so a field is indexed FIELD_COPIES times (tf and length both scale, so the
# length normalisation is unchanged) and a query boost corrects the non-integer boosts:
# exact for one occurrence in a field of average length, the usual case for these fields.
K1 = 1.2
FIELD_COPIES = {name: math.ceil(boost) for name, boost in FIELD_BOOSTS.items()}


def _saturated(tf: float) -> float:
    return tf * (K1 + 1) / (tf + K1)


QUERY_BOOSTS = {
    name: _saturated(FIELD_BOOSTS[name]) / _saturated(FIELD_COPIES[name]) for name in TEXT_FIELDS
}
KEYWORD_FIELDS = ("id", "document_id", "doc_type", "status", "duty", "holder", "extent", "stale")
RECORD = "record"  # the passage's stored fields as JSON, read back by _record()
# Scores are multiplied by log2(2 + w); w = 2 ** (RANK_SCALE * factor) - 2 turns that into
# RANK_SCALE * factor, exact for any factor >= 1 / RANK_SCALE (factors run 0.084 .. 1.0).
RANK_SCALE = 16.0
FACET_BUCKETS = 10_000  # buckets per facet: every document id of a large corpus
SUGGEST_DOCS = 64  # passages read for candidate spellings
_DECODE = json.JSONDecoder().raw_decode
# A terms bucket as (value, passages): tantivy gives the value as a str, the count as an int.
_BUCKET = operator.itemgetter("key", "doc_count")
_COUNT = operator.itemgetter("doc_count")
MATCHED = "kb_matched"  # the aggregation counting the passages counted (not a facet)
FEW_TERMS = 32  # values a filter matches as one term query each (_term_set)
# From this many passages the facet counts (a pass over every match) take long enough to be
# worth a second thread beside the ranked pass: ~1.5 ms at 100,000 passages, ~15 ms at
# 1,000,000 (bench/profiles). Below it the hand-over would cost more than it saves (at 10,000
# passages, ~0.25 ms of counts: 0.15 ms better with the second core idle, 0.06 ms worse with
# it busy).
PARALLEL_FROM = 50_000
COUNT_WORKERS = 8  # threads counting facets at once, across searches (kb serve's threads)


SPELL_TOKENIZER = "kb_spell"  # the "did you mean" field: analysis.stems_and_spellings
STEMS_TOKENIZER = "kb_stems"  # the searched text fields: analysis.stems_and_spellings


def words_tokenizer() -> tantivy.TextAnalyzer:
    """Both tokenizers: words made in Python (analysis.stems_and_spellings), space-separated,
    each a token at consecutive positions.

    - The stems: the words analysis.STEM indexes, where they stand once the stop words are
      left out (Whoosh's StopFilter closes positions up, and phrases rely on it; tantivy's
      stop filter would leave gaps).
    - The spelling words: analysis.SPELL's words, unstemmed (words under SPELL's three letters
      are kept, but never matter: only words of four letters or more are checked, within one
      or two edits). Made in Python, which reads the words of a text anyway, not by a tantivy
      regex tokenizer (~0.3 µs a word in Rust)."""
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def make_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, tokenizer_name="raw", fast=name != "id")
    for name in TEXT_FIELDS:  # analysed in Python (analysis.STEM), split by words_tokenizer
        builder.add_text_field(name, tokenizer_name=STEMS_TOKENIZER)
    builder.add_text_field("spell", tokenizer_name=SPELL_TOKENIZER, index_option="freq")
    builder.add_float_field("rank_w", fast=True)
    builder.add_integer_field("valid_from_n", indexed=True, fast=True)
    builder.add_integer_field("valid_to_n", indexed=True, fast=True)
    builder.add_text_field("version", tokenizer_name="raw")  # as Whoosh's: current, historical
    builder.add_text_field("prelim", tokenizer_name="raw")  # "true": not operative text
    builder.add_integer_field("order", fast=True)
    builder.add_bytes_field(RECORD, stored=True)
    return builder.build()


def _rank_weight(factor: float) -> float:
    factor = max(factor, 1.0 / RANK_SCALE)
    return max(2.0 ** (RANK_SCALE * factor) - 2.0, 0.0)


def write_index(
    path: Path, passages: Iterable[Passage], progress: Callable[[int], None] | None = None
) -> int:
    """Write every passage into a new tantivy index at path; returns the number written."""
    path.mkdir(parents=True, exist_ok=True)
    ix = tantivy.Index(make_schema(), path=str(path), reuse=False)
    register_tokenizers(ix)
    # One thread keeps passages in corpus order, so ties rank as they do in Whoosh; it
    # indexes (in Rust) while Python makes the next passage's fields.
    writer = ix.writer(heap_size=256_000_000, num_threads=1)
    analysed = _Analysed()

    def commit() -> None:
        writer.commit()
        writer.wait_merging_threads()

    def add(passage: writing.IndexedPassage) -> None:
        writer.add_document(_document(passage, analysed))

    return writing.write_all(passages, add, progress, commit, writer.rollback)


def register_tokenizers(ix: tantivy.Index) -> None:
    for name in (SPELL_TOKENIZER, STEMS_TOKENIZER):
        ix.register_tokenizer(name, words_tokenizer())


class _Analysed:
    """analysis.stems_and_spellings of a field's text, remembered for the fields that repeat
    across a document's passages (title, names, heading, citation); a passage's body is
    analysed afresh."""

    LIMIT = 50_000

    def __init__(self):
        self.seen: dict[tuple[bool, str], tuple[str, str]] = {}

    def __call__(self, name: str, text: str) -> tuple[str, str]:
        """(stems, spelling words: "" but for writing.SPELL_FIELDS)."""
        if name == "body":
            return analysis.stems_and_spellings(text)
        spelt = name in writing.SPELL_FIELDS
        key = (spelt, text)
        found = self.seen.get(key)
        if found is None:
            if len(self.seen) > self.LIMIT:
                self.seen.clear()
            found = self.seen[key] = analysis.stems_and_spellings(text, spelt)
        return found


def _document(passage: writing.IndexedPassage, analysed: _Analysed) -> tantivy.Document:
    """The passage as tantivy fields: each term value, each text field's stems FIELD_COPIES
    times, the spelling words, the rank weight, the numbers and the stored record as JSON."""
    doc = tantivy.Document()
    for name, values in passage.terms.items():
        for value in values:
            doc.add_text(name, value)
    read = {name: analysed(name, text) for name, text in passage.texts.items()}
    for name, (stems, _) in read.items():
        for _ in range(FIELD_COPIES[name]):
            doc.add_text(name, stems)
    # passage.spell's words: those of SPELL_FIELDS' texts (no word spans the joining space).
    doc.add_text("spell", " ".join([read[name][1] for name in writing.SPELL_FIELDS]))
    doc.add_float("rank_w", _rank_weight(passage.rank))
    for name, number in passage.numbers.items():
        doc.add_integer(name, number)
    if passage.prelim:
        doc.add_text("prelim", "true")
    doc.add_bytes(RECORD, json.dumps(passage.record).encode("utf-8"))
    return doc


# --- The query tree (kb.core.query), analysed ----------------------------------------------
#
# The tree is analysed into a small tree of tuples, compared to decide whether the all-words
# and any-words readings differ (as WhooshEngine compares its two compiled queries):
#   ("term", field, stem)  ("phrase", field, ((pos, stem), ...))  ("wild", field, regex)
#   ("and", (children,))   ("or", (children,))   ("not", child)
# field None means the default fields (title, names, heading, body, cite_text). Words side
# by side (a Group), and a word the analyser splits in several, are `default`: "and" for the
# strict reading, "or" for the relaxed one. Stop words drop out, as in Whoosh.


@functools.lru_cache(maxsize=4096)
def _analysed(node: Node, default: str):
    """The tree analysed (_analyse), remembered: trees are frozen and their analysis depends
    on nothing else, and the same queries (and words as typed) come again and again."""
    return _analyse(node, default)


def _analyse(node: Node, default: str):
    if isinstance(node, Group):
        return _group(default, [_analyse(child, default) for child in node.children])
    if isinstance(node, And | Or):
        kind = "and" if isinstance(node, And) else "or"
        return _group(kind, [_analyse(child, default) for child in node.children])
    if isinstance(node, Not):
        inner = _analyse(node.child, default)
        return None if inner is None else ("not", inner)
    if isinstance(node, Phrase):
        return _phrase(node.field, " ".join(node.words))
    if isinstance(node, Wildcard):
        return _wildcard(node.field, node.pattern)
    if node.field in KEYWORD_FIELDS:
        return ("term", node.field, node.word)
    stems = analysis.query_words(node.word)
    return _group(default, [("term", node.field, stem) for stem in stems])


def _group(kind: str, items: list):
    flat = []
    for item in items:
        if item is None:
            continue
        flat.extend(item[1] if item[0] == kind else [item])
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else (kind, tuple(flat))


def _phrase(field: str | None, text: str):
    if field in KEYWORD_FIELDS:
        return ("term", field, text)
    tokens = analysis.index_words(text)
    if not tokens:
        return None
    if len(tokens) == 1:
        return ("term", field, tokens[0][0])
    first = tokens[0][1]
    return ("phrase", field, tuple((pos - first, word) for word, pos in tokens))


def _wildcard(field: str | None, token: str):
    """("wild", field, regex, prefix, as shown): the indexed words matching regex that start
    with prefix (exact values for a keyword field, as Whoosh's ID fields; else as
    analysis.wildcard reads it)."""
    if field not in KEYWORD_FIELDS:
        token = analysis.wildcard(token)
    prefix = re.split(r"[*?]", token, maxsplit=1)[0]
    return ("wild", field, analysis.wildcard_regex(token), prefix, token)


class _Compiler:
    """Turns a parsed tree into a tantivy query scored the way Whoosh's BM25F scores it.

    Per (field, word) the term query is boosted by QUERY_BOOSTS[field] (the field boost, see
    FIELD_COPIES) and by Whoosh's idf over tantivy's, so each term contributes what it does in
    Whoosh. A phrase scores as the sum of its words (as Whoosh's SpanNear2 does) and only
    matches where the words stand together. A trailing wildcard is expanded to the indexed
    words it matches and scored as those words (as Whoosh does).
    """

    def __init__(self, schema: tantivy.Schema, searcher: tantivy.Searcher, terms=None, shared=None):
        self.schema = schema
        self.searcher = searcher
        self.docs = max(searcher.num_docs, 1)
        # What a search compiles once however many of its trees hold it: (field, word) -> the
        # term query (None: no passage has it), and a leaf (word, phrase, wildcard) -> its
        # query and how many term queries it holds. Words and phrases are the same for every
        # search of a version (its searcher never changes), so they are kept in `shared` (the
        # engine's _Compiled) across searches; a wildcard, which also notes the words it stood
        # for (expanded, cut), is compiled afresh by each search.
        self.terms: dict[tuple, Any] = {} if terms is None else terms
        self.shared: _Compiled = _Compiled() if shared is None else shared
        self.leaves = 0  # term queries made: Whoosh's coordination factor needs the count
        self.cut: dict[str, dict[str, Any]] = {}  # wildcards that stood for too many words
        self.expanded: dict[str, set[str]] = {}  # field -> the words wildcards stood for

    def __call__(self, node) -> Query:
        if node is None:
            return Query.empty_query()
        kind = node[0]
        if kind == "and":
            # "x NOT y" is x AND (everything but y), and the "everything but" part scores 1,
            # as Whoosh's inverse matcher does.
            return Query.boolean_query([(Occur.Must, self(child)) for child in node[1]])
        if kind == "or":
            return Query.boolean_query([(Occur.Should, self(child)) for child in node[1]])
        if kind == "not":
            return Query.boolean_query(
                [(Occur.Must, Query.all_query()), (Occur.MustNot, self(node[1]))]
            )
        known = self.terms if kind == "wild" else self.shared
        made = known.get(node)
        if made is None:
            leaves = self.leaves
            query = self._leaves(node)
            made = known[node] = (query, self.leaves - leaves)
        else:
            self.leaves += made[1]
        return made[0]

    def _leaves(self, node) -> Query:
        kind, field = node[0], node[1]
        fields = TEXT_FIELDS if field is None else (field,)
        if kind == "wild":
            return self._wildcard(fields, *node[2:])
        return _any([self._leaf(kind, name, node[2:]) for name in fields])

    def _wildcard(self, fields: tuple[str, ...], regex: str, prefix: str, shown: str) -> Query:
        """The indexed words a wildcard matches in these fields, at most MAX_PREFIX_TERMS of
        them (indexer.index.engine.cap_expansion, the words the Whoosh engine keeps), scored
        as words."""
        found = self._expansions(fields, regex, prefix)
        frequencies: Counter[str] = Counter()
        for words in found.values():
            frequencies.update(words)
        chosen = cap_expansion(frequencies)
        if len(frequencies) > MAX_PREFIX_TERMS:
            self.cut.setdefault(shown, truncated_prefix(shown, len(frequencies)))
        kept = {name: [word for word in chosen if word in found[name]] for name in fields}
        if fields[0] in KEYWORD_FIELDS:  # matches, unscored, as a regex over the values would
            if not kept[fields[0]]:
                return Query.empty_query()
            return Query.const_score_query(_term_set(self.schema, fields[0], kept[fields[0]]), 1.0)
        for name, words in kept.items():
            self.expanded.setdefault(name, set()).update(words)
        return _any([self._term(name, word) for name, words in kept.items() for word in words])

    def _expansions(self, fields: tuple[str, ...], regex: str, prefix: str) -> dict:
        """Field -> {indexed word matching regex: passages with it}."""
        pattern = re.compile(regex)
        return {
            name: {
                word: count
                for word, count in self.searcher.terms_with_prefix(name, prefix)
                if pattern.fullmatch(word)
            }
            for name in fields
        }

    def _leaf(self, kind: str, field: str, args) -> Query | None:
        if field in KEYWORD_FIELDS:
            return Query.term_query(self.schema, field, args[0])
        if kind == "term":
            return self._term(field, args[0])
        if kind == "phrase":
            words = [self._term(field, word) for _, word in args[0]]
            if any(word is None for word in words):
                return None  # a word the field never has: the phrase cannot match
            phrase = Query.phrase_query(self.schema, field, list(args[0]))
            clauses = [(Occur.Must, Query.const_score_query(phrase, 0.0))]
            return Query.boolean_query(clauses + [(Occur.Must, word) for word in words])
        raise AssertionError(f"unknown leaf {kind!r}")

    def _term(self, field: str, word: str) -> Query | None:
        key = (field, word)
        made = self.shared.get(key, _UNKNOWN)
        if made is _UNKNOWN:
            made = self.shared[key] = self._make_term(field, word)
        if made is not None:
            self.leaves += 1
        return made

    def _make_term(self, field: str, word: str) -> Query | None:
        found = self.searcher.doc_freq(field, word)
        if not found:
            return None
        whoosh_idf = math.log(self.docs / (found + 1)) + 1
        tantivy_idf = math.log1p((self.docs - found + 0.5) / (found + 0.5))
        boost = QUERY_BOOSTS[field] * whoosh_idf / tantivy_idf
        return Query.boost_query(Query.term_query(self.schema, field, word), boost)


_UNKNOWN = object()


class _Compiled(dict):
    """A version's compiled words and phrases (_Compiler.shared), shared by its searches:
    at most LIMIT of them, forgotten all at once beyond that. Shared between threads: a
    compiled query never changes, and a lost entry is compiled again."""

    LIMIT = 20_000

    def __setitem__(self, key, value) -> None:
        if len(self) >= self.LIMIT:
            self.clear()
        super().__setitem__(key, value)


def _any(parts: list[Query | None]) -> Query:
    parts = [part for part in parts if part is not None]
    if not parts:
        return Query.empty_query()
    if len(parts) == 1:
        return parts[0]
    return Query.boolean_query([(Occur.Should, part) for part in parts])


def _term_set(schema: tantivy.Schema, field: str, values: list[str]) -> Query:
    """Passages with any of these values. A few values are a term query each, which tantivy
    seeks to the other clauses' matches; a term set query first collects every passage it
    matches (~0.2 ms for the current statuses at 10,000 passages)."""
    try:
        if len(values) <= FEW_TERMS:
            return _terms(schema, field, values)
        return Query.term_set_query(schema, field, values)
    except ValueError:  # a version written before the field existed: no passage has a value
        return Query.empty_query()


def _terms(schema: tantivy.Schema, field: str, values: list[str]) -> Query:
    return _any([Query.term_query(schema, field, value) for value in values])


def _filters(schema: tantivy.Schema, request: SearchRequest, versions: bool = False) -> list[Query]:
    """As WhooshEngine's: without as_at, an index holding earlier versions searches the
    current text only."""
    parts = [_term_set(schema, name, values) for name, values in filter_values(request) if values]
    if request.as_at:
        day = ranking.day(request.as_at, ranking.LATEST)
        integer = tantivy.FieldType.Integer
        # Valid from on or before the day, and not yet ended on it.
        parts.append(Query.range_query(schema, "valid_from_n", integer, ranking.EARLIEST, day))
        parts.append(
            Query.range_query(
                schema, "valid_to_n", integer, day, ranking.LATEST, include_lower=False
            )
        )
    elif versions:
        parts.append(Query.term_query(schema, "version", "current"))
    # Filters decide what matches, never the score.
    return [Query.const_score_query(part, 0.0) for part in parts]


def _with(query: Query, filters: list[Query]) -> Query:
    if not filters:
        return query
    return Query.boolean_query([(Occur.Must, query)] + [(Occur.Must, f) for f in filters])


def _matching(counting, query: Query, within: Query | None, total: int) -> Query:
    """A query matching exactly query's passages, for a pass that only asks which passages
    match: `within` (a hybrid query's loose reading, cheaper to walk: no all-words or phrase
    clauses) once its facet counts (`counting`, TantivyEngine._all_counts) are done and
    found as many passages as query's `total`. Every match of within is one of query's (the
    loose reading is one of its clauses), so as many are the same passages. Else query."""
    if within is None or not counting.done():
        return query
    return within if counting.result()[1] == total else query


# A top hit's group, read as bits of a const score (TantivyEngine._masks): one bit per word as
# typed (at most plan.MAX_RANK_UNITS), then not operative, current, and has every word.
PRELIM_BIT, CURRENT_BIT, STRICT_BIT = (1 << (plan.MAX_RANK_UNITS + n) for n in range(3))


def _group_key(mask: int, units: int) -> tuple[bool, int, bool]:
    """(operative, how many of the words as typed, current): the hit's ranking.group_order key."""
    words = bin(mask & ((1 << units) - 1)).count("1")
    return not mask & PRELIM_BIT, words, bool(mask & CURRENT_BIT)


def _shown(buckets: list[dict[str, Any]], size: int) -> list[tuple[str, int]]:
    """(value, passages) of a facet's buckets; given `size`, only those with at least as many
    passages as the (size + 2)-th most counted bucket. facet_lists keeps the `size` values
    with most passages (ties alphabetically) and says whether there were more: every one of
    those, and more than `size` values when there were, is among these (one bucket may be the
    empty value, which is not shown). Read in C (map, heapq, compress), not bucket by bucket
    in Python: a document_id facet at 1,000,000 passages has ~8,000 buckets."""
    if not size or len(buckets) <= size + 2:
        return list(map(_BUCKET, buckets))
    counts = list(map(_COUNT, buckets))
    floor = heapq.nlargest(size + 2, counts)[-1]
    return list(map(_BUCKET, itertools.compress(buckets, map(floor.__le__, counts))))


def _no_counts() -> dict[str, list]:
    return {name: [] for name in FACETS}


def _record_bits(record: dict[str, Any]) -> int:
    prelim = 0 if record["operative"] else PRELIM_BIT
    return prelim | (CURRENT_BIT if record["status"] in CURRENT_STATUSES else 0)


def _key(address) -> tuple[int, int]:
    return address.segment_ord, address.doc


def _passages(schema: tantivy.Schema, ids: list[str]) -> Query:
    """The passages with these ids, however many (see _term_set)."""
    return _terms(schema, "id", ids)


def _at_least(units: list[Query], k: int) -> Query | None:
    """Passages with at least k of the words as typed (None beyond their number)."""
    if k > len(units):
        return None
    if k == 0:
        return Query.all_query()
    return _any(
        [
            Query.boolean_query([(Occur.Must, unit) for unit in chosen])
            for chosen in itertools.combinations(units, k)
        ]
    )


@dataclass(frozen=True)
class _Asked:
    """What one search asks, as its passes need it."""

    planned: plan.Plan
    # The analysed tree every match satisfies: the loose reading of a hybrid query (all the
    # words imply any of them, and the phrase all of them), else the one reading.
    matched: Any
    all_words: Any  # the analysed tree of the strict reading
    terms: dict  # _Compiler.terms, shared by the search's compilers
    loose: Query | None  # a hybrid query's loose reading: the words' union, no phrase


class _Top:
    """The ranked pass's hits, and each one's stored record, decoded once when first read."""

    def __init__(self, searcher: tantivy.Searcher, hits: list):
        self.searcher = searcher
        self.hits = hits
        self.records: dict[tuple[int, int], dict[str, Any]] = {}

    def record(self, address) -> dict[str, Any]:
        key = _key(address)
        found = self.records.get(key)
        if found is None:
            found = self.records[key] = TantivyEngine._record(self.searcher.doc(address))
        return found


def _done(value: Any) -> Future:
    """A result computed where it was asked for, as a Future that is done."""
    future: Future = Future()
    future.set_result(value)
    return future


class _Parallel:
    """Work handed to one of `workers` threads while the asking thread does its own, or done
    at once on the asking thread when every worker is busy (other searches' counts): never
    queued behind another search, so a busy server does no worse than counting inline."""

    def __init__(self, workers: int):
        self._idle = threading.BoundedSemaphore(workers)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="kb-tantivy-counts")

    def start(self, fn: Callable[..., Any], *args: Any, inline: bool = False):
        if inline or not self._idle.acquire(blocking=False):
            return _done(fn(*args))
        try:
            return self._pool.submit(self._run, fn, args)
        except RuntimeError:  # the interpreter is shutting down: no new threads
            self._idle.release()
            return _done(fn(*args))

    def _run(self, fn: Callable[..., Any], args: tuple) -> Any:
        try:
            return fn(*args)
        finally:
            self._idle.release()


# The threads counting facets beside the ranked passes, shared by every search of every version.
_PARALLEL = _Parallel(COUNT_WORKERS)


class TantivyEngine:
    """Serves one index version. Safe to share between threads: versions never change, so
    one searcher serves every request."""

    shortcut = True  # rank groups from the ranked pass where it holds the page (tests: False)
    parallel_from = PARALLEL_FROM  # passages from which facets are counted on a second thread

    def __init__(self, path: Path):
        self.path = Path(path)
        self.ix = tantivy.Index.open(str(self.path))
        register_tokenizers(self.ix)
        self.schema = self.ix.schema
        # tantivy searchers are immutable snapshots and safe to share between threads.
        self._searcher = self.ix.searcher()
        self._compiled = _Compiled()  # words and phrases compiled for this searcher

    def count(self) -> int:
        return self._searcher.num_docs

    @functools.cached_property
    def _has_versions(self) -> bool:
        """Whether any passage is of an earlier version (none in a version written before
        the field existed)."""
        try:
            return self._searcher.doc_freq("version", "historical") > 0
        except ValueError:
            return False

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        deadline = Deadline()
        planned = plan.for_request(request)
        strict_tree = _analysed(planned.tree, "and")
        loose_tree = _analysed(planned.tree, "or")
        hybrid = not (strict_tree == loose_tree or planned.explicit)
        compile_ = _Compiler(self.schema, self._searcher, shared=self._compiled)
        try:
            strict = compile_(strict_tree)
            base, loose = (
                self._hybrid(compile_, strict, loose_tree, planned) if hybrid else (strict, None)
            )
            matched = loose_tree if hybrid else strict_tree
            asked = _Asked(planned, matched, strict_tree, compile_.terms, loose)
            found, ranked, top = self._run(
                base, strict if hybrid else None, request, asked, deadline
            )
        except ValueError as exc:  # tantivy refuses the query: the query's fault, not ours
            raise QueryError(
                "We could not understand that search. Check the operators and brackets."
            ) from exc
        found.partial = found.partial or deadline.expired()
        if plan.wants_suggestion(request, found):
            found.suggestion = self._suggest(self._searcher, planned.typed)
        shown = plan.marks(planned, compile_.expanded)
        page = ranked[request.offset : request.offset + request.limit]
        found.hits = [
            plan.hit(top.record(address), score / RANK_SCALE, shown) for score, address in page
        ]
        found.cut = list(compile_.cut.values())
        return plan.response(request, found, started)

    @staticmethod
    def _hybrid(
        compile_: _Compiler, strict: Query, loose_tree, planned: plan.Plan
    ) -> tuple[Query, Query]:
        """Passages with all the words rank first; passages with some of them follow, and
        passages with the words typed as one phrase rank higher. Returns that query, and its
        loose reading alone (any of the words)."""
        compile_.leaves = 0
        loose = compile_(loose_tree)
        if loose_tree is not None and loose_tree[0] == "or" and compile_.leaves > 1:
            # Whoosh's OrGroup.factory(0.9) coordination: score x (terms - 1) / terms
            # (its small bonus per extra matched term is left out).
            loose = Query.boost_query(loose, (compile_.leaves - 1) / compile_.leaves)
        clauses = [
            (Occur.Should, Query.boost_query(strict, plan.ALL_WORDS_BOOST)),
            (Occur.Should, loose),
        ]
        if planned.exact is not None:
            exact = compile_(_analysed(planned.exact, "and"))
            clauses.append((Occur.Should, Query.boost_query(exact, plan.EXACT_PHRASE_BOOST)))
        return Query.boolean_query(clauses), loose

    def _run(self, base: Query, strict: Query | None, request, asked: _Asked, deadline):
        """(Found with the total, facet counts, relaxed and partial; the ranked hits; the
        top hits with their records). Facets are counted in unscored passes over every match
        (_all_counts); in an index of PARALLEL_FROM passages or more they are counted on a
        second thread while this one ranks (tantivy releases the GIL in both). `strict`, for
        a hybrid query: the all-words query, to tell whether any passage has every word."""
        searcher = self._searcher
        filters = _filters(self.schema, request, self._has_versions)
        query = _with(base, filters)
        within = asked.loose and _with(asked.loose, filters)
        counting = _PARALLEL.start(
            self._all_counts,
            searcher,
            query,
            base,
            request,
            within,
            inline=searcher.num_docs < self.parallel_from,
        )
        wanted = request.offset + max(request.limit, 1)
        found = searcher.search(query, limit=wanted, count=True, weight_by_field="rank_w")
        total, top = found.count, _Top(searcher, found.hits)
        ranked, has_all = top.hits, False
        # tantivy cannot stop a pass part way: out of time, the passes after the ranking and
        # the facets are skipped (the relaxed check, "did you mean").
        partial = deadline.expired()
        if total and not partial:
            matching = _matching(counting, query, within, total)
            grouped, has_all = self._in_rank_groups(
                query, asked, wanted, total, top, strict, matching
            )
            ranked = grouped or ranked
            partial = deadline.expired()
        relaxed = False
        if strict is not None and total and not partial and not has_all:
            # Does any passage have every word? The best one answers (no count).
            relaxed = not searcher.search(_with(strict, filters), limit=1, count=False).hits
        counts = self._counted(counting, searcher, query, total, request)
        found = plan.Found(total, [], counts, relaxed=relaxed, partial=partial)
        return found, ranked, top

    def _all_counts(self, searcher, query: Query, base: Query, request, within: Query | None):
        """(The facet counts over every match of query, or over `within`'s matches with how
        many passages those are; None for that number when query's were counted). `within`:
        a hybrid query's loose reading, which matches the same passages as query but is
        cheaper to walk, without the all-words and phrase clauses whose matches it holds
        anyway (_counted checks the number). A facet with a filter of its own is counted in
        one more pass, without that filter (indexer.index.engine.FACET_FILTERS)."""
        size = request.facet_size
        if within is not None:
            counts, matched = self._facet_counts(searcher, within, size=size, counted=True)
        else:
            counts, matched = self._facet_counts(searcher, query, size=size), None
        for name, wider in filtered_facets(request).items():
            widened = _with(base, _filters(self.schema, wider, self._has_versions))
            counts.update(self._facet_counts(searcher, widened, (name,), size=size))
        return counts, matched

    def _counted(self, counting, searcher, query: Query, total: int, request) -> dict:
        """The facet counts _all_counts started, once they are done: counted over query again
        when `within` did not match as many passages as query (the ranked pass's total)."""
        counts, matched = counting.result()
        own = filtered_facets(request)
        if not total:  # no match, but a facet without its own filter may have some
            return _no_counts() | {name: counts[name] for name in own}
        if matched is not None and matched != total:
            names = [name for name in FACETS if name not in own]
            counts.update(self._facet_counts(searcher, query, names, size=request.facet_size))
        return counts

    def _in_rank_groups(
        self, query: Query, asked: _Asked, wanted: int, total: int, top, strict, matching
    ) -> tuple[list | None, bool]:
        """The first `wanted` hits in rank-group order (ranking.group_order), each group by
        score, or None when there is nothing to group (no word as typed can be counted);
        and whether a top hit has every word (`strict`, the all-words query, or None).
        `matching`: a query matching exactly query's passages (_matching), for the check.

        One search reads each top hit's group (_masks); when no match outside the top hits
        can be in a better group than the page's worst (ranking.top_in_group_order), the
        page is the top hits reordered, as it is for most queries. Else each group is
        ranked on its own (_by_group)."""
        trees = [_analysed(unit, "or") for unit in asked.planned.units]
        if not trees:
            return None, False
        compile_ = _Compiler(self.schema, self._searcher, asked.terms, self._compiled)
        units = [compile_(tree) for tree in trees]
        masks, full = self._group_masks(top, units, trees, asked, strict)
        if masks is None:
            return self._by_group(query, units, wanted, total), False
        order = ranking.group_order(len(units))
        index = {key: i for i, key in enumerate(order)}
        positions, worst = ranking.top_in_group_order(
            [index[_group_key(mask, len(units))] for mask in masks], wanted
        )
        has_all = any(mask & full == full for mask in masks)
        shown_all = len(top.hits) >= total
        if shown_all or worst <= 0 or not self._better_outside(matching, units, order[worst], top):
            return [top.hits[i] for i in positions], has_all
        return self._by_group(query, units, wanted, total), has_all

    def _group_masks(self, top, units: list[Query], trees: list, asked: _Asked, strict):
        """(Each top hit's bits (_masks), or None to rank each group on its own; the bits
        a passage with every word has)."""
        if not self.shortcut:
            return None, 0
        if strict is None and len(trees) == 1 and trees[0] == asked.matched:
            # One word as typed, which every match has: only the records tell groups apart.
            return [1 | _record_bits(top.record(address)) for _, address in top.hits], 1
        if len(trees) > 1 and asked.all_words == ("and", tuple(trees)):
            strict = None  # a passage has every word when it has every word as typed
        full = (1 << len(units)) - 1 if strict is None else STRICT_BIT
        return self._masks(top, units, strict), full

    def _masks(self, top, units: list[Query], strict: Query | None) -> list[int] | None:
        """Each top hit's bits: bit i for the i-th word as typed, read in one search over just
        those passages (const scores add up exactly), STRICT_BIT for a passage with every
        word; PRELIM_BIT for text that is not operative and CURRENT_BIT for current text, from
        its record (the fields those filters match are written from the same passage). None if
        the passages' ids do not pick out exactly the top hits."""
        records = [top.record(address) for _, address in top.hits]
        flags = [(unit, 1 << i) for i, unit in enumerate(units)]
        if strict is not None:
            flags.append((strict, STRICT_BIT))
        shown = Query.const_score_query(_passages(self.schema, [r["id"] for r in records]), 0.0)
        # A flag is its own intersection with the top hits, which tantivy walks from those
        # few passages; one optional clause each beside them would walk the words' postings.
        clauses = [(Occur.Should, shown)] + [
            (Occur.Should, Query.boolean_query([(Occur.Must, shown), (Occur.Must, q)]))
            for q in (Query.const_score_query(q, float(bit)) for q, bit in flags)
        ]
        found = self._searcher.search(
            Query.boolean_query(clauses), limit=len(records) + 1, count=False
        ).hits
        bits = {_key(address): int(score) for score, address in found}
        keys = [_key(address) for _, address in top.hits]
        if len(bits) != len(keys) or any(key not in bits for key in keys):
            return None
        return [bits[key] | _record_bits(record) for key, record in zip(keys, records, strict=True)]

    def _better_outside(self, query: Query, units: list[Query], worst: tuple, top) -> bool:
        """Whether a match of query outside the top hits is in a group before `worst` (an
        (operative, k, current) key of ranking.group_order)."""
        ids = [top.record(address)["id"] for _, address in top.hits]
        check = Query.boolean_query(
            [
                (Occur.Must, Query.const_score_query(query, 0.0)),
                (Occur.Must, Query.const_score_query(self._before(units, *worst), 0.0)),
                (Occur.MustNot, _passages(self.schema, ids)),
            ]
        )
        return bool(self._searcher.search(check, limit=1, count=False).hits)

    def _before(self, units: list[Query], operative: bool, k: int, is_current: bool) -> Query:
        """Passages in a rank group before (operative, k, current): with more of the words,
        or as many and current where that group is not; any operative passage before one
        that is not."""
        within = [_at_least(units, k + 1)]
        if not is_current:
            within.append(
                Query.boolean_query(
                    [(Occur.Must, _at_least(units, k)), (Occur.Must, self._current)]
                )
            )
        level = _any(within)
        operative_text = Query.boolean_query(
            [(Occur.Must, Query.all_query()), (Occur.MustNot, self._prelim)]
        )
        if operative:
            return Query.boolean_query([(Occur.Must, level), (Occur.Must, operative_text)])
        return _any([operative_text, level])

    def _by_group(self, query: Query, units: list[Query], wanted: int, total: int) -> list:
        """The first `wanted` hits, one ranked search per group (best first) until the page
        is full."""
        hits: list = []
        for key in ranking.group_order(len(units)):
            if len(hits) >= min(wanted, total):
                break
            found = self._searcher.search(
                Query.boolean_query([(Occur.Must, query)] + self._group(units, *key)),
                limit=wanted - len(hits),
                count=False,
                weight_by_field="rank_w",
            )
            hits.extend(found.hits)
        return hits

    def _group(self, units: list[Query], operative: bool, k: int, is_current: bool) -> list:
        """The clauses a passage of one rank group meets (none of them scores): at least k of
        the words as typed (and not k + 1), operative or not, current or not."""
        clauses = [
            (Occur.Must, Query.const_score_query(_at_least(units, k), 0.0)),
            (Occur.MustNot if operative else Occur.Must, self._prelim),
            (Occur.Must if is_current else Occur.MustNot, self._current),
        ]
        more = _at_least(units, k + 1)
        if more is not None:
            clauses.append((Occur.MustNot, more))
        return clauses

    @functools.cached_property
    def _prelim(self) -> Query:
        return Query.const_score_query(_term_set(self.schema, "prelim", ["true"]), 0.0)

    @functools.cached_property
    def _current(self) -> Query:
        return Query.const_score_query(
            _term_set(self.schema, "status", list(CURRENT_STATUSES)), 0.0
        )

    def _facet_counts(
        self, searcher, query: Query, names: Iterable[str] = FACETS, size: int = 0, counted=False
    ):
        """Each facet's (value, count) pairs over every match of query, or, given `size`, only
        those facet_lists can show of them (_shown); counted: and how many passages match
        (every passage has one rank weight). A facet no passage of the version has a value
        for is not counted: it has no values.

        Every bucket is asked for, so counts are exact across segments and indexer.index.engine's
        facet_lists cuts them exactly as it cuts the Whoosh engine's.
        """
        aggs = {
            name: {"terms": {"field": name, "size": FACET_BUCKETS}}
            for name in names
            if name in self._valued
        }
        if counted:
            aggs[MATCHED] = {"value_count": {"field": "rank_w"}}
        result = searcher.aggregate(query, aggs) if aggs else {}
        counts = {name: _shown(result.get(name, {}).get("buckets", []), size) for name in names}
        return (counts, int(result[MATCHED]["value"])) if counted else counts

    @functools.cached_property
    def _valued(self) -> frozenset[str]:
        """The facets some passage has a value for."""
        return frozenset(name for name in FACETS if self._has_terms(name))

    def _has_terms(self, name: str) -> bool:
        try:
            return bool(self._searcher.terms_with_prefix(name, "", limit=1))
        except ValueError:  # a version written before the field existed
            return False

    def _suggest(self, searcher, typed: str) -> str | None:
        """The query with unknown words replaced by the closest indexed word, if any."""
        return plan.suggestion(
            typed,
            known=lambda word: searcher.doc_freq("spell", word) > 0,
            closest=lambda word, edits: self._closest(searcher, word, edits),
        )

    def _closest(self, searcher, word: str, maxdist: int) -> str | None:
        """The most frequent indexed word within maxdist edits (ties: alphabetical)."""
        fuzzy = Query.fuzzy_term_query(
            self.schema, "spell", word, distance=maxdist, transposition_cost_one=False
        )
        candidates: set[str] = set()
        for _, address in searcher.search(fuzzy, limit=SUGGEST_DOCS, count=False).hits:
            record = self._record(searcher.doc(address))
            spelt = analysis.tokens(analysis.SPELL, f"{record['heading']} {record['text']}")
            candidates.update(other for other, *_ in spelt)
        return plan.closest(word, candidates, maxdist, lambda c: searcher.doc_freq("spell", c))

    def _find(self, field: str, value: str, limit: int):
        query = Query.term_query(self.schema, field, value)
        return self._searcher.search(query, limit=limit, count=False).hits

    def passage(self, passage_id: str) -> dict[str, Any] | None:
        hits = self._find("id", passage_id, 1)
        return self._record(self._searcher.doc(hits[0][1])) if hits else None

    def passages_of(self, document_id: str) -> list[dict[str, Any]]:
        searcher = self._searcher
        query = Query.term_query(self.schema, "document_id", document_id)
        total = searcher.search(query, limit=1, count=True).count
        if not total:
            return []
        hits = searcher.search(query, limit=total, count=False).hits
        return sorted((self._record(searcher.doc(a)) for _, a in hits), key=lambda p: p["order"])

    @staticmethod
    def _record(doc: tantivy.Document) -> dict[str, Any]:
        # What json.loads does for the JSON _document writes (no leading space, UTF-8),
        # without detecting the encoding and checking the end: ~30% faster per hit.
        return _DECODE(doc.get_first(RECORD).decode("utf-8"))[0]

    def close(self) -> None:
        # Nothing to release: tantivy frees its files when the objects go. A closed engine
        # keeps answering requests already in flight, as the service retires it.
        pass
