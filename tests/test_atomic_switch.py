"""Index versions switch atomically: a killed build changes nothing, a finished one switches cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from bench.corpus import write_markdown_corpus
from indexer.index import store
from indexer.index.build import build
from indexer.index.engine import SearchRequest
from kb.service import KnowledgeBase
from kb.web import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.slow  # run by CI and the README's command; skip with -m "not slow"

WAIT_S = 300  # a deadline only a hang reaches; a slow machine just takes longer to get there


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Polls until `condition()`; only a hang runs out the (generous) deadline."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.01)


def small_corpus(tmp_path, name: str, passages: int, seed: int = 1):
    """A generated corpus (not the samples, whose content other work changes)."""
    folder = tmp_path / name
    write_markdown_corpus(folder, passages, seed=seed)
    return folder


def run_kb(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args], env=env, capture_output=True, text=True, timeout=120
    )


def top_ids(settings, q: str) -> list[str]:
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        return [r["id"] for r in kb.current().engine.search(SearchRequest(q=q)).results]
    finally:
        kb.close()


def test_sigkill_mid_build_leaves_the_served_index_intact_and_a_later_build_works(tmp_path):
    settings = make_settings(tmp_path, small_corpus(tmp_path, "small", 40))
    env = {**os.environ, "KB_HOME": str(settings.home), "KB_CORPUS": str(settings.corpus)}
    assert run_kb("build", "--quiet", "--no-samples", env=env).returncode == 0
    index_dir = settings.index_dir
    served = store.current_version(index_dir)
    before = top_ids(settings, "contract")
    assert before

    big = tmp_path / "big"
    write_markdown_corpus(big, 3000)
    documents = sum(1 for _ in big.rglob("*.md"))
    killed = subprocess.Popen(
        [sys.executable, "-m", "kb", "build", "--quiet", "--corpus", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The build writes each document's record as it hands that document's passages to the
        # index writer: half the records on disk is "well into writing passages", with half the
        # documents and the commit still to come, however fast or slow the machine is.
        def halfway() -> bool:
            written = sum(1 for _ in index_dir.glob(".building-*/docs/*.json"))
            return written >= documents // 2 or killed.poll() is not None

        wait_for(halfway, f"the build to write {documents // 2} of {documents} documents")
        killed.send_signal(signal.SIGSTOP)  # frozen where it is: nothing happens before the kill
        assert killed.poll() is None, "the build finished before it could be killed"
        assert store.current_version(index_dir) == served, "the build published before the kill"
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=WAIT_S)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    assert killed.returncode == -signal.SIGKILL

    assert store.current_version(index_dir) == served
    assert top_ids(settings, "contract") == before
    leftovers = list(index_dir.glob(".building-*"))
    assert leftovers and not store.builder_alive(leftovers[0])
    searched = run_kb("search", "contract", env=env)
    assert searched.returncode == 0, searched.stderr
    assert before[0] in searched.stdout

    rebuilt = run_kb(
        "build",
        "--quiet",
        "--no-samples",
        "--corpus",
        str(settings.corpus),
        "--corpus",
        str(big),
        env=env,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert store.current_version(index_dir) != served
    assert not any(path in leftovers for path in index_dir.glob(".building-*"))
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        assert kb.current().engine.count() == 40 + 3000
    finally:
        kb.close()


def test_a_request_holding_the_old_version_finishes_on_it_after_a_switch(tmp_path):
    settings = make_settings(tmp_path, small_corpus(tmp_path, "small", 40))
    build(settings, include_samples=False, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        old = kb.current()
        before = [r["id"] for r in old.engine.search(SearchRequest(q="contract")).results]
        extra = small_corpus(tmp_path, "extra", 50, seed=2)
        build(settings, corpus=[settings.corpus, extra], include_samples=False, progress=False)
        new = kb.current()
        assert new.name != old.name
        assert new.engine.count() == 90
        # The request that started on the old version still gets its answer from it.
        assert [r["id"] for r in old.engine.search(SearchRequest(q="contract")).results] == before
        assert old.engine.count() == 40
    finally:
        kb.close()


def test_requests_during_repeated_switches_all_succeed(tmp_path):
    settings = make_settings(tmp_path, small_corpus(tmp_path, "small", 40))
    build(settings, include_samples=False, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)  # look for a new version on every request
    app = create_app(settings, kb=kb)
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()
    counts = [0]
    lock = threading.Lock()

    def client_loop():
        client = app.test_client()
        while not stop.is_set():
            search = client.get("/api/v1/search?q=contract")
            health = client.get("/healthz")
            with lock:
                counts[0] += 2
                for response in (search, health):
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.get_data(as_text=True)}")
                if health.status_code == 200:
                    seen.add(health.get_json()["index_version"])
                if search.status_code == 200 and not search.get_json()["results"]:
                    failures.append("a search answered with no results")

    threads = [threading.Thread(target=client_loop) for _ in range(4)]

    def traffic_until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            with lock:
                if condition():
                    return
                state = f"{counts[0]} requests, versions seen {sorted(seen)}, {failures[:3]}"
            assert all(thread.is_alive() for thread in threads), f"a client died; {state}"
            assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}; {state}"
            time.sleep(0.02)

    def more_requests(n: int) -> None:
        with lock:
            target = counts[0] + n
        traffic_until(lambda: counts[0] >= target, f"{n} more requests")

    for thread in threads:
        thread.start()
    versions = [store.current_version(settings.index_dir)]
    try:
        traffic_until(lambda: versions[0] in seen, "the clients to be answered")
        for n in range(3):
            more_requests(20)  # traffic on the version being served, between switches
            extra = small_corpus(tmp_path, f"extra{n}", 20 * (n + 1), seed=n + 10)
            report = build(
                settings, corpus=[settings.corpus, extra], include_samples=False, progress=False
            )
            versions.append(report.version)
            traffic_until(lambda: versions[-1] in seen, f"a request to see {report.version}")
        more_requests(20)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=WAIT_S)
        kb.close()
    assert not failures, failures[:5]
    assert len(set(versions)) == 4 and set(versions) <= seen, "traffic crossed every switch"
