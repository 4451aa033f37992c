"""The `kb` command: build, search, serve (and crawl, add, cite as they land)."""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from indexer.index.store import IndexMissing
from kb.add_cli import add
from kb.cite_cli import cite
from kb.core.cite import Registry
from kb.core.config import Settings
from kb.core.effects import effect_sentence, long_date, stale_sentence
from kb.core.models import extent_text, non_operative_kind
from kb.crawl_cli import crawl
from kb.update import update


@dataclass
class CliState:
    """What the `kb` group hands its commands as ctx.obj: the settings, read once, and the index
    version being served, opened the first time a command asks (`kb cite` looks citations up
    in it: kb.cite_cli.CiteLookup)."""

    settings: Settings
    _served: Any = field(default=None, init=False, repr=False)
    _opened: bool = field(default=False, init=False, repr=False)

    @property
    def legislation_url(self) -> str:
        return self.settings.legislation_url

    def served(self):
        """The current index version, or None when nothing has been built (opened once)."""
        if not self._opened:
            from kb.service import KnowledgeBase

            try:
                self._served = KnowledgeBase(self.settings).current()
            except IndexMissing:
                self._served = None
            self._opened = True
        return self._served

    def registry(self) -> Registry | None:
        return getattr(self.served(), "registry", None)

    def in_index(self, passage_id: str) -> bool:
        version = self.served()
        return bool(version and version.canonical_id(passage_id))

    def indexed(self, passage_id: str) -> dict[str, Any] | None:
        version = self.served()
        canonical = version.canonical_id(passage_id) if version else None
        return version.engine.passage(canonical) if canonical else None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="statutory-kb", prog_name="kb")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Statutory guidance knowledge base: crawl, build and search legislation and guidance."""
    if not isinstance(ctx.obj, CliState):
        # Read once, here (tests may hand in a Settings or {"settings": …}).
        try:
            ctx.obj = CliState(Settings.given(ctx.obj))
        except ValueError as exc:  # a setting that cannot be right: say which, no traceback
            raise click.ClickException(str(exc)) from None


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj.settings


@cli.command()
@click.option(
    "--corpus",
    "corpus",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Corpus folder or file (repeatable). Default: KB_CORPUS or the bundled corpus/.",
)
@click.option(
    "--samples",
    "samples",
    is_flag=True,
    help="Include the invented sample documents even when the corpus holds real ones.",
)
@click.option("--no-samples", is_flag=True, help="Leave out the invented sample documents.")
@click.option(
    "--strict", is_flag=True, help="Fail (and keep the old index) if any file has a problem."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def build(ctx, corpus, samples, no_samples, strict, quiet):
    """Index the corpus into a new index version and switch to it atomically.

    The invented samples (corpus/samples/) are indexed only when the corpus holds nothing
    else, unless --samples or --no-samples says otherwise."""
    from indexer.index.build import BuildFailed
    from indexer.index.build import build as run_build

    if samples and no_samples:
        raise click.UsageError("--samples and --no-samples cannot be given together.")
    settings = _settings(ctx)
    try:
        report = run_build(
            settings,
            corpus=list(corpus) or None,
            include_samples=True if samples else False if no_samples else None,
            strict=strict,
            progress=not quiet,
            note=lambda text: click.secho(text, fg="yellow", err=True),
        )
    except BuildFailed as exc:
        click.secho(f"Build failed: {exc}", fg="red", err=True)
        sys.exit(1)
    for problem in report.problems:
        click.secho(f"problem: {problem}", fg="yellow", err=True)
    if report.selection and report.selection.summary():
        click.echo(report.selection.summary())
    chosen = " (KB_ENGINE=auto)" if settings.engine == "auto" else ""
    click.echo(f"Engine: {report.engine}{chosen}.")
    click.echo(
        f"Indexed {report.documents} documents, {report.passages} passages "
        f"in {report.seconds:.2f}s; {len(report.problems)} problem(s). "
        f"Serving version {report.version} from {settings.index_dir}."
    )
    if report.changes:
        click.echo(f"{report.changes} change(s) against the previous build: see /changes.")


def _open(ctx):
    from kb.service import KnowledgeBase

    kb = KnowledgeBase(_settings(ctx))
    try:
        return kb, kb.current()
    except IndexMissing as exc:
        click.secho(str(exc), fg="red", err=True)
        sys.exit(2)


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.option("--limit", default=10, show_default=True, type=int)
@click.option("--offset", default=0, type=int)
@click.option("--type", "doc_type", multiple=True, help="Only this doc_type (repeatable).")
@click.option("--status", multiple=True, help="Only this status, or 'current' (repeatable).")
@click.option("--document", multiple=True, help="Only this document id (repeatable).")
@click.option("--duties", is_flag=True, help="Only provisions that impose duties.")
@click.option("--powers", is_flag=True, help="Only provisions that confer powers.")
@click.option("--holder", multiple=True, help="Only duties or powers of this holder (employer, …).")
@click.option(
    "--extent",
    multiple=True,
    metavar="NATION",
    help="Only text extending to E, W, S or NI (repeatable, or E,W).",
)
@click.option("--as-at", "as_at", metavar="YYYY-MM-DD", help="Only text that applied on that date.")
@click.option(
    "--stale", is_flag=True, help="Only guidance citing provisions changed since it was issued."
)
@click.option(
    "--mode",
    type=click.Choice(["keyword", "hybrid"]),
    help="keyword, or hybrid (keyword and dense retrieval fused; needs the semantic extra). "
    "Default: KB_SEARCH_MODE.",
)
@click.pass_context
def search(
    ctx,
    query,
    as_json,
    limit,
    offset,
    doc_type,
    status,
    document,
    duties,
    powers,
    holder,
    extent,
    as_at,
    stale,
    mode,
):
    """Search passages and print them with their citations."""
    from kb.search import RequestError, run_search

    kb, version = _open(ctx)
    params = {"q": " ".join(query), "limit": limit, "offset": offset, "as_at": as_at, "mode": mode}
    kinds = (["duty"] if duties else []) + (["power"] if powers else [])
    try:
        response = run_search(
            version,
            params,
            default_mode=_settings(ctx).search_mode,
            doc_type=list(doc_type),
            status=list(status),
            document=list(document),
            duty=kinds,
            holder=list(holder),
            extent=list(extent),
            stale=["true"] if stale else [],
        )
    except RequestError as exc:
        if as_json:
            click.echo(json.dumps(exc.to_dict(), indent=2))
        else:
            click.secho(exc.message, fg="red", err=True)
        sys.exit(1)
    finally:
        kb.close()
    if as_json:
        click.echo(json.dumps(response.to_json(), indent=2, ensure_ascii=False))
        return
    _print_header(response)
    for n, hit in enumerate(response["results"], start=response["offset"] + 1):
        click.echo("")
        _print_hit(n, hit)


def _print_header(response: dict) -> None:
    """The citation found, notes about as_at, the count, a suggestion, a relaxed search."""
    cited = response.get("citation")
    if cited:
        where = cited["id"] if cited["in_index"] else "not in this index"
        click.secho(f"Citation: {cited['citation']} ({where})", bold=True)
        if cited.get("note"):
            click.echo(f"  {cited['note']}")
    for item in response.get("as_at_notes") or []:
        click.echo(item["note"])
    click.echo(f"{response['total']} passages match {response['query']!r}")
    if response.get("suggestion"):
        click.echo(f"Did you mean: {response['suggestion']}?")
    if response["relaxed"]:
        click.echo("No passage has all your words; showing passages with any of them.")


def _flags(hit: dict) -> str:
    """' [WITHDRAWN] [DUTY: employer] …': what a reader must know before relying on it."""
    flags = []
    if hit["status"] != "in_force":
        flags.append(hit["status"].upper())
    if not hit.get("operative", True):
        flags.append(f"NOT OPERATIVE TEXT: {non_operative_kind(hit['pin']).upper()}")
    if hit["duty"] != "none":
        flags.append(f"{hit['duty'].upper()}: {', '.join(hit['holders']) or '?'}")
    if hit.get("outstanding_changes"):
        flags.append(f"OUTSTANDING CHANGES: {hit['outstanding_changes']}")
    if hit.get("stale_citations"):
        flags.append(f"STALE CITATIONS: {len(hit['stale_citations'])}")
    return "".join(f" [{flag}]" for flag in flags)


def _print_hit(n: int, hit: dict) -> None:
    click.secho(f"{n}. {hit['citation']}{_flags(hit)}", bold=True)
    if hit["heading"]:
        click.echo(f"   {_plain(hit.get('heading_html') or html.escape(hit['heading']))}")
    click.echo(f"   {_plain(hit['snippet_html'])}")
    for effect in hit.get("effects") or []:
        click.echo(f"   {effect_sentence(effect)}")
    for item in hit.get("stale_citations") or []:
        click.echo(f"   {stale_sentence(item, hit['doc_type'])}")
    extent = f"  (extent {extent_text(hit['extent'])})" if hit.get("extent") else ""
    click.echo(f"   {hit['id']}{extent}")


def _plain(snippet_html: str) -> str:
    import re

    marked = snippet_html.replace("<mark>", "\x1b[1m").replace("</mark>", "\x1b[0m")
    return html.unescape(re.sub(r"<[^>]+>", "", marked))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="Waitress worker threads.")
@click.option(
    "--search-slots",
    type=click.IntRange(min=1),
    default=None,
    help="Searches run at once [default: half the threads].",
)
@click.option(
    "--search-queue",
    type=click.IntRange(min=0),
    default=None,
    help="Searches that may wait for a slot; more get 503 [default: the threads left after "
    "the slots and one for health and pages].",
)
@click.option(
    "--search-wait",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a search waits for a slot before a 503 with Retry-After [default: 5].",
)
@click.pass_context
def serve(ctx, host, port, threads, search_slots, search_queue, search_wait):
    """Serve the web pages and the JSON API with the Waitress production server.

    Searches share a few slots so that the health check, /metrics and the reading pages always
    have a thread, however many expensive searches arrive (kb/web/limits.py).
    """
    from waitress import serve as waitress_serve

    from kb.web import create_app
    from kb.web.limits import SEARCH_WAIT_S, SearchGate, default_queue, default_slots

    slots = search_slots if search_slots is not None else default_slots(threads)
    queue = search_queue if search_queue is not None else default_queue(threads)
    if threads > 1 and slots + queue >= threads:
        raise click.BadParameter(
            f"{slots} search slots and {queue} queued searches take all {threads} threads, "
            "leaving none for health checks and pages: lower them or raise --threads.",
            param_hint="--search-slots/--search-queue",
        )
    gate = SearchGate(slots, queue, SEARCH_WAIT_S if search_wait is None else search_wait)
    settings = _settings(ctx)
    app = create_app(settings, search_gate=gate)
    _exit_without_index(app)
    click.echo(
        f"Serving http://{host}:{port}/ (index in {settings.index_dir}; {threads} threads, "
        f"{slots} search slots, {queue} queued); Ctrl+C stops."
    )
    waitress_serve(app, host=host, port=port, threads=threads, ident="statutory-kb")


@cli.command("mcp")
@click.pass_context
def mcp_command(ctx):
    """Serve the Model Context Protocol over stdio, for AI assistants: search, cite,
    get_passage, list_documents and find_duties, each answer with its status.

    Started by the assistant (see README, "AI assistants (MCP)"); `kb serve` serves the same at
    /mcp over HTTP. Nothing but the protocol is written to standard output.
    """
    from kb.mcp_server import build_server
    from kb.web import create_app

    app = create_app(_settings(ctx))
    _exit_without_index(app)
    build_server(app).run("stdio")


def _exit_without_index(app) -> None:
    """Exit 2, saying why, when there is no index to serve (before serving anything)."""
    with app.app_context():
        try:
            app.extensions["kb"].current()
        except IndexMissing as exc:
            click.secho(str(exc), fg="red", err=True)
            sys.exit(2)


@cli.command()
@click.pass_context
def info(ctx):
    """Show the settings and the index being served."""
    settings = _settings(ctx)
    click.echo(f"KB_HOME    {settings.home.resolve()}")
    click.echo(f"KB_CORPUS  {settings.corpus.resolve()}")
    kb, version = _open(ctx)
    try:
        manifest = version.manifest
        click.echo(f"index      {manifest['version']} ({manifest['engine']})")
        click.echo(f"documents  {manifest['documents']}")
        click.echo(f"passages   {manifest['passages']}")
    finally:
        kb.close()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def documents(ctx, as_json):
    """List what is indexed: each document's type, status, passages, source and retrieval date."""
    kb, version = _open(ctx)
    try:
        rows = [
            {
                "id": doc["id"],
                "title": doc["title"],
                "doc_type": doc["doc_type"],
                "status": doc["status"],
                "status_date": doc.get("status_date"),
                "passages": doc.get("passage_count", 0),
                "source": doc.get("source_url") or doc.get("source_file"),
                "retrieved_at": doc.get("retrieved_at"),
                "sample": bool(doc.get("sample")),
                "versions": version.versions_summary(doc["id"]),
            }
            for doc in sorted(version.current_documents, key=lambda d: d["id"])
        ]
    finally:
        kb.close()
    if as_json:
        click.echo(json.dumps({"total": len(rows), "documents": rows}, indent=1))
        return
    for row in rows:
        status = row["status"] + (f" since {row['status_date']}" if row["status_date"] else "")
        retrieved = f", retrieved {row['retrieved_at'][:10]}" if row["retrieved_at"] else ""
        sample = " [SAMPLE]" if row["sample"] else ""
        click.echo(f"{row['id']}{sample}")
        click.echo(f"  {row['title']}")
        click.echo(
            f"  {row['doc_type']}, {status}, {row['passages']} passages; "
            f"source: {row['source'] or 'none recorded'}{retrieved}"
        )
        held = row["versions"]
        if held["count"]:
            plural = "" if held["count"] == 1 else "s"
            click.echo(
                f"  {held['count']} earlier version{plural}, from {long_date(held['earliest'])}"
            )
    click.echo(f"{len(rows)} documents")


