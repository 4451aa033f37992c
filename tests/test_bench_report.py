"""bench/report.py's table carries each served engine's `kb serve` memory, and bench.run
measures it from the real server's process."""

from __future__ import annotations

import json

import pytest

from bench import report, run


def _result(passages: int, peak: float | None, idle: float | None = 50.0) -> dict:
    latencies = {"keyword": [1.0, 2.0], "phrase": [3.0]}
    e2e = {"latencies_ms": latencies, "threads": 8}
    if peak is not None and idle is not None:
        e2e |= {"serve_anon_rss_mb": peak * 0.6, "serve_file_rss_mb": peak * 0.4}
    if peak is not None:
        e2e |= {"serve_peak_rss_mb": peak, "serve_idle_rss_mb": idle}
    return {
        "build_rate": 1000.0,
        "build_peak_rss_mb": 100.0,
        "disk_mb": 1.0,
        "latencies_ms": latencies,
        "app_latencies_ms": latencies,
        "e2e": e2e,
    }


def _run(sizes: dict) -> dict:
    return {
        "started": "2026-12-01T00:00:00+00:00",
        "command": "python -m bench.run",
        "machine": {"python": "3.11.7", "cpus": 2},
        "sizes": sizes,
    }


def _row(text: str, passages: str, engine: str) -> list[str]:
    line = next(row for row in text.splitlines() if row.startswith(f"| {passages} | {engine} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_table_has_a_kb_serve_peak_rss_column_per_served_engine():
    text = report.markdown(
        _run({"10000": {"whoosh": _result(10_000, 212.4), "fts5": _result(10_000, None)}})
    )
    header = [cell.strip() for cell in text.splitlines()[2].strip("|").split("|")]
    column = header.index("kb serve peak RSS MB")
    assert _row(text, "10,000", "whoosh")[column] == "212"
    fts5 = _result(10_000, None)
    del fts5["e2e"]
    text = report.markdown(_run({"10000": {"fts5": fts5}}))
    assert _row(text, "10,000", "fts5")[column] == "–"  # a peer is not served


def test_memory_per_100k_passages_is_the_slope_between_sizes_measured():
    text = report.markdown(
        _run(
            {
                "10000": {"whoosh": _result(10_000, 200.0, 120.0)},
                "100000": {"whoosh": _result(100_000, 380.0, 150.0)},
            }
        )
    )
    line = next(row for row in text.splitlines() if row.startswith("- whoosh: 200 MB"))
    assert "380 MB at 100,000 passages (idle 150, at the end 228 heap + 152 mapped files" in line
    assert "200 MB per 100,000 passages (slope 10,000 to 100,000)" in line
    one = report.markdown(_run({"10000": {"whoosh": _result(10_000, 200.0)}}))
    assert "per 100,000 passages: not measured (one size only)" in one


@pytest.mark.slow
def test_a_run_reads_the_peak_rss_of_the_kb_serve_it_started(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    run.main(["--sizes", "200", "--engines", "whoosh", "--rounds", "1"])
    results = json.loads(next(tmp_path.glob("bench-*.json")).read_text(encoding="utf-8"))
    e2e = results["sizes"]["200"]["whoosh"]["e2e"]
    # A Python process with Flask, Whoosh and tantivy imported is tens of MB at least.
    assert 20 < e2e["serve_idle_rss_mb"] <= e2e["serve_peak_rss_mb"] < 4000
    assert e2e["serve_anon_rss_mb"] + e2e["serve_file_rss_mb"] <= e2e["serve_peak_rss_mb"] + 1
    text = (tmp_path / "latest.md").read_text(encoding="utf-8")
    assert _row(text, "200", "whoosh")[-1] == f"{e2e['serve_peak_rss_mb']:,.0f}"
