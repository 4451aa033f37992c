"""Turn a benchmark run into a Markdown table and a JSON file under bench/results/."""

from __future__ import annotations

import json
import statistics
from pathlib import Path


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        only = values[0] if values else 0.0
        return {"p50": only, "p95": only, "p99": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": cuts[94], "p99": cuts[98]}


def flatten(latencies: dict[str, list[float]]) -> list[float]:
    return [v for values in latencies.values() for v in values]


def summarise(result: dict) -> dict:
    summary = {"all": percentiles(flatten(result["latencies_ms"]))}
    summary |= {kind: percentiles(v) for kind, v in result["latencies_ms"].items()}
    return summary


def _fmt(p: dict[str, float]) -> str:
    return " / ".join(f"{p[k]:.1f}" for k in ("p50", "p95", "p99"))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def markdown(run: dict) -> str:
    lines = [
        f"Run {run['started']} · `{run['command']}` · Python {run['machine']['python']}, "
        f"{run['machine']['cpus']} CPUs · code {run.get('code', 'unknown')}",
        "",
        "| passages | engine | build passages/s | build peak RSS MB | on disk MB "
        "| engine in-process ms p50 / p95 / p99 | p50 vs FTS5 | p95 vs FTS5 "
        "| app in-process (run_search) ms | /api/v1/search ms p50 / p95 / p99 |",
        "|---:|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    kinds_rows = []
    for size, results in run["sizes"].items():
        fts = summarise(results["fts5"])["all"] if "fts5" in results else None
        for engine, result in results.items():
            s = summarise(result)
            e2e = result.get("e2e")
            e2e_text = _fmt(percentiles(flatten(e2e["latencies_ms"]))) if e2e else "–"
            app = result.get("app_latencies_ms")
            app_text = _fmt(percentiles(flatten(app))) if app else "–"
            lines.append(
                f"| {int(size):,} | {engine} | {result['build_rate']:,.0f} "
                f"| {result['build_peak_rss_mb']:,.0f} | {result['disk_mb']:,.1f} "
                f"| {_fmt(s['all'])} "
                f"| {_ratio(s['all']['p50'], fts['p50']) if fts else '–'} "
                f"| {_ratio(s['all']['p95'], fts['p95']) if fts else '–'} "
                f"| {app_text} | {e2e_text} |"
            )
            kinds = ", ".join(f"{k} {v['p50']:.1f}" for k, v in s.items() if k != "all")
            kinds_rows.append(f"- {int(size):,} {engine}: {kinds}")
    lines += ["", "In-process median ms by query kind:", "", *kinds_rows]
    return "\n".join(lines) + "\n"


def write_report(run: dict, results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = run["started"].replace(":", "").replace("-", "")
    for results in run["sizes"].values():
        for result in results.values():
            result["summary"] = summarise(result)
            if "e2e" in result:
                result["e2e"]["summary"] = percentiles(flatten(result["e2e"]["latencies_ms"]))
    json_path = results_dir / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(run, indent=1), encoding="utf-8")
    text = markdown(run)
    md_path = results_dir / f"bench-{stamp}.md"
    md_path.write_text(text, encoding="utf-8")
    (results_dir / "latest.md").write_text(text, encoding="utf-8")
    return json_path, md_path
