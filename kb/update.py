"""`kb update`: re-fetch only what legislation.gov.uk says changed since the last update.

For each legislation item in the manifest it asks the Publication Log, filtered to that item
(never the unfiltered `/update/data.feed`), for what was published since the watermark:

- one feed per day, `{base}/update/{date}/{item}/data.feed`, from the watermark's date to today;
  for a span over KB_UPDATE_MAX_DAYS days, the item's undated log instead,
  `{base}/update/{item}/data.feed?sort=date&sortorder=descending`, read until an entry is older
  than the watermark. Every `next` page is followed.
- a `legislation` XML entry means its text changed (the Item URL names the version: latest,
  `enacted`, or a point in time); a `changes` entry with direction `affected` means its effects
  changed; other entries (PDFs, associated documents, effects the item makes on others) do not
  touch the corpus.

A changed item is crawled again with a Fetcher that serves every URL not named as changed from
the raw cache, without a request; the changed ones get a conditional GET. An unchanged item is
not requested at all. Other kinds of source (guidance) are re-checked with conditional GETs.
Then the index is rebuilt if anything changed.

The watermark, `KB_HOME/update.json`, is written (atomically) only when every item and the
build succeeded: `{"last_success": <UTC time the run started>, "needs_build": bool, "items":
{"<item>": {"source": id, "checked": time, "changed": time or null, "why": text}}}`. A complete
`kb crawl` sets it too, with needs_build true (the next update builds even if nothing changed).
No watermark, one from before the Publication Log begins, or `--full`: a full crawl.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click

from indexer.crawl import SourceReport, crawl_source
from indexer.feeds import LogEntry, page_log_entries, timestamp
from indexer.http import Fetcher, SourceFailed
from indexer.manifest import ManifestError, Source, allowed_hosts, load_manifest, manifest_files
from indexer.sources.legislation.effects import FeedUnavailable, fetch_pages, item_prefixes
from kb.core.config import Settings
from kb.core.legislation import parse_path

# The Publication Log has entries from 5 July 2023 on (docs/api/publication-log.md: resources
# published before then may have no entry), so an earlier watermark cannot be caught up from it.
LOG_BEGINS = dt.date(2023, 7, 5)
WATERMARK = "update.json"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _short(when: dt.datetime | None) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ") if when else "at an unknown time"


# --- the watermark --------------------------------------------------------------------------


def watermark_path(settings: Settings) -> Path:
    return settings.home / WATERMARK


def read_watermark(settings: Settings) -> dict | None:
    """The last successful update, or None (none yet, or a file that cannot be read)."""
    try:
        data = json.loads(watermark_path(settings).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or timestamp(data.get("last_success")) is None:
        return None
    if not isinstance(data.get("items"), dict):
        data["items"] = {}
    return data


def write_watermark(settings: Settings, data: dict) -> None:
    path = watermark_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".update-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _item(source: Source) -> str:
    parsed = parse_path(source.path or "")
    return parsed.document if parsed else (source.path or "")


def record_crawl(settings: Settings, sources: list[Source], started: dt.datetime) -> None:
    """A complete `kb crawl` of every source: the corpus is as current as a full update, but
    not yet indexed (needs_build)."""
    previous = read_watermark(settings) or {"items": {}}
    items = dict(previous["items"])
    for source in sources:
        if source.kind == "legislation":
            items[_item(source)] = {
                "source": source.id,
                "checked": _iso(started),
                "changed": _iso(started),
                "why": "kb crawl",
            }
    write_watermark(settings, {"last_success": _iso(started), "needs_build": True, "items": items})


# --- what the Publication Log says ------------------------------------------------------------


@dataclass
class ItemUpdate:
    source: Source
    item: str
    status: str = "unchanged"  # 'unchanged' | 'fetched' | 'failed' | 'not_checked'
    text: bool = False  # its text (a version) was published or withdrawn
    effects: bool = False  # its effects were published
    why: list[str] = field(default_factory=list)
    error: str = ""
    changed_at: dt.datetime | None = None

    @property
    def changed(self) -> bool:
        return self.text or self.effects

    def to_dict(self) -> dict:
        return {
            "source": self.source.id,
            "item": self.item,
            "status": self.status,
            "text_changed": self.text,
            "effects_changed": self.effects,
            "why": "; ".join(self.why) or ("unchanged" if self.status == "unchanged" else ""),
            "error": self.error or None,
        }


def _version_label(url: str | None) -> str:
    parsed = parse_path(url or "")
    version = parsed.version if parsed else ""
    if not version:
        return "latest version"
    if version[:1].isdigit():
        return f"point in time {version}"
    return f"{version} version"


def consider(update: ItemUpdate, entry: LogEntry, since: dt.datetime) -> None:
    """Note what one log entry changed for the item (nothing, for most kinds of entry)."""
    when = entry.updated_at
    if entry.item != update.item or (when is not None and when < since):
        return
    if entry.content_type == "legislation" and entry.format == "xml":
        update.text = True
        verb = "withdrawn" if entry.event == "withdrawn" else "published"
        note = f"{_version_label(entry.item_url)} {verb} {_short(when)}"
    elif entry.content_type == "changes" and entry.direction == "affected":
        update.effects = True
        note = f"effects published {_short(when)}"
    else:
        return
    if note not in update.why:
        update.why.append(note)
    if when and (update.changed_at is None or when > update.changed_at):
        update.changed_at = when


def log_urls(settings: Settings, item: str, since: dt.datetime, today: dt.date) -> list[str]:
    base = settings.legislation_url.rstrip("/")
    start = since.astimezone(dt.UTC).date()
    if (today - start).days > settings.update_max_days:
        return [f"{base}/update/{item}/data.feed?sort=date&sortorder=descending"]
    days = [start + dt.timedelta(days=n) for n in range((today - start).days + 1)]
    return [f"{base}/update/{day.isoformat()}/{item}/data.feed" for day in days]


def check_log(update: ItemUpdate, fetcher: Fetcher, settings: Settings, since, today) -> None:
    """Read the item's Publication Log since `since`; raises FeedUnavailable or SourceFailed."""
    for url in log_urls(settings, update.item, since, today):
        undated = "/update/" + update.item + "/" in url
        for page, _ in fetch_pages(url, fetcher, settings.legislation_url):
            entries = page_log_entries(page)
            for entry in entries:
                consider(update, entry, since)
            if undated and any(e.updated_at and e.updated_at < since for e in entries):
                break  # newest first: the rest is older than the watermark


