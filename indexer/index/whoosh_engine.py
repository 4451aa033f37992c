"""The Whoosh engine: writes an index version and answers searches over it."""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from whoosh import collectors, columns, fields, index, query, scoring

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
from kb.core.query import And, Group, Leaf, Node, Not, Or, Phrase, Wildcard
from kb.core.vocabularies import MULTI_VALUED

LOOSE_SCALE = 0.9  # OrGroup.factory(0.9): how the any-word reading scores more words matched
# The record's fields kept only as stored values (the others are stored with their index
# field: id, document_id, doc_type, status, title, heading, body, duty, holder, extent, order).
STORED_ONLY = (*writing.RECORD_ONLY, "cites", "operative", "notes", "stale_citations")


def make_schema() -> fields.Schema:
    text = analysis.stemming_analyzer()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        document_id=fields.ID(stored=True, sortable=True),
        doc_type=fields.ID(stored=True, sortable=True),
        status=fields.ID(stored=True, sortable=True),
        title=fields.TEXT(analyzer=text, stored=True, field_boost=FIELD_BOOSTS["title"]),
        names=fields.TEXT(analyzer=text, field_boost=FIELD_BOOSTS["names"]),
        heading=fields.TEXT(analyzer=text, stored=True, field_boost=FIELD_BOOSTS["heading"]),
        body=fields.TEXT(analyzer=text, stored=True, field_boost=FIELD_BOOSTS["body"]),
        cite_text=fields.TEXT(analyzer=text, field_boost=FIELD_BOOSTS["cite_text"]),
        rank=fields.COLUMN(columns.NumericColumn("f", default=1.0)),
        duty=fields.ID(stored=True, sortable=True),
        holder=fields.KEYWORD(commas=True, stored=True, lowercase=False),
        extent=fields.KEYWORD(commas=True, stored=True, lowercase=False),
        stale=fields.ID(sortable=True),  # "stale" when the passage has stale_citations
        valid_from_n=fields.NUMERIC(int),
        valid_to_n=fields.NUMERIC(int),
        # "current", or "historical" for a passage of an earlier version (searched with as_at)
        version=fields.ID(),
        # Unstemmed words, for "did you mean".
        spell=fields.TEXT(analyzer=analysis.spell_analyzer()),
        order=fields.NUMERIC(int, stored=True, sortable=True),
    )
    for name in STORED_ONLY:
        schema.add(name, fields.STORED())
    return schema


def write_index(
    path: Path, passages: Iterable[Passage], progress: Callable[[int], None] | None = None
) -> int:
    """Write every passage into a new Whoosh index at path; returns the number written."""
    path.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(path), make_schema())
    writer = ix.writer(limitmb=256, procs=1)

    def commit() -> None:
        writer.commit(optimize=True)
        ix.close()

    def add(passage: writing.IndexedPassage) -> None:
        writer.add_document(**_document(passage))

    return writing.write_all(passages, add, progress, commit, writer.cancel)


def _document(passage: writing.IndexedPassage) -> dict[str, Any]:
    """The passage as Whoosh fields: terms as ID and comma-separated KEYWORD values (an empty
    field as ""), the text fields, the numbers, the rank column, the stored-only values."""
    record = passage.record
    return (
        {name: ",".join(values) for name, values in passage.terms.items()}
        | passage.texts
        | passage.numbers
        | {"rank": passage.rank, "spell": passage.spell}
        | {name: record[name] for name in STORED_ONLY}
    )


QUALITY_MARGIN = 1.5


class _RankScorer(scoring.BaseScorer):
    """BM25F times the passage's rank factor (1 for current text, less for the rest)."""

    def __init__(self, inner, ranks):
        self.inner = inner
        self.ranks = ranks

    def supports_block_quality(self):
        return self.inner.supports_block_quality()

    def max_quality(self):
        # Factors are <= 1, so BM25F's bound would do, but Whoosh computes it from field
        # lengths stored rounded to a byte, and can under-estimate: a top-10 search then
        # skipped the best passage of the sample corpus. The margin keeps the skipping safe.
        return self.inner.max_quality() * QUALITY_MARGIN

    def block_quality(self, matcher):
        return self.inner.block_quality(matcher) * QUALITY_MARGIN

    def score(self, matcher):
        return self.inner.score(matcher) * self.ranks[matcher.id()]


