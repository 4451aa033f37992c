"""What one request may cost the server, so that expensive requests cannot starve the rest.

- **URI length.** A path longer than MAX_PATH_BYTES or a query string longer than
  MAX_QUERY_BYTES is refused with 414 before any lookup runs (no id is that long: the longest
  real passage ids are about 80 characters; a search's `q` is at most 500 characters).
- **Search slots.** Searches (the API, the search page and /embed) run in a bounded number of
  slots per process; a search that finds them all busy waits in a bounded queue for at most
  `wait_s`, and one that finds the queue full, or waits too long, is refused at once with 503 and
  `Retry-After`. Slots plus queue are kept below Waitress's thread count, so some threads are
  always left for /healthz, /metrics and the reading pages however many expensive searches
  arrive.
- **Redirects** (Werkzeug's slash merging, `/api/v1/documents//x`) are given a relative
  `Location`, never one built from the request's Host header.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app, redirect, request
from werkzeug.exceptions import RequestURITooLarge, ServiceUnavailable
from werkzeug.routing import RequestRedirect

MAX_PATH_BYTES = 2048  # a longer path is a 414 (real ids are under 100 characters)
MAX_QUERY_BYTES = 8192  # a longer query string is a 414 (a 500-character q encodes to <= 6 KB)
DEFAULT_THREADS = 8  # `kb serve --threads`
SEARCH_WAIT_S = 5.0  # longest a search waits for a slot before a 503 (`kb serve --search-wait`)
RETRY_AFTER_S = 2  # the Retry-After a refused search is given, in seconds
HEALTH_THREADS = 1  # threads the default slots and queue leave for everything but searches


def default_slots(threads: int) -> int:
    """Searches running at once by default: half the threads (4 of 8)."""
    return max(1, threads // 2)


def default_queue(threads: int) -> int:
    """Searches waiting for a slot by default: the threads left once the slots and one thread
    for health, metrics and pages are set aside (3 of 8)."""
    return max(0, threads - default_slots(threads) - HEALTH_THREADS)


class UriTooLong(RequestURITooLarge):
    error_code = "uri_too_long"


class SearchBusy(ServiceUnavailable):
    error_code = "busy"


@dataclass
class SearchGate:
    """At most `slots` searches at once, at most `queue` more waiting, none waiting past `wait_s`.

    Thread-safe; one per app. `running`, `waiting` and the refusal counts are what /metrics shows:
    each listener given to `watch` is called with `snapshot()` (and the reason, when a search is
    refused) on every change, under the gate's lock so that changes reach it in order.
    """

    slots: int = default_slots(DEFAULT_THREADS)
    queue: int = default_queue(DEFAULT_THREADS)
    wait_s: float = SEARCH_WAIT_S
    retry_after_s: int = RETRY_AFTER_S
    running: int = 0
    waiting: int = 0
    refused: dict[str, int] = field(default_factory=lambda: {"queue_full": 0, "timeout": 0})
    listeners: list[Callable[[dict[str, int], str | None], None]] = field(
        default_factory=list, repr=False, compare=False
    )

    def __post_init__(self):
        if self.slots < 1 or self.queue < 0 or self.wait_s < 0:
            raise ValueError("search slots must be at least 1, queue and wait at least 0")
        self._free = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()

    def watch(self, listener: Callable[[dict[str, int], str | None], None]) -> None:
        with self._lock:
            self.listeners.append(listener)
            listener(self._snapshot(), None)

    def _changed(self, refused: str | None = None) -> None:
        """Tell the listeners (the caller holds the lock)."""
        if self.listeners:
            snapshot = self._snapshot()
            for listener in self.listeners:
                listener(snapshot, refused)

    def _refuse(self, reason: str, message: str) -> SearchBusy:
        with self._lock:
            self.refused[reason] += 1
            self._changed(reason)
        return SearchBusy(description=message, retry_after=self.retry_after_s)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a search slot for the block, or raise SearchBusy (a 503 with Retry-After)."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                full = self.waiting >= self.queue
                if not full:
                    self.waiting += 1
                    self._changed()
            if full:
                raise self._refuse(
                    "queue_full",
                    "The server is busy with other searches. Try again in a moment.",
                )
            try:
                got = self._free.acquire(timeout=self.wait_s)
            finally:
                with self._lock:
                    self.waiting -= 1
                    self._changed()
            if not got:
                raise self._refuse(
                    "timeout",
                    f"The server is busy: your search waited {self.wait_s:g} s for its turn. "
                    "Try again in a moment.",
                )
        with self._lock:
            self.running += 1
            self._changed()
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
                self._changed()
            self._free.release()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, int]:
        return {
            "slots": self.slots,
            "queue": self.queue,
            "running": self.running,
            "waiting": self.waiting,
            **{f"refused_{k}": v for k, v in self.refused.items()},
        }


def gate() -> SearchGate:
    return current_app.extensions["kb_search_gate"]


def relative_location(url: str) -> str:
    """A redirect target as a path (and query), whatever host and scheme `url` names."""
    parts = urlsplit(url)
    path = "/" + parts.path.lstrip("/")  # never '//host', which a browser reads as a host
    return urlunsplit(("", "", path, parts.query, ""))


def install(app: Flask, search_gate: SearchGate | None = None) -> None:
    """Register the URI limits, relative redirects and the search gate on the app."""
    app.extensions["kb_search_gate"] = search_gate or SearchGate()

    @app.before_request
    def refuse_long_uris():
        environ = request.environ
        path_bytes = len(environ.get("PATH_INFO", ""))  # WSGI: one character per byte
        if path_bytes > MAX_PATH_BYTES:
            raise UriTooLong(
                f"The path is {path_bytes:,} bytes long; the limit is {MAX_PATH_BYTES:,}."
            )
        query_bytes = len(environ.get("QUERY_STRING", ""))
        if query_bytes > MAX_QUERY_BYTES:
            raise UriTooLong(
                f"The query string is {query_bytes:,} bytes long; the limit is {MAX_QUERY_BYTES:,}."
            )
        routed = request.routing_exception
        if isinstance(routed, RequestRedirect):
            # Werkzeug builds an absolute URL from the Host header; send only the path.
            return redirect(relative_location(routed.new_url), routed.code)
        return None
