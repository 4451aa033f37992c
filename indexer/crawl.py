"""`kb crawl`: fetch every source in the manifest, parse it by kind, write corpus documents.

A source that fails (network, parse) writes nothing, so what an earlier crawl wrote stays.
A source fetched only in part (a GOV.UK publication whose HTML part could not be fetched) is
`partial`: what was fetched is written, what was not keeps what an earlier crawl wrote, the
report names each missing part with its reason, and the crawl exits 1 as for a failure.
"""

from __future__ import annotations

import datetime as dt
import importlib
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import click
from tqdm import tqdm

from indexer.corpus import read_document, write_document
from indexer.http import Fetcher, FetchResult, SourceFailed
from indexer.manifest import ManifestError, Source, allowed_hosts, load_manifest, manifest_files
from kb.core.config import Settings
from kb.core.models import Document, DocumentError

# kind -> "module:function" with the signature
#   parse_source(source: Source, fetcher: Fetcher, settings: Settings) -> list[(Document, str)]
# Imported lazily, so one missing parser fails only its own sources.
# A parser that got its source only in part says so on a document it returns:
#   document.extra["not_fetched"] = [{"url": ..., "reason": ..., "doc_id": ...}, ...]
# where `doc_id` (optional) is the document the missing part would have been. If the document
# itself has that id, it stands in for the part: it is written only where no complete copy
# from an earlier crawl exists. The written front matter keeps the URLs (`not_fetched`), so a
# reader can tell the document is incomplete; the reasons go to the report.
PARSERS = {
    "legislation": "indexer.clml:parse_source",
    "govuk": "indexer.govuk:parse_source",
    "archived_html": "indexer.archived:parse_source",
    "pdf": "indexer.pdfdoc:parse_source",
    "local": "indexer.local:parse_source",
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


def load_parser(source: Source):
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
        parse = load_parser(source)
        documents = parse(source, fetcher, settings)
        for document, _ in documents:
            missing = document.extra.pop("not_fetched", None) or []
            missing = [dict(m) if isinstance(m, dict) else {"url": str(m)} for m in missing]
            if missing:
                report.not_fetched += missing
                document.extra["not_fetched"] = [str(m.get("url") or "") for m in missing]
        checked = [(_checked(doc), body) for doc, body in documents]
        if not checked:
            raise SourceFailed("the parser produced no documents")
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
    except SourceFailed as exc:
        report.reason, report.url = exc.reason, exc.url or source.url
    except Exception as exc:  # a parser bug or bad content fails its source, not the crawl
        report.reason = f"{exc.__class__.__name__}: {exc}"
    report.fetches = fetcher.results[start:]
    if not report.reason and report.not_fetched:
        report.status = "partial"
    elif not report.reason:
        kinds = {r.status for r in report.fetches}
        report.status = next(
            (s for s in ("fetched", "mirror", "not_modified", "cached") if s in kinds), "fetched"
        )
    return report


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
    counts = {s: sum(r.status == s for r in reports) for s in ("fetched", "mirror")}
    counts["not_modified"] = sum(r.status == "not_modified" for r in reports)
    failed = [r for r in reports if r.status == "failed"]
    partial = [r for r in reports if r.status == "partial"]
    lines = []
    for r in reports:
        label = r.status.replace("_", " ")
        what = ", ".join(r.documents + [f"{k} (earlier copy kept)" for k in r.kept])
        lines.append(f"  {label:<12} {r.source.id:<24} {what}".rstrip())
    summary = (
        f"{counts['fetched']} fetched, {counts['not_modified']} not modified, "
        f"{counts['mirror']} from mirror, {len(failed)} failed"
    )
    if partial:
        summary += f", {len(partial)} partly fetched"
    lines.append(summary)
    for r in failed:
        lines.append(f"FAILED {r.source.id} ({r.url or 'no URL'}): {r.reason}")
    for r in reports:
        lines += [f"NOTE {r.source.id}: {note}" for note in r.notes]
    for r in partial:
        for part in r.not_fetched:
            doc_id = part.get("doc_id") or ""
            if doc_id in r.kept:
                outcome = f"; the earlier copy of {doc_id} was kept"
            elif doc_id in r.documents:
                outcome = f"; {doc_id} was written without it"
            else:
                outcome = ""
            lines.append(
                f"PARTIAL {r.source.id}: not fetched {part.get('url') or 'no URL'}: "
                f"{part.get('reason') or 'no reason given'}{outcome}"
            )
    return lines


@click.command("crawl")
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(exists=True, path_type=Path),
    help="A manifest file or folder (default: $KB_SOURCES, else <corpus>/sources/).",
)
@click.option(
    "--mirror",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Read DIR/<host>/<path> instead of the network (air-gapped use).",
)
@click.option("--only", "only", multiple=True, metavar="ID", help="Crawl only this source id.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where corpus documents go (default: <corpus>/crawled).",
)
@click.option(
    "--delay",
    type=float,
    metavar="SECONDS",
    help="Seconds between requests to one host (default: $KB_CRAWL_DELAY or 1).",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Total seconds one request may take, body included (default: $KB_CRAWL_DEADLINE or 300).",
)
def crawl(sources_file, mirror, only, out, delay, deadline):
    """Fetch the sources manifest's legislation and guidance into the corpus."""
    # SIGTERM (a service manager's stop, `kill`) ends the crawl as Ctrl-C does: through every
    # cleanup, so no partial download is left in the cache; the exit code is 143.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        _crawl(sources_file, mirror, only, out, delay, deadline)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def _crawl(sources_file, mirror, only, out, delay, deadline):
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        sources = load_manifest(manifest_files(sources_file, settings), settings)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from exc
    if only:
        unknown = sorted(set(only) - {s.id for s in sources})
        if unknown:
            known = ", ".join(s.id for s in sources)
            raise click.ClickException(f"unknown source id {', '.join(unknown)} (known: {known})")
        sources = [s for s in sources if s.id in only]
    complete = not (only or mirror or out)  # every source, from the site, into the corpus
    out = out or settings.corpus / "crawled"
    started = dt.datetime.now(dt.UTC)
    fetcher = Fetcher(
        settings,
        mirror=mirror,
        allowed_hosts=allowed_hosts(sources, settings),
        delay=delay,
        deadline=deadline,
    )
    earlier = out.is_dir() and any(out.rglob("*.md"))
    reports = run_crawl(sources, settings, out, fetcher)
    for line in format_report(reports):
        click.echo(line)
    failed = sum(r.status == "failed" for r in reports)
    partial = sum(r.status == "partial" for r in reports)
    kept = (
        "earlier copies, where there were any, were kept"
        if earlier
        else f"there was no earlier crawl in {out}, so nothing was kept in their place"
    )
    if partial:
        click.echo(
            f"crawl finished with {failed} failed and {partial} partly fetched source(s); "
            f"what was not fetched was not written: {kept}.",
            err=True,
        )
        raise SystemExit(1)
    if failed:
        click.echo(f"crawl finished with {failed} failed source(s); {kept}.", err=True)
        raise SystemExit(1)
    if complete:  # `kb update` can carry on from here
        from kb.update import record_crawl, watermark_path

        record_crawl(settings, sources, started)
        click.echo(f"update watermark set in {watermark_path(settings)}; run `kb build` next")