# --- the run --------------------------------------------------------------------------------


@dataclass
class UpdateReport:
    started: dt.datetime
    mode: str  # 'update' | 'full'
    why: str = ""  # why a full crawl
    since: dt.datetime | None = None
    items: list[ItemUpdate] = field(default_factory=list)
    others: list[SourceReport] = field(default_factory=list)  # guidance and other kinds
    requests: int = 0
    budget: int = 0
    budget_spent: bool = False
    build: str = "not needed"  # 'built' | 'not needed' | 'skipped' | 'failed'
    build_message: str = ""
    watermark_written: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "checked": sum(i.status != "not_checked" for i in self.items),
            "changed": sum(i.changed for i in self.items),
            "fetched": sum(i.status == "fetched" for i in self.items),
            "unchanged": sum(i.status == "unchanged" for i in self.items),
            "failed": sum(i.status == "failed" for i in self.items),
            "not_checked": sum(i.status == "not_checked" for i in self.items),
        }

    @property
    def others_failed(self) -> int:
        return sum(r.status in ("failed", "partial") for r in self.others)

    @property
    def exit_code(self) -> int:
        bad = self.counts()["failed"] or self.others_failed or self.budget_spent
        return 1 if bad or self.build == "failed" else 0

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "full_crawl_reason": self.why or None,
            "since": _iso(self.since) if self.since else None,
            "started": _iso(self.started),
            **self.counts(),
            "requests": self.requests,
            "request_budget": self.budget,
            "budget_spent": self.budget_spent,
            "items": [i.to_dict() for i in self.items],
            "guidance": [
                {"source": r.source.id, "status": r.status, "reason": r.reason or None}
                for r in self.others
            ],
            "build": self.build,
            "build_message": self.build_message or None,
            "watermark_written": self.watermark_written,
            "exit_code": self.exit_code,
        }


def full_crawl_reason(watermark: dict | None, since: dt.datetime | None, full: bool) -> str:
    if full:
        return "--full given: full crawl"
    if since is None and watermark is None:
        return "no earlier update: full crawl"
    start = since or timestamp(watermark["last_success"])
    if start.date() < LOG_BEGINS:
        return (
            f"last update {start.date().isoformat()} is before the Publication Log begins "
            f"({LOG_BEGINS.isoformat()}): full crawl"
        )
    return ""


