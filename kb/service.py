"""The knowledge base as the web app and CLI see it: the current index version, reopened on switch."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.index import dense, store
from indexer.index.engine import Engine, SearchRequest, SearchResponse, open_engine
from kb.core.cite import Registry
from kb.core.config import DEFAULT_QUERY_CACHE, Settings
from kb.core.effects import Ends, as_outstanding_change, effect_json, on_pin
from kb.core.models import Document, Effect, effects
from kb.core.paths import document_path, passage_path
from kb.core.vocabularies import roman_or_arabic

RETIRE_AFTER_S = 60.0
TOUCH_EVERY_S = 10.0  # how often a server marks the version it serves as in use (store.touch)
# Cross-references a provision page lists, and those of them that carry a change and a date.
LINK_KINDS = ("cited_by", "amended_by", "amends")
CHANGE_KINDS = ("amended_by", "amends")
REFUSED_RETRY_S = 30.0  # a version refused as damaged is verified again at most this often
RECHECK_FILES = 512  # files IndexVersion.recheck() looks at per call (~3 ms)
log = logging.getLogger("kb.index")


@dataclass
class IndexVersion:
    """One published index version: its engine, manifest and documents."""

    name: str
    path: Path
    engine: Engine
    manifest: dict[str, Any]
    documents: list[dict[str, Any]]
    states: dict[str, Any] = field(default_factory=dict)  # file_state() of each verified file
    by_id: dict[str, dict[str, Any]] = field(init=False)
    # Where provisions not held here are linked to (Settings.legislation_url; set on opening)
    legislation_url: str = Settings.legislation_url
    cache_size: int = DEFAULT_QUERY_CACHE  # responses kept (Settings.query_cache; 0: none)

    def __post_init__(self):
        self.files: dict[str, str] = self.manifest.get("files") or {}
        self.damage: str | None = None  # what was found wrong since it was opened
        self._links: dict[str, Any] | None = None
        self.by_id = {doc["id"]: doc for doc in self.documents}
        self.document_record = functools.lru_cache(maxsize=256)(self._document_record)
        self._cache: OrderedDict = OrderedDict()
        self._cache_lock = threading.Lock()
        self._effects: dict[str, list[Effect]] = {}
        # (relative path, path, checksum) of each file recheck() looks at, and whose turn is next
        self._recheck_files = [(rel, self.path / rel, sha) for rel, sha in self.files.items()]
        self._recheck_next = 0

    def effects_of(self, document_id: str) -> list[Effect]:
        """A document's effects (documents.json), checked once per version."""
        found = self._effects.get(document_id)
        if found is None:
            summary = self.by_id.get(document_id) or {}
            found = self._effects[document_id] = effects(summary.get("effects"))
        return found

    @functools.cached_property
    def _ends(self) -> Ends:
        return Ends(self.registry, self.legislation_url, self.canonical_id, self.engine.passage)

    def effects_json(self, document_id: str, pin: str) -> list[dict[str, Any]]:
        """The effects shown on the provision at pin (Effect.affects), as the API gives them."""
        title = (self.by_id.get(document_id) or {}).get("title", "")
        return [
            effect_json(effect, pin, self._ends, title)
            for effect in on_pin(self.effects_of(document_id), pin)
        ]

    def outstanding_changes(
        self, document_id: str, pin: str | None = None
    ) -> list[dict[str, str | None]] | None:
        """When the document has an effects feed, its outstanding effects (all of them, or
        those shown on pin) as outstanding changes; None when it has none, so the CLML's own
        `outstanding_changes` are used and no change is listed twice."""
        found = self.effects_of(document_id)
        if not found:
            return None
        if pin is not None:
            found = on_pin(found, pin)
        return [as_outstanding_change(e, pin) for e in found if e.outstanding]

    def search(self, request: SearchRequest) -> SearchResponse:
        """The engine's answer, from a cache of recent requests to this version.

        A version never changes and a new version is a new object, so the cache is never stale.
        The response is shared by every request that asks the same: nothing may change it
        (kb.search builds its answer as new records from it).
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
            if cached.partial:  # cut short by the time budget: search again next time
                return cached
            with self._cache_lock:
                self._cache[key] = cached
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return cached

    @functools.cached_property
    def dense(self) -> dense.DenseIndex | None:
        """The version's passage vectors (verified with every other file when it was opened),
        or None when it was built without the semantic extra."""
        return dense.DenseIndex.load(self.path) if dense.VECTORS in self.files else None

    def hybrid_unavailable(self) -> str | None:
        """Why hybrid search cannot run on this version, or None when it can."""
        if not dense.available():
            return (
                "the semantic extra is not installed "
                "(pip install -c constraints.txt -e '.[semantic]', then kb build)"
            )
        if dense.VECTORS not in self.files:
            return (
                "this index version holds no embeddings "
                "(it was built without the semantic extra; run kb build)"
            )
        return None

    @functools.cached_property
    def registry(self) -> Registry:
        """Instruments this index knows, for resolving citations typed or found in text."""
        return Registry.from_documents(
            Document.from_front_matter(d) for d in self.documents if not d.get("version_of")
        )

    @functools.cached_property
    def _earlier_versions(self) -> dict[str, list[dict[str, Any]]]:
        """Current document id -> its earlier versions' summaries, oldest first."""
        found: dict[str, list[dict[str, Any]]] = {}
        for doc in self.documents:
            if doc.get("version_of"):
                found.setdefault(doc["version_of"], []).append(doc)
        for docs in found.values():
            docs.sort(key=lambda d: str(d.get("version_date") or ""))
        return found

    @functools.cached_property
    def current_documents(self) -> list[dict[str, Any]]:
        """The documents as listed: the current text of each, never an earlier version."""
        return [doc for doc in self.documents if not doc.get("version_of")]

    def earlier_versions(self, document_id: str) -> list[dict[str, Any]]:
        """The earlier versions held of a document (or of the one a version belongs to)."""
        doc = self.by_id.get(document_id) or {}
        return self._earlier_versions.get(doc.get("version_of") or document_id, [])

    def versions_summary(self, document_id: str) -> dict[str, Any]:
        """{count, earliest}: how many earlier versions are held and the first one's date."""
        earlier = self.earlier_versions(document_id)
        return {
            "count": len(earlier),
            "earliest": earlier[0].get("version_date") if earlier else None,
        }

    def held_from(self, document_id: str) -> str | None:
        """For a document held at several points in time, the first day of the earliest text
        held of it (no text of it is held for any day before); None for any other document."""
        doc = self.by_id.get(document_id) or {}
        current = self.by_id.get(doc.get("version_of") or document_id) or {}
        dates = [d.get("version_date") for d in [*self.earlier_versions(document_id), current]]
        dates = [str(d) for d in dates if d]
        return min(dates) if dates and current.get("version_date") else None

    def versions_of(self, passage_id: str) -> list[dict[str, Any]]:
        """Every version of a provision held here (the current text and each earlier point in
        time with the same pin), oldest first: {id, url, valid_from, valid_to, current}.
        Empty when its document has no earlier versions."""
        found = self.document_for_passage_id(passage_id)
        if found is None:
            return []
        document, pin = found
        current_id = document.get("version_of") or document["id"]
        earlier = self._earlier_versions.get(current_id, [])
        current = self.by_id.get(current_id)
        if not earlier or current is None:
            return []
        versions = []
        for doc in [*earlier, current]:
            pid = f"{doc['id']}/{pin}" if pin else doc["id"]
            if pin and not self.provision_exists(pid):
                continue
            versions.append(
                {
                    "id": pid,
                    "url": passage_path(pid) if pin else document_path(pid),
                    "valid_from": doc.get("version_date") or doc.get("valid_from"),
                    "valid_to": doc.get("valid_to") if doc is not current else None,
                    "current": doc is current,
                }
            )
        return versions

    def version_at(self, passage_id: str, day: str) -> str | None:
        """The id of the version of this provision in force on day (YYYY-MM-DD), if one is held
        here and it is not the one given; None otherwise."""
        for version in self.versions_of(passage_id):
            ended = version["valid_to"] is not None and version["valid_to"] <= day
            if (version["valid_from"] or "") <= day and not ended:
                return version["id"] if version["id"] != passage_id else None
        return None

    @property
    def links(self) -> dict[str, dict[str, list[str]]]:
        """links.json, read (and verified) when the version was opened."""
        if self._links is None:
            self._links = self._load_links()
        return self._links

    def _load_links(self) -> dict[str, Any]:
        if "links.json" not in self.files and not (self.path / "links.json").is_file():
            return {"cites": {}, "cited_by": {}, "amends": {}, "amended_by": {}, "changes": {}}
        return self._read_verified("links.json")

    @functools.cached_property
    def change_log(self) -> list[dict[str, Any]]:
        """changes.json (indexer/index/changes.py), read and verified once: a version never
        changes. Empty for a version built before the change log existed."""
        if "changes.json" not in self.files:
            return []
        log = self._read_verified("changes.json")
        return log if isinstance(log, list) else []

    def _read_verified(self, relative: str) -> Any:
        """A JSON file of this version, checked against its manifest's checksum as it is read;
        a missing or changed file marks the version damaged and is IndexMissing (a 503)."""
        try:
            data = (self.path / relative).read_bytes()
            expected = self.files.get(relative)
            if expected is not None and hashlib.sha256(data).hexdigest() != expected:
                raise ValueError("checksum mismatch")
            return json.loads(data.decode("utf-8"))
        except FileNotFoundError:
            problem = f"{relative} is missing"
        except (OSError, ValueError) as exc:
            problem = f"{relative} has changed since it was built or cannot be read ({exc})"
        error = store.damaged(self.path, problem)
        self.damage = str(error)
        raise error

    def recheck(self) -> str | None:
        """Whether the version is still as it was verified: each file's inode, size and mtime
        are compared with those seen then, and only a file that changed is hashed again.
        Returns (and keeps in `damage`) what is wrong, or None.

        At most RECHECK_FILES files are looked at per call, taking turns: a version of more
        files (one record per document: ~8,000 at 1,000,000 passages) is checked over several
        calls rather than stalling the one request that makes it (~130 ms there)."""
        if self.damage:
            return self.damage
        files = self._recheck_files
        start = self._recheck_next % max(len(files), 1)
        turn = files[start : start + RECHECK_FILES]
        turn += files[: RECHECK_FILES - len(turn)] if len(files) > RECHECK_FILES else []
        self._recheck_next = start + len(turn)
        for relative, path, expected in turn:
            state = store.file_state(path)
            if state is not None and state == self.states.get(relative):
                continue
            problem = store.check_file(self.path, relative, expected)
            if problem:
                self.damage = str(store.damaged(self.path, problem))
                return self.damage
            self.states[relative] = state
        return None

    def canonical_id(self, passage_id: str) -> str | None:
        """The id under which this provision is indexed, trying Part numbering both ways."""
        if self.provision_exists(passage_id):
            return passage_id
        for other in part_renumbered(passage_id):
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
        result: dict[str, Any] = {kind: self._linked(kind, around) for kind in LINK_KINDS}
        result["changes"] = {kind: self._changes(kind, around) for kind in CHANGE_KINDS}
        cites = self.links.get("cites", {})
        result["cites"] = list(
            dict.fromkeys(t for m in [passage_id, *members] for t in cites.get(m, []))
        )
        return result

    def _linked(self, kind: str, around: set[str]) -> list[str]:
        """What the provisions `around` are linked to by `kind`, each once, in key order,
        leaving out the provisions themselves."""
        table = self.links.get(kind, {})
        found: dict[str, None] = {}
        for key in sorted(around):
            found.update((other, None) for other in table.get(key, []) if other not in around)
        return list(found)

    def _changes(self, kind: str, around: set[str]) -> dict[str, dict[str, str | None]]:
        """For each linked amending (or amended) provision, the first known change and date
        over the provisions `around`, in key order."""
        table = self.links.get(kind, {})
        detail = (self.links.get("changes") or {}).get(kind) or {}
        changes: dict[str, dict[str, str | None]] = {}
        for key in sorted(around):
            for other in table.get(key, []):
                if other in around:
                    continue
                known = (detail.get(key) or {}).get(other) or {}
                entry = changes.setdefault(other, {"change": None, "date": None})
                entry["change"] = entry["change"] or known.get("change")
                entry["date"] = entry["date"] or known.get("date")
        return changes

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
    def open(cls, path: Path, cache_size: int = DEFAULT_QUERY_CACHE) -> IndexVersion:
        """Open a version after verifying every file against its manifest's checksums, or say
        plainly that it is damaged (IndexMissing, never a traceback); cache_size: responses
        kept for repeated requests."""
        states: dict[str, Any] = {}
        manifest = store.verify_version(path, states)
        try:
            documents = json.loads((path / "documents.json").read_text(encoding="utf-8"))
            engine = open_engine(manifest.get("engine", "whoosh"), path / "engine")
            engine.count()  # touches the segments, so missing files show up now
        except Exception as exc:  # noqa: BLE001 - any failure to read means the same to a user
            raise _unreadable(path, f"{type(exc).__name__}: {exc}") from exc
        try:
            version = cls(
                path.name, path, engine, manifest, documents, states, cache_size=cache_size
            )
            version.links  # noqa: B018 - read now, so a page never finds it damaged later
            version.registry  # noqa: B018 - built now, so no first search waits for it
        except store.IndexMissing:
            engine.close()
            raise
        except Exception as exc:  # noqa: BLE001 - documents that name no instrument properly
            engine.close()
            raise _unreadable(path, f"its documents: {type(exc).__name__}: {exc}") from exc
        return version

    def _document_record(self, document_id: str) -> dict[str, Any] | None:
        if document_id not in self.by_id:
            return None
        return self._read_verified(f"docs/{store.doc_key(document_id)}.json")

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
        inside = _inside(nodes, node)
        return {
            "id": f"{document['id']}/{pin}",
            "document": document,
            "record": record,
            "node": node,
            "passage": self.engine.passage(f"{document['id']}/{pin}"),
            "members": [f"{document['id']}/{n['pin']}" for n in inside if n.get("text")],
            "text": "\n".join(n["text"] for n in inside if n.get("text")),
        }

    @functools.cached_property
    def _id_depth(self) -> int:
        """Segments in the longest document id (ukpga/Geo6/6-7/48 has 4)."""
        return max((doc_id.count("/") + 1 for doc_id in self.by_id), default=0)

    def document_for_passage_id(self, passage_id: str) -> tuple[dict[str, Any], str] | None:
        """Split a passage or node id into its document and pin, longest document id first.

        Linear in the id's length: only as many leading segments as the longest document id
        has are tried, so an id of thousands of segments costs one split, not one join each.
        """
        depth = self._id_depth
        parts = passage_id.strip("/").split("/", depth)  # the last item is the rest, unsplit
        for cut in range(min(len(parts) - 1, depth), 0, -1):
            doc_id = "/".join(parts[:cut])
            if doc_id in self.by_id:
                return self.by_id[doc_id], "/".join(parts[cut:])
        return None


