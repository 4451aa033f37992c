"""The sources manifest: which instruments and guidance `kb crawl` fetches (corpus/sources/README.md).

Every `*.yaml` in `<corpus>/sources/` is read, unless `--sources FILE` or KB_SOURCES names one
file (or folder). Entries of any kind are accepted; each kind is handled by its parser.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from indexer.http import Fetched
from kb.core import legislation
from kb.core.config import Settings
from kb.core.models import Document
from kb.core.vocabularies import PROVISION_KEYWORD_TABLE

# Kinds whose URLs are built from a configured base (never written into the manifest).
BASES = {"legislation": "legislation_url", "govuk": "govuk_url", "archived_html": "archive_url"}
VERSIONS = ("latest", "enacted", "made", "created")
KNOWN = {
    "id",
    "kind",
    "path",
    "url",
    "title",
    "short_title",
    "aliases",
    "scope",
    "version",
    "versions",
    "notes",
    "parser",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Scope pins, as in legislation.gov.uk's URIs: keyword/number steps ('part/1/chapter/2',
# 'schedule/8/paragraph/5', 'section/3A', a range 'section/137-139', Roman 'part/I'), a
# cross-heading slug ('part/1/crossheading/reviews'), a sole unnumbered Schedule ('schedule'),
# then unnamed sub-levels ('section/3/2/a').
# The keywords: legislation's provision keywords (kb.core.vocabularies) and the divisions of
# EU-origin legislation and CLML blocks that URIs also name.
SCOPE_KEYWORDS = frozenset(k.word for k in PROVISION_KEYWORD_TABLE if k.legislation) | {
    "title",
    "division",
    "subdivision",
    "pblock",
}
_SCOPE_NUMBER = re.compile(r"^[A-Za-z]{0,2}\d+[A-Za-z]{0,3}(?:-[A-Za-z]{0,2}\d+[A-Za-z]{0,3})?$")
_SCOPE_ROMAN = re.compile(r"^[IVXLC]+$", re.IGNORECASE)
_SCOPE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SCOPE_SUB = re.compile(r"^(?:\d+[A-Za-z]{0,3}|[a-z]{1,4})$")


class ManifestError(ValueError):
    """A manifest problem, naming the file and the entry."""


@dataclass
class Source:
    id: str
    kind: str
    path: str | None = None  # below the kind's base URL (legislation: 'ukpga/1999/27')
    url: str | None = None  # the official URL, built from the base and path
    title: str | None = None
    short_title: str | None = None
    aliases: list[str] = field(default_factory=list)
    scope: list[str] | None = None  # None: the whole instrument
    version: str = "latest"
    # legislation: which earlier points in time to fetch too ('all', 'none', 'since YYYY-MM-DD')
    versions: str = "all"
    notes: str | None = None
    parser: str | None = None  # "module:function", overriding the kind's registered parser
    file: str = ""  # the manifest file it came from
    extra: dict[str, Any] = field(default_factory=dict)  # fields other kinds define

    def get(self, name: str) -> Any:
        """A manifest field: the attribute, else one kept in `extra` (doc_id, status, …)."""
        value = getattr(self, name, None)
        if value in (None, "", []):
            value = self.extra.get(name)
        return value


def as_source(entry: Source | Mapping[str, Any]) -> Source:
    """A manifest entry as YAML reads it, taken as it is (unchecked), as a Source."""
    if isinstance(entry, Source):
        return entry
    names = {f.name for f in fields(Source)} - {"extra"}
    known = {"id": "", "kind": "", **{k: v for k, v in entry.items() if k in names}}
    return Source(**known, extra={k: v for k, v in entry.items() if k not in names})


def manifest_files(
    option: str | Path | None = None, settings: Settings | None = None
) -> list[Path]:
    """`--sources FILE`, else settings.sources (KB_SOURCES), else every *.yaml in
    <corpus>/sources/. Without settings, the defaults (Settings())."""
    settings = settings or Settings()
    chosen = option or settings.sources
    root = Path(chosen).expanduser() if chosen else settings.corpus / "sources"
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ManifestError(f"{root}: no such sources file or folder")
    files = sorted(p for p in root.glob("*.y*ml") if not p.name.startswith((".", "_")))
    if not files:
        raise ManifestError(f"{root}: no *.yaml sources manifest in this folder")
    return files


def load_manifest(files: list[Path], settings: Settings | None = None) -> list[Source]:
    """The sources in these files; URLs are built on settings' base URLs (default: Settings())."""
    settings = settings or Settings()
    sources: list[Source] = []
    seen: dict[str, str] = {}
    for path in files:
        for source in _load_file(path, settings):
            if source.id in seen:
                raise ManifestError(
                    f"{path}: source '{source.id}' is already defined in {seen[source.id]}"
                )
            seen[source.id] = str(path)
            sources.append(source)
    return sources


