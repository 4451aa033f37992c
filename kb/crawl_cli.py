"""`kb crawl`: the command. The crawl itself (fetch, parse by kind, write) is indexer/crawl.py;
this adds the options, the signals, the report and the `kb update` watermark."""

from __future__ import annotations

import datetime as dt
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import click

from indexer.crawl import SourceReport, format_report, run_crawl
from indexer.http import Fetcher
from indexer.manifest import (
    ManifestError,
    Source,
    allowed_hosts,
    load_manifest,
    manifest_files,
)
from kb.core.config import Settings
from kb.update import record_crawl, sources_option, watermark_path


@click.command("crawl")
@sources_option
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
@click.pass_context
def crawl(ctx, sources_file, mirror, only, out, delay, deadline):
    """Fetch the sources manifest's legislation and guidance into the corpus."""
    settings = command_settings(ctx)
    with sigterm_as_exit():
        _crawl(settings, sources_file, mirror, only, out, delay, deadline)


@contextmanager
def sigterm_as_exit():
    """SIGTERM (a service manager's stop, `kill`) ends a crawl or update as Ctrl-C does:
    through every cleanup, so no partial download is left in the cache; the exit code is 143."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def command_settings(ctx: click.Context) -> Settings:
    """The `kb` group's settings (Settings.given), or the environment's when the command runs on
    its own; a setting that cannot be right is a message, not a traceback."""
    try:
        return Settings.given(ctx.obj)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _crawl(settings, sources_file, mirror, only, out, delay, deadline):
    sources = _sources(settings, sources_file, only)
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
    _exit_if_failed(reports, out, earlier)
    if complete:  # `kb update` can carry on from here
        record_crawl(settings, sources, started)
        click.echo(f"update watermark set in {watermark_path(settings)}; run `kb build` next")


def _sources(settings: Settings, sources_file: Path | None, only: tuple[str, ...]) -> list[Source]:
    """The manifest's sources, or only those `--only` names (each of which must be one)."""
    try:
        sources = load_manifest(manifest_files(sources_file, settings), settings)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from exc
    if not only:
        return sources
    unknown = sorted(set(only) - {s.id for s in sources})
    if unknown:
        known = ", ".join(s.id for s in sources)
        raise click.ClickException(f"unknown source id {', '.join(unknown)} (known: {known})")
    return [s for s in sources if s.id in only]


def _exit_if_failed(reports: list[SourceReport], out: Path, earlier: bool) -> None:
    """Exit 1, saying what was kept, when any source failed or was only partly fetched."""
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
