"""Index versions on disk, hardened: a damaged version is never served and /healthz says so; no
build prunes the version being served; one build at a time; a full disk fails a build plainly;
versions are as readable as the umask allows."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from bench.corpus import write_markdown_corpus
from bench.serve import Client, kb_serve
from indexer.index import store
from indexer.index.build import BuildFailed, build
from kb.cli import cli
from kb.service import KnowledgeBase
from kb.web import create_app
from tests.conftest import make_settings

WAIT_S = 120  # a deadline only a hang reaches

ALPHA = {"id": "guidance/alpha", "title": "Alpha Guidance", "doc_type": "guidance"}
BETA = {"id": "guidance/beta", "title": "Beta Guidance", "doc_type": "guidance"}
PASSAGE = "guidance/alpha/para/1.1"
ROUTES = [
    f"/p/{PASSAGE}",
    "/d/guidance/alpha",
    f"/api/v1/passages/{PASSAGE}",
    "/api/v1/documents/guidance/alpha",
    "/api/v1/cite?ref=" + quote("Alpha Guidance para 1.1"),
]
API_ROUTES = [r for r in ROUTES if r.startswith("/api/")]


def write_corpus(write_md, words: str = "consult residents") -> None:
    write_md("alpha.md", {**ALPHA, "status": "in_force"}, f"1.1 Authorities must {words}.\n")
    write_md("beta.md", {**BETA, "status": "in_force"}, "2.1 Councils may publish accounts.\n")


def settings_for(tmp_path: Path, engine: str = "whoosh"):
    settings = make_settings(tmp_path, tmp_path / "corpus")
    settings.engine = engine
    return settings


def record(version_dir: Path) -> Path:
    return version_dir / "docs" / f"{store.doc_key(ALPHA['id'])}.json"


def garble_in_place(path: Path) -> None:
    """Same inode, size and mtime, different bytes: only a checksum can tell."""
    before = path.stat()
    data = path.read_bytes()
    with open(path, "r+b") as fh:
        fh.write(b"X" * min(len(data), 40))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


DAMAGES = {
    "record deleted": (lambda v: record(v).unlink(), "docs/"),
    "record garbled": (lambda v: record(v).write_text("{", encoding="utf-8"), "docs/"),
    "links deleted": (lambda v: (v / "links.json").unlink(), "links.json"),
    "links garbled": (lambda v: (v / "links.json").write_text("[", encoding="utf-8"), "links.json"),
    "documents garbled": (
        lambda v: (v / "documents.json").write_text("[]", encoding="utf-8"),
        "documents.json",
    ),
}


def assert_unavailable(client, path: str, names: str) -> None:
    """A 503 that names the damaged file and says to rebuild (never a 500, never a 200)."""
    response = client.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == 503, (path, response.status_code, body[:500])
    assert names in body and "kb build" in body, (path, body[:500])
    if path.startswith("/api/") or path == "/healthz":
        assert response.get_json()["error"] == "index_unavailable"


# --- 4. a damaged index is refused, and /healthz tells the truth ----------------------------


def test_routes_answer_before_any_damage(tmp_path, write_md, engine):
    """The routes the damage tests expect a 503 from all answer 200 on an intact version."""
    write_corpus(write_md)
    settings = settings_for(tmp_path, engine)
    build(settings, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        client = create_app(settings, kb=kb).test_client()
        for path in [*ROUTES, "/healthz", "/api/v1/documents"]:
            assert client.get(path).status_code == 200, path
        assert client.get(ROUTES[-1]).get_json()["in_index"] is True
    finally:
        kb.close()


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_version_damaged_before_it_is_opened_is_refused(tmp_path, write_md, engine, damage):
    write_corpus(write_md)
    settings = settings_for(tmp_path, engine)
    report = build(settings, progress=False)
    spoil, names = DAMAGES[damage]
    spoil(settings.index_dir / report.version)
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        client = create_app(settings, kb=kb).test_client()
        for path in [*ROUTES, "/api/v1/documents", "/healthz"]:
            assert_unavailable(client, path, names)
    finally:
        kb.close()


@contextmanager
def served(tmp_path, write_md, engine) -> Iterator[SimpleNamespace]:
    """The sample corpus built and served: settings, kb, client and the version's path."""
    write_corpus(write_md)
    settings = settings_for(tmp_path, engine)
    report = build(settings, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        client = create_app(settings, kb=kb).test_client()
        version = settings.index_dir / report.version
        yield SimpleNamespace(settings=settings, kb=kb, client=client, version=version)
    finally:
        kb.close()


@pytest.mark.parametrize("damage", sorted(set(DAMAGES) - {"documents garbled"}))
def test_damage_while_serving_makes_healthz_and_every_route_503(tmp_path, write_md, engine, damage):
    with served(tmp_path, write_md, engine) as run:
        for path in [*ROUTES, "/healthz"]:  # opened, read and cached: all well
            assert run.client.get(path).status_code == 200, path
        spoil, names = DAMAGES[damage]
        spoil(run.version)
        for path in ["/healthz", *ROUTES, "/api/v1/documents"]:
            assert_unavailable(run.client, path, names)


def test_a_version_of_many_files_is_checked_a_few_files_a_request(
    tmp_path, write_md, engine, monkeypatch
):
    """Each periodic check looks at RECHECK_FILES files, taking turns, so no one request pays
    for a check of every file of a large version; damage to any file is still reported
    within one full turn of checks (wherever the turns have got to), and every route is a
    503 from then on."""
    from kb import service

    with served(tmp_path, write_md, engine) as run:
        assert run.client.get("/healthz").status_code == 200
        files = len(run.kb.current().files)
        monkeypatch.setattr(service, "RECHECK_FILES", 2)
        assert files > 2 * 2  # several turns
        (run.version / "links.json").unlink()
        turns = -(-files // 2)
        answers = [run.client.get("/healthz").status_code for _ in range(turns)]
        assert answers[-1] == 503, answers
        for path in ["/healthz", *ROUTES]:
            assert_unavailable(run.client, path, "links.json")


def test_a_record_garbled_in_place_is_caught_when_read(tmp_path, write_md, engine):
    """Same size and mtime: the periodic file check cannot see it, the checksum on read does,
    and from then on /healthz reports it too."""
    with served(tmp_path, write_md, engine) as run:
        assert run.client.get("/healthz").status_code == 200
        garble_in_place(record(run.version))
        assert run.client.get("/healthz").status_code == 200  # nothing has read it yet
        assert_unavailable(run.client, f"/api/v1/passages/{PASSAGE}", "checksum mismatch")
        assert_unavailable(run.client, "/healthz", "docs/")
        assert_unavailable(run.client, "/d/guidance/beta", "docs/")  # the version is not served


@contextmanager
def first_served_second_built(tmp_path, write_md, engine) -> Iterator[SimpleNamespace]:
    """A first version served, then a second built that nothing has looked at yet."""
    with served(tmp_path, write_md, engine) as run:
        run.first = run.version.name
        assert run.client.get("/healthz").get_json()["index_version"] == run.first
        write_corpus(write_md, "publish minutes")
        run.second = run.settings.index_dir / build(run.settings, progress=False).version
        yield run


def assert_second_refused(run: SimpleNamespace, said: str) -> None:
    health = run.client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["index_version"] == run.first
    assert run.kb.refused and run.kb.refused[0] == run.second.name
    assert said in run.kb.refused[1]


def test_a_damaged_new_version_is_not_switched_to(tmp_path, write_md, engine):
    with first_served_second_built(tmp_path, write_md, engine) as run:
        record(run.second).write_text("{}", encoding="utf-8")
        assert_second_refused(run, "checksum mismatch")
        passage = run.client.get(f"/api/v1/passages/{PASSAGE}").get_json()
        assert "consult residents" in passage["text"]  # still the intact first version
        write_corpus(write_md, "keep records")
        third = build(run.settings, progress=False)
        assert run.client.get("/healthz").get_json()["index_version"] == third.version
        answer = run.client.get(f"/api/v1/passages/{PASSAGE}").get_json()
        assert "keep records" in answer["text"]
        assert run.kb.refused is None


@pytest.mark.parametrize(
    ("dropped", "said"),
    [("title", "missing title"), ("id", "documents.json is not a list")],
)
def test_a_new_version_whose_documents_name_no_instrument_is_not_switched_to(
    tmp_path, write_md, engine, dropped, said
):
    """The citation registry is built as a version is opened, before it serves: documents it
    cannot be built from (intact on disk, as the manifest says) keep the served version."""
    with first_served_second_built(tmp_path, write_md, engine) as run:
        second = run.second
        documents = json.loads((second / "documents.json").read_text(encoding="utf-8"))
        del documents[0][dropped]
        (second / "documents.json").write_text(json.dumps(documents), encoding="utf-8")
        manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
        manifest["files"]["documents.json"] = store.sha256(second / "documents.json")
        (second / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        assert_second_refused(run, said)
        found = run.client.get("/api/v1/search?q=" + quote("Alpha Guidance para 1.1")).get_json()
        assert found["citation"]["id"] == PASSAGE
        assert "consult residents" in found["citation"]["text"]  # still the first version


def test_the_manifest_lists_every_file_with_its_checksum(tmp_path, write_md, engine):
    write_corpus(write_md)
    settings = settings_for(tmp_path, engine)
    version = settings.index_dir / build(settings, progress=False).version
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    on_disk = {
        p.relative_to(version).as_posix()
        for p in version.rglob("*")
        if p.is_file() and not p.name.lower().endswith("lock")
    } - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert {"documents.json", "links.json", record(version).relative_to(version).as_posix()} <= (
        on_disk
    )
    assert any(name.startswith("engine/") for name in on_disk)
    for name, digest in manifest["files"].items():
        assert store.sha256(version / name) == digest


def test_a_version_built_before_checksums_is_still_served_and_still_checked(tmp_path, write_md):
    write_corpus(write_md)
    settings = settings_for(tmp_path)
    version = settings.index_dir / build(settings, progress=False).version
    manifest_path = version / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["files"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        client = create_app(settings, kb=kb).test_client()
        assert client.get(f"/api/v1/passages/{PASSAGE}").status_code == 200
        (version / "links.json").write_text("[", encoding="utf-8")  # changed after it was opened
        assert_unavailable(client, "/healthz", "links.json")
    finally:
        kb.close()
    record(version).unlink()
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        assert_unavailable(create_app(settings, kb=kb).test_client(), "/healthz", "docs/")
    finally:
        kb.close()


@pytest.mark.slow
def test_kb_serve_reports_a_damaged_index_as_503_never_500(tmp_path, write_md):
    write_corpus(write_md)
    settings = settings_for(tmp_path)
    version = settings.index_dir / build(settings, progress=False).version
    with kb_serve(settings.home, threads=2) as port:
        client = Client(port)
        try:
            assert client.get(f"/api/v1/passages/{PASSAGE}")[0] == 200
            record(version).unlink()
            # The server checks its files once a second: /healthz turns 503 at the next check.
            deadline = time.monotonic() + WAIT_S
            while client.get("/healthz")[0] == 200:
                assert time.monotonic() < deadline, "/healthz never noticed the damage"
                time.sleep(0.02)
            for path in ["/healthz", *ROUTES]:
                status, body = client.get(path)
                assert status == 503, (path, status, body[:300])
                assert b"docs/" in body and b"kb build" in body
        finally:
            client.close()


# --- 8. no build prunes the version being served --------------------------------------------

HOUR_AGO = time.time() - 3600


def stamp_after(name: str, n: int) -> str:
    """A version name n microseconds after `name` (still before any build started later)."""
    when = dt.datetime.strptime(name[1:], "%Y%m%dT%H%M%S%fZ") + dt.timedelta(microseconds=n)
    return "v" + when.strftime("%Y%m%dT%H%M%S%fZ")


def leave_unserved_copies(index_dir: Path, of: str, count: int) -> list[str]:
    """What builds killed between renaming their folder and switching CURRENT leave."""
    names = [stamp_after(of, n) for n in range(1, count + 1)]
    for name in names:
        shutil.copytree(index_dir / of, index_dir / name)
        os.utime(index_dir / name, (HOUR_AGO, HOUR_AGO))
    return names


def test_never_served_leftovers_cost_the_served_version_nothing(tmp_path, write_md, engine):
    write_corpus(write_md)
    settings = settings_for(tmp_path, engine)
    served = build(settings, progress=False).version
    index_dir = settings.index_dir
    # A server that opened the version long ago and has not looked at CURRENT since.
    kb = KnowledgeBase(settings, check_interval=3600)
    try:
        client = create_app(settings, kb=kb).test_client()
        assert client.get("/healthz").get_json()["index_version"] == served
        os.utime(index_dir / served, (HOUR_AGO, HOUR_AGO))  # served for an hour, not touched
        leftovers = leave_unserved_copies(index_dir, served, 3)
        fresh = build(settings, progress=False).version
        assert store.current_version(index_dir) == fresh
        assert (index_dir / served).is_dir(), "the version being served was pruned"
        assert not any((index_dir / name).exists() for name in leftovers)
        # The server still on the old version reads records it never read before.
        for path in ROUTES:
            assert client.get(path).status_code == 200, path
    finally:
        kb.close()


def make_versions(index_dir: Path, count: int) -> list[str]:
    index_dir.mkdir(parents=True)
    names = [f"v20310101T0000{n:02d}000000Z" for n in range(count)]
    for name in names:
        (index_dir / name).mkdir()
        (index_dir / name / "manifest.json").write_text("{}", encoding="utf-8")
        os.utime(index_dir / name, (HOUR_AGO, HOUR_AGO))
    return names


def point_current_at(index_dir: Path, name: str) -> None:
    (index_dir / store.CURRENT).write_text(name + "\n", encoding="utf-8")


def present(index_dir: Path) -> list[str]:
    return [p.name for p in store.versions(index_dir)]


def test_prune_keeps_current_and_recently_opened_versions(tmp_path):
    index_dir = tmp_path / "index"
    v = make_versions(index_dir, 7)
    point_current_at(index_dir, v[4])  # rolled back: two newer versions exist
    os.utime(index_dir / v[0], None)  # a server opened it just now
    store.prune(index_dir, keep=3)
    assert present(index_dir) == [v[0], v[2], v[3], v[4], v[5], v[6]]
    os.utime(index_dir / v[0], (HOUR_AGO, HOUR_AGO))
    store.prune(index_dir, keep=3)
    assert present(index_dir) == [v[2], v[3], v[4], v[5], v[6]]
    store.prune(index_dir, keep=1)
    assert present(index_dir) == [v[4], v[5], v[6]]


def test_a_build_clears_versions_never_served_unless_opened_lately(tmp_path):
    index_dir = tmp_path / "index"
    v = make_versions(index_dir, 4)
    point_current_at(index_dir, v[1])
    os.utime(index_dir / v[3], None)  # being deployed or opened right now
    (index_dir / f".{store.CURRENT}.12345.tmp").write_text(v[2], encoding="utf-8")
    assert store.remove_unserved(index_dir) == [v[2]]
    assert present(index_dir) == [v[0], v[1], v[3]]
    assert not list(index_dir.glob(".CURRENT.*"))


def test_serving_a_version_marks_it_in_use(tmp_path, write_md):
    write_corpus(write_md)
    settings = settings_for(tmp_path)
    first = build(settings, progress=False).version
    os.utime(settings.index_dir / first, (HOUR_AGO, HOUR_AGO))
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        assert kb.current().name == first
        assert store.recently_opened(settings.index_dir / first)
        os.utime(settings.index_dir / first, (HOUR_AGO, HOUR_AGO))
        second = build(settings, progress=False).version
        assert kb.current().name == second
        # Retired, but requests in flight may still read it: marked at the switch.
        assert store.recently_opened(settings.index_dir / first)
    finally:
        kb.close()


# --- 9. one build at a time -----------------------------------------------------------------


def run_kb(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kb", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def built_home(tmp_path: Path, passages: int) -> tuple[Path, dict]:
    corpus = tmp_path / "corpus"
    write_markdown_corpus(corpus, passages)
    home = tmp_path / "home"
    env = {**os.environ, "KB_HOME": str(home), "KB_CORPUS": str(corpus)}
    return home, env


def test_a_build_while_another_runs_says_so_and_changes_nothing(tmp_path):
    home, env = built_home(tmp_path, 20)
    index_dir = home / "index"
    first = run_kb("build", "--quiet", "--no-samples", env=env)
    assert first.wait(timeout=WAIT_S) == 0, first.stderr.read()
    served = store.current_version(index_dir)
    with store.build_lock(index_dir):  # this process is "the other build"
        second = run_kb("build", "--quiet", "--no-samples", env=env)
        out, err = second.communicate(timeout=WAIT_S)
    assert second.returncode == 1
    assert f"another build is running (pid {os.getpid()})" in err
    assert "Traceback" not in out + err
    assert store.current_version(index_dir) == served
    assert present(index_dir) == [served]
    assert not list(index_dir.glob(".building-*"))


@pytest.mark.slow
def test_racing_builds_never_crash_and_current_names_the_winner(tmp_path):
    home, env = built_home(tmp_path, 400)
    index_dir = home / "index"
    for _ in range(4):
        pair = [run_kb("build", "--quiet", "--no-samples", env=env) for _ in range(2)]
        results = [(p.wait(timeout=WAIT_S), *p.communicate(timeout=WAIT_S)) for p in pair]
        printed = []
        for code, out, err in results:
            assert "Traceback" not in out + err, err[-2000:]
            if code == 0:
                printed.append(re.search(r"Serving version (v\S+) from", out).group(1))
            else:
                assert code == 1 and "another build is running (pid " in err, (code, err)
        assert printed, "one of the two builds succeeds"
        assert store.current_version(index_dir) == max(printed)
        kb = KnowledgeBase(make_settings(tmp_path), check_interval=0)
        kb.settings.home = home
        try:
            assert kb.current().name == max(printed)  # verified completely
        finally:
            kb.close()
    assert not list(index_dir.glob(".building-*")) and not list(index_dir.glob(".CURRENT.*"))


# --- 13. a full disk, and permissions -------------------------------------------------------

FULL_AT = {
    "a document record": lambda path: path.parent.name == "docs",
    "links.json": lambda path: path.name == "links.json",
    "the manifest": lambda path: path.name == "manifest.json",
    "the switch of CURRENT": lambda path: path.name.startswith(".CURRENT."),
}


def fill_disk_at(monkeypatch, where: str) -> None:
    real = Path.write_text

    def write_text(self, *args, **kwargs):
        if FULL_AT[where](self):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


@pytest.mark.parametrize("where", sorted(FULL_AT))
def test_a_full_disk_fails_the_build_plainly_and_leaves_nothing(
    tmp_path, write_md, monkeypatch, where
):
    write_corpus(write_md)
    settings = settings_for(tmp_path)
    served = build(settings, progress=False).version
    write_corpus(write_md, "publish minutes")
    fill_disk_at(monkeypatch, where)
    with pytest.raises(BuildFailed) as failed:
        build(settings, progress=False)
    assert "No space left on device" in str(failed.value)
    assert "Free some space" in str(failed.value)
    index_dir = settings.index_dir
    assert store.current_version(index_dir) == served
    assert present(index_dir) == [served]
    assert not list(index_dir.glob(".building-*"))
    assert not list(index_dir.glob(".CURRENT.*"))


def test_kb_build_on_a_full_disk_prints_the_reason_not_a_traceback(tmp_path, write_md, monkeypatch):
    write_corpus(write_md)
    fill_disk_at(monkeypatch, "links.json")
    env = {"KB_HOME": str(tmp_path / "home"), "KB_CORPUS": str(tmp_path / "corpus")}
    result = CliRunner().invoke(cli, ["build", "--quiet"], env=env, obj={})
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # handled, not a crash
    assert "Build failed" in result.output and "No space left on device" in result.output


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_versions_are_written_as_the_umask_says(tmp_path, write_md, engine, mask):
    write_corpus(write_md)
    settings = settings_for(tmp_path, engine)
    old = os.umask(mask)
    try:
        version = settings.index_dir / build(settings, progress=False).version
    finally:
        os.umask(old)
    modes = {
        p.relative_to(settings.index_dir).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [version, *version.rglob("*"), settings.index_dir / store.CURRENT]
    }
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o777 if (settings.index_dir / name).is_dir() else 0o666) & ~mask
    }
    assert not wrong, wrong
