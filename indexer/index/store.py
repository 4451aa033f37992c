"""Index versions on disk: each build writes a new immutable directory, then one rename publishes it.

    <KB_HOME>/index/CURRENT            names the version being served
    <KB_HOME>/index/<version>/manifest.json, documents.json, links.json, docs/*.json, engine/
    <KB_HOME>/index/.build.lock        held (flock) by the one build running

A build that fails or is killed leaves only a `.building-*` directory behind (or, killed between
renaming its folder and switching CURRENT, a version never served, which the next build clears);
the version named in CURRENT is never touched, so the index being served stays intact.

The manifest lists every file of its version with its SHA-256 (`files`), so a server verifies a
version completely before serving it and refuses a damaged one. A server touches (os.utime) the
folder of each version it opens and serves, and pruning never removes a version touched in the
last RECENTLY_OPENED_S seconds, nor the one CURRENT names.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kb.core.models import Document, Node

CURRENT = "CURRENT"
KEEP_VERSIONS = 3  # served versions kept for a rollback: the current one and the 2 before it
RECENTLY_OPENED_S = 60.0  # a version a server opened or served this recently is never pruned
BUILD_LOCK = ".build.lock"
MANIFEST = "manifest.json"


class IndexMissing(RuntimeError):
    """No usable index: the message says what to run."""


def doc_key(document_id: str) -> str:
    return hashlib.sha1(document_id.encode("utf-8")).hexdigest()[:16]


BUILDER_PID = "builder.pid"


class BuildLocked(RuntimeError):
    """Another build holds the index's build lock."""


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder; the lock dies with its process (even SIGKILL)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / BUILD_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise BuildLocked(
                f"another build is running (pid {holder}) on {index_dir}; "
                "wait for it to finish, the index being served was left as it was."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def umask() -> int:
    """The process's umask (os.umask can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def start_build(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
    try:
        # mkdtemp makes the folder 0700 whatever the umask; a version is as readable as any
        # other file this process writes (a server running as another account reads it).
        build_dir.chmod(0o777 & ~umask())
        (build_dir / BUILDER_PID).write_text(str(os.getpid()), encoding="utf-8")
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    return build_dir


def builder_alive(build_dir: Path) -> bool:
    """Whether the process that started this build is still running (a killed one is not)."""
    try:
        pid = int((build_dir / BUILDER_PID).read_text(encoding="utf-8"))
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def read_json(version_dir: Path, relative: str) -> Any:
    """A JSON file of a version (FileNotFoundError when it has none; ValueError if unreadable)."""
    return json.loads((version_dir / relative).read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_document_record(build_dir: Path, document: Document, nodes: list[Node]) -> None:
    record = {"document": document.to_dict(), "nodes": [asdict(node) for node in nodes]}
    write_json(build_dir / "docs" / f"{doc_key(document.id)}.json", record)


def publish(index_dir: Path, build_dir: Path, manifest: dict[str, Any]) -> str:
    """Give the finished build its version name and switch CURRENT to it atomically.

    Call it holding build_lock(index_dir). If it fails before CURRENT is switched, the new
    version is removed again and CURRENT is as it was.
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = f"v{stamp}"
    (build_dir / BUILDER_PID).unlink(missing_ok=True)
    files = _checksums_and_fsync(build_dir)
    manifest = {**manifest, "version": version, "files": files}
    write_json(build_dir / MANIFEST, manifest)
    _fsync(build_dir / MANIFEST)
    verify_version(build_dir)  # what the servers will check, before any of them can see it
    final = index_dir / version
    os.rename(build_dir, final)
    tmp = index_dir / f".{CURRENT}.{os.getpid()}.tmp"
    try:
        tmp.write_text(version + "\n", encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, index_dir / CURRENT)
    except BaseException:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
    prune(index_dir, keep=KEEP_VERSIONS)
    return version


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _checked(relative: str) -> bool:
    """Whether a file is covered by the manifest's checksums (not the manifest, not locks)."""
    name = relative.rsplit("/", 1)[-1]
    return relative not in (MANIFEST, BUILDER_PID) and not name.lower().endswith("lock")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksums_and_fsync(root: Path) -> dict[str, str]:
    """Each file's SHA-256, once it is on disk, with the permissions the umask gives: the
    engines write some files 0600 (tantivy's meta.json), which another account could not read."""
    mask = umask()
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            path.chmod(0o777 & ~mask)
        elif path.is_file():
            path.chmod(0o666 & ~mask)
            _fsync(path)
            relative = path.relative_to(root).as_posix()
            if _checked(relative):
                files[relative] = sha256(path)
    return files


def file_state(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of a file, None if it is gone: what changes when it is rewritten."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def verify_version(path: Path, states: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of a complete, undamaged version; IndexMissing naming what is wrong.

    Every file the manifest lists must be there with its SHA-256, and documents.json must name
    only documents whose record is listed. A version written before manifests carried checksums
    is checked for its structure (each JSON file read, every document record there), and the
    manifest returned lists its files' checksums as found. `states`, if given, receives each
    file's file_state() as it was when it was checked, so a later recheck() hashes only what
    changed since.
    """
    manifest = _read_json(path, MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("version"), str):
        raise damaged(path, f"{MANIFEST} is not a version's manifest")
    records = _record_files(path)
    files = manifest.get("files")
    if files is None:  # written before checksums: the structure is all there is to check
        return {**manifest, "files": _unlisted_checksums(path, records, states)}
    if not isinstance(files, dict):
        raise damaged(path, f"{MANIFEST} lists no files")
    unlisted = sorted(records - set(files))
    if unlisted:
        raise damaged(path, f"{unlisted[0]} is not in its manifest")
    for relative, expected in sorted(files.items()):
        state = file_state(path / relative)
        problem = check_file(path, relative, expected)
        if problem:
            raise damaged(path, problem)
        if states is not None:
            states[relative] = state
    return manifest


def _record_files(path: Path) -> set[str]:
    """The document records documents.json names ('docs/<key>.json')."""
    documents = _read_json(path, "documents.json")
    if not isinstance(documents, list) or not all(
        isinstance(d, dict) and isinstance(d.get("id"), str) for d in documents
    ):
        raise damaged(path, "documents.json is not a list of documents")
    return {f"docs/{doc_key(d['id'])}.json" for d in documents}


def _unlisted_checksums(
    path: Path, records: set[str], states: dict[str, Any] | None
) -> dict[str, str]:
    """A version written before manifests carried checksums: each document record and
    links.json read as JSON, and the checksums of its files as found."""
    for relative in sorted(records):
        _read_json(path, relative)
    if (path / "links.json").exists():
        _read_json(path, "links.json")
    files: dict[str, str] = {}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = file.relative_to(path).as_posix()
        if _checked(relative):
            if states is not None:
                states[relative] = file_state(file)
            files[relative] = sha256(file)
    return files


def check_file(path: Path, relative: str, expected: str) -> str | None:
    """What is wrong with one file of a version (missing, or not what was built), else None."""
    try:
        actual = sha256(path / relative)
    except FileNotFoundError:
        return f"{relative} is missing"
    except OSError as exc:
        return f"{relative} cannot be read ({exc.strerror or exc})"
    if actual != expected:
        return f"{relative} has changed since it was built (checksum mismatch)"
    return None


def damaged(path: Path, problem: str) -> IndexMissing:
    return IndexMissing(
        f"The index version {path.name} in {path.parent} is damaged: {problem}. "
        "Run `kb build` to write a new one."
    )


def _read_json(path: Path, relative: str) -> Any:
    try:
        return json.loads((path / relative).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise damaged(path, f"{relative} is missing") from None
    except (OSError, ValueError) as exc:
        raise damaged(path, f"{relative} cannot be read ({type(exc).__name__}: {exc})") from None


def current_version(index_dir: Path) -> str | None:
    try:
        version = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return version or None


def current_dir(index_dir: Path) -> Path:
    version = current_version(index_dir)
    if version is None:
        raise IndexMissing(
            f"No index in {index_dir}. Run `kb build` first (it indexes the corpus folder)."
        )
    path = index_dir / version
    if not (path / "manifest.json").is_file():
        raise IndexMissing(
            f"The index named in {index_dir / CURRENT} ({version}) is missing or incomplete. "
            "Run `kb build` to write a new one."
        )
    return path


def touch(version_dir: Path) -> None:
    """Mark a version as in use now (a server opened or is serving it), so no build prunes it.

    Best effort: a server that may only read the index cannot mark it."""
    try:
        os.utime(version_dir)
    except OSError:
        pass


def recently_opened(version_dir: Path, now: float | None = None) -> bool:
    try:
        mtime = version_dir.stat().st_mtime
    except OSError:
        return False
    return (time.time() if now is None else now) - mtime < RECENTLY_OPENED_S


def versions(index_dir: Path) -> list[Path]:
    return sorted(p for p in index_dir.glob("v*") if p.is_dir())


def remove_unserved(index_dir: Path) -> list[str]:
    """Remove versions newer than the one CURRENT names and not opened lately: builds killed
    after renaming their folder but before switching CURRENT. Call it holding build_lock."""
    for stale in index_dir.glob(f".{CURRENT}.*.tmp"):  # a killed build's half-switch
        stale.unlink(missing_ok=True)
    current = current_version(index_dir)
    removed = []
    for path in versions(index_dir):
        if current is not None and path.name > current and not recently_opened(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def prune(index_dir: Path, keep: int) -> None:
    """Keep the current version and the keep-1 before it; remove older ones unless a server
    opened them in the last RECENTLY_OPENED_S. Versions newer than CURRENT are left alone
    (the next build's remove_unserved decides about those)."""
    current = current_version(index_dir)
    if current is None:
        return
    older = [p for p in versions(index_dir) if p.name < current]
    for old in older[: max(len(older) - (keep - 1), 0)]:
        if not recently_opened(old):
            shutil.rmtree(old, ignore_errors=True)
