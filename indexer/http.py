"""A polite fetcher: robots.txt, a per-host rate limit, retries, conditional GET, a raw cache.

The cache under `<cache_dir>/raw/<host>/<path>` (plus a `.json` sidecar) is only replaced after a
complete body that passed the caller's `validate`, so a failed fetch never loses the last good copy.
`Fetcher(mirror=DIR)` reads `DIR/<host>/<path>` instead of the network (air-gapped use, tests);
a mirror path that resolves outside DIR (a symlink to /etc/passwd) is refused.

`kb update` narrows what is asked: with a `fresh` policy set, a URL it does not name as fresh is
served from its cached copy with no request at all (status 'cached'); fresh URLs, and URLs with
no cached copy, are fetched as usual (conditional GET). `max_requests` caps the HTTP requests
one Fetcher makes (robots.txt included); past it every fetch fails and `budget_spent` is set.

Limits (defaults): a total deadline per request of `Settings.crawl_deadline` (300 s,
`KB_CRAWL_DEADLINE`, `kb crawl --deadline`), from connecting to the last body byte, on top of the
connect and per-read timeouts (10 s, 60 s); `max_bytes` (100 MiB) of decoded body. Content-Length
is checked against the bytes as sent (compressed, under `Content-Encoding: gzip`). A body is
written to `.part-<pid>-*` beside its cache entry and removed on every exit path; one left by a
process that was killed outright (SIGKILL) is removed by the next Fetcher on that cache.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

import requests
import urllib3
import urllib3.connection
from protego import Protego
from requests.adapters import HTTPAdapter

from kb.core.config import USER_AGENT, Settings

RETRY_STATUSES = {429, 500, 502, 503, 504}
REDIRECTS = {301, 302, 303, 307, 308}
MAX_ROBOTS_BYTES = 512 * 1024
SCHEMES = ("http", "https")
PART_PREFIX = ".part-"  # temporary files beside cache entries: `.part-<pid>-<random>`
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_PART_PID = re.compile(r"^\.part-(\d+)-")


class SourceFailed(Exception):
    """A source could not be fetched or used; `str()` is the reason shown in the crawl report."""

    def __init__(self, reason: str, url: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.url = url


class _Failure(Exception):
    def __init__(self, reason: str, retry: bool = False, wait: float | None = None, code=None):
        super().__init__(reason)
        self.reason, self.retry, self.wait, self.code = reason, retry, wait, code


@dataclass
class FetchResult:
    url: str
    status: str  # 'fetched' | 'not_modified' | 'failed' | 'mirror' | 'cached' (no request made)
    body_path: Path | None = None
    sha256: str | None = None
    reason: str = ""
    http_status: int | None = None
    content_type: str | None = None
    fetched_at: str | None = None
    bytes_received: int = 0  # body bytes transferred by this call (0 on a 304)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @classmethod
    def from_meta(cls, url: str, status: str, body_path: Path, meta: dict[str, Any], **more):
        """A result for a body held in the raw cache, from its sidecar's metadata."""
        return cls(
            url=url,
            status=status,
            body_path=body_path,
            sha256=meta["sha256"],
            content_type=meta.get("content_type"),
            fetched_at=meta.get("fetched_at"),
            **more,
        )


@dataclass
class Fetched:
    """A source's bytes, with where and when they were got (None: not known, given directly)."""

    data: bytes
    url: str | None = None
    retrieved_at: str | None = None
    sha256: str | None = None
    content_type: str | None = None

    def retrieved(self) -> str:
        return self.retrieved_at or _now()

    def digest(self) -> str:
        return self.sha256 or hashlib.sha256(self.data).hexdigest()


def host_of(url: str) -> str:
    return urlparse(url).netloc.lower()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# GOV.UK serves /a/b and /a/b/c: in a host/path folder the body of /a/b is /a/b/index.json.
MIRROR_INDEX_NAMES = ("index", "index.json", "index.html", "index.xml")