def allowed_hosts(sources: list[Source], settings: Settings) -> set[str]:
    """Hosts the crawl may contact: the configured base of each kind used, and any entry URL."""
    hosts = set()
    for source in sources:
        if source.kind in BASES:
            hosts.add(urlparse(getattr(settings, BASES[source.kind])).netloc.lower())
        if source.url:
            hosts.add(urlparse(source.url).netloc.lower())
    hosts.discard("")
    return hosts


def _load_file(path: Path, settings: Settings) -> list[Source]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from exc
    except ValueError as exc:  # a date-shaped value that is no date: 'version: 2008-13-45'
        raise ManifestError(
            f"{path}: not valid YAML: a value that looks like a date is not one ({exc})"
        ) from exc
    if data is None:
        return []
    entries = data.get("sources") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: expected a 'sources:' list")
    return [_entry(path, i, entry, settings) for i, entry in enumerate(entries, 1)]


class _Problem(ValueError):
    """What is wrong with one manifest entry; _entry names the file and the entry."""


def _entry(path: Path, number: int, entry: Any, settings: Settings) -> Source:
    name = entry.get("id") if isinstance(entry, dict) else None
    where = f"{path}: source #{number}" + (f" ({name})" if name else "")
    try:
        return _source(path, entry, settings)
    except _Problem as problem:
        raise ManifestError(f"{where}: {problem}") from None


def _source(path: Path, entry: Any, settings: Settings) -> Source:
    """One checked entry as a Source; raises _Problem, checking in the order the fields matter."""
    source_id, kind = _identity(entry)
    if isinstance(entry.get("version"), dt.date):  # YAML reads an unquoted 2008-04-01 as a date
        entry = {**entry, "version": entry["version"].isoformat()}
    _check_strings(entry)
    source_path, url = _location(entry, kind, settings)
    version = _version(entry)
    versions = versions_problem(entry.get("versions", "all"))
    if versions.startswith("'versions'"):
        raise _Problem(versions)
    aliases = _aliases(entry)
    scope = _scope(entry.get("scope"))
    parser = _str(entry.get("parser"))
    if parser and ":" not in parser:
        raise _Problem("'parser' must be 'module:function'")
    return Source(
        id=source_id,
        kind=kind,
        path=source_path,
        url=url,
        title=_str(entry.get("title")),
        short_title=_str(entry.get("short_title")),
        aliases=aliases,
        scope=scope,
        version=version,
        versions=versions,
        notes=_str(entry.get("notes")),
        parser=parser,
        file=str(path),
        extra={k: v for k, v in entry.items() if k not in KNOWN},
    )


def _identity(entry: Any) -> tuple[str, str]:
    if not isinstance(entry, dict):
        raise _Problem("each source must be a mapping of fields")
    for required in ("id", "kind"):
        if not entry.get(required):
            raise _Problem(f"'{required}' is required")
    source_id, kind = str(entry["id"]), str(entry["kind"])
    if not _ID.match(source_id):
        raise _Problem("'id' must be lower-case letters, digits, '.', '_' or '-'")
    return source_id, kind


def _check_strings(entry: dict) -> None:
    for key in ("path", "url", "title", "short_title", "notes", "parser", "version"):
        if key in entry and entry[key] is not None and not isinstance(entry[key], (str, int)):
            raise _Problem(f"'{key}' must be a string")


