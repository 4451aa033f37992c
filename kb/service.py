"""The knowledge base as the web app and CLI see it: the current index version, reopened on switch."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb import store
from kb.cite import Registry
from kb.config import Settings
from kb.engine import Engine, SearchRequest, SearchResponse, open_engine
from kb.models import Document

RETIRE_AFTER_S = 60.0
DEFAULT_QUERY_CACHE = 512  # responses kept per index version (KB_QUERY_CACHE; 0 turns it off)
_ROMAN_PARTS = dict(
    zip(
        map(str, range(1, 21)),
        "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX".split(),
        strict=True,
    )
)


@dataclass
class IndexVersion:
    """One published index version: its engine, manifest and documents."""

    name: str
    path: Path
    engine: Engine
    manifest: dict[str, Any]
    documents: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self):
        self.by_id = {doc["id"]: doc for doc in self.documents}
        self.document_record = functools.lru_cache(maxsize=256)(self._document_record)
        self.cache_size = int(os.environ.get("KB_QUERY_CACHE", DEFAULT_QUERY_CACHE))
        self._cache: OrderedDict = OrderedDict()
        self._cache_lock = threading.Lock()

    def search(self, request: SearchRequest) -> SearchResponse:
        """The engine's answer, from a cache of recent requests to this version.

        A version never changes and a new version is a new object, so the cache is never stale.
        """
        if not self.cache_size:
            return self.engine.search(request)
        key = repr(dataclasses.astuple(request))
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is None:
            cached = self.engine.search(request)
            with self._cache_lock:
                self._cache[key] = cached
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return copy.deepcopy(cached)

    @functools.cached_property
    def registry(self) -> Registry:
        """Instruments this index knows, for resolving citations typed or found in text."""
        return Registry.from_documents(Document.from_front_matter(d) for d in self.documents)

    @functools.cached_property
    def links(self) -> dict[str, dict[str, list[str]]]:
        path = self.path / "links.json"
        if not path.is_file():
            return {"cites": {}, "cited_by": {}, "amends": {}, "amended_by": {}, "changes": {}}
        return json.loads(path.read_text(encoding="utf-8"))

    def canonical_id(self, passage_id: str) -> str | None:
        """The id under which this provision is indexed, trying Part numbering both ways."""
        if self.provision_exists(passage_id):
            return passage_id
        for arabic, roman in _ROMAN_PARTS.items():
            for old, new in (
                (f"/part/{arabic}", f"/part/{roman}"),
                (f"/part/{roman}", f"/part/{arabic}"),
            ):
                if old + "/" in passage_id + "/":
                    other = (passage_id + "/").replace(old + "/", new + "/", 1).rstrip("/")
                    if self.provision_exists(other):
                        return other
        return None

    def provision_exists(self, passage_id: str) -> bool:
        found = self.document_for_passage_id(passage_id)
        if found is None:
            return False
        record = self.document_record(found[0]["id"])
        return any(n["pin"] == found[1] for n in record["nodes"])

    def references(self, passage_id: str, members: list[str]) -> dict[str, Any]:
        """Cross-references of a provision, its enclosing provisions and what it contains.

        Guidance citing "section 3" is shown on s 3(2) too, and a citation of s 3(2) on s 3.
        `changes` gives, for each `amended_by` / `amends` item, the kind of change and its
        date ({"change": "inserted", "date": "2008-02-01"}, None where unknown): the keys an
        API cross-reference of those kinds carries.
        """
        parts = passage_id.split("/")
        around = {"/".join(parts[:n]) for n in range(1, len(parts))} | set(members) | {passage_id}
        result: dict[str, Any] = {}
        changes: dict[str, dict[str, dict[str, str | None]]] = {}
        detail = self.links.get("changes") or {}
        for kind in ("cited_by", "amended_by", "amends"):
            table = self.links.get(kind, {})
            found: list[str] = []
            for key in sorted(around):
                for other in table.get(key, []):
                    if other not in found and other not in around:
                        found.append(other)
                    if kind in ("amended_by", "amends") and other in found:
                        known = (detail.get(kind) or {}).get(key, {}).get(other) or {}
                        entry = changes.setdefault(kind, {}).setdefault(
                            other, {"change": None, "date": None}
                        )
                        entry["change"] = entry["change"] or known.get("change")
                        entry["date"] = entry["date"] or known.get("date")
            result[kind] = found
        result["changes"] = {kind: changes.get(kind, {}) for kind in ("amended_by", "amends")}
        cites = self.links.get("cites", {})
        result["cites"] = list(
            dict.fromkeys(t for m in [passage_id, *members] for t in cites.get(m, []))
        )
        return result

    @staticmethod
    def change_of(refs: dict[str, Any], kind: str, other: str) -> dict[str, str | None]:
        """The keys an API cross-reference adds: {"change", "date"} on amended_by / amends
        items (None where unknown), nothing on cited_by / cites. With references():
        `[_link(version, o) | version.change_of(refs, kind, o) for o in refs[kind]]`."""
        if kind not in ("amended_by", "amends"):
            return {}
        known = (refs.get("changes") or {}).get(kind, {}).get(other) or {}
        return {"change": known.get("change"), "date": known.get("date")}

    @classmethod
    def open(cls, path: Path) -> IndexVersion:
        """Open a version, or say plainly that it is damaged (never a traceback)."""
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            documents = json.loads((path / "documents.json").read_text(encoding="utf-8"))
            engine = open_engine(manifest.get("engine", "whoosh"), path / "engine")
            engine.count()  # touches the segments, so missing files show up now
        except Exception as exc:  # noqa: BLE001 - any failure to read means the same to a user
            raise store.IndexMissing(
                f"The index version {path.name} in {path.parent} cannot be read "
                f"({type(exc).__name__}: {exc}). Run `kb build` to write a new one."
            ) from exc
        return cls(path.name, path, engine, manifest, documents)

    def _document_record(self, document_id: str) -> dict[str, Any] | None:
        if document_id not in self.by_id:
            return None
        record = self.path / "docs" / f"{store.doc_key(document_id)}.json"
        return json.loads(record.read_text(encoding="utf-8"))

    def provision(self, passage_id: str) -> dict[str, Any] | None:
        """A passage, or a provision that only groups passages (s 3 made of s 3(1), s 3(2)).

        Returns the document summary, its node, the indexed passage if there is one, and the
        passages it contains, so a page or the API can show the whole provision.
        """
        passage_id = self.canonical_id(passage_id) or passage_id
        found = self.document_for_passage_id(passage_id)
        if found is None:
            return None
        document, pin = found
        record = self.document_record(document["id"])
        nodes = record["nodes"] if record else []
        node = next((n for n in nodes if n["pin"] == pin), None)
        if node is None:
            return None
        prefix = pin + "/"
        inside = [n for n in nodes if n["pin"] == pin or n["pin"].startswith(prefix)]
        if node.get("is_heading"):
            index = nodes.index(node)
            inside = [node]
            for other in nodes[index + 1 :]:
                if other.get("is_heading") and other["depth"] <= node["depth"]:
                    break
                inside.append(other)
        return {
            "id": f"{document['id']}/{pin}",
            "document": document,
            "record": record,
            "node": node,
            "passage": self.engine.passage(f"{document['id']}/{pin}"),
            "members": [f"{document['id']}/{n['pin']}" for n in inside if n.get("text")],
            "text": "\n".join(n["text"] for n in inside if n.get("text")),
        }

    def document_for_passage_id(self, passage_id: str) -> tuple[dict[str, Any], str] | None:
        """Split a passage or node id into its document and pin, longest document id first."""
        parts = passage_id.strip("/").split("/")
        for cut in range(len(parts) - 1, 0, -1):
            doc_id = "/".join(parts[:cut])
            if doc_id in self.by_id:
                return self.by_id[doc_id], "/".join(parts[cut:])
        return None


class KnowledgeBase:
    """Thread-safe access to the current index version.

    A request takes the version in force when it starts and finishes on it, even if a build
    switches CURRENT meanwhile; old versions are closed a while after they were replaced.
    """

    def __init__(self, settings: Settings, check_interval: float = 1.0):
        self.settings = settings
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._version: IndexVersion | None = None
        self._checked_at = 0.0
        self._retired: list[tuple[float, IndexVersion]] = []

    def current(self) -> IndexVersion:
        now = time.monotonic()
        version = self._version
        if version is not None and now - self._checked_at < self.check_interval:
            return version
        with self._lock:
            self._checked_at = now
            name = store.current_version(self.settings.index_dir)
            if self._version is not None and name == self._version.name:
                return self._version
            fresh = IndexVersion.open(store.current_dir(self.settings.index_dir))
            if self._version is not None:
                self._retired.append((now, self._version))
            self._version = fresh
            self._close_retired(now)
            return fresh

    def _close_retired(self, now: float) -> None:
        keep = []
        for retired_at, old in self._retired:
            if now - retired_at > RETIRE_AFTER_S:
                old.engine.close()
            else:
                keep.append((retired_at, old))
        self._retired = keep

    def close(self) -> None:
        with self._lock:
            for _, old in self._retired:
                old.engine.close()
            self._retired.clear()
            if self._version is not None:
                self._version.engine.close()
                self._version = None