@cli.command("eval")
@click.argument(
    "qrels", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print each set's figures and per-query results as JSON.",
)
@click.option("--per-query", is_flag=True, help="Show each query's figures and top results.")
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Exit 1 if any set's figure is below its entry in this JSON file.",
)
@click.option(
    "--mode",
    type=click.Choice(["keyword", "hybrid"]),
    default="keyword",
    show_default=True,
    help="Rank with keyword search, or hybrid (needs the semantic extra and embeddings).",
)
@click.pass_context
def eval_command(ctx, qrels, as_json, per_query, baseline, mode):
    """Measure relevance (nDCG@10, MRR, Recall@10) on judged queries, each TSV file a set."""
    from kb.evaluate import QrelsError, evaluate_sets, read_sets

    try:
        sets = read_sets(list(qrels))
    except QrelsError as exc:
        click.secho(str(exc), fg="red", err=True)
        sys.exit(2)
    kb, version = _open(ctx)
    why = version.hybrid_unavailable() if mode == "hybrid" else None
    if why:
        kb.close()
        click.secho(f"Hybrid search is unavailable: {why}.", fg="red", err=True)
        sys.exit(2)
    try:
        figures = evaluate_sets(version, sets, mode)
    finally:
        kb.close()
    if as_json:
        click.echo(json.dumps({"mode": mode, "sets": figures}, indent=2, ensure_ascii=False))
    else:
        for name, row in figures.items():
            _echo_set(name, row, per_query, mode)
    if baseline and _below_baseline(figures, baseline):
        sys.exit(1)