def _location(entry: dict, kind: str, settings: Settings) -> tuple[str | None, str | None]:
    """(path, url): a based kind's path on its configured base URL, else the entry's URL."""
    source_path = _str(entry.get("path"))
    url = _str(entry.get("url"))
    if kind in BASES:
        variable = "KB_" + BASES[kind].upper()
        if url:
            raise _Problem(f"give 'path', not 'url': the base comes from {variable}")
        if not source_path:
            raise _Problem(f"'path' is required (it is appended to {variable})")
        source_path = source_path.strip("/")
        url = f"{getattr(settings, BASES[kind]).rstrip('/')}/{source_path}"
    elif url and urlparse(url).scheme not in ("http", "https"):
        raise _Problem(f"'url' must be an http(s) URL, got {url!r}")
    if kind == "legislation":
        problem = legislation_path_problem(source_path or "")
        if problem:
            raise _Problem(problem)
    return source_path, url


def _version(entry: dict) -> str:
    version = str(entry.get("version") or "latest")
    if version not in VERSIONS and not _DATE.match(version):
        raise _Problem(f"'version' must be one of {', '.join(VERSIONS)} or a date YYYY-MM-DD")
    return version


def _aliases(entry: dict) -> list[str]:
    aliases = entry.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list) or not all(isinstance(a, (str, int)) for a in aliases):
        raise _Problem("'aliases' must be a list of strings")
    return [str(a) for a in aliases]


def _scope(scope: Any) -> list[str] | None:
    if scope in (None, "all", "whole"):
        return None
    if not (isinstance(scope, list) and scope and all(isinstance(s, str) for s in scope)):
        raise _Problem("'scope' must be 'all' or a list of pins ('part/1', 'section/3A')")
    for item in scope:
        problem = scope_pin_problem(item.strip("/"))
        if problem:
            raise _Problem(
                f"scope items must be pins like 'part/1', 'part/1/chapter/2', 'section/3A' "
                f"or 'section/137-139': {item!r} {problem}"
            )
    return [s.strip("/") for s in scope]


def versions_problem(value: Any) -> str:
    """The `versions:` field as 'all', 'none' or 'since YYYY-MM-DD', else why it is not one
    (a message starting "'versions'")."""
    text = " ".join(str("all" if value is None else value).split()).lower()
    if text in ("all", "none"):
        return text
    word, _, date = text.partition(" ")
    if word == "since" and _DATE.match(date):
        try:
            return f"since {dt.date.fromisoformat(date).isoformat()}"
        except ValueError:
            pass
    return f"'versions' must be all, none or 'since YYYY-MM-DD', got {str(value)[:40]!r}"


def legislation_path_problem(path: str) -> str | None:
    """Why a legislation source's path is not a legislation.gov.uk document path, or None.

    Calendar years ('ukpga/1999/27', 'asp/2023/5', 'uksi/2006/246') and, before 1963, regnal
    years ('ukpga/Geo6/6-7/48', 'apgb/Geo3/39-40/14', 'aep/Ann/6/11') are both accepted.
    """
    shape = "'path' must look like 'ukpga/1999/27' (type/year/number) or, for older Acts, "
    shape += f"'ukpga/Geo6/6-7/48' (type/reign/session/number), got {path!r}"
    code = path.split("/")[0]
    if path and code not in legislation.TYPES and code.lower() in legislation.TYPES:
        return f"{shape}: type codes are lower-case ('{code.lower()}')"
    if path and "/" in path and code not in legislation.TYPES and " " not in path:
        return (
            f"{shape}: '{code}' is not a legislation.gov.uk type ({', '.join(legislation.TYPES)})"
        )
    parsed = legislation.parse_path(path)
    if parsed is None:
        return shape
    if parsed.pin:
        return f"{shape}: give the document only and put '{parsed.pin}' in 'scope'"
    if parsed.version or parsed.language:
        extra = parsed.version or parsed.language
        return f"{shape}: give the document only ('{parsed.document}'), not '{extra}'"
    if parsed.document != path:
        return shape
    return None


def scope_pin_problem(pin: str) -> str | None:
    """Why a scope item is not a pin as legislation.gov.uk writes them, or None."""
    steps = pin.split("/")
    if not pin or any(not step for step in steps):
        return "is empty or has an empty step"
    if steps[0] not in SCOPE_KEYWORDS:
        return f"does not start with a keyword ({', '.join(sorted(SCOPE_KEYWORDS))})"
    i = 0
    while i < len(steps):
        taken, problem = _scope_step(steps, i)
        if problem:
            return problem
        i += taken
    return None


