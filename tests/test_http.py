"""The polite fetcher, over real HTTP against a local server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from indexer.clml import check
from indexer.http import Fetcher
from kb.config import USER_AGENT, Settings

Handler = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """A tiny HTTP server whose routes answer from a queue of handlers (the last one repeats)."""

    def __init__(self):
        self.routes: dict[str, list[Handler]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append((self.path, dict(self.headers)))
                queue = server.routes.get(self.path)
                if not queue:
                    return send(self, 404, b"not here")
                handler = queue.pop(0) if len(queue) > 1 else queue[0]
                try:
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.closing = threading.Event()  # releases the handlers that never answer
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def route(self, path: str, *handlers: Handler) -> None:
        self.routes[path] = list(handlers)

    def hits(self, path: str) -> int:
        return sum(p == path for p, _ in self.requests)

    def close(self) -> None:
        self.httpd.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send(h, code: int, body: bytes = b"", headers: dict | None = None, length: int | None = None):
    h.send_response(code)
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.send_header("Content-Length", str(len(body) if length is None else length))
    h.end_headers()
    if body:
        h.wfile.write(body)
        h.wfile.flush()


def ok(body: bytes, etag: str | None = None, last_modified: str | None = None) -> Handler:
    """200 with validators; 304 (and no body) when the client already has this version."""

    def handler(h):
        if etag and h.headers.get("If-None-Match") == etag:
            return send(h, 304, headers={"ETag": etag})
        if last_modified and h.headers.get("If-Modified-Since") == last_modified:
            return send(h, 304)
        headers = {"Content-Type": "application/xml"}
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified
        send(h, 200, body, headers)

    return handler


def status(code: int, headers: dict | None = None) -> Handler:
    return lambda h: send(h, code, b"error", headers)


def stalled(h) -> None:
    """Reads the request and never answers (until the server closes): however slow or fast the
    machine, only the client's read timeout can end its wait."""
    h.server.closing.wait(120)


def truncated(body: bytes) -> Handler:
    def handler(h):
        send(h, 200, body[: len(body) // 2], length=len(body))
        h.close_connection = True

    return handler


def redirect(location: str) -> Handler:
    return lambda h: send(h, 302, headers={"Location": location})


def chunked(body: bytes) -> Handler:
    """No Content-Length: only counting the bytes as they arrive can stop an oversized body."""

    def handler(h):
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(0, len(body), 4096):
            piece = body[i : i + 4096]
            h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")

    return handler


GOOD = (
    Path(__file__).parent / "fixtures/mirror/www.legislation.gov.uk/ukpga/2031/7/data.xml"
).read_bytes()
BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
    b'<Legislation xmlns="http://www.legislation.gov.uk/namespaces/legislation">&e;&e;&e;'
    b"</Legislation>"
)
PATH = "/ukpga/2031/7/data.xml"


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


def make_fetcher(tmp_path: Path, server: LocalServer, **kw) -> Fetcher:
    settings = Settings(home=tmp_path / "kb", crawl_delay=0)
    options = dict(
        allowed_hosts=[server.host],
        delay=0,
        # Far above what a loopback answer takes even on a loaded machine: a test that is about
        # timing out uses a server that never answers (see `stalled`).
        timeout=(10.0, 10.0),
        retries=2,
        backoff=0.01,
        max_retry_after=2.0,
        max_bytes=200_000,
    )
    options.update(kw)
    return Fetcher(settings, **options)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Polls until `condition()`; the deadline is a hang guard, never reached otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.01)


def test_fetch_caches_body_and_sidecar(tmp_path, server):
    server.route(PATH, ok(GOOD, etag='"v1"', last_modified="Sat, 01 Jan 2033 00:00:00 GMT"))
    result = make_fetcher(tmp_path, server).get(server.url(PATH), validate=check)
    assert result.status == "fetched" and result.http_status == 200
    assert result.body_path == tmp_path / "kb/cache/raw/127.0.0.1_{}/ukpga/2031/7/data.xml".format(
        server.host.split(":")[1]
    )
    assert result.body_path.read_bytes() == GOOD
    assert result.bytes_received == len(GOOD)
    sidecar = result.body_path.with_name("data.xml.json").read_text()
    for key in ('"etag": "\\"v1\\""', '"last_modified"', '"sha256"', '"fetched_at"', '"url"'):
        assert key in sidecar
    _, headers = server.requests[-1]
    assert headers["User-Agent"] == USER_AGENT