def _crawl_item(update: ItemUpdate, fetcher: Fetcher, settings: Settings, out: Path, fresh):
    fetcher.fresh = fresh
    try:
        report = crawl_source(update.source, fetcher, settings, out)
    finally:
        fetcher.fresh = None
    if report.status in ("failed", "partial"):
        update.status = "failed"
        update.error = report.reason or "; ".join(
            f"not fetched {m.get('url')}: {m.get('reason')}" for m in report.not_fetched
        )
    else:
        update.status = "fetched"


def _fresh_for(update: ItemUpdate, settings: Settings):
    text, changes = item_prefixes(settings.legislation_url, update.item)
    prefixes = tuple(([text] if update.text else []) + ([changes] if update.effects else []))
    return lambda url: url.startswith(prefixes)


def _update_item(update, fetcher, settings, out, since, today, known: bool) -> None:
    if not known:  # not in the watermark: never crawled by an update; fetch it whole
        update.text = update.effects = True
        update.why.append("new in the manifest: fetched in full")
        _crawl_item(update, fetcher, settings, out, None)
        return
    try:
        check_log(update, fetcher, settings, since, today)
    except (FeedUnavailable, SourceFailed) as exc:
        update.status = "failed"
        update.error = f"Publication Log not read: {exc.reason} ({exc.url})"
        return
    if update.changed:
        _crawl_item(update, fetcher, settings, out, _fresh_for(update, settings))


def run_update(
    settings: Settings,
    sources: list[Source],
    *,
    full: bool = False,
    since: dt.datetime | None = None,
    build: bool = True,
    delay: float | None = None,
    now: dt.datetime | None = None,
    fetcher: Fetcher | None = None,
) -> UpdateReport:
    started = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    watermark = read_watermark(settings)
    why = full_crawl_reason(watermark, since, full)
    since = since or (timestamp(watermark["last_success"]) if watermark else None)
    report = UpdateReport(started=started, mode="full" if why else "update", why=why, since=since)
    fetcher = fetcher or Fetcher(
        settings,
        allowed_hosts=allowed_hosts(sources, settings),
        delay=delay,
        max_requests=settings.update_max_requests,
    )
    report.budget = fetcher.max_requests or 0
    out = settings.corpus / "crawled"
    known = set((watermark or {}).get("items", {}))
    for source in sources:
        if fetcher.budget_spent:
            if source.kind == "legislation":
                report.items.append(ItemUpdate(source, _item(source), status="not_checked"))
            continue
        if source.kind != "legislation":
            report.others.append(crawl_source(source, fetcher, settings, out))
            continue
        update = ItemUpdate(source, _item(source))
        report.items.append(update)
        if why:
            update.text = update.effects = True
            update.why.append("full crawl")
            _crawl_item(update, fetcher, settings, out, None)
        else:
            seen = update.item in known or (out / f"{update.item}.md").is_file()
            _update_item(update, fetcher, settings, out, since, started.date(), seen)
    report.requests = fetcher.requests_made
    report.budget_spent = fetcher.budget_spent
    _finish(report, settings, watermark, build)
    return report


def _finish(report: UpdateReport, settings: Settings, watermark: dict | None, build: bool):
    changed = any(i.status == "fetched" for i in report.items) or any(
        r.status == "fetched" for r in report.others
    )
    needs_build = changed or bool((watermark or {}).get("needs_build"))
    if needs_build and not build:
        report.build = "skipped"
    elif needs_build:
        _build(report, settings)
    if report.exit_code:
        return
    write_watermark(
        settings,
        {
            "last_success": _iso(report.started),
            "needs_build": report.build == "skipped",
            "items": _watermark_items(report, watermark),
        },
    )
    report.watermark_written = True


def _build(report: UpdateReport, settings: Settings) -> None:
    from indexer.index.build import BuildFailed
    from indexer.index.build import build as run_build

    try:
        built = run_build(settings, progress=False)
    except BuildFailed as exc:
        report.build, report.build_message = "failed", str(exc)
    else:
        report.build = "built"
        report.build_message = (
            f"version {built.version}: {built.documents} documents, {built.passages} passages"
        )


