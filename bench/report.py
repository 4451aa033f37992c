"""Turn a benchmark run into a Markdown table and a JSON file under bench/results/."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
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
        "| app in-process (run_search) ms | /api/v1/search ms p50 / p95 / p99 "
        "| kb serve peak RSS MB |",
        "|---:|---|---:|---:|---:|---|---:|---:|---|---|---:|",
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
                f"| {app_text} | {e2e_text} | {_serve_rss(e2e)} |"
            )
            kinds = ", ".join(f"{k} {v['p50']:.1f}" for k, v in s.items() if k != "all")
            kinds_rows.append(f"- {int(size):,} {engine}: {kinds}")
    lines += ["", "In-process median ms by query kind:", "", *kinds_rows]
    lines += memory_lines(run)
    return "\n".join(lines) + "\n"


def _serve_rss(e2e: dict | None) -> str:
    peak = (e2e or {}).get("serve_peak_rss_mb")
    return f"{peak:,.0f}" if peak is not None else "–"


@dataclass(frozen=True)
class ServeMemory:
    """`kb serve`'s memory at one size, MB: peak RSS, and idle, heap, mapped files if known."""

    passages: int
    peak: float
    idle: float | None = None
    anon: float | None = None
    file: float | None = None
    threads: int | None = None

    def text(self) -> str:
        parts = [f"idle {self.idle:,.0f}"] if self.idle else []
        if self.anon is not None and self.file is not None:
            parts.append(f"at the end {self.anon:,.0f} heap + {self.file:,.0f} mapped files")
        if self.threads:
            parts.append(f"{self.threads} threads")
        detail = f" ({', '.join(parts)})" if parts else ""
        return f"{self.peak:,.0f} MB at {self.passages:,} passages{detail}"


def serve_memory(run: dict) -> dict[str, list[ServeMemory]]:
    """Each served engine's `kb serve` memory, by size."""
    found: dict[str, list[ServeMemory]] = {}
    for size, results in run["sizes"].items():
        for engine, result in results.items():
            e2e = result.get("e2e") or {}
            if e2e.get("serve_peak_rss_mb") is not None:
                found.setdefault(engine, []).append(
                    ServeMemory(
                        int(size),
                        e2e["serve_peak_rss_mb"],
                        e2e.get("serve_idle_rss_mb"),
                        e2e.get("serve_anon_rss_mb"),
                        e2e.get("serve_file_rss_mb"),
                        e2e.get("threads"),
                    )
                )
    return {engine: sorted(rows, key=lambda m: m.passages) for engine, rows in found.items()}


def per_100k(rows: list[ServeMemory]) -> float | None:
    """MB of `kb serve` peak RSS per 100,000 passages: the slope between the smallest and the
    largest size measured (the fixed cost of the process left out), None with one size."""
    if len(rows) < 2 or rows[-1].passages == rows[0].passages:
        return None
    small, large = rows[0], rows[-1]
    return (large.peak - small.peak) / (large.passages - small.passages) * 100_000


def memory_lines(run: dict) -> list[str]:
    memory = serve_memory(run)
    if not memory:
        return []
    lines = [
        "",
        "`kb serve` memory (peak RSS, VmHWM, after the query mix; idle: when first healthy):",
        "",
    ]
    for engine, rows in memory.items():
        slope = per_100k(rows)
        scaled = (
            f"{slope:,.0f} MB per 100,000 passages "
            f"(slope {rows[0].passages:,} to {rows[-1].passages:,})"
            if slope is not None
            else "per 100,000 passages: not measured (one size only)"
        )
        lines.append(f"- {engine}: {'; '.join(m.text() for m in rows)}; {scaled}")
    return lines


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
