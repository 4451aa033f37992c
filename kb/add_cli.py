"""`kb add PATH...`: a council's own documents (Markdown, HTML, PDF, DOCX) into the corpus.

Each file is converted in memory first (indexer/sources/local.py) and written (atomically) only
if the conversion worked, so a bad file never replaces a good copy added earlier. Bad files are
reported by name with the reason; the others are still added; the command exits non-zero if
any failed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import click

from indexer.corpus import (
    iter_corpus,
    render_document,
    skipped_name,
    split_front_matter,
    too_big,
    write_document,
)
from indexer.sources.local import (
    DEFAULT_MAX_PAGES,
    SUPPORTED,
    Converted,
    LocalError,
    Options,
    convert_file,
)
from kb.core.config import Settings
from kb.core.models import DOC_TYPES, LOCAL_PREFIX, STATUSES, Document, DocumentError


def target_path(out: Path, document: Document) -> Path:
    rel = document.id[len("local/") :] if document.id.startswith("local/") else document.id
    return out / f"{rel}.md"


def _check_passages(converted: Converted) -> None:
    """Catch what `kb build` would refuse or skip now: a file over its size limit, front matter
    that does not read back the same, a body it cannot parse (two provisions with one anchor)
    or with no text to index. Problems it would only report (a provision's unknown status) are
    added to the warnings."""
    from indexer.passages import parse_document

    rendered = render_document(converted.document, converted.body)
    problem = too_big(len(rendered.encode("utf-8")))
    if problem:
        raise LocalError(f"the corpus file would be {problem}")
    meta, body = split_front_matter(rendered)
    if Document.from_front_matter(meta) != converted.document:
        raise LocalError("the front matter does not read back as written")
    try:
        parsed = parse_document(converted.document, body)
    except ValueError as exc:
        raise LocalError(f"the indexer cannot use it: {exc}") from exc
    if not parsed.passages:
        raise LocalError("no text to index (the body is empty once converted)")
    converted.warnings.extend(parsed.warnings)


def shown(value: object) -> str:
    """Text for one line of the report: control and other invisible characters (a newline in
    a file name) are written as escapes, so a name cannot forge report lines."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch)[0] in "CZ" and ch != " "
        else ch
        for ch in str(value)
    )


def check_local_id(document: Document) -> None:
    """Local documents live in their own id space, apart from crawled legislation and guidance."""
    if not document.id.startswith(LOCAL_PREFIX):
        raise LocalError(
            f"id {document.id!r} is not a local document id: what `kb add` adds has an id "
            f"starting '{LOCAL_PREFIX}' (e.g. --id {LOCAL_PREFIX}{document.id.rsplit('/', 1)[-1]}"
            "); the others belong to crawled legislation and guidance"
        )


_ID_LINE = re.compile(r"^id:[ \t]*(.*?)[ \t]*$", re.M)


