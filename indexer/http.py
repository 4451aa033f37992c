"""A polite fetcher: robots.txt, a per-host rate limit, retries, conditional GET, a raw cache.

The cache under `<cache_dir>/raw/<host>/<path>` (plus a `.json` sidecar) is only replaced after a
complete body that passed the caller's `validate`, so a failed fetch never loses the last good copy.
`Fetcher(mirror=DIR)` reads `DIR/<host>/<path>` instead of the network (air-gapped use, tests).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import requests
from protego import Protego

from kb.config import USER_AGENT, Settings

RETRY_STATUSES = {429, 500, 502, 503, 504}
REDIRECTS = {301, 302, 303, 307, 308}
MAX_ROBOTS_BYTES = 512 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


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
    status: str  # 'fetched' | 'not_modified' | 'failed' | 'mirror'
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
        settings: Settings | None = None,
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
    ):
        settings = settings or Settings.from_env()
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
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self._robots: dict[str, Protego | str] = {}  # host -> parsed rules, or why we may not
        self._last: dict[str, float] = {}
        self.results: list[FetchResult] = []

    def allow(self, *urls_or_hosts: str) -> None:
        for item in urls_or_hosts:
            self.allowed.add(host_of(item) if "//" in item else item.lower())

    def get(self, url: str, validate: Callable[[bytes], None] | None = None) -> FetchResult:
        """Fetch one URL; never raises for network or content problems (see `status`)."""
        try:
            if host_of(url) not in self.allowed:
                raise _Failure(f"refused: host {host_of(url)} is not on the allowlist")
            result = self._from_mirror(url, validate) if self.mirror else self._fetch(url, validate)
        except _Failure as exc:
            result = FetchResult(url=url, status="failed", reason=exc.reason, http_status=exc.code)
        self.results.append(result)
        return result

    # --- mirror ---------------------------------------------------------------------------

    def _from_mirror(self, url: str, validate) -> FetchResult:
        path = self.mirror.joinpath(_host_dir(url), *_relative_path(url))
        if path.is_dir():  # a path that is also a folder keeps its own body inside it
            path = next((path / n for n in MIRROR_INDEX_NAMES if (path / n).is_file()), path)
        if not path.is_file():
            raise _Failure(f"not in the mirror: {path}")
        if path.stat().st_size > self.max_bytes:
            raise _Failure(f"body larger than the {self.max_bytes}-byte limit")
        data = path.read_bytes()
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
            response = self._request(current, headers)
            code = response.status_code
            if code in REDIRECTS and response.headers.get("Location"):
                response.close()
                target = urljoin(current, response.headers["Location"])
                if host_of(target) not in self.allowed:
                    raise _Failure(
                        f"refused: redirect to {host_of(target)}, which is not on the allowlist",
                        code=code,
                    )
                current = target
                continue
            with response:
                if code == 304 and meta is not None:
                    meta["fetched_at"] = _now()
                    _write_json(body_path.with_name(body_path.name + ".json"), meta)
                    return FetchResult(
                        url=url,
                        status="not_modified",
                        body_path=body_path,
                        sha256=meta["sha256"],
                        http_status=304,
                        content_type=meta.get("content_type"),
                        fetched_at=meta["fetched_at"],
                    )
                if code != 200:
                    reason = f"{code} {response.reason or ''}".strip()
                    if code in RETRY_STATUSES:
                        wait = _retry_after(
                            response.headers.get("Retry-After"), self.max_retry_after
                        )
                        raise _Failure(reason, retry=True, wait=wait, code=code)
                    raise _Failure(reason, code=code)
                return self._store(url, response, body_path, validate)
        raise _Failure(f"too many redirects (more than {self.max_redirects})")

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
            response = self._request(robots_url, {}, stream=False)
        except _Failure as exc:
            return f"robots.txt unreachable ({exc.reason}); not crawling {parsed.netloc}"
        if response.status_code >= 500:
            # RFC 9309: an unreachable robots.txt means the whole site is off limits for now.
            return f"robots.txt unavailable ({response.status_code}); not crawling {parsed.netloc}"
        if response.status_code != 200:
            return Protego.parse("")
        return Protego.parse(response.content[:MAX_ROBOTS_BYTES].decode("utf-8", "replace"))

    def _store(self, url: str, response: requests.Response, body_path: Path, validate):
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise _Failure(f"body larger than the {self.max_bytes}-byte limit ({declared} bytes)")
        body_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=body_path.parent, prefix=".part-")
        digest, size = hashlib.sha256(), 0
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
            if declared and declared.isdigit() and size != int(declared):
                raise _Failure(f"incomplete body ({size} of {declared} bytes)", retry=True)
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
        return FetchResult(
            url=url,
            status="fetched",
            body_path=body_path,
            sha256=meta["sha256"],
            http_status=200,
            content_type=meta["content_type"],
            fetched_at=meta["fetched_at"],
            bytes_received=size,
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".json")
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