class RankedBM25F(scoring.BM25F):
    def scorer(self, searcher, fieldname, text, qf=1):
        inner = super().scorer(searcher, fieldname, text, qf)
        reader = searcher.reader()
        if not reader.has_column("rank"):
            return inner
        return _RankScorer(inner, reader.column_reader("rank"))


class _Compiler:
    """A query tree (kb.core.query) as Whoosh query objects: what Whoosh's MultifieldParser
    made of the same query as text (tests/test_query_tree.py compares the two), built
    directly. A word without a field is ORed over SEARCH_FIELDS (each field's boost is the
    schema's field_boost, applied in scoring); a word the analyser splits into several tokens
    is all of them strictly, any of them loosely; stop words drop out. Words side by side (a
    Group) are all of them strictly; loosely, any of them with OrGroup.factory(0.9)'s scale.
    """

    def __init__(self, schema: fields.Schema, all_words: bool):
        self.schema = schema
        self.all_words = all_words

    def __call__(self, tree: Group) -> query.Query:
        q = self._node(tree)
        return (q or query.NullQuery).normalize()

    def _node(self, node: Node) -> query.Query | None:
        if isinstance(node, Group):
            subs = self._each(node.children)
            return query.And(subs) if self.all_words else query.Or(subs, scale=LOOSE_SCALE)
        if isinstance(node, And):
            return query.And(self._each(node.children))
        if isinstance(node, Or):
            return query.Or(self._each(node.children))
        if isinstance(node, Not):
            inner = self._node(node.child)
            return query.Not(inner) if inner else None
        if node.field:
            return self._leaf(node.field, node)
        return query.Or([q for q in (self._leaf(f, node) for f in SEARCH_FIELDS) if q is not None])

    def _each(self, nodes: Iterable[Node]) -> list[query.Query]:
        return [q for q in map(self._node, nodes) if q is not None]

    def _leaf(self, fieldname: str, node: Leaf) -> query.Query | None:
        field = self.schema[fieldname]
        if isinstance(node, Phrase):
            tokens = field.tokenize(" ".join(node.words), mode="query", chars=True)
            return query.Phrase(fieldname, [t.text for t in tokens], slop=1)
        if isinstance(node, Wildcard):
            if fieldname in SEARCH_FIELDS:
                texts = [analysis.wildcard(node.pattern)]
            else:  # an ID field: the value as typed
                texts = list(field.process_text(node.pattern, mode="query", tokenize=False))
            termclass = query.Wildcard
        else:
            texts = list(field.process_text(node.word, mode="query", removestops=True))
            termclass = query.Term
        if len(texts) > 1:
            group = query.And if self.all_words else query.Or
            return group([termclass(fieldname, text) for text in texts])
        return termclass(fieldname, texts[0]) if texts else None


def _any_of(field: str, values: list[str]) -> query.Query:
    return query.Or([query.Term(field, v) for v in values])


def _filters(request: SearchRequest, versions: bool = False) -> query.Query | None:
    """The request's filters; `versions`: the index holds earlier versions, which a search
    without as_at leaves out (the date filter picks the version in force with it)."""
    parts = [_any_of(name, values) for name, values in filter_values(request) if values]
    if request.as_at:
        day = ranking.day(request.as_at, ranking.LATEST)
        # Valid from on or before the day, and not yet ended on it.
        parts.append(query.NumericRange("valid_from_n", ranking.EARLIEST, day))
        parts.append(query.NumericRange("valid_to_n", day, ranking.LATEST, startexcl=True))
    elif versions:
        parts.append(query.Term("version", "current"))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else query.And(parts)


