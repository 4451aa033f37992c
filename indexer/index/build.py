"""`kb build`: corpus -> passages -> a new index version, switched in atomically."""

from __future__ import annotations

import errno
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from indexer import links
from indexer.corpus import CorpusSelection, Problem, read_document, select_corpus
from indexer.index import changes, dense, store
from indexer.index.engine import UnknownEngine, writer_for
from indexer.passages import BodyError, ParsedDocument, parse_document
from kb.core.cite import Registry
from kb.core.config import Settings
from kb.core.effects import Cited, stale_citations
from kb.core.models import DocumentError, Passage, effects, outstanding_changes

ABANDONED_AFTER_S = 6 * 3600
# Whoosh's p95 is ~200 ms at 10,000 passages and ~2 s at 100,000 on two cores (bench/RESULTS.md).
LARGE_CORPUS = 20_000


class BuildFailed(RuntimeError):
    pass


@dataclass
class BuildReport:
    documents: int = 0
    passages: int = 0
    problems: list[Problem] = field(default_factory=list)
    version: str | None = None
    engine: str = ""  # the engine written with (KB_ENGINE, or what auto chose)
    seconds: float = 0.0
    changes: int = 0  # entries this build added to the change log (indexer/index/changes.py)
    selection: CorpusSelection | None = None  # what was read, samples or not
    dense: dense.Embedded | None = None  # the vectors written (the semantic extra), or none


def _display(path: Path, roots: list[Path]) -> str:
    for root in roots:
        try:
            return str(path.relative_to(root.parent if root.is_dir() else root.parent))
        except ValueError:
            continue
    return str(path)


