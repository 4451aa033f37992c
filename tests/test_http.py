"""The polite fetcher, over real HTTP against a local server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from indexer.clml import check
from indexer.http import Fetcher, sweep_partials
from kb.core.config import USER_AGENT, Settings

Handler = Callable[[BaseHTTPRequestHandler], None]


class LocalServer:
    """A tiny HTTP server whose routes answer from a queue of handlers (the last one repeats)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.scheme = "https" if tls else "http"
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
        if tls:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.closing = threading.Event()  # releases the handlers that never answer
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}{path}"

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


def gzipped(body: bytes, cut: bool = False) -> Handler:
    """What an ordinary server sends to a client that accepts gzip: the compressed bytes, and a
    Content-Length that counts them (not the body they decompress to). `cut` sends half of them
    and closes the connection."""
    data = gzip.compress(body)

    def handler(h):
        headers = {"Content-Type": "application/xml", "Content-Encoding": "gzip"}
        send(h, 200, data[: len(data) // 2] if cut else data, headers, length=len(data))
        if cut:
            h.close_connection = True

    return handler


def dribble_body(h) -> None:
    """Headers promising 100 kB, then one byte every 50 ms until the server closes: far
    faster than any read timeout, so only a total deadline can end the fetch."""
    send(h, 200, headers={"Content-Type": "application/xml"}, length=100_000)
    while not h.server.closing.wait(0.05):
        h.wfile.write(b" ")
        h.wfile.flush()


def dribble_unframed(h) -> None:
    """No Content-Length and not chunked (the body ends when the connection closes), dribbled:
    cut at the deadline, it ends in a clean end of file that must not pass for the whole body."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n")
    h.wfile.write(GOOD[:100])
    while not h.server.closing.wait(0.05):
        h.wfile.write(b" ")
        h.wfile.flush()


def dribble_headers(h) -> None:
    """A status line, then one header line that never ends, a byte every 50 ms."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not h.server.closing.wait(0.05):
        h.wfile.write(b"a")
        h.wfile.flush()


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
    "html-error-page": (
        [ok(b"<!DOCTYPE html>\n<html><head><title>Error</title></head><body>Sorry</body></html>")],
        "not CLML: the response is an HTML page",
        1,
    ),
    # Content-Length counts the compressed bytes: half of them is still an incomplete body.
    "gzip-truncated": ([gzipped(GOOD, cut=True)], "incomplete body", 3),
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


def test_gzip_body_with_compressed_content_length_is_fetched(tmp_path, server):
    """The common answer to `Accept-Encoding: gzip`: Content-Length is the compressed size."""
    server.route(PATH, gzipped(GOOD))
    result = make_fetcher(tmp_path, server).get(server.url(PATH), validate=check)
    assert result.status == "fetched", result.reason
    assert "gzip" in server.requests[-1][1]["Accept-Encoding"]
    assert result.body_path.read_bytes() == GOOD  # stored decompressed
    assert result.bytes_received == len(gzip.compress(GOOD)) < len(GOOD)  # as sent
    assert not list(result.body_path.parent.glob(".part-*"))


def fetch_in_thread(fetcher: Fetcher, url: str, validate=None):
    """`fetcher.get(url)` with a hang guard: a fetch the deadline did not end fails the test
    after 120 s instead of hanging the suite."""
    results = []
    thread = threading.Thread(target=lambda: results.append(fetcher.get(url, validate)))
    thread.daemon = True
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the fetch outlived its deadline"
    return results[0]


DEADLINE = "gave up at the 1-second total deadline per request"


@pytest.mark.slow
@pytest.mark.parametrize(
    "handler",
    [dribble_body, dribble_unframed, dribble_headers, stalled],
    ids=["body", "unframed-body", "headers", "silent"],
)
def test_total_deadline_ends_a_dribbled_or_stalled_request(tmp_path, server, handler):
    cached = prime(tmp_path, server)
    server.route(PATH, handler)
    # The read timeout (10 s) is far above the dribble's 50 ms between bytes: only the 1 s
    # deadline can end the body and header dribbles (without it they would run until the hang
    # guard), and it ends the silent server before its read timeout.
    fetcher = make_fetcher(tmp_path, server, deadline=1.0)
    # No validator: a body cut at the deadline must be refused as such, not because it happens
    # to be malformed XML (the cut close-delimited body would otherwise pass for a whole one).
    result = fetch_in_thread(fetcher, server.url(PATH))
    assert result.status == "failed"
    assert DEADLINE in result.reason and "KB_CRAWL_DEADLINE" in result.reason
    assert "attempts" not in result.reason  # not retried: it would be as slow again
    assert server.hits(PATH) == 2  # prime()'s, and this one
    assert cached.read_bytes() == GOOD
    assert not list(cached.parent.glob(".part-*"))  # the partial body was removed


@pytest.mark.slow
def test_deadline_applies_to_robots_txt(tmp_path, server):
    server.route("/robots.txt", dribble_body)
    server.route(PATH, ok(GOOD))
    result = fetch_in_thread(make_fetcher(tmp_path, server, deadline=1.0), server.url(PATH))
    assert result.status == "failed"
    assert result.reason.startswith("robots.txt unreachable (" + DEADLINE)
    assert server.hits(PATH) == 0


def test_deadline_comes_from_settings_and_must_be_positive(tmp_path):
    settings = Settings.from_env({"KB_HOME": str(tmp_path), "KB_CRAWL_DEADLINE": "2.5"})
    assert settings.crawl_deadline == 2.5
    assert Fetcher(settings, allowed_hosts=[]).deadline == 2.5
    assert Settings().crawl_deadline == 300.0  # the documented default
    with pytest.raises(ValueError, match="KB_CRAWL_DEADLINE"):
        Settings.from_env({"KB_CRAWL_DEADLINE": "0"})
    with pytest.raises(ValueError, match="above 0"):
        Fetcher(settings, allowed_hosts=[], deadline=-1)


def test_partial_files_of_dead_processes_are_swept(tmp_path):
    """A crawl killed outright (SIGKILL) cannot clean up; the next Fetcher on the cache does,
    and leaves a live process's (a concurrent crawl's) partial files alone."""
    exited = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(exited.stdout)
    folder = tmp_path / "kb/cache/raw/www.legislation.gov.uk/ukpga/2031/7"
    folder.mkdir(parents=True)
    dead = folder / f".part-{dead_pid}-abc123"
    legacy = folder / ".part-xyz"  # the old name, without a process id
    live = folder / f".part-{os.getpid()}-def456"
    body = folder / "data.xml"
    for path in (dead, legacy, live, body):
        path.write_bytes(b"")
    Fetcher(Settings(home=tmp_path / "kb"), allowed_hosts=[])
    assert not dead.exists() and not legacy.exists()
    assert live.exists() and body.exists()
    assert sweep_partials(tmp_path / "nowhere") == []


def test_redirect_to_another_scheme_names_it(tmp_path, server):
    server.route(PATH, redirect("file:///etc/passwd"))
    result = make_fetcher(tmp_path, server).get(server.url(PATH))
    assert result.status == "failed"
    assert "redirect to file:///etc/passwd, which is not an http(s) URL (file scheme)" in (
        result.reason
    )
    direct = make_fetcher(tmp_path, server).get("file:///etc/passwd")
    assert direct.reason == "refused: file:///etc/passwd is not an http(s) URL (file scheme)"


def test_mirror_refuses_symlinks_out_of_the_mirror(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.xml").write_bytes(GOOD)  # good CLML: only where it lies can refuse it
    mirror = tmp_path / "mirror"
    act = mirror / "www.legislation.gov.uk/ukpga/2031/7"
    act.mkdir(parents=True)
    (act / "data.xml").symlink_to(outside / "data.xml")
    (mirror / "www.legislation.gov.uk/ukpga/2031/8").symlink_to(outside)  # a symlinked folder
    (act / "inside.xml").write_bytes(GOOD)
    (act / "alias.xml").symlink_to(act / "inside.xml")  # a symlink within the mirror is fine
    fetcher = Fetcher(
        Settings(home=tmp_path / "kb"), mirror=mirror, allowed_hosts=["www.legislation.gov.uk"]
    )
    base = "https://www.legislation.gov.uk/ukpga/2031"
    for url in (f"{base}/7/data.xml", f"{base}/8/data.xml"):
        result = fetcher.get(url, validate=check)
        assert result.status == "failed", url
        assert "resolves outside the mirror" in result.reason
    alias = fetcher.get(f"{base}/7/alias.xml", validate=check)
    assert alias.status == "mirror" and alias.body_path.read_bytes() == GOOD


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1, and that certificate to trust."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


@pytest.mark.slow
def test_deadline_and_gzip_over_https(tmp_path):
    """The same over TLS: the deadline ends a dribbled body, and a gzip answer is fetched."""
    context, cert = self_signed(tmp_path)
    tls = LocalServer(tls=context)
    try:
        tls.route(PATH, gzipped(GOOD))
        tls.route("/slow.xml", dribble_body)
        fetcher = make_fetcher(tmp_path, tls, deadline=1.0)
        fetcher.session.verify = str(cert)
        fetcher.session.trust_env = False  # else $REQUESTS_CA_BUNDLE, if set, overrides verify
        good = fetch_in_thread(fetcher, tls.url(PATH), validate=check)
        assert good.status == "fetched", good.reason
        assert good.body_path.read_bytes() == GOOD
        slow = fetch_in_thread(fetcher, tls.url("/slow.xml"))
        assert slow.status == "failed" and DEADLINE in slow.reason
        assert not list((tmp_path / "kb/cache/raw").rglob(".part-*"))
    finally:
        tls.close()
