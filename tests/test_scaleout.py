"""Scale-out without a new engine: stateless `kb serve` instances serve copies of one immutable
index version, and a new version is rolled out to each in turn without a failed request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.corpus import write_markdown_corpus
from bench.serve import Client, kb_serve, wait_healthy
from indexer.index import store

pytestmark = pytest.mark.slow  # run by CI and the README's command; skip with -m "not slow"

WAIT_S = 300  # a deadline only a hang reaches; a slow machine just takes longer to get there


def kb_build(home: Path, corpus: Path) -> str:
    env = {**os.environ, "KB_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "kb", "build", "--quiet", "--no-samples", "--corpus", str(corpus)],
        env=env,
        check=True,
        capture_output=True,
        timeout=WAIT_S,
    )
    return store.current_version(home / "index")


def deploy(version_dir: Path, home: Path) -> None:
    """Copy a published version into an instance's KB_HOME, then switch CURRENT atomically.

    The same two steps as docs/scaling.md: copy under a temporary name and rename (so a
    half-copied version is never visible), then replace CURRENT in one rename.
    """
    index_dir = home / "index"
    index_dir.mkdir(parents=True, exist_ok=True)
    incoming = index_dir / f".incoming-{version_dir.name}"
    shutil.copytree(version_dir, incoming)
    incoming.rename(index_dir / version_dir.name)
    tmp = index_dir / ".CURRENT.tmp"
    tmp.write_text(version_dir.name + "\n", encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.05)


def wait_for_version(port: int, version: str) -> None:
    wait_for(
        lambda: wait_healthy(port)["index_version"] == version,
        f"port {port} to switch to {version}",
    )


def test_two_instances_roll_out_a_new_version_with_no_failed_request(tmp_path):
    builder = tmp_path / "builder"
    corpus = tmp_path / "corpus"
    write_markdown_corpus(corpus, 200)
    v1 = kb_build(builder, corpus)
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        deploy(builder / "index" / v1, home)

    with kb_serve(homes[0], threads=4) as port_a, kb_serve(homes[1], threads=4) as port_b:
        ports = [port_a, port_b]
        clients = [Client(port) for port in ports]
        path = "/api/v1/search?q=contract+review&limit=20"
        answers = [json.loads(c.get(path)[1]) for c in clients]
        # Stateless copies of one artefact give the same answer, whichever instance is asked.
        assert [r["id"] for r in answers[0]["results"]] == [r["id"] for r in answers[1]["results"]]
        assert answers[0]["facets"] == answers[1]["facets"]

        failures: list[str] = []
        seen: list[tuple[int, str]] = []
        stop = threading.Event()

        def alternate():
            n = 0
            try:
                while not stop.is_set():
                    client = clients[n % 2]
                    n += 1
                    for probe in (path, "/healthz"):
                        status, body = client.get(probe)
                        if status != 200:
                            failures.append(f"{client.port} {probe}: {status}")
                        elif probe == "/healthz":
                            seen.append((client.port, json.loads(body)["index_version"]))
            except Exception as exc:  # noted, and the waits below stop at once
                failures.append(f"traffic stopped: {exc!r}")

        def traffic_until(condition: Callable[[], bool], what: str) -> None:
            wait_for(lambda: condition() or not thread.is_alive(), what)
            assert thread.is_alive(), failures[:5]

        def answers_from(port: int, version: str) -> int:
            return list(seen).count((port, version))

        thread = threading.Thread(target=alternate)
        thread.start()
        try:
            # Traffic reaches both instances on the old version before the rollout starts.
            traffic_until(lambda: all(answers_from(p, v1) for p in ports), "answers from v1")
            more = tmp_path / "more"
            write_markdown_corpus(more, 50, seed=3)
            shutil.copytree(more, corpus / "more")
            v2 = kb_build(builder, corpus)
            assert v2 != v1
            for home, port in zip(homes, ports, strict=True):
                deploy(builder / "index" / v2, home)
                wait_for_version(port, v2)
                # Traffic on a mixed fleet for a while, as in a real rollout: until this instance
                # has answered a few health checks from the new version.
                traffic_until(lambda p=port: answers_from(p, v2) >= 3, f"answers from {v2}")
        finally:
            stop.set()
            thread.join(timeout=WAIT_S)
        for client in clients:
            client.close()

    assert not failures, failures[:5]
    assert sum(c.reconnects for c in clients) == 0
    for port in ports:
        versions = [v for p, v in seen if p == port]
        assert versions[0] == v1 and versions[-1] == v2
        assert versions.index(v2) > 0 and v1 not in versions[versions.index(v2) :], (
            "an instance never goes back to the old version once switched"
        )