def _echo_set(name: str, figures: dict, per_query: bool, mode: str = "keyword") -> None:
    if per_query:
        for qid, row in figures["per_query"].items():
            click.echo(
                f"{qid:7} nDCG@10 {row['nDCG@10']:.3f}  RR {row['MRR']:.3f}  "
                f"R@10 {row['Recall@10']:.3f}  {row['query']}"
            )
    click.echo(
        f"{name if mode == 'keyword' else f'{name} ({mode})'}: {figures['queries']} queries: nDCG@10 {figures['nDCG@10']:.4f}, "
        f"MRR {figures['MRR']:.4f}, Recall@10 {figures['Recall@10']:.4f}"
    )


def _below_baseline(figures: dict[str, dict], baseline: Path) -> bool:
    """Say which figures fell below the baseline (and which sets it has none for)."""
    from kb.evaluate import baseline_for, below

    entries = json.loads(baseline.read_text(encoding="utf-8"))
    failed = False
    for name, row in figures.items():
        entry = baseline_for(entries, name)
        if entry is None:
            click.echo(f"{name}: no baseline for this set in {baseline}", err=True)
            continue
        for failure in below(row, entry):
            click.secho(f"{name}: {failure}", fg="red", err=True)
            failed = True
    return failed


cli.add_command(crawl)
cli.add_command(update)
cli.add_command(add)
cli.add_command(cite)


def main() -> None:
    cli()


def _full_short_help(group: click.Group) -> None:
    """`kb --help` lists each command with its whole first sentence, never cut at 45 characters."""
    for command in group.commands.values():
        if command.help and not command.short_help:
            first = command.help.split("\n\n", 1)[0]
            command.short_help = " ".join(first.split())


_full_short_help(cli)
