"""Prometheus metrics at /metrics (prometheus_client) and one JSON log line per request (logger
"kb.access").

Routes are labelled by their URL rule ("/p/<path:passage_id>"), never by the raw path, so a
crawler requesting random URLs cannot grow the label set without bound; a URL no route matches is
"<unmatched>".

One process, the default: each app has its own registry. Several `kb serve` processes (one per
core, as the README advises) share a directory named by PROMETHEUS_MULTIPROC_DIR (read into
Settings.metrics_dir, and by prometheus_client itself when first imported): prometheus_client
then keeps every process's values in files there, and /metrics, whichever process answers it, adds
them up (counters and histograms over every process that has run since the directory was
emptied; the search gauges over the processes running now).
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from werkzeug.wsgi import ClosingIterator

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format write_text writes
UNMATCHED = "<unmatched>"
access_log = logging.getLogger("kb.access")
LOGGED_PATH_CHARS = 2048  # a longer path (refused with 414) is logged cut to this
REQUEST_LABELS = ("route", "method", "status")
REFUSAL_REASONS = ("queue_full", "timeout")  # kb.web.limits.SearchGate.refused
# Labels in the order the README and dashboards show them; prometheus_client's own writer sorts
# them alphabetically, and its multi-process collector loses the order, so /metrics writes the
# text itself (write_text) and puts each sample's labels in this order.
LABEL_ORDER = {name: i for i, name in enumerate((*REQUEST_LABELS, "reason", "version", "engine"))}


@dataclass
class Metrics:
    """One app's metrics: the request counter and latency histogram, and the search gauges."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    slots: Gauge
    running: Gauge
    waiting: Gauge
    refused: Counter
    # Settings.metrics_dir: where every process's values are, when several share them
    multiproc_dir: Path | None = None

    @classmethod
    def create(cls, multiproc_dir: Path | None = None) -> Metrics:
        registry = CollectorRegistry()

        def gauge(name: str, text: str) -> Gauge:
            # livesum: with several processes, the sum over those running now
            return Gauge(name, text, registry=registry, multiprocess_mode="livesum")

        metrics = cls(
            registry=registry,
            requests=Counter(
                "kb_http_requests",
                "HTTP requests answered, by route, method and status.",
                REQUEST_LABELS,
                registry=registry,
            ),
            latency=Histogram(
                "kb_http_request_duration_seconds",
                "Time to answer a request, by route.",
                ("route",),
                buckets=BUCKETS,
                registry=registry,
            ),
            slots=gauge(
                "kb_search_slots", "Searches this process runs at once (kb serve --search-slots)."
            ),
            running=gauge("kb_search_running", "Searches running now."),
            waiting=gauge("kb_search_waiting", "Searches waiting for a slot now."),
            refused=Counter(
                "kb_search_refused",
                "Searches refused with 503 because the server was busy, by reason.",
                ("reason",),
                registry=registry,
            ),
            multiproc_dir=multiproc_dir,
        )
        for reason in REFUSAL_REASONS:  # shown at 0 before the first refusal
            metrics.refused.labels(reason=reason)
        return metrics

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def gate_changed(self, snapshot: dict[str, int], refused: str | None) -> None:
        """kb.web.limits.SearchGate's listener: called on every change, under the gate's lock."""
        self.slots.set(snapshot["slots"])
        self.running.set(snapshot["running"])
        self.waiting.set(snapshot["waiting"])
        if refused:
            self.refused.labels(reason=refused).inc()


class IndexCollector:
    """kb_index_up and, when a version is served, kb_index_info, _documents and _passages: read
    at each scrape from the version this process serves (every process serves the same)."""

    def __init__(self, index: Callable[[], dict | None]):
        self.index = index

    def collect(self) -> Iterator[Metric]:
        index = self.index()
        yield GaugeMetricFamily(
            "kb_index_up", "1 when an index version is being served, else 0.", 1 if index else 0
        )
        if not index:
            return
        info = GaugeMetricFamily(
            "kb_index_info", "The index version being served.", labels=("version", "engine")
        )
        info.add_metric((str(index["version"]), str(index["engine"])), 1)
        yield info
        yield GaugeMetricFamily(
            "kb_index_documents",
            "Documents in the index version being served.",
            index["documents"],
        )
        yield GaugeMetricFamily(
            "kb_index_passages", "Passages in the index version being served.", index["passages"]
        )


def scrape_registry(metrics: Metrics) -> CollectorRegistry:
    """What /metrics shows: this app's registry, or, with several processes, every process's
    values from the shared directory; the index metrics either way."""
    if metrics.multiproc_dir is None:
        return metrics.registry
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics.multiproc_dir))
    registry.register(IndexCollector(_index_version))
    return registry


def write_text(registry: CollectorRegistry) -> str:
    """Prometheus' text format 0.0.4, labels in LABEL_ORDER ("le" last)."""
    out = []
    for metric in registry.collect():
        name = metric.name + ("_total" if metric.type == "counter" else "")
        out += [f"# HELP {name} {_escape(metric.documentation)}", f"# TYPE {name} {metric.type}"]
        for sample in sorted(metric.samples, key=_sample_order):
            if sample.name.endswith("_created"):
                continue
            out.append(f"{sample.name}{_labels(sample.labels)} {floatToGoString(sample.value)}")
    return "\n".join(out) + "\n"


