"""Index versions on disk: each build writes a new immutable directory, then one rename publishes it.

    <KB_HOME>/index/CURRENT            names the version being served
    <KB_HOME>/index/<version>/manifest.json, documents.json, docs/*.json, engine/

A build that fails or is killed leaves only a `.building-*` directory behind; the version named
in CURRENT is never touched, so the index being served stays intact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kb.models import Document, Node

CURRENT = "CURRENT"
KEEP_VERSIONS = 3


class IndexMissing(RuntimeError):
    """No usable index: the message says what to run."""


def doc_key(document_id: str) -> str:
    return hashlib.sha1(document_id.encode("utf-8")).hexdigest()[:16]


BUILDER_PID = "builder.pid"


def start_build(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
    (build_dir / BUILDER_PID).write_text(str(os.getpid()), encoding="utf-8")
    return build_dir


def builder_alive(build_dir: Path) -> bool:
    """Whether the process that started this build is still running (a killed one is not)."""
    try:
        pid = int((build_dir / BUILDER_PID).read_text(encoding="utf-8"))
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_document_record(build_dir: Path, document: Document, nodes: list[Node]) -> None:
    record = {"document": document.to_dict(), "nodes": [asdict(node) for node in nodes]}
    write_json(build_dir / "docs" / f"{doc_key(document.id)}.json", record)


def publish(index_dir: Path, build_dir: Path, manifest: dict[str, Any]) -> str:
    """Give the finished build its version name and switch CURRENT to it atomically."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = f"v{stamp}"
    manifest = {**manifest, "version": version}
    write_json(build_dir / "manifest.json", manifest)
    (build_dir / BUILDER_PID).unlink(missing_ok=True)
    _fsync_tree(build_dir)
    final = index_dir / version
    os.rename(build_dir, final)
    tmp = index_dir / f".{CURRENT}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT)
    prune(index_dir, keep=KEEP_VERSIONS)
    return version


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


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


def prune(index_dir: Path, keep: int) -> None:
    """Remove old versions and abandoned builds, never the current one."""
    current = current_version(index_dir)
    versions = sorted(p for p in index_dir.glob("v*") if p.is_dir())
    for old in versions[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