class _FacetArrays:
    """Each facet's value for every document number, read once per index version."""

    def __init__(self, reader):
        self.single = {
            # A version written before the field existed has no values for it.
            name: list(reader.column_reader(name, translate=True))
            if reader.has_column(name)
            else [""] * reader.doc_count_all()
            for name in FACETS
            if name not in MULTI_VALUED
        }
        self.multi: dict[str, dict[int, list[str]]] = {}
        for name in MULTI_VALUED:
            values: dict[int, list[str]] = {}
            # A version written before the field existed has no values for it.
            for term in reader.lexicon(name) if name in reader.schema else ():
                value = term.decode("utf-8") if isinstance(term, bytes) else term
                for docnum in reader.postings(name, term).all_ids():
                    values.setdefault(docnum, []).append(value)
            self.multi[name] = values

    def count(
        self, docs: set[int], names: Iterable[str] = FACETS
    ) -> dict[str, Iterable[tuple[Any, int]]]:
        """Each facet's (value, count) pairs among these documents."""
        counts = {}
        for name in names:
            if name in self.single:
                counts[name] = Counter(map(self.single[name].__getitem__, docs))
            else:
                multi = self.multi[name]
                counts[name] = Counter(v for d in docs for v in multi.get(d, ()))
        return {name: found.items() for name, found in counts.items()}


