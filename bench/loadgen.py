"""A bounded threaded load generator for a `kb serve` on loopback.

Each client is a thread with one keep-alive connection, cycling through a list of requests until
the deadline (or its request budget) is reached, or, with no deadline, until the caller's `during`
step returns. Any status other than the one expected, any exception and any dropped connection is
an error. It never targets anything but 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.serve import Client

MAX_ERRORS_KEPT = 20


@dataclass(frozen=True)
class Probe:
    path: str
    expect: int = 200


@dataclass
class LoadResult:
    clients: int
    seconds: float = 0.0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)  # index versions /healthz reported
    # Held while the clients update the counts; `during` may read them live under it.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "errors": self.error_count,
            "requests_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "statuses": dict(self.statuses),
            "versions": sorted(self.versions),
        }


def run_load(
    port: int,
    probes: list[Probe],
    clients: int,
    seconds: float | None,
    max_requests_per_client: int = 100_000,
    during: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """Runs the load for `seconds`, or with `seconds=None` with no time limit: then each client
    stops at its request budget, or when `during` returns.

    `during`, if given, runs in this thread while the clients are busy and gets the live result
    (its counts grow as requests are answered; read them under `result.lock`), so it can wait for
    events in the traffic, such as N answers or a new index version, instead of for a time.
    """
    result = LoadResult(clients)
    lock = result.lock
    deadline = None if seconds is None else time.monotonic() + seconds
    stop = threading.Event()

    def worker(offset: int) -> None:
        client = Client(port, timeout=30)
        n = 0
        try:
            while (
                not stop.is_set()
                and (deadline is None or time.monotonic() < deadline)
                and n < max_requests_per_client
            ):
                probe = probes[(offset + n) % len(probes)]
                n += 1
                started = time.perf_counter()
                try:
                    status, body = client.get(probe.path)
                    problem = None if status == probe.expect else f"{probe.path}: {status}"
                except Exception as exc:  # every failure counts, whatever its kind
                    status, body, problem = 0, b"", f"{probe.path}: {exc!r}"
                elapsed = (time.perf_counter() - started) * 1000
                version = _version(probe.path, status, body)
                with lock:
                    result.requests += 1
                    result.statuses[status] += 1
                    result.latencies_ms.append(elapsed)
                    if version:
                        result.versions.add(version)
                    if problem:
                        result.error_count += 1
                        if len(result.errors) < MAX_ERRORS_KEPT:
                            result.errors.append(problem)
        finally:
            with lock:
                if client.reconnects:
                    result.error_count += client.reconnects
                    result.errors.append(f"{client.reconnects} dropped connection(s)")
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        if during is not None:
            during(result)
            if seconds is None:
                stop.set()  # no deadline: the load lasts as long as `during`
    except BaseException:
        stop.set()  # `during` failed: stop the clients before passing the failure on
        raise
    finally:
        # With no deadline a client ends at its budget or after the request it is making once
        # stopped; each request is bounded by the client's timeout, so this wait is bounded too.
        for thread in threads:
            thread.join(timeout=None if seconds is None else seconds + 60)
    result.seconds = time.monotonic() - started
    if any(thread.is_alive() for thread in threads):
        result.error_count += 1
        result.errors.append("a client was still running after the deadline")
    return result


def _version(path: str, status: int, body: bytes) -> str | None:
    if path != "/healthz" or status != 200:
        return None
    return json.loads(body).get("index_version")


def default_probes(document_id: str | None = None) -> list[Probe]:
    """A mix like real traffic: searches with facets and filters, pages, health, one bad query."""
    probes = [
        Probe("/api/v1/search?q=contract"),
        Probe("/api/v1/search?q=%22duty+to+consult%22"),
        Probe("/api/v1/search?q=staff+transfer&doc_type=guidance"),
        Probe("/api/v1/search?q=procure%2A+OR+tender&status=current"),
        Probe("/api/v1/search?q=best+value+review&limit=20"),
        Probe("/?q=consult+contract"),
        Probe("/healthz"),
        Probe("/api/v1/search?q=%22unclosed", expect=400),
        Probe("/api/v1/documents"),
    ]
    if document_id:
        probes.append(Probe(f"/api/v1/documents/{document_id}"))
    return probes