def build(
    settings: Settings,
    corpus: list[Path] | None = None,
    include_samples: bool | None = None,
    strict: bool = False,
    progress: bool = True,
    note: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build a new index version from the corpus roots and switch to it. `include_samples`:
    True or False as asked, None to index the invented samples only when the roots hold nothing
    else. `note` is told, before the index is written, anything the person building should
    know (a corpus too large for Whoosh)."""
    started = time.perf_counter()
    roots = corpus or [settings.corpus]
    for root in roots:
        if not root.exists():
            raise BuildFailed(f"The corpus folder {root} does not exist (set KB_CORPUS).")
    index_dir = settings.index_dir
    try:
        with store.build_lock(index_dir):
            return _build_locked(settings, roots, include_samples, strict, progress, started, note)
    except store.BuildLocked as exc:
        raise BuildFailed(str(exc)) from None
    except OSError as exc:  # a full disk, a folder we may not write: said plainly, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        hint = " Free some space and build again." if exc.errno == errno.ENOSPC else ""
        raise BuildFailed(
            f"the file system stopped the build in {index_dir}: {exc.strerror or exc}{where}; "
            f"nothing of it was kept and the index being served was left as it was.{hint}"
        ) from None


def _build_locked(
    settings: Settings,
    roots: list[Path],
    include_samples: bool | None,
    strict: bool,
    progress: bool,
    started: float,
    note: Callable[[str], None] | None = None,
) -> BuildReport:
    selection = select_corpus(roots, include_samples)
    paths = selection.paths
    report = BuildReport(selection=selection)
    index_dir = settings.index_dir
    _remove_stale_builds(index_dir)
    store.remove_unserved(index_dir)
    build_dir = store.start_build(index_dir)
    try:
        report.version = _write_version(
            settings, roots, paths, report, build_dir, strict, progress, started, note
        )
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    return report


def _write_version(
    settings: Settings,
    roots: list[Path],
    paths: list[Path],
    report: BuildReport,
    build_dir: Path,
    strict: bool,
    progress: bool,
    started: float,
    note: Callable[[str], None] | None = None,
) -> str:
    parsed_docs, summaries = _read_corpus(paths, roots, report, progress)
    report.documents = len(parsed_docs)
    total = sum(len(d.passages) for d in parsed_docs)
    with _stage("Linking cross-references and effects", progress):
        link_maps = _link(parsed_docs)
    report.engine = chosen_engine(settings.engine)
    if report.engine == "whoosh" and total > LARGE_CORPUS and note:
        note(
            f"Note: {total:,} passages is a large corpus for Whoosh. Building with "
            "KB_ENGINE=tantivy gives the same results much faster (README: Speed, measured)."
        )
    report.passages = _write_engine(report.engine, build_dir, parsed_docs, total, progress)
    report.dense = _write_dense(settings, build_dir, parsed_docs, progress)
    if strict and report.problems:
        raise BuildFailed(
            f"{len(report.problems)} problem(s) in the corpus and --strict was given; "
            "the index being served was left as it was."
        )
    if not report.documents:
        raise BuildFailed("No documents could be indexed; the index being served was kept.")
    store.write_json(build_dir / "documents.json", summaries)
    store.write_json(build_dir / "links.json", link_maps)
    _write_changes(settings, build_dir, parsed_docs, report)
    report.seconds = time.perf_counter() - started
    with _stage("Checking and switching to the new version", progress):
        return _publish(settings, build_dir, report)


def _read_corpus(
    paths: list[Path], roots: list[Path], report: BuildReport, progress: bool
) -> tuple[list[ParsedDocument], list[dict]]:
    """Each corpus file parsed into passages, with its summary for documents.json; a file that
    cannot be read, repeats an id or holds no text is a problem in the report instead."""
    summaries: list[dict] = []
    seen: dict[str, str] = {}
    parsed_docs: list[ParsedDocument] = []
    for path in tqdm(paths, desc="Reading and parsing", unit="doc", disable=not progress):
        name = _display(path, roots)
        try:
            parsed = read_document(path)
            doc = parsed.document
            if doc.id in seen:
                raise DocumentError(f"id {doc.id!r} is already used by {seen[doc.id]}")
            result = parse_document(doc, parsed.body)
        except (DocumentError, BodyError, OSError) as exc:
            report.problems.append(Problem(name, str(exc)))
            continue
        seen[doc.id] = name
        report.problems.extend(Problem(name, warning) for warning in result.warnings)
        if not result.passages:
            report.problems.append(Problem(name, "no text to index (empty body)"))
            continue
        parsed_docs.append(result)
        summaries.append(_summary(result, name))
    return parsed_docs, summaries


def _summary(result: ParsedDocument, name: str) -> dict:
    """A document's entry in documents.json."""
    doc = result.document
    return {
        **{k: v for k, v in doc.to_dict().items() if k != "extra"},
        "passage_count": len(result.passages),
        "source_file": name,
        # legislation.gov.uk's effects not yet applied to the text (Document.extra)
        "outstanding_changes": outstanding_changes(doc.extra.get("outstanding_changes")),
        # every effect legislation.gov.uk lists on it (the crawler's changes feed)
        "effects": [e.to_dict() for e in effects(doc.extra.get("effects"))],
        # point in time (indexer/sources/legislation/versions.py): what this is an earlier version of
        **{k: doc.extra[k] for k in ("version_of", "version_date") if doc.extra.get(k)},
    }


def _link(parsed_docs: list[ParsedDocument]) -> dict[str, dict[str, list[str]]]:
    """links.json's maps; marks passages citing provisions changed since (mark_stale)."""
    # An earlier version is the same instrument: it is neither cited by name nor a source
    # of cross-references of its own (those are the current text's).
    current = [d for d in parsed_docs if not d.document.extra.get("version_of")]
    registry = Registry.from_documents(d.document for d in current)
    link_maps = links.collect(current, registry)
    mark_stale(current, registry)
    return link_maps


def chosen_engine(setting: str) -> str:
    """The engine a build writes with: KB_ENGINE's, or for auto (the default) tantivy, and
    Whoosh only where tantivy cannot be imported. Measured with bench/ (README: Speed), Whoosh
    met SQLite FTS5's p95 at no corpus size: 23.8x it at 1,000 passages, 6.3x at 10,000, its
    own matching being most of the time (bench/profiles/), so no size is better served by it."""
    if setting != "auto":
        return setting
    try:
        import tantivy  # noqa: F401 - a wheel exists for every platform CI uses; not for all
    except ImportError:
        return "whoosh"
    return "tantivy"


def _write_engine(
    engine: str,
    build_dir: Path,
    parsed_docs: list[ParsedDocument],
    total: int,
    progress: bool,
) -> int:
    """The engine's index and each document's record; the number of passages written."""
    try:
        write_index = writer_for(engine)
    except UnknownEngine as exc:
        raise BuildFailed(str(exc)) from None

    def passages() -> Iterator[Passage]:
        bar = tqdm(total=total, desc="Writing", unit="passage", disable=not progress)
        for result in parsed_docs:
            store.write_document_record(build_dir, result.document, result.nodes)
            yield from result.passages
            bar.update(len(result.passages))
        bar.close()
        if progress:  # the engine now commits: at tens of thousands of passages, a while
            tqdm.write("Committing the index…", file=sys.stderr)

    write_started = time.perf_counter()
    written = write_index(build_dir / "engine", passages(), None)
    if progress:
        elapsed = time.perf_counter() - write_started
        tqdm.write(f"Index written in {elapsed:.1f}s", file=sys.stderr)
    return written


def _write_dense(
    settings: Settings, build_dir: Path, parsed_docs: list[ParsedDocument], progress: bool
) -> dense.Embedded | None:
    """With the semantic extra (and KB_EMBEDDINGS not off), every passage's vector in
    dense/, reusing KB_HOME/embeddings by text so only new or changed text is embedded."""
    if settings.embeddings == "off" or not dense.available():
        return None
    bars: list[tqdm] = []

    def total(n: int) -> None:  # the bar counts only what is embedded, not what is reused
        bars.append(tqdm(total=n, desc="Embedding", unit="passage", disable=not progress))

    passages = (p for result in parsed_docs for p in result.passages)
    embedded = dense.write_vectors(
        settings.home, build_dir, passages, lambda n: bars[0].update(n), total
    )
    for bar in bars:
        bar.close()
    if progress:
        tqdm.write(
            f"Embeddings: {embedded.embedded:,} computed, {embedded.reused:,} reused "
            f"({dense.MODEL})",
            file=sys.stderr,
        )
    return embedded


def _publish(settings: Settings, build_dir: Path, report: BuildReport) -> str:
    manifest = {
        "engine": report.engine,
        "documents": report.documents,
        "passages": report.passages,
        "problems": [str(p) for p in report.problems],
        "seconds": round(report.seconds, 3),
    }
    if report.dense is not None:
        manifest["dense"] = {"model": dense.MODEL, "dim": dense.DIM, **vars(report.dense)}
    return store.publish(settings.index_dir, build_dir, manifest)


@contextmanager
def _stage(label: str, progress: bool) -> Iterator[None]:
    """A stage with no natural count: said when it starts and when it is done."""
    started = time.perf_counter()
    if progress:
        tqdm.write(f"{label}…", file=sys.stderr)
    yield
    if progress:
        tqdm.write(f"{label}: done in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def _write_changes(
    settings: Settings, build_dir: Path, parsed_docs: list[ParsedDocument], report: BuildReport
) -> None:
    """digests.json and changes.json: what this build changed against the served version."""
    previous, log, problem = changes.served(settings.index_dir)
    if problem:
        report.problems.append(Problem("index", problem + "; the change log starts afresh"))
    current = changes.digests((d.document, d.passages) for d in parsed_docs)
    entries = changes.diff(previous, current, changes.now())
    report.changes = len(entries)
    store.write_json(build_dir / "digests.json", current)
    store.write_json(build_dir / "changes.json", changes.merged_log(log, entries))


def mark_stale(parsed: list[ParsedDocument], registry: Registry) -> None:
    """Fill `stale_citations` on each guidance passage whose `cites` (links.collect) name a
    provision changed since the guidance was issued (kb.core.effects.stale_citations)."""
    cited = {
        item.document.id: Cited(item.document, found)
        for item in parsed
        if (found := effects(item.document.extra.get("effects")))
    }
    if not cited:
        return
    known = {f"{item.document.id}/{node.pin}" for item in parsed for node in item.nodes}
    for item in parsed:
        for passage in item.passages:
            if passage.cites:
                passage.stale_citations = stale_citations(
                    item.document, passage.cites, cited, registry, known
                )


def _remove_stale_builds(index_dir: Path) -> None:
    """Clear what killed builds left behind; a build still running elsewhere is left alone."""
    now = time.time()
    for stale in index_dir.glob(".building-*"):
        try:
            abandoned = now - stale.stat().st_mtime > ABANDONED_AFTER_S
        except FileNotFoundError:
            continue
        if abandoned or not store.builder_alive(stale):
            shutil.rmtree(stale, ignore_errors=True)