def _watermark_items(report: UpdateReport, watermark: dict | None) -> dict[str, dict]:
    """Each item's entry in the watermark: checked now; changed (and why) when it was fetched
    now, else as the watermark had it."""
    items = dict((watermark or {}).get("items", {}))
    for update in report.items:
        earlier = items.get(update.item, {})
        fetched = update.status == "fetched"
        items[update.item] = {
            "source": update.source.id,
            "checked": _iso(report.started),
            "changed": _iso(update.changed_at or report.started)
            if fetched
            else earlier.get("changed"),
            "why": "; ".join(update.why) if fetched else earlier.get("why"),
        }
    return items


def format_update(report: UpdateReport, settings: Settings) -> list[str]:
    lines = []
    if report.mode == "full":
        lines.append(report.why)
    else:
        lines.append(f"changes since {_iso(report.since)} (from the Publication Log)")
    for update in report.items:
        what = "; ".join(update.why)
        if update.status == "not_checked":
            what = "not checked (request budget spent)"
        if update.error:
            what += f": {update.error}" if update.changed else f" — {update.error}"
        line = f"  {update.status:<11} {update.source.id:<24} {update.item:<18} {what}"
        lines.append(line.rstrip())
    if report.others:
        fetched = sum(r.status == "fetched" for r in report.others)
        lines.append(
            f"guidance: {len(report.others)} source(s) re-checked with conditional GET "
            f"({fetched} changed, {report.others_failed} failed)"
        )
        for r in report.others:
            if r.status in ("failed", "partial"):
                lines.append(f"  FAILED {r.source.id} ({r.url or 'no URL'}): {r.reason}")
    c = report.counts()
    lines.append(
        f"{c['checked']} item(s) checked, {c['changed']} changed, {c['fetched']} fetched, "
        f"{c['unchanged']} unchanged, {c['failed']} failed; {report.requests} request(s) made"
    )
    if report.budget_spent:
        lines.append(
            f"stopped: the request budget of {report.budget} (KB_UPDATE_MAX_REQUESTS) was spent; "
            f"{c['not_checked']} item(s) not checked; what was fetched is kept"
        )
    lines.append(
        {
            "built": f"index rebuilt: {report.build_message}",
            "not needed": "index not rebuilt: nothing changed",
            "skipped": "index not rebuilt (--no-build): run `kb build`",
            "failed": f"build failed, the index being served was kept: {report.build_message}",
        }[report.build]
    )
    where = watermark_path(settings)
    if report.watermark_written:
        lines.append(f"watermark {where}: last success {_iso(report.started)}")
    else:
        lines.append(f"watermark {where} left as it was; the next update asks again")
    return lines


# --- the command ----------------------------------------------------------------------------

# `kb crawl` and `kb update` read the same manifest, named the same way.
sources_option = click.option(
    "--sources",
    "sources_file",
    type=click.Path(exists=True, path_type=Path),
    help="A manifest file or folder (default: $KB_SOURCES, else <corpus>/sources/).",
)


@click.command("update")
@sources_option
@click.option("--full", is_flag=True, help="Crawl every source in full, whatever the log says.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Ask for changes since this date (UTC midnight) instead of the last update.",
)
@click.option(
    "--delay",
    type=float,
    metavar="SECONDS",
    help="Seconds between requests to one host (default: $KB_CRAWL_DELAY or 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-build", is_flag=True, help="Do not rebuild the index afterwards.")
@click.pass_context
def update(ctx, sources_file, full, since, delay, as_json, no_build):
    """Fetch what legislation.gov.uk changed since the last update, then rebuild."""
    from kb.crawl_cli import command_settings, sigterm_as_exit

    settings = command_settings(ctx)
    with sigterm_as_exit():
        _update(settings, sources_file, full, since, delay, as_json, no_build)


def _update(settings, sources_file, full, since, delay, as_json, no_build):
    try:
        sources = load_manifest(manifest_files(sources_file, settings), settings)
    except (ValueError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from exc
    since = since.replace(tzinfo=dt.UTC) if since else None
    report = run_update(settings, sources, full=full, since=since, build=not no_build, delay=delay)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
    else:
        for line in format_update(report, settings):
            click.echo(line)
    raise SystemExit(report.exit_code)
