"""The speed references: the same passages and requests through SQLite FTS5 and tantivy.

Each does the work /api/v1/search does: top `limit` by BM25 (title and heading weighted, non-current
text ranked lower), the total, facet counts over every match, and highlighted snippets.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from indexer.index.engine import FIELD_BOOSTS, SEARCH_FIELDS, SearchRequest
from kb.core.models import CURRENT_STATUSES, Passage

# The engines' fields and boosts (indexer.index.engine), so the references weight them alike.
TEXT_FIELDS = SEARCH_FIELDS
BOOSTS = FIELD_BOOSTS
NOT_CURRENT = 0.3
# The facets the foundation engine computes; Whoosh may compute more (duty, holder) since.
FACETS = ("document_id", "doc_type", "status")


_TOKENS = re.compile(r'"[^"]*"|\S+')
_EXPLICIT = re.compile(r"\b(AND|OR|NOT)\b|[():]")


def any_words(q: str) -> str:
    """The query as the Whoosh engine runs it: several plain words match passages with any of
    them (those with all rank first); operators, brackets or fields mean exactly what they say."""
    tokens = _TOKENS.findall(q)
    if len(tokens) < 2 or _EXPLICIT.search(re.sub(r'"[^"]*"', " ", q)):
        return q
    return " OR ".join(tokens)


def _rank(passage: Passage) -> float:
    return 1.0 if passage.status in CURRENT_STATUSES else NOT_CURRENT


def _stored(passage: Passage) -> str:
    keep = ("citation", "label", "heading", "title", "short_citation")
    return json.dumps({k: getattr(passage, k) for k in keep}, ensure_ascii=False)


def _facets(counts: dict[str, Counter]) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [
            {"value": v, "count": c}
            for v, c in sorted(counts[name].items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        for name in FACETS
    }


class Fts5Engine:
    """SQLite FTS5, porter tokenizer, bm25() with the same field weights."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        weights = ", ".join(str(BOOSTS[f]) for f in TEXT_FIELDS)
        self._score = f"bm25(p, {weights}) * rankf"

    @staticmethod
    def write(path: Path, passages: Iterable[Passage]) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path))
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(
            "CREATE VIRTUAL TABLE p USING fts5(title, names, heading, body, cite_text, "
            "id UNINDEXED, document_id UNINDEXED, doc_type UNINDEXED, status UNINDEXED, "
            "rankf UNINDEXED, stored UNINDEXED, tokenize='porter unicode61')"
        )
        rows = (
            (
                p.title,
                " ".join(p.aliases),
                p.heading,
                p.text,
                f"{p.citation} {p.short_citation}",
                p.id,
                p.document_id,
                p.doc_type,
                p.status,
                _rank(p),
                _stored(p),
            )
            for p in passages
        )
        with db:
            cur = db.executemany("INSERT INTO p VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        count = cur.rowcount
        db.execute("INSERT INTO p(p) VALUES('optimize')")
        db.commit()
        db.close()
        return count

    def search(self, request: SearchRequest) -> dict[str, Any]:
        where = ["p MATCH ?"]
        args: list[Any] = [any_words(str(request.q))]
        for column, values in (
            ("doc_type", request.doc_type),
            ("status", request.status),
            ("document_id", request.document),
        ):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        clause = " AND ".join(where)
        counts = {name: Counter() for name in FACETS}
        total = 0
        for document_id, doc_type, status in self.db.execute(
            f"SELECT document_id, doc_type, status FROM p WHERE {clause}", args
        ):
            total += 1
            counts["document_id"][document_id] += 1
            counts["doc_type"][doc_type] += 1
            counts["status"][status] += 1
        rows = self.db.execute(
            f"SELECT id, stored, snippet(p, 3, '<mark>', '</mark>', ' … ', 32), {self._score} AS s "
            f"FROM p WHERE {clause} ORDER BY s LIMIT ? OFFSET ?",
            [*args, request.limit, request.offset],
        ).fetchall()
        results = [
            {"id": pid, **json.loads(stored), "snippet_html": snippet, "score": -score}
            for pid, stored, snippet, score in rows
        ]
        return {"total": total, "results": results, "facets": _facets(counts)}

    def close(self) -> None:
        self.db.close()


class TantivyEngine:
    """tantivy-py: en_stem text fields, raw fast fields for filters and facet aggregations."""

    def __init__(self, path: Path):
        import tantivy

        self.tantivy = tantivy
        self.index = tantivy.Index.open(str(path))
        self.schema = self.index.schema
        self.searcher = self.index.searcher()

    @staticmethod
    def schema():
        import tantivy

        builder = tantivy.SchemaBuilder()
        for name in TEXT_FIELDS:
            builder.add_text_field(
                name, stored=name in ("title", "heading", "body"), tokenizer_name="en_stem"
            )
        for name in FACETS:
            builder.add_text_field(name, stored=True, fast=True, tokenizer_name="raw")
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("stored", stored=True, index_option="basic", tokenizer_name="raw")
        # weight_by_field multiplies the score by log2(2 + value): 0 keeps it, 8.08 gives x3.33,
        # so current text outranks the rest by the same 1 : 0.3 as the Whoosh rank factor.
        builder.add_float_field("rankw", fast=True)
        return builder.build()

    @staticmethod
    def write(path: Path, passages: Iterable[Passage]) -> int:
        import tantivy

        path.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(TantivyEngine.schema(), path=str(path))
        writer = index.writer(heap_size=256_000_000)
        count = 0
        for p in passages:
            writer.add_document(
                tantivy.Document(
                    title=p.title,
                    names=" ".join(p.aliases),
                    heading=p.heading,
                    body=p.text,
                    cite_text=f"{p.citation} {p.short_citation}",
                    document_id=p.document_id,
                    doc_type=p.doc_type,
                    status=p.status,
                    id=p.id,
                    stored=_stored(p),
                    rankw=8.08 if _rank(p) == 1.0 else 0.0,
                )
            )
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        return count

    def search(self, request: SearchRequest) -> dict[str, Any]:
        tv = self.tantivy
        parsed = self.index.parse_query(
            any_words(str(request.q)),
            list(TEXT_FIELDS),
            field_boosts=BOOSTS,
            conjunction_by_default=True,
        )
        musts = [(tv.Occur.Must, parsed)]
        for name, values in (
            ("doc_type", request.doc_type),
            ("status", request.status),
            ("document_id", request.document),
        ):
            if values:
                musts.append(
                    (tv.Occur.Must, tv.Query.term_set_query(self.schema, name, list(values)))
                )
        q = musts[0][1] if len(musts) == 1 else tv.Query.boolean_query(musts)
        found = self.searcher.search(
            q, request.limit, count=True, offset=request.offset, weight_by_field="rankw"
        )
        aggs = self.searcher.aggregate(
            q, {name: {"terms": {"field": name, "size": 100_000}} for name in FACETS}
        )
        counts = {
            name: Counter({b["key"]: b["doc_count"] for b in aggs[name]["buckets"]})
            for name in FACETS
        }
        snippets = tv.SnippetGenerator.create(self.searcher, parsed, self.schema, "body")
        results = []
        for score, address in found.hits:
            doc = self.searcher.doc(address)
            results.append(
                {
                    "id": doc["id"][0],
                    **json.loads(doc["stored"][0]),
                    "snippet_html": snippets.snippet_from_doc(doc).to_html(),
                    "score": score,
                }
            )
        return {"total": found.count, "results": results, "facets": _facets(counts)}

    def close(self) -> None:
        pass