class WhooshEngine:
    """Serves one index version. Safe to share between threads: each has its own searcher."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.ix = index.open_dir(str(self.path))
        self.weighting = RankedBM25F()
        self._local = threading.local()
        self._searchers: list = []
        self._lock = threading.Lock()

    def _searcher(self):
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self.ix.searcher(weighting=self.weighting)
            self._local.searcher = searcher
            with self._lock:
                self._searchers.append(searcher)
        return searcher

    def count(self) -> int:
        return self._searcher().doc_count()

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        deadline = Deadline()
        searcher = self._searcher()
        planned = plan.for_request(request)
        scored, strict, units, cut = self._queries(planned, searcher)
        filter_q = _filters(request, self._has_versions)
        found, ranked = self._ranked(searcher, scored, units, filter_q, request, deadline)
        found.cut = cut
        if scored is not strict and found.total and not found.partial:
            best, found.partial = _top(searcher, strict, 1, filter_q, deadline)
            found.relaxed = not found.partial and not best.scored_length()
        if plan.wants_suggestion(request, found):
            found.suggestion = self._suggest(searcher, planned.typed)
        shown = plan.marks(planned, _expansions(scored))
        found.hits = [plan.hit(self._record(h.fields()), h.score, shown) for h in ranked]
        return plan.response(request, found, started)

    def _queries(self, planned: plan.Plan, searcher):
        """The plan compiled: the query ranked (all words boosted, then any word, then the
        exact phrase, unless explicit), the strict query, the rank-group units, and the
        wildcards cut to MAX_PREFIX_TERMS words."""
        schema = self.ix.schema
        loose = _Compiler(schema, all_words=False)
        strict, any_words = _Compiler(schema, all_words=True)(planned.tree), loose(planned.tree)
        units = [loose(unit) for unit in planned.units]
        (strict, any_words, *units), cut = _cap_wildcards(
            searcher.reader(), strict, any_words, *units
        )
        scored = strict
        if any_words != strict and not planned.explicit:
            strict.boost = plan.ALL_WORDS_BOOST
            scored = query.Or([strict, any_words, *self._exact_phrase(planned.exact)])
        return scored, strict, units, cut

    def _ranked(self, searcher, scored, units, filter_q, request: SearchRequest, deadline):
        """(Found with the total, facet counts and partial; the page of hits in rank order).
        Ranking and facet counting are separate passes: counting facets inside the scored
        search would make Whoosh score every match instead of skipping weak blocks. Each
        pass stops when the time budget runs out; the answer is then what was found."""
        wanted = request.offset + request.limit
        results, partial = _top(searcher, scored, max(wanted, 1), filter_q, deadline)
        ranked = list(results[request.offset : wanted])
        matched = None
        if not partial:
            matching = scored if filter_q is None else query.And([scored, filter_q])
            try:
                matched = _doc_set(searcher, matching, deadline)
            except collectors.TimeLimit:
                partial = True
        if matched is None:  # out of time: count what the ranked pass found
            matched = {hit.docnum for hit in results}
        else:
            try:
                groups = self._in_rank_groups(
                    searcher, scored, matched, units, request, deadline, results
                )
                ranked = groups or ranked
            except collectors.TimeLimit:
                partial = True
        counts = self._facets.count(matched)
        if not partial:
            partial = self._count_without_own_filter(searcher, scored, request, counts, deadline)
        return plan.Found(total=len(matched), hits=[], counts=counts, partial=partial), ranked

    def _count_without_own_filter(
        self, searcher, scored, request: SearchRequest, counts, deadline: Deadline
    ) -> bool:
        """Recount each facet that has a filter over the matches without that filter
        (indexer.index.engine.filtered_facets), one more pass per such facet. True if out of time: the
        facets not yet recounted keep the counts of every filter."""
        for name, wider in filtered_facets(request).items():
            filter_q = _filters(wider, self._has_versions)
            matching = scored if filter_q is None else query.And([scored, filter_q])
            try:
                docs = _doc_set(searcher, matching, deadline)
            except collectors.TimeLimit:
                return True
            counts.update(self._facets.count(docs, (name,)))
        return False

    def _in_rank_groups(
        self,
        searcher,
        scored: query.Query,
        matched: set[int],
        units: list[query.Query],
        request: SearchRequest,
        deadline: Deadline,
        top=None,
    ) -> list | None:
        """The page of hits in rank order (rank_groups): each group's passages by score.
        None when every match is in one group, so the single ranked pass is already right."""
        groups = ranking.rank_groups(
            matched,
            [_doc_set(searcher, unit, deadline) & matched for unit in units],
            self._current_docs,
            self._prelim_docs,
        )
        if sum(1 for group in groups if group) <= 1:
            return None
        wanted = request.offset + request.limit
        page = _page_from_top(top, groups, wanted)
        if page is not None:
            return page[request.offset : wanted]
        hits: list = []
        for group in groups:
            if len(hits) >= wanted:
                break
            if not group:
                continue
            found, partial = _top(searcher, scored, wanted - len(hits), group, deadline)
            if partial:
                raise collectors.TimeLimit
            # Results.__len__ would count every match; only the scored hits are wanted
            hits.extend(found[n] for n in range(found.scored_length()))
        return hits[request.offset : wanted]

    @functools.cached_property
    def _current_docs(self) -> frozenset[int]:
        """Document numbers of current passages (in force, partly in force, prospective)."""
        reader = self._searcher().reader()
        statuses = reader.column_reader("status", translate=True)
        return frozenset(n for n, status in enumerate(statuses) if status in CURRENT_STATUSES)

    @functools.cached_property
    def _prelim_docs(self) -> frozenset[int]:
        """Document numbers of passages that are not operative text (read once per version)."""
        reader = self._searcher().reader()
        return frozenset(n for n, stored in reader.iter_docs() if stored.get("operative") is False)

    def _exact_phrase(self, exact: Group | None) -> list:
        """The words typed, as one phrase: passages that say exactly that rank higher."""
        if exact is None:
            return []
        boosted = _Compiler(self.ix.schema, all_words=True)(exact)
        reader = self._searcher().reader()
        # A phrase with a word no passage has cannot match, and Whoosh's Or misbehaves with it.
        words = {text for _, text in boosted.all_terms()}
        if not all(any(reader.doc_frequency(f, w) for f in SEARCH_FIELDS) for w in words):
            return []
        boosted.boost = plan.EXACT_PHRASE_BOOST
        return [boosted]

    @functools.cached_property
    def _has_versions(self) -> bool:
        """Whether any passage is of an earlier version (a version written before the field
        existed has none, and is searched as it always was)."""
        reader = self._searcher().reader()
        return "version" in reader.schema and reader.doc_frequency("version", "historical") > 0

    @functools.cached_property
    def _facets(self) -> _FacetArrays:
        return _FacetArrays(self._searcher().reader())

    @staticmethod
    def _suggest(searcher, typed: str) -> str | None:
        """The query with unknown words replaced by the closest indexed word, if any."""
        reader = searcher.reader()
        return plan.suggestion(
            typed,
            known=lambda word: reader.doc_frequency("spell", word) > 0,
            closest=lambda word, edits: next(
                iter(searcher.suggest("spell", word, limit=1, maxdist=edits)), None
            ),
        )

    def passage(self, passage_id: str) -> dict[str, Any] | None:
        stored = self._searcher().document(id=passage_id)
        return self._record(stored) if stored else None

    def passages_of(self, document_id: str) -> list[dict[str, Any]]:
        found = self._searcher().documents(document_id=document_id)
        return sorted((self._record(f) for f in found), key=lambda p: p["order"])

    @staticmethod
    def _record(stored: dict[str, Any]) -> dict[str, Any]:
        record = {name: None for name in STORED_ONLY} | dict(stored)
        record["text"] = record.pop("body", "")
        record["holders"] = [h for h in (record.pop("holder", None) or "").split(",") if h]
        record["extent"] = [e for e in (record.get("extent") or "").split(",") if e]
        record["operative"] = record.get("operative") is not False
        record["notes"] = record.get("notes") or ""
        record["duty"] = record.get("duty") or "none"
        record["cites"] = record.get("cites") or []
        record["stale_citations"] = record.get("stale_citations") or []
        return record

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()
        self.ix.close()


def _page_from_top(top, groups: list[set[int]], wanted: int) -> list | None:
    """The page in rank order taken from the single ranked pass, when that pass already holds
    it: every match outside its top hits is in a group no better than the worst group the page
    shows (and, in that same group, scores lower than every top hit). Else None, and each group
    is ranked on its own. Saves the per-group passes for most queries, where BM25 already puts
    the passages with more of the words first."""
    if top is None:
        return None
    hits = [top[n] for n in range(top.scored_length())]
    rank = {doc: i for i, group in enumerate(groups) for doc in group}
    if any(hit.docnum not in rank for hit in hits):
        return None
    page = sorted(hits, key=lambda hit: rank[hit.docnum])[:wanted]  # stable: by score within
    if not page:
        return page
    worst = max(rank[hit.docnum] for hit in page)
    shown = {hit.docnum for hit in hits}
    outside = next((i for i, group in enumerate(groups) if group - shown), len(groups))
    return page if outside >= worst else None


def _doc_set(searcher, q: query.Query, deadline: Deadline | None = None) -> set[int]:
    """The document numbers q matches, found with set unions and intersections.

    The same set as searcher.docs_for_query(q), two to three times faster for the hybrid
    all-words/any-words query: walking Whoosh's tree of union matchers costs more, in Python,
    than uniting each word's postings. Raises collectors.TimeLimit when the deadline passes.
    """
    if deadline is not None and deadline.expired():
        raise collectors.TimeLimit
    if isinstance(q, query.Or) and not getattr(q, "minmatch", 0):
        found: set[int] = set()
        for sub in q.subqueries:
            found |= _doc_set(searcher, sub, deadline)
        return found
    if isinstance(q, query.And) and q.subqueries:
        sets = sorted((_doc_set(searcher, sub, deadline) for sub in q.subqueries), key=len)
        return sets[0].intersection(*sets[1:])
    return set(searcher.docs_for_query(q))


class _DeadlineCollector(collectors.WrappingCollector):
    """Stops the collector it wraps (raising collectors.TimeLimit) once the deadline has
    passed, checked before each matched passage; what was collected stays in results()."""

    def __init__(self, child, deadline: Deadline):
        super().__init__(child)
        self.deadline = deadline

    def matches(self):
        expired = self.deadline.expired
        for docnum in self.child.matches():
            if expired():
                raise collectors.TimeLimit
            yield docnum


def _top(searcher, q: query.Query, limit: int, filter_q, deadline: Deadline):
    """searcher.search(q, limit=limit, filter=filter_q) within the deadline: (results, partial),
    partial when time ran out and results are the best of the passages seen by then."""
    collector = searcher.collector(limit=limit, filter=filter_q)
    # Below the filter, so the deadline is checked for every passage the query matches.
    if isinstance(collector, collectors.FilterCollector):
        collector.child = _DeadlineCollector(collector.child, deadline)
    else:
        collector = _DeadlineCollector(collector, deadline)
    try:
        searcher.search_with_collector(q, collector)
    except collectors.TimeLimit:
        return collector.results(), True
    return collector.results(), False


class _Expanded(query.MultiTerm):
    """A wildcard (Prefix or Wildcard) over one field that stands only for the given words."""

    def __init__(self, original: query.PatternQuery, btexts: list[bytes]):
        self.original = original
        self.fieldname = original.fieldname
        self.text = original.text
        self.boost = original.boost
        self.constantscore = original.constantscore
        self.btexts = tuple(btexts)

    def _btexts(self, ixreader):
        return self.btexts

    def __eq__(self, other):
        return (
            type(other) is _Expanded
            and self.original == other.original
            and self.btexts == other.btexts
            and self.boost == other.boost
        )

    def __hash__(self):
        return hash((self.original, self.btexts))

    def __repr__(self):
        return f"_Expanded({self.original!r}, {len(self.btexts)} words)"

    __str__ = __repr__


def _shown(node: query.PatternQuery) -> str:
    return node.text + "*" if isinstance(node, query.Prefix) else node.text


def _expansions(q: query.Query) -> dict[str, set[str]]:
    """Field -> the indexed words the query's wildcards stand for in it (after _cap_wildcards)."""
    found: dict[str, set[str]] = {}
    for leaf in q.leaves() if not q.is_leaf() else [q]:
        if isinstance(leaf, _Expanded):
            found.setdefault(leaf.fieldname, set()).update(b.decode("utf-8") for b in leaf.btexts)
    return found