def _sample_order(sample) -> tuple:
    """Series grouped by their labels but "le", buckets in ascending order, then _sum, _count."""
    labels = sample.labels
    rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
    bucket = float(labels["le"]) if "le" in labels else float("inf")
    suffix = {"_bucket": 0, "_sum": 1, "_count": 2}.get(sample.name[sample.name.rfind("_") :], 0)
    return rest, suffix, bucket


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    names = sorted(labels, key=lambda n: (n == "le", LABEL_ORDER.get(n, len(LABEL_ORDER)), n))
    return "{" + ",".join(f'{n}="{_escape(str(labels[n]))}"' for n in names) + "}"


def _index_version() -> dict | None:
    """The version being served, or None; never raises (metrics must not fail a request)."""
    try:
        manifest = current_app.extensions["kb"].current().manifest
    except Exception:  # no index, or one that cannot be opened: reported as kb_index_up 0
        return None
    return {
        "version": manifest.get("version", "unknown"),
        "engine": manifest.get("engine", "unknown"),
        "documents": manifest.get("documents", 0),
        "passages": manifest.get("passages", 0),
    }


def _ensure_log_handler() -> None:
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


_marked_for_exit: set[int] = set()


def _leave_at_exit(multiproc_dir: Path) -> None:
    """A process that exits takes its search gauges out of the sum (live gauges); one that is
    killed leaves them until the directory is emptied, which is why it is emptied at start."""
    pid = os.getpid()
    if pid not in _marked_for_exit:
        _marked_for_exit.add(pid)
        atexit.register(multiprocess.mark_process_dead, pid, str(multiproc_dir))


def _route() -> str:
    """The URL rule that answered, or UNMATCHED when routing failed (kb.web.api.claim_unrouted
    gives such a request a rule to pick its error handler by, not a route)."""
    if request.url_rule is None or request.routing_exception is not None:
        return UNMATCHED
    return request.url_rule.rule


def _log(route: str, status: int, seconds: float, size: int | None, asked: dict) -> None:
    """One access-log line; `asked` is the request's method, path and remote address."""
    index = _index_version()
    # The query string is left out: what officers search for is theirs, not the log's.
    access_log.info(
        json.dumps(
            {
                "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "event": "request",
                "method": asked["method"],
                "path": asked["path"][:LOGGED_PATH_CHARS],
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
                "bytes": size,
                "index_version": index["version"] if index else None,
                "remote": asked["remote"],
            },
            ensure_ascii=False,
        )
    )


def timed(app: Flask, route: str, wsgi_app: Callable) -> Callable:
    """`wsgi_app`, mounted beside the Flask app (kb.mcp_http's /mcp), counted in /metrics and
    logged as the app's own routes are, as `route`; the time runs until its body is sent."""
    metrics: Metrics = app.extensions["kb_metrics"]

    def answer(environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict = {}

        def start(status: str, headers: list[tuple[str, str]], *rest):
            seen["status"] = int(status.split(" ", 1)[0])
            seen["bytes"] = next(
                (int(v) for k, v in headers if k.lower() == "content-length"), None
            )
            return start_response(status, headers, *rest)

        def finished() -> None:
            seconds = time.perf_counter() - started
            status = seen.get("status", 500)
            metrics.observe(route, environ["REQUEST_METHOD"], status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                asked = {
                    "method": environ["REQUEST_METHOD"],
                    "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                    "remote": environ.get("REMOTE_ADDR"),
                }
                with app.app_context():
                    _log(route, status, seconds, seen.get("bytes"), asked)

        return ClosingIterator(wsgi_app(environ, start), finished)

    return answer


def install(app: Flask, multiproc_dir: Path | None = None) -> None:
    """Register /metrics and request logging on the app; `multiproc_dir` is the directory
    several processes share their metrics in (Settings.metrics_dir), if they do."""
    metrics = Metrics.create(multiproc_dir)
    metrics.registry.register(IndexCollector(_index_version))
    app.extensions["kb_metrics"] = metrics
    _ensure_log_handler()
    if multiproc_dir is not None:
        _leave_at_exit(multiproc_dir)

    @app.before_request
    def start_timer():
        g.kb_started = time.perf_counter()

    @app.after_request
    def record(response):
        started = g.pop("kb_started", None)
        if started is None:  # a request that failed before our before_request ran
            return response
        seconds = time.perf_counter() - started
        route = _route()
        metrics.observe(route, request.method, response.status_code, seconds)
        if access_log.isEnabledFor(logging.INFO):
            asked = {"method": request.method, "path": request.path, "remote": request.remote_addr}
            _log(route, response.status_code, seconds, response.calculate_content_length(), asked)
        return response

    def metrics_text():
        return Response(write_text(scrape_registry(metrics)), content_type=CONTENT_TYPE)

    app.add_url_rule("/metrics", "metrics", metrics_text, methods=["GET"])


def watch_gate(app: Flask) -> None:
    """Keep the search gauges and the refusal counter up to date with the app's search gate
    (after kb.web.limits.install has given it one)."""
    app.extensions["kb_search_gate"].watch(app.extensions["kb_metrics"].gate_changed)