def test_revalidation_gets_304_and_transfers_no_body(tmp_path, server):
    server.route(PATH, ok(GOOD, etag='"v1"'))
    make_fetcher(tmp_path, server).get(server.url(PATH))
    again = make_fetcher(tmp_path, server).get(server.url(PATH))  # a later crawl
    assert again.status == "not_modified" and again.http_status == 304
    assert again.bytes_received == 0
    assert again.body_path.read_bytes() == GOOD
    assert server.requests[-1][1]["If-None-Match"] == '"v1"'


def test_revalidation_by_last_modified(tmp_path, server):
    stamp = "Sat, 01 Jan 2033 00:00:00 GMT"
    server.route(PATH, ok(GOOD, last_modified=stamp))
    make_fetcher(tmp_path, server).get(server.url(PATH))
    again = make_fetcher(tmp_path, server).get(server.url(PATH))
    assert again.status == "not_modified"
    assert server.requests[-1][1]["If-Modified-Since"] == stamp


def prime(tmp_path, server) -> Path:
    """A good copy in the cache, before the fault under test."""
    server.route(PATH, ok(GOOD))
    result = make_fetcher(tmp_path, server).get(server.url(PATH), validate=check)
    assert result.status == "fetched"
    return result.body_path


# fault: (handlers, the reason reported, how many requests the fetcher makes before giving up)
FAULTS = {
    "404": ([status(404)], "404 Not Found", 1),
    "500-always": ([status(500)], "500 Internal Server Error (after 3 attempts)", 3),
    "503-retry-after": (
        [status(503, {"Retry-After": "0"})],
        "503 Service Unavailable (after 3 attempts)",
        3,
    ),
    "slow": ([stalled], "timed out (ReadTimeout) (after 3 attempts)", 3),
    "truncated": ([truncated(GOOD)], "incomplete body", 3),
    "oversized": ([ok(b"<x>" + b"a" * 300_000 + b"</x>")], "larger than the 200000-byte limit", 1),
    "oversized-chunked": ([chunked(b"a" * 300_000)], "larger than the 200000-byte limit", 1),
    "malformed-xml": ([ok(b"<Legislation><Primary>")], "malformed XML", 1),
    "entity-bomb": ([ok(BOMB)], "DOCTYPE", 1),
    "not-clml": ([ok(b"<html>maintenance</html>")], "not CLML", 1),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_fault_keeps_last_good_copy(tmp_path, server, fault):
    cached = prime(tmp_path, server)
    sidecar = cached.with_name("data.xml.json").read_bytes()
    handlers, reason, attempts = FAULTS[fault]
    server.route(PATH, *handlers)
    # Only the stalled server is about a timeout; a short read timeout makes that one quick.
    options = {"timeout": (10.0, 0.5)} if fault == "slow" else {}
    result = make_fetcher(tmp_path, server, **options).get(server.url(PATH), validate=check)
    assert result.status == "failed"
    assert reason in result.reason
    # The fault ended the fetch (or its bounded retries) rather than a long wait: as many requests
    # as the retry limit allows, and no more. (The stalled server may log its last one late.)
    wait_for(lambda: server.hits(PATH) >= 1 + attempts, f"{attempts} request(s) for {PATH}")
    assert server.hits(PATH) == 1 + attempts  # 1: prime()'s fetch
    assert cached.read_bytes() == GOOD
    assert cached.with_name("data.xml.json").read_bytes() == sidecar
    assert not list(cached.parent.glob(".part-*"))  # no temporary files left behind


def test_429_retry_after_is_honoured_then_success(tmp_path, server):
    server.route(PATH, status(429, {"Retry-After": "1"}), ok(GOOD))
    start = time.monotonic()
    result = make_fetcher(tmp_path, server).get(server.url(PATH))
    assert result.status == "fetched"
    # A lower bound only: a slow machine can only add to it. The fetcher sleeps on the same
    # monotonic clock, and time.sleep never returns early, so a fast one cannot undercut it.
    assert time.monotonic() - start >= 1.0
    assert server.hits(PATH) == 2


def test_retry_after_is_capped(tmp_path, server):
    server.route(PATH, status(429, {"Retry-After": "3600"}), ok(GOOD))
    fetcher = make_fetcher(tmp_path, server, max_retry_after=0.2)
    results = []
    fetching = threading.Thread(target=lambda: results.append(fetcher.get(server.url(PATH))))
    fetching.daemon = True  # an uncapped wait would hold it for an hour: do not wait for that
    fetching.start()
    # A hang guard, not a speed limit: capped, the wait is 0.2 s; uncapped it would be 3600 s.
    fetching.join(timeout=120)
    assert not fetching.is_alive(), "the 3600 s Retry-After was not capped"
    assert results[0].status == "fetched" and server.hits(PATH) == 2


def test_500_then_success(tmp_path, server):
    server.route(PATH, status(500), status(502), ok(GOOD))
    result = make_fetcher(tmp_path, server).get(server.url(PATH))
    assert result.status == "fetched" and server.hits(PATH) == 3


def test_redirect_off_the_allowlist_is_refused(tmp_path, server):
    other = LocalServer()
    try:
        other.route(PATH, ok(GOOD))
        server.route(PATH, redirect(other.url(PATH)))
        result = make_fetcher(tmp_path, server).get(server.url(PATH))
        assert result.status == "failed"
        assert f"redirect to {other.host}, which is not on the allowlist" in result.reason
        assert other.requests == []  # never contacted
    finally:
        other.close()


def test_redirect_on_the_allowlist_is_followed(tmp_path, server):
    server.route("/old.xml", redirect("/ukpga/2031/7/data.xml"))
    server.route(PATH, ok(GOOD))
    result = make_fetcher(tmp_path, server).get(server.url("/old.xml"))
    assert result.status == "fetched" and result.body_path.read_bytes() == GOOD


def test_host_off_the_allowlist_is_never_contacted(tmp_path, server):
    server.route(PATH, ok(GOOD))
    result = make_fetcher(tmp_path, server, allowed_hosts=["www.legislation.gov.uk"]).get(
        server.url(PATH)
    )
    assert result.status == "failed" and "not on the allowlist" in result.reason
    assert server.requests == []


def test_robots_txt_disallow_is_honoured_and_read_once(tmp_path, server):
    server.route("/robots.txt", ok(b"User-agent: *\nDisallow: /private/\n"))
    server.route("/private/doc.xml", ok(GOOD))
    server.route(PATH, ok(GOOD))
    fetcher = make_fetcher(tmp_path, server)
    blocked = fetcher.get(server.url("/private/doc.xml"))
    allowed = fetcher.get(server.url(PATH))
    assert blocked.status == "failed" and "disallowed by robots.txt" in blocked.reason
    assert allowed.status == "fetched"
    assert server.hits("/private/doc.xml") == 0
    assert server.hits("/robots.txt") == 1


def test_rate_limit_spaces_requests_to_one_host(tmp_path, server):
    server.route(PATH, ok(GOOD))
    server.route("/b.xml", ok(GOOD))
    fetcher = make_fetcher(tmp_path, server, delay=0.3)
    start = time.monotonic()
    fetcher.get(server.url(PATH))
    fetcher.get(server.url("/b.xml"))
    # robots.txt, then two documents: two gaps of at least the delay (a lower bound, measured on
    # the monotonic clock the fetcher spaces its requests by)
    assert time.monotonic() - start >= 0.6


def test_mirror_reads_host_path_layout(tmp_path):
    mirror = Path(__file__).parent / "fixtures/mirror"
    fetcher = Fetcher(
        Settings(home=tmp_path), mirror=mirror, allowed_hosts=["www.legislation.gov.uk"]
    )
    found = fetcher.get("https://www.legislation.gov.uk/ukpga/2031/7/data.xml", validate=check)
    assert found.status == "mirror" and found.body_path.read_bytes() == GOOD
    missing = fetcher.get("https://www.legislation.gov.uk/ukpga/1999/27/data.xml")
    assert missing.status == "failed" and "not in the mirror" in missing.reason
    sneaky = fetcher.get("https://www.legislation.gov.uk/../../etc/passwd")
    assert sneaky.status == "failed"