def _relative_path(url: str) -> list[str]:
    """URL path -> safe path segments under a host folder (no '..', no odd characters)."""
    parsed = urlparse(url)
    segments = [unquote(s) for s in parsed.path.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise _Failure(f"refused: unsafe path in {url}")
    segments = [_SAFE.sub("_", s) for s in segments] or ["index"]
    if parsed.query:
        digest = hashlib.sha256(parsed.query.encode()).hexdigest()[:12]
        segments[-1] += f"__q{digest}"
    return segments


def _host_dir(url: str) -> str:
    parsed = urlparse(url)
    name = (parsed.hostname or "").lower()
    return f"{name}_{parsed.port}" if parsed.port else name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process (EPERM): alive
        return True
    return True


def sweep_partials(root: Path) -> list[Path]:
    """Remove the `.part-<pid>-*` files under `root` whose writing process no longer exists
    (a crawl killed outright); those of a live process, as a concurrent crawl's, are left."""
    removed = []
    if not root.is_dir():
        return removed
    for path in root.rglob(PART_PREFIX + "*"):
        match = _PART_PID.match(path.name)
        if match and _pid_alive(int(match.group(1))):
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def _mkpart(folder: Path, suffix: str = "") -> tuple[int, str]:
    return tempfile.mkstemp(dir=folder, prefix=f"{PART_PREFIX}{os.getpid()}-", suffix=suffix)


# --- the total deadline per request ---------------------------------------------------------

_ACTIVE = threading.local()  # the watchdog of the request this thread is making, if any


class _Watchdog:
    """Ends one request at its deadline, whatever it is doing: connecting, waiting for the
    answer, reading headers or a body dribbled a byte at a time (which no per-read timeout ends).
    It shuts down the sockets of the connections the request uses, so the blocked read returns
    at once; `expired` says that is why it failed."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._stopped = False
        self._connections: list = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-fetch-deadline", daemon=True)
        self._thread.start()

    def watch(self, connection) -> None:
        with self._lock:
            self._connections.append(connection)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._done.set()

    def _run(self) -> None:
        if self._done.wait(self.seconds):
            return
        with self._lock:
            if self._stopped:
                return
            self.expired = True
        while True:  # again until stopped: a connection may get its socket after the deadline
            with self._lock:
                sockets = [getattr(c, "kb_socket", None) for c in self._connections]
            for sock in sockets:
                if sock is not None:
                    try:  # socket.socket's own shutdown, also for an SSLSocket
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass
            if self._done.wait(0.05):
                return


class _KeepsSocket:
    """Keeps its socket as `kb_socket`: http.client lets go of `sock` once the headers of a
    `Connection: close` answer are read, while the body is still being read from it."""

    def connect(self):
        super().connect()
        self.kb_socket = self.sock


class _Watched:
    """Hands each connection it gives out to the watchdog of the request taking it."""

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        watchdog = getattr(_ACTIVE, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(connection)
        return connection


class _WatchedConnection(_KeepsSocket, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_KeepsSocket, urllib3.connection.HTTPSConnection):
    pass


class _WatchedPool(_Watched, urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(_Watched, urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with pools that hand each connection to the request's watchdog."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy, **kwargs):
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has its own pool classes
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


def _retry_after(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, min((when - dt.datetime.now(dt.UTC)).total_seconds(), cap))


class Fetcher:
    def __init__(
        self,
        settings: Settings,
        *,
        cache_dir: Path | None = None,
        mirror: Path | None = None,
        allowed_hosts: Iterable[str] | None = None,
        delay: float | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_bytes: int = 100 * 1024 * 1024,
        retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 60.0,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
        deadline: float | None = None,
        fresh: Callable[[str], bool] | None = None,
        max_requests: int | None = None,
    ):
        self.cache_dir = Path(cache_dir or settings.cache_dir) / "raw"
        self.mirror = Path(mirror) if mirror else None
        if allowed_hosts is None:
            bases = (settings.legislation_url, settings.govuk_url, settings.archive_url)
            allowed_hosts = [host_of(u) for u in bases]
        self.allowed = {h.lower() for h in allowed_hosts}
        self.delay = settings.crawl_delay if delay is None else delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.deadline = settings.crawl_deadline if deadline is None else deadline
        if not self.deadline > 0:
            raise ValueError(f"the crawl deadline must be above 0 seconds, not {self.deadline}")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _WatchedAdapter())
        if not self.mirror:
            sweep_partials(self.cache_dir)  # left by a crawl that was killed outright
        self._robots: dict[str, Protego | str] = {}  # host -> parsed rules, or why we may not
        self._last: dict[str, float] = {}
        self.results: list[FetchResult] = []
        # None: every URL is fetched; else URLs for which it is False come from the cache
        self.fresh = fresh
        self.max_requests = max_requests
        self.requests_made = 0
        self.budget_spent = False

    def allow(self, *urls_or_hosts: str) -> None:
        for item in urls_or_hosts:
            self.allowed.add(host_of(item) if "//" in item else item.lower())

    def get(self, url: str, validate: Callable[[bytes], None] | None = None) -> FetchResult:
        """Fetch one URL; never raises for network or content problems (see `status`)."""
        try:
            scheme = urlparse(url).scheme.lower()
            if scheme not in SCHEMES:
                raise _Failure(f"refused: {url} is not an http(s) URL ({scheme or 'no'} scheme)")
            if host_of(url) not in self.allowed:
                raise _Failure(f"refused: host {host_of(url)} is not on the allowlist")
            if self.mirror:
                result = self._from_mirror(url, validate)
            else:
                result = self._trusted(url, validate) or self._fetch(url, validate)
        except _Failure as exc:
            result = FetchResult(url=url, status="failed", reason=exc.reason, http_status=exc.code)
        self.results.append(result)
        return result

    def cached(self, url: str, validate: Callable[[bytes], None] | None = None):
        """The cached copy of url as a 'cached' result (no request), or None if there is no
        intact copy (or it no longer passes `validate`)."""
        body_path, meta = self._cached(url)
        if meta is None:
            return None
        try:
            self._validate(body_path.read_bytes(), validate)
        except (_Failure, OSError):
            return None
        return FetchResult.from_meta(url, "cached", body_path, meta)

    def _trusted(self, url: str, validate) -> FetchResult | None:
        if self.fresh is None or self.fresh(url):
            return None
        return self.cached(url, validate)

    # --- mirror ---------------------------------------------------------------------------

    def _from_mirror(self, url: str, validate) -> FetchResult:
        root = self.mirror.resolve()
        path = self.mirror.joinpath(_host_dir(url), *_relative_path(url))
        if path.is_dir():  # a path that is also a folder keeps its own body inside it
            path = next((path / n for n in MIRROR_INDEX_NAMES if (path / n).is_file()), path)
        real = path.resolve()
        if not real.is_relative_to(root):  # a symlink (or a symlinked folder) out of the mirror
            raise _Failure(f"refused: {path} resolves outside the mirror ({root})")
        if not real.is_file():
            raise _Failure(f"not in the mirror: {path}")
        if real.stat().st_size > self.max_bytes:
            raise _Failure(f"body larger than the {self.max_bytes}-byte limit")
        data = real.read_bytes()
        self._validate(data, validate)
        return FetchResult(
            url=url,
            status="mirror",
            body_path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            fetched_at=_now(),
        )

    # --- network --------------------------------------------------------------------------

    def cache_path(self, url: str) -> Path:
        segments = _relative_path(url)
        if "." not in segments[-1]:  # 'foo' could also be a folder: keep bodies distinct
            segments[-1] += ".body"
        return self.cache_dir.joinpath(_host_dir(url), *segments)

    def _cached(self, url: str) -> tuple[Path, dict | None]:
        body = self.cache_path(url)
        meta_path = body.with_name(body.name + ".json")
        if not (body.is_file() and meta_path.is_file()):
            return body, None
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
        except (OSError, ValueError):
            return body, None
        if meta.get("sha256") != hashlib.sha256(body.read_bytes()).hexdigest():
            return body, None  # damaged copy: fetch it again in full
        return body, meta

    def _fetch(self, url: str, validate) -> FetchResult:
        body_path, meta = self._cached(url)
        headers = {}
        if meta and meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta and meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
        attempt = 0
        while True:
            try:
                return self._attempt(url, headers, body_path, meta, validate)
            except _Failure as exc:
                if not exc.retry or attempt >= self.retries:
                    if attempt:
                        exc.reason += f" (after {attempt + 1} attempts)"
                    raise
                wait = exc.wait if exc.wait is not None else self.backoff * (2**attempt)
                attempt += 1
                time.sleep(wait)

    def _attempt(self, url, headers, body_path: Path, meta, validate) -> FetchResult:
        current = url
        for _ in range(self.max_redirects + 1):
            self._check_robots(current)
            with self._deadline() as watchdog:
                response = self._request(current, headers)
                code = response.status_code
                if code in REDIRECTS and response.headers.get("Location"):
                    response.close()
                    target = urljoin(current, response.headers["Location"])
                    scheme = urlparse(target).scheme.lower()
                    if scheme not in SCHEMES:
                        raise _Failure(
                            f"refused: redirect to {target}, which is not an http(s) URL "
                            f"({scheme or 'no'} scheme)",
                            code=code,
                        )
                    if host_of(target) not in self.allowed:
                        raise _Failure(
                            f"refused: redirect to {host_of(target) or target}, "
                            "which is not on the allowlist",
                            code=code,
                        )
                    current = target
                    continue
                return self._answer(url, response, body_path, meta, validate, watchdog)
        raise _Failure(f"too many redirects (more than {self.max_redirects})")

    @contextmanager
    def _deadline(self):
        """One request, from connecting to its last body byte, within `self.deadline` seconds.
        Not retried when it runs out: a server that slow would be as slow again."""
        watchdog = _Watchdog(self.deadline)
        _ACTIVE.watchdog = watchdog
        try:
            yield watchdog
        except Exception as exc:
            if watchdog.expired:
                raise _Failure(
                    f"gave up at the {self.deadline:g}-second total deadline per request "
                    "(KB_CRAWL_DEADLINE, kb crawl --deadline)"
                ) from exc
            raise
        finally:
            _ACTIVE.watchdog = None
            watchdog.stop()

    def _answer(self, url, response, body_path: Path, meta, validate, watchdog) -> FetchResult:
        code = response.status_code
        with response:
            if code == 304 and meta is not None:
                meta["fetched_at"] = _now()
                _write_json(body_path.with_name(body_path.name + ".json"), meta)
                return FetchResult.from_meta(url, "not_modified", body_path, meta, http_status=304)
            if code != 200:
                reason = f"{code} {response.reason or ''}".strip()
                if code in RETRY_STATUSES:
                    wait = _retry_after(response.headers.get("Retry-After"), self.max_retry_after)
                    raise _Failure(reason, retry=True, wait=wait, code=code)
                raise _Failure(reason, code=code)
            return self._store(url, response, body_path, validate, watchdog)

    def _wait_turn(self, host: str) -> None:
        rules = self._robots.get(host)
        delay = self.delay
        if isinstance(rules, Protego):
            delay = max(delay, float(rules.crawl_delay(self.user_agent) or 0))
        last = self._last.get(host)
        if last is not None and delay > 0:
            pause = last + delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self._last[host] = time.monotonic()

    def _request(self, url: str, headers: dict, stream: bool = True) -> requests.Response:
        if self.max_requests is not None and self.requests_made >= self.max_requests:
            self.budget_spent = True
            raise _Failure(f"request budget spent ({self.max_requests} requests this run)")
        self.requests_made += 1
        self._wait_turn(host_of(url))
        try:
            return self.session.get(
                url, headers=headers, timeout=self.timeout, stream=stream, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise _Failure(f"timed out ({exc.__class__.__name__})", retry=True) from exc
        except requests.RequestException as exc:
            raise _Failure(f"connection failed: {exc.__class__.__name__}", retry=True) from exc

    def _check_robots(self, url: str) -> None:
        host = host_of(url)
        if host not in self._robots:
            self._robots[host] = self._load_robots(url)
        rules = self._robots[host]
        if isinstance(rules, str):
            raise _Failure(rules)
        if not rules.can_fetch(url, self.user_agent):
            raise _Failure(f"disallowed by robots.txt on {host}")

    def _load_robots(self, url: str) -> Protego | str:
        parsed = urlparse(url)
        robots_url = f"{parsed.scheme}://{parsed.netloc}/robots.txt"
        try:
            with self._deadline():
                response = self._request(robots_url, {}, stream=False)
        except _Failure as exc:
            return f"robots.txt unreachable ({exc.reason}); not crawling {parsed.netloc}"
        if response.status_code >= 500:
            # RFC 9309: an unreachable robots.txt means the whole site is off limits for now.
            return f"robots.txt unavailable ({response.status_code}); not crawling {parsed.netloc}"
        if response.status_code != 200:
            return Protego.parse("")
        return Protego.parse(response.content[:MAX_ROBOTS_BYTES].decode("utf-8", "replace"))

    def _store(self, url: str, response: requests.Response, body_path: Path, validate, watchdog):
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise _Failure(f"body larger than the {self.max_bytes}-byte limit ({declared} bytes)")
        body_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _mkpart(body_path.parent)
        digest, size = hashlib.sha256(), 0  # size: decoded bytes, as written
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    for chunk in response.iter_content(64 * 1024):
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise _Failure(f"body larger than the {self.max_bytes}-byte limit")
                        digest.update(chunk)
                        fh.write(chunk)
                except requests.RequestException as exc:
                    raise _Failure(
                        f"incomplete body ({exc.__class__.__name__} after {size} bytes)", retry=True
                    ) from exc
                watchdog.stop()  # the deadline is the network's; validating is ours
                if watchdog.expired:  # a body framed by closing the connection ends "cleanly"
                    raise _Failure("deadline")  # (reworded by _deadline)
            # Content-Length counts the bytes as sent: compressed under Content-Encoding: gzip.
            sent = response.raw.tell()
            framed = declared and declared.isdigit() and not response.raw.chunked
            if framed and sent != int(declared):
                raise _Failure(f"incomplete body ({sent} of {declared} bytes)", retry=True)
            self._validate(Path(tmp).read_bytes(), validate)
            os.replace(tmp, body_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        meta = {
            "url": url,
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
            "sha256": digest.hexdigest(),
            "fetched_at": _now(),
            "content_type": response.headers.get("Content-Type"),
        }
        _write_json(body_path.with_name(body_path.name + ".json"), meta)
        return FetchResult.from_meta(
            url, "fetched", body_path, meta, http_status=200, bytes_received=sent
        )

    @staticmethod
    def _validate(data: bytes, validate) -> None:
        if validate is None:
            return
        try:
            validate(data)
        except Exception as exc:  # a validator's reason is the report's reason
            raise _Failure(f"unusable body: {exc}") from exc


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = _mkpart(path.parent, suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def result_dict(result: FetchResult) -> dict:
    data = asdict(result)
    data["body_path"] = str(result.body_path) if result.body_path else None
    return data


def fetch_body(
    fetcher: Fetcher, url: str | None, validate: Callable[[bytes], None] | None = None
) -> Fetched:
    """url's body through the fetcher (any object with Fetcher.get); SourceFailed if not got."""
    if not url:
        raise SourceFailed("the manifest entry gives no URL to fetch")
    result = fetcher.get(url, validate=validate)
    if not result.ok:
        raise SourceFailed(result.reason, url=url)
    return Fetched(
        Path(result.body_path).read_bytes(),
        url,
        result.fetched_at,
        result.sha256,
        result.content_type,
    )
