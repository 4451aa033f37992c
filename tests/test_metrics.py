"""/metrics speaks Prometheus' text format and counts what happened; every request is logged as JSON."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

from kb.core.config import PROJECT_ROOT, Settings
from kb.web import create_app
from tests.conftest import make_settings

SAMPLE = re.compile(r'^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf)$')


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return samples_of(response.get_data(as_text=True))


def samples_of(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


SEARCH_OK = 'kb_http_requests_total{route="/api/v1/search",method="GET",status="200"}'
SEARCH_BAD = 'kb_http_requests_total{route="/api/v1/search",method="GET",status="400"}'
SEARCH_COUNT = 'kb_http_request_duration_seconds_count{route="/api/v1/search"}'


def test_requests_are_counted_by_route_and_status(client):
    before = scrape(client)
    for q in ("duty", "consult", "new joiners"):
        assert client.get("/api/v1/search", query_string={"q": q}).status_code == 200
    assert client.get("/api/v1/search", query_string={"q": '"unclosed'}).status_code == 400
    after = scrape(client)
    assert after[SEARCH_OK] - before.get(SEARCH_OK, 0) == 3
    assert after[SEARCH_BAD] - before.get(SEARCH_BAD, 0) == 1
    assert after[SEARCH_COUNT] - before.get(SEARCH_COUNT, 0) == 4


def test_latency_histogram_buckets_are_cumulative(client):
    client.get("/api/v1/search", query_string={"q": "duty"})
    samples = scrape(client)
    prefix = 'kb_http_request_duration_seconds_bucket{route="/api/v1/search",le="'
    buckets = [(k[len(prefix) : -2], v) for k, v in samples.items() if k.startswith(prefix)]
    counts = [v for _, v in buckets]
    assert buckets[-1][0] == "+Inf"
    assert counts == sorted(counts), "bucket counts must never decrease"
    assert counts[-1] == samples[SEARCH_COUNT]
    assert samples['kb_http_request_duration_seconds_sum{route="/api/v1/search"}'] > 0


def test_index_version_and_counts_match_healthz(client, engine):
    health = client.get("/healthz").get_json()
    samples = scrape(client)
    info = [k for k in samples if k.startswith("kb_index_info{")]
    assert info == [f'kb_index_info{{version="{health["index_version"]}",engine="{engine}"}}']
    assert samples["kb_index_up"] == 1
    assert samples["kb_index_documents"] == health["documents"]
    assert samples["kb_index_passages"] == health["passages"]


def test_unknown_paths_share_one_label(client):
    for n in range(3):
        assert client.get(f"/no/such/page/{n}").status_code == 404
    samples = scrape(client)
    assert not any("/no/such" in key for key in samples)
    assert samples['kb_http_requests_total{route="<unmatched>",method="GET",status="404"}'] >= 3


def test_without_an_index_metrics_say_so(tmp_path):
    app = create_app(make_settings(tmp_path))
    samples = scrape(app.test_client())
    assert samples["kb_index_up"] == 0
    assert not any(k.startswith("kb_index_info") for k in samples)


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_each_request_is_logged_as_one_json_line_without_the_query(client):
    capture = Capture()
    log = logging.getLogger("kb.access")
    log.addHandler(capture)
    try:
        client.get("/api/v1/search", query_string={"q": "tenant arrears of rent"})
        client.get("/api/v1/passages/no/such/passage")
    finally:
        log.removeHandler(capture)
    first, second = (json.loads(line) for line in capture.lines)
    assert first["route"] == "/api/v1/search"
    assert first["status"] == 200 and first["method"] == "GET"
    assert first["ms"] > 0 and first["index_version"].startswith("v")
    assert "arrears" not in capture.lines[0]
    assert second["status"] == 404 and second["route"] == "/api/v1/passages/<path:passage_id>"


def test_search_slots_and_refusals_are_gauges_and_a_counter(sample_settings, sample_kb):
    from kb.web.limits import SearchGate

    gate = SearchGate(slots=2, queue=0)
    client = create_app(sample_settings, kb=sample_kb, search_gate=gate).test_client()
    before = scrape(client)
    assert before["kb_search_slots"] == 2 and before["kb_search_running"] == 0
    assert before["kb_search_waiting"] == 0
    assert before['kb_search_refused_total{reason="queue_full"}'] == 0
    with gate.slot(), gate.slot():  # both slots taken
        during = scrape(client)
        assert client.get("/api/v1/search?q=consult").status_code == 503
    after = scrape(client)
    assert during["kb_search_running"] == 2
    assert after['kb_search_refused_total{reason="queue_full"}'] == 1
    assert after['kb_http_requests_total{route="/api/v1/search",method="GET",status="503"}'] == 1
    assert after["kb_search_running"] == 0


def test_a_refused_over_long_path_is_counted_and_logged_cut_short(client):
    from kb.web.limits import MAX_PATH_BYTES
    from kb.web.metrics import LOGGED_PATH_CHARS

    capture = Capture()
    log = logging.getLogger("kb.access")
    log.addHandler(capture)
    try:
        assert client.get("/api/v1/passages/" + "a/" * MAX_PATH_BYTES).status_code == 414
    finally:
        log.removeHandler(capture)
    (line,) = (json.loads(line) for line in capture.lines)
    assert line["status"] == 414 and len(line["path"]) == LOGGED_PATH_CHARS
    assert (
        scrape(client)[
            'kb_http_requests_total{route="/api/v1/passages/<path:passage_id>",method="GET",status="414"}'
        ]
        >= 1
    )


# A `kb serve` process in miniature: the app, answering requests given on the command line, then
# printing /metrics. Each runs in its own process, as one `kb serve` per core does.
PROCESS = """
import sys
from kb.core.config import Settings
from kb.web import create_app

client = create_app(Settings.from_env()).test_client()
for q in sys.argv[1:]:
    assert client.get("/api/v1/search", query_string={"q": q}).status_code == 200
sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def test_processes_sharing_a_multiproc_dir_are_counted_together(tmp_path, sample_indexes):
    settings = sample_indexes.settings("whoosh")
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        "KB_HOME": str(settings.home),
        "KB_ENGINE": "whoosh",
        "PYTHONPATH": str(PROJECT_ROOT),
    }

    def serve(*queries: str) -> dict[str, float]:
        done = subprocess.run(
            [sys.executable, "-c", PROCESS, *queries],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return samples_of(done.stdout)

    serve("duty", "consult")
    serve("new joiners")
    samples = serve()  # a third process, which has searched nothing itself, sees all three
    assert samples[SEARCH_OK] == 3
    assert samples[SEARCH_COUNT] == 3
    assert samples['kb_http_requests_total{route="/metrics",method="GET",status="200"}'] == 2
    # Gauges are summed over the processes running now: the two that exited are left out.
    assert samples["kb_search_slots"] == 4 and samples["kb_search_running"] == 0
    assert samples['kb_search_refused_total{reason="queue_full"}'] == 0
    assert samples["kb_index_up"] == 1 and samples["kb_index_passages"] == 47


def test_the_shared_metrics_directory_is_a_setting(tmp_path):
    shared = tmp_path / "prometheus"
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(shared)}).metrics_dir == shared
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": ""}).metrics_dir is None
    assert Settings.from_env({}).metrics_dir is None