def corpus_ids(roots: list[Path]) -> dict[str, Path]:
    """Document id -> file, for every corpus file under the roots (read from the front matter's
    `id:` line, so that a large corpus is scanned quickly). Unreadable files are left out."""
    import yaml

    from indexer.corpus import _FRONT_MATTER

    ids: dict[str, Path] = {}
    for path in iter_corpus([root for root in roots if root.exists()]):
        try:
            with path.open("rb") as fh:
                head = fh.read(1_000_000).decode("utf-8", errors="replace")
            match = _FRONT_MATTER.match(head)
            line = _ID_LINE.search(match.group(1)) if match else None
            value = yaml.safe_load(line.group(1)) if line else None
        except (OSError, yaml.YAMLError):
            continue
        if value is not None:
            ids.setdefault(str(value).strip().strip("/"), path)
    return ids


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def expand(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; folders give their supported files (hidden ones left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return files


@click.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write into (default: <KB_CORPUS>/local).",
)
@click.option("--doc-type", type=click.Choice(DOC_TYPES), help="Default: local_policy.")
@click.option("--title", help="Title (one file only).")
@click.option("--status", type=click.Choice(STATUSES), help="Default: in_force.")
@click.option("--id", "doc_id", help="Document id, e.g. local/barnet/constitution (one file only).")
@click.option(
    "--publisher", help="Who issued it, as it is cited (e.g. 'London Borough of Barnet')."
)
@click.option(
    "--date",
    "published",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date it was issued (YYYY-MM-DD): cited as its year, and `as_at` searches use it.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PAGES,
    show_default=True,
    help="Read at most this many pages of a PDF.",
)
@click.pass_context
def add(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path | None,
    doc_type: str | None,
    title: str | None,
    status: str | None,
    doc_id: str | None,
    max_pages: int,
    publisher: str | None,
    published,
) -> None:
    """Convert Markdown, HTML, PDF and DOCX files into the corpus format.

    Files go to <KB_CORPUS>/local (or --out); run `kb build` afterwards to index them."""
    settings = Settings.given(ctx.obj)  # the `kb` group's (kb.cli.CliState), or a Settings
    out = out or settings.corpus / "local"
    files = expand(paths)
    if (title or doc_id) and len(files) > 1:
        raise click.UsageError("--title and --id name one document: give one file")
    if not files:
        raise click.UsageError("no supported files found")
    day = published.date().isoformat() if published else None
    options = Options(doc_type, title, status, doc_id, max_pages, publisher, day)
    # Ids already in the corpus (crawled, samples, other local files): a new file may not take
    # one, though a file may replace its own earlier copy (same id, same place).
    existing = corpus_ids([settings.corpus, out])
    written: dict[Path, Path] = {}
    failed = 0
    for path in files:
        try:
            converted, target = _add_file(path, options, out, written, existing)
        except Exception as exc:  # one bad file never stops the others
            failed += 1
            click.echo(f"failed: {shown(path)}: {_failure(exc)}", err=True)
            continue
        written[target] = path
        existing[converted.document.id] = target
        click.echo(f"added: {shown(path)} -> {shown(target)} ({converted.document.id})")
        for warning in converted.warnings:
            click.echo(f"  warning: {shown(path)}: {shown(warning)}", err=True)
    click.echo(f"{len(written)} added, {failed} failed")
    if written:
        click.echo(f"Written to {shown(out)}. Run `kb build` to index them.")
    if failed:
        ctx.exit(1)


def _add_file(
    path: Path,
    options: Options,
    out: Path,
    written: dict[Path, Path],
    existing: dict[str, Path],
) -> tuple[Converted, Path]:
    """Convert one file, check it as `kb build` would, and write it; where it went."""
    converted = convert_file(path, options)
    check_local_id(converted.document)
    target = _free_target(out, converted.document, written, existing)
    _check_passages(converted)
    write_document(target, converted.document, converted.body)
    return converted, target


def _free_target(
    out: Path, document: Document, written: dict[Path, Path], existing: dict[str, Path]
) -> Path:
    """Where a document goes: a name `kb build` reads, not taken by a file added in this run,
    and an id no other corpus file has (a file may replace its own earlier copy)."""
    target = target_path(out, document)
    rel = target.relative_to(out)
    if skipped_name(rel) or "samples" in rel.parts[:-1]:
        raise LocalError(
            f"id {document.id!r} would be written to {rel}, a name `kb build` "
            "leaves out; give another with --id"
        )
    if target in written:
        raise LocalError(f"same id as {shown(written[target])} ({document.id}); use --id")
    taken = existing.get(document.id)
    if taken is not None and not _same_file(taken, target):
        raise LocalError(
            f"id {document.id!r} is already used by {shown(taken)}; give another with --id"
        )
    return target


def _failure(exc: Exception) -> str:
    """Why a file failed: the reason for what we check, the error's type for what we did not
    foresee."""
    if isinstance(exc, (LocalError, DocumentError, OSError)):
        return shown(exc)
    return f"could not be converted ({type(exc).__name__}: {shown(exc)})"
