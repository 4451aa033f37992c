"""Reading and writing corpus documents: Markdown with YAML front matter.

The corpus is the indexer's single input. Crawlers and `kb add` write into it with
`write_document`; the builder reads it back with `read_document`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.core.models import Document, DocumentError

# Largest corpus file the build reads (about 20 MB of Markdown, 60k+ provisions; parsing is
# linear, roughly 1–3 s a megabyte on two cores). A bigger file is reported by name and skipped.
MAX_CORPUS_FILE_BYTES = 20_000_000

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# Characters that would change meaning at the start of a Markdown line.
_LINE_START = re.compile(r"^(\s*)([#>+\-*=|]|\d+[.)](?=\s|$)|\{)", re.M)
_INLINE = re.compile(r"([\\`*_\[\]<>])")


@dataclass
class CorpusFile:
    path: Path
    document: Document
    body: str


@dataclass
class Problem:
    """A corpus file the build could not use, and why: reported by name, never fatal."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def split_front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise DocumentError("no YAML front matter (the file must start with a '---' line)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"front matter is not valid YAML{where}: {problem}") from exc
    return meta, text[match.end() :]


def too_big(size: int) -> str | None:
    """Why a corpus file of `size` bytes is refused, or None."""
    if size <= MAX_CORPUS_FILE_BYTES:
        return None
    return (
        f"{size:,} bytes, over the {MAX_CORPUS_FILE_BYTES:,}-byte limit for one corpus file "
        "(MAX_CORPUS_FILE_BYTES); split it into several documents"
    )


def read_document(path: Path) -> CorpusFile:
    """Parse one corpus file; raises DocumentError with a reason a person can act on."""
    problem = too_big(path.stat().st_size)
    if problem:
        raise DocumentError(problem)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text (byte {exc.start})") from exc
    meta, body = split_front_matter(text)
    return CorpusFile(path=path, document=Document.from_front_matter(meta), body=body)


def skipped_name(rel: Path) -> bool:
    """Whether iter_corpus leaves out a file at `rel` below a corpus root: README.md files and
    names starting with '_' or '.' are documentation, not documents."""
    return rel.name.lower() == "readme.md" or any(part.startswith((".", "_")) for part in rel.parts)


# Where `kb add` writes below a corpus root. Its files come after every other file of their
# root, so when a local file and a crawled or sample one share an id (a hand-made file, or one
# written before `kb add` kept to `local/` ids), the build keeps the crawled document and
# reports the local file by name, naming the file it collides with.
LOCAL_FOLDER = "local"


def _local_last(root: Path, path: Path) -> tuple[bool, Path]:
    rel = path.relative_to(root)
    return (len(rel.parts) > 1 and rel.parts[0] == LOCAL_FOLDER, path)


# Where the invented sample documents live below a corpus root (corpus/samples/).
SAMPLES_FOLDER = "samples"


def is_sample_path(rel: Path) -> bool:
    """Whether a file at `rel` below a corpus root is one of the invented samples."""
    return SAMPLES_FOLDER in rel.parts[:-1]


def _all_documents(roots: list[Path]) -> Iterator[tuple[Path, bool]]:
    """(path, is a sample) for every Markdown document under the roots, in build order."""
    for root in roots:
        if root.is_file():
            yield root, False
            continue
        for path in sorted(root.rglob("*.md"), key=lambda p, root=root: _local_last(root, p)):
            rel = path.relative_to(root)
            if not skipped_name(rel):
                yield path, is_sample_path(rel)


@dataclass
class CorpusSelection:
    """What a build reads: the documents, and whether the invented samples are among them.

    `include_samples` None (the default) means "only when the corpus holds nothing else": once
    anything is crawled or added, the invented samples would compete with real text.
    """

    paths: list[Path]
    samples: int  # sample documents found
    others: int  # every other document (crawled, added with kb add, hand-made)
    samples_included: bool
    asked: bool | None  # include_samples as given: True (--samples), False, None (automatic)

    def summary(self) -> str:
        """One line for `kb build`: which way the samples went, and why."""
        if not self.samples:
            return ""
        if self.samples_included:
            return f"Including the {self.samples} invented sample documents."
        if self.asked is False:
            return f"Samples left out: {self.samples} invented sample documents (--no-samples)."
        return (
            f"Samples left out: the corpus has {self.others} crawled or added documents "
            "(use --samples to include them)."
        )


def select_corpus(roots: list[Path], include_samples: bool | None = None) -> CorpusSelection:
    found = list(_all_documents(roots))
    samples = sum(1 for _, sample in found if sample)
    others = len(found) - samples
    included = include_samples if include_samples is not None else others == 0
    paths = [path for path, sample in found if included or not sample]
    return CorpusSelection(paths, samples, others, included and samples > 0, include_samples)


def iter_corpus(roots: list[Path], include_samples: bool | None = True) -> Iterator[Path]:
    """Every Markdown document under the roots, in a stable order: root by root, sorted by
    path, with the root's `local/` folder last (see LOCAL_FOLDER; names left out: skipped_name).
    Samples (below a `samples/` folder): see select_corpus.
    """
    yield from select_corpus(roots, include_samples).paths


def render_document(document: Document, body: str) -> str:
    meta = yaml.safe_dump(document.front_matter(), sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{meta}---\n\n{body.strip()}\n"


def _umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_document(path: Path, document: Document, body: str) -> None:
    """Write atomically, so a reader never sees half a document. The file gets the mode any
    new file would (0666 less the umask), not mkstemp's private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = render_document(document, body)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_DOTTED_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d{1,3})+)\.?\s+(\S)")
_OPENERS = "\"'‘“(["


def dotted_paragraph_number(text: str) -> str | None:
    """'2.3' for a paragraph '2.3 The council must …'; None for '4.2 cubic metres per day'.

    A paragraph number is followed by a sentence, so by a capital letter, a quote or a bracket;
    a decimal quantity at the start of a line is followed by its unit or a lower-case word.
    """
    match = _DOTTED_NUMBER.match(text)
    if not match:
        return None
    first = match.group(2)
    return match.group(1) if first.isupper() or first in _OPENERS else None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def markdown_table(rows: list[list[str]]) -> str:
    """A GFM table of Markdown cells: the first row is the header, short rows are padded to
    the widest, and "|" inside a cell is escaped. The parsers of every source write tables so."""
    width = max(len(row) for row in rows)
    lines = []
    for i, row in enumerate(rows):
        cells = [cell.replace("|", "\\|") for cell in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + " --- |" * width)
    return "\n".join(lines)


def escape_text(text: str) -> str:
    """Escape source text so Markdown shows it literally (no stray lists, emphasis or HTML)."""
    text = _INLINE.sub(r"\\\1", text)

    def protect(match: re.Match) -> str:
        marker = match.group(2)
        if marker[0].isdigit():  # "1." starts a list: escape the dot, "1\."
            return match.group(1) + marker[:-1] + "\\" + marker[-1]
        return match.group(1) + "\\" + marker

    return _LINE_START.sub(protect, text)


def anchored(anchor: str, text: str, **attrs: str) -> str:
    """A block with an anchor line, as the corpus format expects: '{#section-3-2}\\n(2) …'."""
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items() if v)
    return f"{{#{anchor}{extra}}}\n{text.strip()}\n"


def heading(level: int, text: str, anchor: str | None = None, **attrs: str) -> str:
    line = "#" * level + " " + " ".join(text.split())
    if anchor is None:
        return line + "\n"
    return anchored(anchor, line, **attrs)