def _cap_wildcards(reader, *queries: query.Query):
    """The queries with each wildcard standing for at most MAX_PREFIX_TERMS words (indexer.index.engine
    cap_expansion: the most frequent over the fields it is searched in, the same words the
    tantivy engine keeps), and {prefix, kept, matched} for each wildcard that was cut."""
    fields_of: dict[str, dict[tuple[str, str], list[bytes]]] = {}
    for q in queries:
        for leaf in q.leaves() if not q.is_leaf() else [q]:
            if isinstance(leaf, query.PatternQuery):
                words = fields_of.setdefault(_shown(leaf), {})
                key = (leaf.fieldname, type(leaf).__name__)
                if key not in words:
                    words[key] = list(leaf._btexts(reader))
    if not fields_of:
        return list(queries), []
    kept: dict[tuple[str, str, str], list[bytes]] = {}
    cut = []
    for shown, expansions in fields_of.items():
        frequencies: Counter[str] = Counter()
        for (fieldname, _), btexts in expansions.items():
            for btext in btexts:
                frequencies[btext.decode("utf-8")] += reader.doc_frequency(fieldname, btext)
        chosen = set(cap_expansion(frequencies))
        if len(frequencies) > MAX_PREFIX_TERMS:
            cut.append(truncated_prefix(shown, len(frequencies)))
        for (fieldname, kind), btexts in expansions.items():
            kept[shown, fieldname, kind] = [b for b in btexts if b.decode("utf-8") in chosen]

    def expand(q):
        if isinstance(q, query.PatternQuery):
            return _Expanded(q, kept[_shown(q), q.fieldname, type(q).__name__])
        return q

    return [q.accept(expand) for q in queries], cut
