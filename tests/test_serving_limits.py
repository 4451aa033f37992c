"""What one request may cost: URI length (414), id look-ups linear in the id, searches in a bounded
number of slots (503 + Retry-After when full, while health, metrics and pages still answer),
cost limits per search, and redirects that never echo the Host header.

Served by a real `kb serve` on 127.0.0.1 where the point is what a client sees; the search gate's
queueing is shown on a real Waitress server in this process, whose searches the test holds and
releases, so every step waits on an event rather than on the clock.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import waitress

from bench import serve as bench_serve
from bench.serve import HOST, free_port
from kb import search as search_module
from kb.web import create_app
from kb.web.limits import MAX_PATH_BYTES, MAX_QUERY_BYTES, SearchGate, relative_location
from tests.test_openapi import conformance_errors

HANG_S = 60  # only a hang takes this long


@contextmanager
def kb_serve(home, *args: str) -> Iterator[int]:
    """A real `kb serve` for KB_HOME=home with extra options; yields its port."""
    with bench_serve.kb_serve(home, extra=args) as port:
        yield port


def get(port: int, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection(HOST, port, timeout=HANG_S)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(sample_settings) -> Iterator[int]:
    """One real `kb serve` of the sample corpus per engine, for the tests that only read."""
    with kb_serve(sample_settings.home, "--threads", "4") as port:
        yield port


# --- 1. Over-long ids and URIs ------------------------------------------------------------


def test_an_over_long_path_is_a_414_before_any_lookup(served):
    """The issue's 50 KB id (`a/` x 25,000) took 12 s to 404; now it is refused unread."""
    status, headers, body = get(served, "/api/v1/passages/" + "a/" * 25_000)
    assert status == 414
    assert json.loads(body)["error"] == "uri_too_long"
    assert headers["Cache-Control"] == "no-store"
    status, _, body = get(served, "/p/" + "a/" * 25_000)
    assert status == 414 and b"<html" in body  # the page's twin is a page
    # At the limit the id is looked up as usual (and not found).
    at_limit = "/api/v1/passages/" + "a/" * ((MAX_PATH_BYTES - len("/api/v1/passages/")) // 2)
    assert len(at_limit) <= MAX_PATH_BYTES
    assert get(served, at_limit)[0] == 404
    assert get(served, "/api/v1/passages/ukpga/2031/12/section/2/2")[0] == 200


def test_an_over_long_query_string_is_a_414(served):
    status, _, body = get(served, "/api/v1/search?q=consult&x=" + "a" * MAX_QUERY_BYTES)
    assert status == 414 and json.loads(body)["error"] == "uri_too_long"
    status, _, body = get(served, "/?q=" + "a" * MAX_QUERY_BYTES)
    assert status == 414


class CountingDict(dict):
    """by_id, counting the document ids tried."""

    lookups = 0

    def __contains__(self, key):
        self.lookups += 1
        return super().__contains__(key)


def test_looking_up_an_id_tries_only_as_many_prefixes_as_a_document_id_has(sample_kb, monkeypatch):
    """Linear, not quadratic: an id of 1,000 segments is split once and at most a document id's
    depth of prefixes is tried (before, one joined prefix per segment: 999 look-ups)."""
    version = sample_kb.current()
    counting = CountingDict(version.by_id)
    monkeypatch.setattr(version, "by_id", counting)
    depth = max(doc_id.count("/") + 1 for doc_id in counting)
    assert version.document_for_passage_id("a/" * 1000) is None
    assert counting.lookups <= depth
    counting.lookups = 0
    found = version.document_for_passage_id("ukpga/2031/12/section/2/2")
    assert found[0]["id"] == "ukpga/2031/12" and found[1] == "section/2/2"
    assert version.provision("ukpga/2031/12/section/" + "a/" * 1000) is None
    assert counting.lookups <= 2 * depth  # canonical_id's check and provision's own


# --- 14. Redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, location",
    [
        ("/api/v1/documents//ukpga/2031/12", "/api/v1/documents/ukpga/2031/12"),
        ("/api/v1/passages//ukpga/2031/12/section/2?x=1", "/api/v1/passages/ukpga/2031/12/section/2?x=1"),
        ("/p//ukpga/2031/12/section/2", "/p/ukpga/2031/12/section/2"),
    ],
)  # fmt: skip
def test_a_slash_merging_redirect_never_echoes_the_host_header(served, path, location):
    status, headers, _ = get(served, path, {"Host": "evil.example"})
    assert status == 308
    assert headers["Location"] == location
    status, _, _ = get(served, location)
    assert status == 200


def test_a_relative_location_is_never_protocol_relative():
    assert relative_location("http://evil.example//evil.example/x?q=1") == "/evil.example/x?q=1"
    assert relative_location("http://h/a/b") == "/a/b"


# --- 3. Search slots ----------------------------------------------------------------------


class HeldSearches:
    """Searches of one index version block inside the engine until released."""

    def __init__(self, version, monkeypatch):
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        original = version.search

        def held(request):
            self.entered.release()
            assert self.release.wait(HANG_S), "the test never released the search"
            return original(request)

        monkeypatch.setattr(version, "search", held)

    def wait_entered(self) -> None:
        assert self.entered.acquire(timeout=HANG_S), "no search reached the engine"


