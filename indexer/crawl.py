"""`kb crawl`: fetch every source in the manifest, parse it by kind, write corpus documents.

A source that fails (network, parse) writes nothing, so what an earlier crawl wrote stays.
A source fetched only in part (a GOV.UK publication whose HTML part could not be fetched) is
`partial`: what was fetched is written, what was not keeps what an earlier crawl wrote, the
report names each missing part with its reason, and the crawl exits 1 as for a failure.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from indexer.corpus import read_document, write_document
from indexer.http import Fetcher, FetchResult, SourceFailed
from indexer.manifest import Source
from indexer.sources import Parser
from kb.core.config import Settings
from kb.core.models import Document, DocumentError

# kind -> "module:function", an indexer.sources.Parser:
#   parse_source(source: Source, fetcher: Fetcher, settings: Settings) -> list[(Document, str)]
# Imported lazily, so one missing parser fails only its own sources.
# A parser that got its source only in part says so on a document it returns:
#   document.extra["not_fetched"] = [{"url": ..., "reason": ..., "doc_id": ...}, ...]
# where `doc_id` (optional) is the document the missing part would have been. If the document
# itself has that id, it stands in for the part: it is written only where no complete copy
# from an earlier crawl exists. The written front matter keeps the URLs (`not_fetched`), so a
# reader can tell the document is incomplete; the reasons go to the report.
PARSERS = {
    "legislation": "indexer.sources.legislation:parse_source",
    "govuk": "indexer.sources.govuk:parse_source",
    "archived_html": "indexer.sources.archived:parse_source",
    "pdf": "indexer.sources.pdf:parse_source",
    "local": "indexer.sources.local:parse_source",
}


@dataclass
class SourceReport:
    source: Source
    status: str  # 'fetched' | 'not_modified' | 'mirror' | 'partial' | 'failed'
    reason: str = ""
    url: str | None = None
    documents: list[str] = field(default_factory=list)
    fetches: list[FetchResult] = field(default_factory=list)
    # 'partial': the parts not fetched ({"url", "reason", "doc_id"}), and the documents whose
    # earlier copy was kept rather than replaced by a stand-in
    not_fetched: list[dict[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    # what was written without failing the source: "effects not fetched (...)"
    notes: list[str] = field(default_factory=list)


def load_parser(source: Source) -> Parser:
    target = source.parser or PARSERS.get(source.kind)
    if not target:
        raise SourceFailed(f"no parser is registered for kind '{source.kind}'")
    module_name, _, func = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SourceFailed(
            f"parser {target} for kind '{source.kind}' is unavailable: {exc}"
        ) from exc
    parse = getattr(module, func, None)
    if parse is None:
        raise SourceFailed(f"parser {target} for kind '{source.kind}' does not exist")
    return parse


def crawl_source(source: Source, fetcher: Fetcher, settings: Settings, out: Path) -> SourceReport:
    start = len(fetcher.results)
    report = SourceReport(source=source, status="failed", url=source.url)
    try:
        documents = load_parser(source)(source, fetcher, settings)
        _take_not_fetched(documents, report)
        checked = [(_checked(doc), body) for doc, body in documents]
        if not checked:
            raise SourceFailed("the parser produced no documents")
        _write(checked, out, report)
    except SourceFailed as exc:
        report.reason, report.url = exc.reason, exc.url or source.url
    except Exception as exc:  # a parser bug or bad content fails its source, not the crawl
        report.reason = f"{exc.__class__.__name__}: {exc}"
    report.fetches = fetcher.results[start:]
    report.status = _status(report)
    return report


def _take_not_fetched(documents: list, report: SourceReport) -> None:
    """Move each document's parts not fetched into the report, keeping only their URLs on it."""
    for document, _ in documents:
        missing = document.extra.pop("not_fetched", None) or []
        missing = [dict(m) if isinstance(m, dict) else {"url": str(m)} for m in missing]
        if missing:
            report.not_fetched += missing
            document.extra["not_fetched"] = [str(m.get("url") or "") for m in missing]


def _write(checked: list, out: Path, report: SourceReport) -> None:
    """Write the documents; a stand-in for a missing part does not replace a complete copy."""
    stand_ins = {m.get("doc_id") for m in report.not_fetched} - {None, ""}
    for document, body in checked:
        target = out / f"{document.id}.md"
        if document.id in stand_ins and _complete_copy(target):
            report.kept.append(document.id)
            continue
        write_document(target, document, body)
        report.documents.append(document.id)
        if document.extra.get("effects_error"):
            report.notes.append(f"effects not fetched: {document.extra['effects_error']}")


def _status(report: SourceReport) -> str:
    if report.reason:
        return "failed"
    if report.not_fetched:
        return "partial"
    kinds = {r.status for r in report.fetches}
    return next(
        (s for s in ("fetched", "mirror", "not_modified", "cached") if s in kinds), "fetched"
    )


def _complete_copy(path: Path) -> bool:
    """An earlier crawl wrote this document whole (not itself a stand-in for a missing part)."""
    if not path.is_file():
        return False
    try:
        return not read_document(path).document.extra.get("not_fetched")
    except (OSError, DocumentError):
        return False


def _checked(document: Document) -> Document:
    """Round-trip the front matter, so nothing is written that the builder cannot read."""
    try:
        return Document.from_front_matter(document.front_matter())
    except DocumentError as exc:
        raise SourceFailed(f"document {document.id!r} is invalid: {exc}") from exc


def run_crawl(
    sources: list[Source],
    settings: Settings,
    out: Path,
    fetcher: Fetcher,
    progress: bool = True,
) -> list[SourceReport]:
    reports = []
    bar = tqdm(sources, desc="crawl", unit="source", disable=None if progress else True)
    for source in bar:
        bar.set_postfix_str(source.id)
        reports.append(crawl_source(source, fetcher, settings, out))
    bar.close()
    return reports


def format_report(reports: list[SourceReport]) -> list[str]:
    failed = [r for r in reports if r.status == "failed"]
    partial = [r for r in reports if r.status == "partial"]
    lines = []
    for r in reports:
        label = r.status.replace("_", " ")
        what = ", ".join(r.documents + [f"{k} (earlier copy kept)" for k in r.kept])
        lines.append(f"  {label:<12} {r.source.id:<24} {what}".rstrip())
    lines.append(_summary(reports, len(failed), len(partial)))
    for r in failed:
        lines.append(f"FAILED {r.source.id} ({r.url or 'no URL'}): {r.reason}")
    for r in reports:
        lines += [f"NOTE {r.source.id}: {note}" for note in r.notes]
    for r in partial:
        lines += [_partial_line(r, part) for part in r.not_fetched]
    return lines


def _summary(reports: list[SourceReport], failed: int, partial: int) -> str:
    count = {s: sum(r.status == s for r in reports) for s in ("fetched", "mirror", "not_modified")}
    summary = (
        f"{count['fetched']} fetched, {count['not_modified']} not modified, "
        f"{count['mirror']} from mirror, {failed} failed"
    )
    return summary + (f", {partial} partly fetched" if partial else "")


def _partial_line(r: SourceReport, part: dict[str, str]) -> str:
    doc_id = part.get("doc_id") or ""
    if doc_id in r.kept:
        outcome = f"; the earlier copy of {doc_id} was kept"
    elif doc_id in r.documents:
        outcome = f"; {doc_id} was written without it"
    else:
        outcome = ""
    return (
        f"PARTIAL {r.source.id}: not fetched {part.get('url') or 'no URL'}: "
        f"{part.get('reason') or 'no reason given'}{outcome}"
    )
