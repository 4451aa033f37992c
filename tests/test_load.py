"""Bounded load on loopback against a real `kb serve`: no errors, even across a rebuild and switch.

20 clients for 8 s each time, to keep CI short; bench/load.py runs the full 50 clients x 60 s.
Nothing here asserts speed: only that every request got the answer it should.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.corpus import write_markdown_corpus
from bench.loadgen import default_probes, run_load
from bench.serve import kb_serve
from kb import store

CLIENTS = 20
SECONDS = 8


def kb_build(home, *corpora) -> None:
    args = [arg for corpus in corpora for arg in ("--corpus", str(corpus))]
    env = {**os.environ, "KB_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "kb", "build", "--quiet", "--no-samples", *args],
                   env=env, check=True, capture_output=True, timeout=120)


@pytest.fixture()
def home(tmp_path):
    corpus = tmp_path / "corpus"
    write_markdown_corpus(corpus, 400)
    kb_build(tmp_path / "home", corpus)
    return tmp_path / "home"


def test_twenty_clients_for_eight_seconds_get_no_errors(home):
    with kb_serve(home, threads=8) as port:
        result = run_load(port, default_probes(), clients=CLIENTS, seconds=SECONDS)
    assert result.error_count == 0, result.errors
    assert result.requests >= CLIENTS  # every client got answers, not just one
    assert result.statuses[400] > 0  # the malformed query was refused, not crashed on


def test_a_rebuild_and_switch_under_load_fails_no_request(home, tmp_path):
    index_dir = home / "index"
    first = store.current_version(index_dir)
    extra = tmp_path / "extra"
    write_markdown_corpus(extra, 60, seed=7)
    rebuilt: list[str | None] = []

    def rebuild_mid_run():
        import time

        time.sleep(2)
        kb_build(home, tmp_path / "corpus", extra)
        rebuilt.append(store.current_version(index_dir))

    with kb_serve(home, threads=8) as port:
        result = run_load(port, default_probes(), clients=CLIENTS, seconds=SECONDS,
                          during=rebuild_mid_run)
    assert result.error_count == 0, result.errors
    assert rebuilt and rebuilt[0] != first
    # Traffic was answered by both versions: the switch happened while it ran.
    assert {first, rebuilt[0]} <= result.versions