@contextmanager
def waitress_server(app, threads: int) -> Iterator[int]:
    server = waitress.create_server(app, host=HOST, port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        # Closed in the server's own loop thread: closing its sockets from here while its
        # select() waits on them ends that thread with EBADF.
        server.trigger.pull_trigger(lambda: close_every_channel(server))
        thread.join(HANG_S)
        assert not thread.is_alive(), "the server's loop did not stop"


def close_every_channel(server) -> None:
    for channel in list(server._map.values()):
        channel.close()


def in_background(port: int, path: str) -> tuple[threading.Thread, list]:
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(get(port, path)), daemon=True)
    thread.start()
    return thread, answer


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + HANG_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {HANG_S} s for {what}"
        time.sleep(0.01)


def test_searches_beyond_the_slots_queue_then_are_refused_while_health_and_pages_answer(
    sample_settings, sample_kb, monkeypatch
):
    gate = SearchGate(slots=1, queue=1, wait_s=HANG_S)
    app = create_app(sample_settings, kb=sample_kb, search_gate=gate)
    held = HeldSearches(sample_kb.current(), monkeypatch)
    with waitress_server(app, threads=4) as port:
        running, first = in_background(port, "/api/v1/search?q=consult")
        held.wait_entered()  # it holds the only slot
        queued, second = in_background(port, "/api/v1/search?q=contract")
        wait_for(lambda: gate.snapshot()["waiting"] == 1, "the second search to queue")
        # The queue is full: a third search is refused at once, in the API and the pages.
        status, headers, body = get(port, "/api/v1/search?q=duty")
        assert status == 503 and headers["Retry-After"] == "2"
        assert json.loads(body)["error"] == "busy"
        for page in ("/?q=duty", "/embed?q=duty"):
            status, headers, body = get(port, page)
            assert status == 503 and headers["Retry-After"] == "2"
            assert b"busy" in body and b'name="q"' in body  # the search box stays
        # Health, metrics and the reading pages still answer while both searches are held.
        status, _, body = get(port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, _, body = get(port, "/metrics")
        assert status == 200
        text = body.decode()
        assert "kb_search_running 1" in text and "kb_search_waiting 1" in text
        assert 'kb_search_refused_total{reason="queue_full"} 3' in text
        assert get(port, "/documents")[0] == 200
        assert get(port, "/api/v1/passages/ukpga/2031/12/section/2/2")[0] == 200
        assert not first and not second  # still held
        held.release.set()
        running.join(HANG_S)
        queued.join(HANG_S)
    assert first[0][0] == 200 and second[0][0] == 200  # the queued one ran once a slot was free


def test_a_search_that_waits_too_long_for_a_slot_is_refused(
    sample_settings, sample_kb, monkeypatch
):
    gate = SearchGate(slots=1, queue=1, wait_s=0.05)
    app = create_app(sample_settings, kb=sample_kb, search_gate=gate)
    held = HeldSearches(sample_kb.current(), monkeypatch)
    with waitress_server(app, threads=3) as port:
        running, first = in_background(port, "/api/v1/search?q=consult")
        held.wait_entered()
        status, headers, body = get(port, "/api/v1/search?q=contract")  # waits, then gives up
        assert status == 503 and headers["Retry-After"] == "2"
        assert "waited" in json.loads(body)["message"]
        assert gate.snapshot()["refused_timeout"] == 1
        held.release.set()
        running.join(HANG_S)
    assert first[0][0] == 200


def test_a_busy_503_and_a_414_conform_to_the_openapi_document(sample_settings, sample_kb):
    gate = SearchGate(slots=1, queue=0)
    app = create_app(sample_settings, kb=sample_kb, search_gate=gate)
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    with gate.slot():  # every slot taken, no queue
        busy = client.get("/api/v1/search?q=consult")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert not conformance_errors(spec, "/api/v1/search", busy)
    with gate.slot():  # a malformed search is refused for what it is, without a slot
        assert client.get('/api/v1/search?q="unclosed').status_code == 400
        assert client.get('/?q="unclosed').status_code == 400
    too_long = client.get("/api/v1/passages/" + "a/" * MAX_PATH_BYTES)
    assert too_long.status_code == 414
    assert not conformance_errors(spec, "/api/v1/passages/{passage_id}", too_long)
    assert client.get("/api/v1/search?q=consult").status_code == 200  # slot released


def test_kb_serve_refuses_slots_that_leave_no_thread_for_health(sample_settings):
    env = {**os.environ, "KB_HOME": str(sample_settings.home)}
    command = [sys.executable, "-m", "kb", "serve", "--port", str(free_port())]
    done = subprocess.run(
        [*command, "--threads", "4", "--search-slots", "3", "--search-queue", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert done.returncode == 2
    assert "leaving none for health checks" in done.stderr


# --- Cost limits per search -----------------------------------------------------------------


def test_too_many_wildcards_or_filter_values_are_a_400(client):
    wildcards = " ".join(f"con{c}*" for c in "abcdefghijk")  # 11
    response = client.get("/api/v1/search", query_string={"q": wildcards})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_query"
    assert f"limit is {search_module.MAX_WILDCARDS}" in response.get_json()["message"]
    allowed = " ".join(f"con{c}*" for c in "abcdefghij")  # 10
    assert client.get("/api/v1/search", query_string={"q": allowed}).status_code == 200
    many = [("q", "consult"), *[("document", f"doc/{n}") for n in range(51)]]
    response = client.get("/api/v1/search", query_string=many)
    assert response.status_code == 400
    assert f"limit is {search_module.MAX_FILTER_VALUES}" in response.get_json()["message"]
    page = client.get("/", query_string={"q": wildcards})
    assert page.status_code == 400 and "wildcards" in page.get_data(as_text=True)