def _scope_step(steps: list[str], i: int) -> tuple[int, str | None]:
    """How many steps the one at `i` takes (a keyword and its number, or a sub-level), or why
    it is not a step."""
    word = steps[i]
    if word in SCOPE_KEYWORDS:
        value = steps[i + 1] if i + 1 < len(steps) else None
        return _keyword_step(word, value)
    if i and _SCOPE_SUB.match(word) and steps[i - 1] not in ("crossheading",):
        return 1, None  # an unnamed sub-level: 'section/3/2/a'
    return 0, f"has {word!r} where a keyword or a sub-level like '2' or 'a' was expected"


def _keyword_step(word: str, value: str | None) -> tuple[int, str | None]:
    if word == "crossheading":
        if value is None or not _SCOPE_SLUG.match(value):
            return 0, "needs a lower-case slug after 'crossheading'"
        return 2, None
    numbered = value is not None and (_SCOPE_NUMBER.match(value) or _SCOPE_ROMAN.match(value))
    if numbered and value not in SCOPE_KEYWORDS:
        return 2, None
    if word == "schedule":  # a sole Schedule has no number: 'schedule/paragraph/1'
        return 1, None
    return 0, f"needs a number after '{word}' (got {value!r})"


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------------------------------------
# Manifest facts on the documents a source gives

MANIFEST_FIELDS = ("short_title", "identifier", "aliases", "doc_type", "extent")


def iso_date(value: Any) -> str | None:
    """'2031-04-01', '2031-04-01T09:00:00Z' or a date -> '2031-04-01'; None if it is no date."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


def apply_manifest(document: Document, source: Source) -> None:
    """The manifest entry's facts over what the parser found, except that a withdrawal the
    publisher announced always wins (the manifest's other status is kept as `manifest_status`)."""
    for name in MANIFEST_FIELDS:
        value = source.get(name)
        if value not in (None, "", []):
            setattr(document, name, list(value) if name == "aliases" else str(value))
    if source.get("publisher") and not document.publisher:
        document.publisher = str(source.get("publisher"))
    if source.get("published") and not document.published:
        document.published = iso_date(source.get("published"))
        document.valid_from = document.valid_from or document.published
    _apply_status(document, source)
    if source.get("notes"):
        document.extra["manifest_notes"] = str(source.get("notes"))


def _apply_status(document: Document, source: Source) -> None:
    status = source.get("status")
    if status and not (document.status == "withdrawn" and status != "withdrawn"):
        if document.status != status:
            document.status_date = document.status_note = None
        document.status = str(status)
        document.status_date = document.status_date or iso_date(source.get("status_date"))
        document.status_note = document.status_note or source.get("status_note")
    elif status and status != "withdrawn" and document.status == "withdrawn":
        document.extra["manifest_status"] = str(status)


def manifest_document(
    source: Source, fetched: Fetched, url: str | None, found_title: str | None, extra: dict
) -> Document:
    """The Document for a fetched archived page or PDF: manifest facts over what was found."""
    doc_type = str(source.get("doc_type") or "guidance")
    document = Document(
        id=str(manifest_doc_id(source, doc_type)),
        title=str(source.get("title") or found_title or source.get("id")),
        doc_type=doc_type,
        status="in_force",  # the manifest's status is applied below
        source_url=url,
        retrieved_at=fetched.retrieved(),
        sha256=fetched.digest(),
        publisher=source.get("publisher"),
        extra=extra,
    )
    apply_manifest(document, source)
    return document


def manifest_doc_id(source: Source, doc_type: str) -> str:
    """The corpus id for a manifest entry: its `doc_id`, else `guidance/<id>` (`code/` for codes)."""
    explicit = source.get("doc_id")
    if explicit:
        return str(explicit)
    source_id = str(source.get("id") or "")
    if "/" in source_id:
        return source_id
    return ("code/" if doc_type == "code_of_practice" else "guidance/") + source_id