def _inside(nodes: list[dict[str, Any]], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes a provision is made of: itself and those under its pin, or for a heading,
    the nodes up to the next heading of the same or a higher level."""
    if not node.get("is_heading"):
        prefix = node["pin"] + "/"
        return [n for n in nodes if n["pin"] == node["pin"] or n["pin"].startswith(prefix)]
    index = nodes.index(node)
    inside = [node]
    for other in nodes[index + 1 :]:
        if other.get("is_heading") and other["depth"] <= node["depth"]:
            break
        inside.append(other)
    return inside


def part_renumbered(passage_id: str) -> list[str]:
    """The id with one Part number written the other way: '…/part/25/…' <-> '…/part/XXV/…'."""
    steps = passage_id.split("/")
    found = []
    for i in range(1, len(steps)):
        other = roman_or_arabic(steps[i]) if steps[i - 1] == "part" else None
        if other:
            found.append("/".join([*steps[:i], other, *steps[i + 1 :]]))
    return found


def _unreadable(path: Path, why: str) -> store.IndexMissing:
    return store.IndexMissing(
        f"The index version {path.name} in {path.parent} cannot be read ({why}). "
        "Run `kb build` to write a new one."
    )


class KnowledgeBase:
    """Thread-safe access to the current index version.

    A request takes the version in force when it starts and finishes on it, even if a build
    switches CURRENT meanwhile; old versions are closed a while after they were replaced.

    A version is verified completely before it is served. When CURRENT names a damaged one,
    the version being served stays (`refused` says which and why; retried every
    REFUSED_RETRY_S); with nothing to serve, IndexMissing. Once every check_interval the
    served version's files are checked for changes (RECHECK_FILES of them at a time, taking
    turns), and a damaged one is IndexMissing (a 503 from every route, /healthz included)
    until a new version is built.
    """

    def __init__(self, settings: Settings, check_interval: float = 1.0):
        self.settings = settings
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._version: IndexVersion | None = None
        self._checked_at = 0.0
        self._touched_at = float("-inf")
        self._retired: list[tuple[float, IndexVersion]] = []
        self.refused: tuple[str, str] | None = None  # (version, why) CURRENT names, not served
        self._refused_at = 0.0

    def current(self) -> IndexVersion:
        now = time.monotonic()
        version = self._version
        if version is not None and now - self._checked_at < self.check_interval:
            if version.damage:
                raise store.IndexMissing(version.damage)
            return version
        with self._lock:
            self._checked_at = now
            served = self._switch(now)
            if now - self._touched_at >= TOUCH_EVERY_S:
                store.touch(served.path)  # in use: no build prunes it
                self._touched_at = now
            if served.recheck():
                raise store.IndexMissing(served.damage)
            return served

    def _switch(self, now: float) -> IndexVersion:
        """The version to serve: the one CURRENT names if it is intact, else the one served."""
        index_dir = self.settings.index_dir
        name = store.current_version(index_dir)
        served = self._version
        if served is not None and name == served.name:
            return served
        if self.refused and self.refused[0] == name and now - self._refused_at < REFUSED_RETRY_S:
            if served is None:
                raise store.IndexMissing(self.refused[1])
            return served
        try:
            fresh = IndexVersion.open(store.current_dir(index_dir), self.settings.query_cache)
        except store.IndexMissing as exc:
            self.refused, self._refused_at = (name or "", str(exc)), now
            if served is None:
                raise
            log.warning("still serving index version %s: %s", served.name, exc)
            return served
        self.refused = None
        fresh.legislation_url = self.settings.legislation_url
        if served is not None:
            store.touch(served.path)  # requests in flight may use it a while longer
            self._retired.append((now, served))
        self._version = fresh
        self._touched_at = float("-inf")
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
