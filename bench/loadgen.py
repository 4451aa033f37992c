"""A bounded threaded load generator for a `kb serve` on loopback.

Each client is a thread with one keep-alive connection, cycling through a list of requests until
the deadline (or its request budget) is reached, or, with no deadline, until the caller's `during`
step returns. Any status other than the one expected, any exception and any dropped connection is
an error; a probe marked `busy_ok` may also be refused with 503 and `Retry-After` (the server's
search gate turning away searches it has no slot for), which is counted, not an error. Health
checks are timed on their own, so a run shows how /healthz fared while searches queued. It never
targets anything but 127.0.0.1.
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
HEALTH_TARGET_MS = 1000.0  # what the summary counts health checks against ("within a second")


@dataclass(frozen=True)
class Probe:
    path: str
    expect: int = 200
    busy_ok: bool = False  # a 503 with Retry-After (search gate full) is an answer, not an error


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
    refused: int = 0  # 503 + Retry-After answers to busy_ok probes
    busy_ok_answered: int = 0  # 200 answers to busy_ok probes (the searches that ran)
    # (monotonic time answered, status, ms) of every /healthz, and the times of each refusal
    health: list[tuple[float, int, float]] = field(default_factory=list)
    refused_at: list[float] = field(default_factory=list)
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

    def health_during_refusals(self) -> list[tuple[float, int, float]]:
        """Health checks answered between the first and the last refused search."""
        if not self.refused_at:
            return []
        first, last = min(self.refused_at), max(self.refused_at)
        return [h for h in self.health if first <= h[0] <= last]

    def summary(self) -> dict:
        health_ms = sorted(ms for _, status, ms in self.health if status == 200)
        during = self.health_during_refusals()

        def pick(values: list[float], p: float) -> float:
            return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

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
            "searches_refused_503": self.refused,
            "searches_answered": self.busy_ok_answered,
            "health": {
                "checks": len(self.health),
                "ok": len(health_ms),
                "p50_ms": round(pick(health_ms, 50), 1) if health_ms else None,
                "p95_ms": round(pick(health_ms, 95), 1) if health_ms else None,
                "max_ms": round(health_ms[-1], 1) if health_ms else None,
                f"within_{int(HEALTH_TARGET_MS)}ms": sum(
                    ms <= HEALTH_TARGET_MS for ms in health_ms
                ),
                "ok_while_searches_refused": sum(status == 200 for _, status, _ in during),
                "max_ms_while_searches_refused": round(max(ms for _, _, ms in during), 1)
                if during
                else None,
            },
        }


def run_load(
    port: int,
    probes: list[Probe],
    clients: int,
    seconds: float | None,
    max_requests_per_client: int = 100_000,
    during: Callable[[LoadResult], None] | None = None,
    groups: list[tuple[int, list[Probe]]] | None = None,
) -> LoadResult:
    """Runs the load for `seconds`, or with `seconds=None` with no time limit: then each client
    stops at its request budget, or when `during` returns.

    `groups`, if given, adds clients with their own probe lists after the `clients` that cycle
    through `probes`: `[(16, expensive_probes()), (1, [Probe("/healthz")])]`.

    `during`, if given, runs in this thread while the clients are busy and gets the live result
    (its counts grow as requests are answered; read them under `result.lock`), so it can wait for
    events in the traffic, such as N answers or a new index version, instead of for a time.
    """
    plan = [probes] * clients + [group for n, group in groups or [] for _ in range(n)]
    result = LoadResult(len(plan))
    lock = result.lock
    deadline = None if seconds is None else time.monotonic() + seconds
    stop = threading.Event()

    def worker(offset: int) -> None:
        probes = plan[offset]
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
                retry_after = None
                try:
                    status, body, retry_after = client.get_full(probe.path)
                    problem = None if status == probe.expect else f"{probe.path}: {status}"
                except Exception as exc:  # every failure counts, whatever its kind
                    status, body, problem = 0, b"", f"{probe.path}: {exc!r}"
                refused = probe.busy_ok and status == 503 and bool(retry_after)
                if refused:
                    problem = None
                elapsed = (time.perf_counter() - started) * 1000
                answered = time.monotonic()
                version = _version(probe.path, status, body)
                with lock:
                    result.requests += 1
                    result.statuses[status] += 1
                    result.latencies_ms.append(elapsed)
                    if probe.path == "/healthz":
                        result.health.append((answered, status, elapsed))
                    if refused:
                        result.refused += 1
                        result.refused_at.append(answered)
                    elif probe.busy_ok and status == probe.expect:
                        result.busy_ok_answered += 1
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

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(plan))]
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
    """A mix like real traffic: searches with facets and filters, pages, health, one bad query.

    A search may be turned away with 503 + Retry-After when every slot and queue place is taken
    (kb.web.limits); that is counted in `refused`, not as an error. Nothing else may be.
    """
    probes = [
        Probe("/api/v1/search?q=contract", busy_ok=True),
        Probe("/api/v1/search?q=%22duty+to+consult%22", busy_ok=True),
        Probe("/api/v1/search?q=staff+transfer&doc_type=guidance", busy_ok=True),
        Probe("/api/v1/search?q=procure%2A+OR+tender&status=current", busy_ok=True),
        Probe("/api/v1/search?q=best+value+review&limit=20", busy_ok=True),
        Probe("/?q=consult+contract", busy_ok=True),
        Probe("/healthz"),
        Probe("/api/v1/search?q=%22unclosed", expect=400),
        Probe("/api/v1/documents"),
    ]
    if document_id:
        probes.append(Probe(f"/api/v1/documents/{document_id}"))
    return probes


# Words of bench/corpus.py's vocabulary: common ones match most passages, so each query scores
# nearly the whole corpus; wildcards on common prefixes expand to many indexed words each.
_WILDCARDS = ("con*", "pro*", "ser*", "per*", "sta*", "aut*", "com*", "reg*", "dec*", "tra*")
_WORDS = (
    "authority must may council service section duty provision relevant secretary state "
    "regulations paragraph subsection purpose functions contract consult authorities body "
    "make made before where provide best value involve representatives arrangements economy "
).split()


def expensive_probes(count: int = 12) -> list[Probe]:
    """Searches as costly as the API accepts: 10 wildcards (kb.search.MAX_WILDCARDS) and 30
    common words (kb.core.query's limit is 40 terms), OR-ed, with every facet; each one different, so
    no response cache helps. They may be refused with 503 + Retry-After when the server is busy.
    """
    import urllib.parse

    probes = []
    for i in range(count):
        words = [_WORDS[(i + j) % len(_WORDS)] for j in range(30)]
        q = " OR ".join([*_WILDCARDS, *words])
        path = "/api/v1/search?" + urllib.parse.urlencode({"q": q, "facet_size": 1000})
        probes.append(Probe(path, busy_ok=True))
    return probes
