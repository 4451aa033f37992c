"""Prometheus metrics at /metrics and one JSON log line per request (logger "kb.access").

The text exposition format is written here directly: a few counters and one histogram do not
need a client library. Routes are labelled by their URL rule ("/p/<path:passage_id>"), never by
the raw path, so a crawler requesting random URLs cannot grow the label set without bound.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, g, request

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
access_log = logging.getLogger("kb.access")
LOGGED_PATH_CHARS = 2048  # a longer path (refused with 414) is logged cut to this


@dataclass
class Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
        self.total += seconds
        self.count += 1


@dataclass
class Registry:
    requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    latency: dict[str, Histogram] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1
            self.latency.setdefault(route, Histogram()).observe(seconds)

    def render(self, index: dict | None, searches: dict[str, int] | None = None) -> str:
        with self.lock:
            requests = sorted(self.requests.items())
            latency = sorted(
                (route, Histogram(list(h.buckets), h.total, h.count))
                for route, h in self.latency.items()
            )
        out = [
            "# HELP kb_http_requests_total HTTP requests answered, by route, method and status.",
            "# TYPE kb_http_requests_total counter",
        ]
        for (route, method, status), n in requests:
            out.append(
                f"kb_http_requests_total{_labels(route=route, method=method, status=status)} {n}"
            )
        out += [
            "# HELP kb_http_request_duration_seconds Time to answer a request, by route.",
            "# TYPE kb_http_request_duration_seconds histogram",
        ]
        for route, h in latency:
            for bound, n in zip(BUCKETS, h.buckets, strict=True):
                labels = _labels(route=route, le=_num(bound))
                out.append(f"kb_http_request_duration_seconds_bucket{labels} {n}")
            out.append(
                f"kb_http_request_duration_seconds_bucket{_labels(route=route, le='+Inf')} {h.count}"
            )
            out.append(f"kb_http_request_duration_seconds_sum{_labels(route=route)} {h.total:.6f}")
            out.append(f"kb_http_request_duration_seconds_count{_labels(route=route)} {h.count}")
        if searches:
            out += [
                "# HELP kb_search_slots Searches this process runs at once (kb serve "
                "--search-slots).",
                "# TYPE kb_search_slots gauge",
                f"kb_search_slots {searches['slots']}",
                "# HELP kb_search_running Searches running now.",
                "# TYPE kb_search_running gauge",
                f"kb_search_running {searches['running']}",
                "# HELP kb_search_waiting Searches waiting for a slot now.",
                "# TYPE kb_search_waiting gauge",
                f"kb_search_waiting {searches['waiting']}",
                "# HELP kb_search_refused_total Searches refused with 503 because the server "
                "was busy, by reason.",
                "# TYPE kb_search_refused_total counter",
                f"kb_search_refused_total{_labels(reason='queue_full')} "
                f"{searches['refused_queue_full']}",
                f"kb_search_refused_total{_labels(reason='timeout')} {searches['refused_timeout']}",
            ]
        out += [
            "# HELP kb_index_up 1 when an index version is being served, else 0.",
            "# TYPE kb_index_up gauge",
            f"kb_index_up {1 if index else 0}",
        ]
        if index:
            out += [
                "# HELP kb_index_info The index version being served.",
                "# TYPE kb_index_info gauge",
                f"kb_index_info{_labels(version=index['version'], engine=index['engine'])} 1",
                "# HELP kb_index_documents Documents in the index version being served.",
                "# TYPE kb_index_documents gauge",
                f"kb_index_documents {index['documents']}",
                "# HELP kb_index_passages Passages in the index version being served.",
                "# TYPE kb_index_passages gauge",
                f"kb_index_passages {index['passages']}",
            ]
        return "\n".join(out) + "\n"


def _num(value: float) -> str:
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


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


def install(app: Flask) -> None:
    """Register /metrics and request logging on the app."""
    registry = Registry()
    app.extensions["kb_metrics"] = registry
    _ensure_log_handler()

    @app.before_request
    def start_timer():
        g.kb_started = time.perf_counter()

    @app.after_request
    def record(response):
        started = g.pop("kb_started", None)
        if started is None:  # a request that failed before our before_request ran
            return response
        seconds = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        registry.observe(route, request.method, response.status_code, seconds)
        if access_log.isEnabledFor(logging.INFO):
            index = _index_version()
            # The query string is left out: what officers search for is theirs, not the log's.
            access_log.info(
                json.dumps(
                    {
                        "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                        "event": "request",
                        "method": request.method,
                        "path": request.path[:LOGGED_PATH_CHARS],
                        "route": route,
                        "status": response.status_code,
                        "ms": round(seconds * 1000, 2),
                        "bytes": response.calculate_content_length(),
                        "index_version": index["version"] if index else None,
                        "remote": request.remote_addr,
                    },
                    ensure_ascii=False,
                )
            )
        return response

    @app.get("/metrics")
    def metrics():
        gate = current_app.extensions.get("kb_search_gate")
        searches = gate.snapshot() if gate else None
        return Response(registry.render(_index_version(), searches), content_type=CONTENT_TYPE)
