"""Bounded load on loopback against a real `kb serve`: no errors, even across a rebuild and switch.

20 clients with a fixed request budget, to keep CI short; bench/load.py runs the full 50 clients
x 60 s. Nothing here asserts speed, and nothing waits for a time: the runs are driven by counts
and by what the server answers, so a slow machine only makes them longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from bench.corpus import write_markdown_corpus
from bench.loadgen import LoadResult, Probe, default_probes, expensive_probes, run_load
from bench.serve import kb_serve
from indexer.index import store

pytestmark = pytest.mark.slow  # run by CI and the README's command; skip with -m "not slow"

CLIENTS = 20
ROUNDS = 20  # each client goes through the probe list this many times
WAIT_S = 300  # only a hang takes this long; a slow machine just takes longer to get there


def kb_build(home, *corpora) -> None:
    args = [arg for corpus in corpora for arg in ("--corpus", str(corpus))]
    env = {**os.environ, "KB_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "kb", "build", "--quiet", "--no-samples", *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=WAIT_S,
    )


def wait_until(live: LoadResult, condition: Callable[[LoadResult], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        with live.lock:
            if condition(live):
                return
            state = f"{live.requests} requests, {live.error_count} errors, {live.errors[:3]}"
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}; {state}"
        time.sleep(0.05)


@pytest.fixture()
def home(tmp_path):
    corpus = tmp_path / "corpus"
    write_markdown_corpus(corpus, 400)
    kb_build(tmp_path / "home", corpus)
    return tmp_path / "home"


def test_twenty_clients_get_no_errors(home):
    probes = default_probes()
    with kb_serve(home, threads=8) as port:
        result = run_load(
            port,
            probes,
            clients=CLIENTS,
            seconds=None,
            max_requests_per_client=ROUNDS * len(probes),
        )
    assert result.error_count == 0, result.errors
    assert result.requests == CLIENTS * ROUNDS * len(probes)  # every client got all its answers
    assert (
        result.statuses[400] == CLIENTS * ROUNDS
    )  # the malformed query was refused, not crashed on


def test_a_rebuild_and_switch_under_load_fails_no_request(home, tmp_path):
    index_dir = home / "index"
    first = store.current_version(index_dir)
    extra = tmp_path / "extra"
    write_markdown_corpus(extra, 60, seed=7)
    rebuilt: list[str | None] = []

    def rebuild_under_load(live: LoadResult) -> None:
        # Every client is answering, on the first version, before the rebuild starts ...
        wait_until(
            live,
            lambda r: r.requests >= 5 * CLIENTS and first in r.versions,
            "the load to get going on the first version",
        )
        kb_build(home, tmp_path / "corpus", extra)
        new = store.current_version(index_dir)
        rebuilt.append(new)
        # ... the server switches while the clients keep going ...
        wait_until(live, lambda r: new in r.versions, f"the server to report {new}")
        with live.lock:
            at_switch = live.requests
        # ... and they go on for a while on the new version; then the load stops.
        wait_until(
            live,
            lambda r: r.requests >= at_switch + 10 * CLIENTS,
            "more requests after the switch",
        )

    with kb_serve(home, threads=8) as port:
        result = run_load(
            port, default_probes(), clients=CLIENTS, seconds=None, during=rebuild_under_load
        )
    assert result.error_count == 0, result.errors
    assert rebuilt and rebuilt[0] != first
    # Traffic was answered by both versions: the switch happened while it ran.
    assert {first, rebuilt[0]} <= result.versions


EXPENSIVE_CLIENTS = 16  # the 16 clients looping on the costliest searches
REFUSALS = 40  # refused searches to see before stopping
HEALTH_WHILE_REFUSED = 20  # health checks answered 200 between the first and last refusal


def test_health_pages_and_metrics_answer_while_expensive_searches_are_refused(home, monkeypatch):
    """16 clients loop on the costliest searches the API accepts against the default 8 threads
    (4 search slots, 3 queued, 1 left for the rest). The surplus is refused with 503 + Retry-After rather than taking
    every thread, so health checks, /metrics and the pages keep answering 200 all along.

    Without the search gate nothing is refused (the searches just take every thread and the
    health checks wait behind them), so the refusal count below is what fails. How fast the
    health checks were is printed (bench output), not asserted.
    """
    monkeypatch.setenv("KB_QUERY_CACHE", "0")  # every search costs what it costs
    light = [Probe("/healthz"), Probe("/metrics"), Probe("/documents"), Probe("/healthz")]

    def enough(live: LoadResult) -> None:
        wait_until(
            live,
            lambda r: (
                r.refused >= REFUSALS
                and sum(s == 200 for _, s, _ in r.health_during_refusals()) >= HEALTH_WHILE_REFUSED
            ),
            f"{REFUSALS} refused searches and {HEALTH_WHILE_REFUSED} health checks among them",
        )

    with kb_serve(home, threads=8) as port:
        result = run_load(
            port,
            [],
            clients=0,
            seconds=None,
            during=enough,
            groups=[(EXPENSIVE_CLIENTS, expensive_probes()), (2, light)],
        )
    print(result.summary())
    assert result.error_count == 0, result.errors  # every answer was a 200 or a 503 + Retry-After
    assert result.refused >= REFUSALS
    assert all(status == 200 for _, status, _ in result.health)
    assert len(result.health_during_refusals()) >= HEALTH_WHILE_REFUSED
    assert result.busy_ok_answered > 0  # the expensive searches ran too, not only refused
