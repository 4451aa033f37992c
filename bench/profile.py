"""Profile one engine at one size: where each search's milliseconds go, stage by stage.

    python -m bench.profile --engine whoosh --size 10000 [--rounds 3] [--no-sampler]

Builds the benchmark's index for that size (or reuses bench.run's, or its own from an earlier
run; passages cached under bench/results/data), then answers the benchmark's query mix
(bench/queries.py) two ways: through the engine seam (`engine.search`, as bench.measure does)
and through the Flask app's /api/v1/search (test client: routing, hooks, JSON, no socket). Each
query runs under its own cProfile, so each stage (bench/stages.py) has a median per query. Then,
unless --no-sampler, py-spy samples a second process answering the same mix without cProfile:
its collapsed stacks are the flame graph (flamegraph.pl, speedscope or inferno read them), and
its shares per stage check cProfile's, which adds a cost to every Python call.

Writes bench/profiles/<engine>-<size>.md (the stage tables and the top functions by own time),
bench/profiles/<engine>-<size>.collapsed.txt (the sampled stacks, cut to fewer frames if the
whole would pass 1 MB; the whole under bench/results/profiles/), and bench/results/profiles/<engine>-<size>-{engine,api}.pstats
(`python -m pstats FILE`, snakeviz) and <engine>-<size>.json (every figure above).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import stages
from bench.corpus import documents_path, write_jsonl
from bench.measure import APP_ENGINES, build_app_engine, plain_request
from bench.queries import BenchQuery, query_mix
from bench.serve import search_path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
PROFILES = BENCH / "profiles"
ENGINE_ROOT = "bench/profile.py:engine_query"
API_ROOT = "bench/profile.py:api_query"
PATHS = {"engine": ENGINE_ROOT, "api": API_ROOT}
ROOT_NAMES = {root.rpartition(":")[2] for root in PATHS.values()}
MAX_COMMITTED_BYTES = 1_000_000
TOP_FUNCTIONS = 15


def engine_query(version, q: BenchQuery) -> dict:
    """One search through the engine seam (the profiles' root for this path)."""
    return version.engine.search(plain_request(q.params())).to_dict()


def api_query(client, q: BenchQuery):
    """One search through /api/v1/search (the profiles' root for this path)."""
    response = client.get(search_path(q.params()))
    if response.status_code != 200:
        raise RuntimeError(f"{q.q!r} answered {response.status_code}")
    return response


# --- the index ---------------------------------------------------------------------------------


def ensure_data(results: Path, size: int) -> Path:
    path = results / "data" / f"passages-{size}.jsonl"
    if not path.exists():
        write_jsonl(path, size)
    return path


def _built(home: Path, engine: str, size: int) -> bool:
    """Whether home holds a current version of this engine with this many passages."""
    from indexer.index import store

    try:
        manifest = json.loads((store.current_dir(home / "index") / "manifest.json").read_text())
    except (OSError, ValueError, store.IndexMissing):
        return False
    return manifest.get("engine") == APP_ENGINES[engine] and manifest.get("passages") == size


def prepare(engine: str, size: int, results: Path, rebuild: bool = False) -> tuple[Path, Path]:
    """(KB_HOME, passages file): bench.run's index for this size if there is one, else ours."""
    data = ensure_data(results, size)
    theirs = results / "work" / f"{engine}-{size}" / "home"
    if not rebuild and _built(theirs, engine, size):
        return theirs, data
    out = results / "work" / f"profile-{engine}-{size}"
    if rebuild or not _built(out / "home", engine, size):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        build_app_engine(engine, data, out)
    return out / "home", data


def open_app(home: Path):
    """(index version, Flask test client), the response cache off: searching is measured."""
    from kb.core.config import Settings
    from kb.service import KnowledgeBase
    from kb.web import create_app

    settings = Settings.from_env({"KB_HOME": str(home), "KB_QUERY_CACHE": "0"})
    kb = KnowledgeBase(settings)
    version = kb.current()
    stages.install_splits(version.engine)
    return version, create_app(settings, kb=kb).test_client()


# --- profiling ---------------------------------------------------------------------------------


@dataclass
class PathProfile:
    """One path's profiles: stage seconds per query, and every call merged for pstats."""

    root: str
    per_query: list[dict[str, float]] = field(default_factory=list)
    merged: pstats.Stats | None = None
    unprofiled_ms: list[float] = field(default_factory=list)

    def add(self, profile: cProfile.Profile) -> None:
        profile.create_stats()
        self.per_query.append(stages.edge_stages(profile.stats, self.root))
        if self.merged is None:
            self.merged = pstats.Stats(profile)
        else:
            self.merged.add(profile)


def _calls(version, client) -> dict[str, object]:
    return {
        "engine": lambda q: engine_query(version, q),
        "api": lambda q: api_query(client, q),
    }


def profile_path(name: str, call, mix: list[BenchQuery], rounds: int) -> PathProfile:
    found = PathProfile(PATHS[name])
    for q in mix:  # warm readers and lazily built arrays, as a serving process is
        call(q)
    for _ in range(rounds):
        for q in mix:
            started = time.perf_counter()
            call(q)
            found.unprofiled_ms.append((time.perf_counter() - started) * 1000)
    for _ in range(rounds):
        for q in mix:
            profile = cProfile.Profile()
            profile.enable()
            call(q)
            profile.disable()
            found.add(profile)
    return found


def stage_summary(per_query: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each stage's median and mean ms per query and share of the total time."""
    total = sum(q["total"] for q in per_query) or 1.0
    summary = {}
    for stage in (*stages.STAGES, "total"):
        values = [q[stage] * 1000 for q in per_query]
        summary[stage] = {
            "median_ms": statistics.median(values),
            "mean_ms": statistics.fmean(values),
            "share": sum(q[stage] for q in per_query) / total,
        }
    return summary


def top_functions(merged: pstats.Stats, queries: int, total_s: float) -> list[dict]:
    """The TOP_FUNCTIONS functions with most own time: ms per query, share, calls per query."""
    rows = sorted(merged.stats.items(), key=lambda item: item[1][2], reverse=True)
    return [
        {
            "function": _label(key),
            "own_ms": tt * 1000 / queries,
            "share": tt / total_s if total_s else 0.0,
            "calls": nc / queries,
        }
        for key, (_, nc, tt, _, _) in rows[:TOP_FUNCTIONS]
    ]


def _label(key: tuple[str, int, str]) -> str:
    file, line, name = key
    if file == "~":
        return name
    for prefix in sorted(map(str, sys.path), key=len, reverse=True):
        if prefix and file.startswith(prefix.rstrip("/") + "/"):
            file = file[len(prefix.rstrip("/")) + 1 :]
            break
    return f"{file}:{line} {name}"


# --- sampling (py-spy) -------------------------------------------------------------------------


def sample_child(home: Path, first_doc: str, seconds: float) -> None:
    """What py-spy watches: each path answering the mix for about `seconds`, no cProfile."""
    version, client = open_app(home)
    mix = query_mix(first_doc)
    for call in _calls(version, client).values():
        for q in mix:
            call(q)
        started = time.perf_counter()
        for q in mix:
            call(q)
        one_round = time.perf_counter() - started
        for _ in range(min(max(math.ceil(seconds / max(one_round, 1e-3)) - 1, 0), 500)):
            for q in mix:
                call(q)


def sample(home: Path, first_doc: str, seconds: float, rate: int) -> list[str] | None:
    """Collapsed stacks of the query roots from py-spy, or None when py-spy is not here."""
    spy = shutil.which("py-spy")
    if spy is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stacks.txt"
        child = [sys.executable, "-m", "bench.profile", "--sample-child", str(home), first_doc]
        command = [spy, "record", "--format", "raw", "--nolineno", "--idle", "-r", str(rate)]
        subprocess.run(
            [*command, "-o", str(out), "--", *child, "--seconds", str(seconds)],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(BENCH.parent)},
        )
        lines = out.read_text(encoding="utf-8").splitlines()
    return [trimmed for line in lines if (trimmed := _from_root(line))]


def _from_root(line: str) -> str | None:
    """A collapsed stack from its query root on (the frames above it are the same in every
    sample), None for a stack outside the queries (start-up, warming, idle threads)."""
    frames = line.split(";")
    for i, frame in enumerate(frames):
        if stages.parse_frame(frame)[1] in ROOT_NAMES:
            return ";".join(frames[i:])
    return None


# --- the report --------------------------------------------------------------------------------


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def stage_table(summary: dict, sampled: dict[str, float] | None) -> list[str]:
    lines = [
        "| stage | ms/query median | ms/query mean | share (cProfile) | share (py-spy) |",
        "|---|---:|---:|---:|---:|",
    ]
    for stage in (*stages.STAGES, "total"):
        s = summary[stage]
        spy = "–"
        if sampled and sampled["total"]:
            spy = _pct(sampled[stage] / sampled["total"])
            spy += f" ({sampled['total']:,.0f} samples)" if stage == "total" else ""
        name = f"**{stage}**" if stage == "total" else stage
        lines.append(
            f"| {name} | {s['median_ms']:.2f} | {s['mean_ms']:.2f} | {_pct(s['share'])} | {spy} |"
        )
    return lines


def path_section(title: str, result: dict) -> list[str]:
    unprofiled = statistics.median(result["unprofiled_ms"])
    profiled = result["stages"]["total"]["median_ms"]
    return [
        f"## {title}",
        "",
        f"Median per query {unprofiled:.2f} ms unprofiled, {profiled:.2f} ms under cProfile "
        f"({profiled / unprofiled:.1f}×).",
        "",
        *stage_table(result["stages"], result.get("sampled")),
        "",
        f"Top {TOP_FUNCTIONS} functions by own time (cProfile):",
        "",
        "| function | own ms/query | share | calls/query |",
        "|---|---:|---:|---:|",
        *(
            f"| `{f['function']}` | {f['own_ms']:.2f} | {_pct(f['share'])} | {f['calls']:,.1f} |"
            for f in result["top"]
        ),
        "",
    ]


def markdown(report: dict) -> str:
    lines = [
        f"# Profile: {report['engine']}, {report['passages']:,} passages",
        "",
        f"{report['started']} · `{report['command']}` · code {report['code']} · Python "
        f"{report['python']}, {report['cpus']} CPUs · {report['queries']} queries × "
        f"{report['rounds']} rounds, response cache off",
        "",
        "The machine is shared, so absolute times are noisy, and cProfile adds a cost to every "
        "Python call (more to call-heavy code): read the shares, and the py-spy column (sampled "
        "without cProfile) beside them. Stages are named by bench/stages.py's RULES.",
        "",
    ]
    lines += path_section("/api/v1/search (Flask test client)", report["paths"]["api"])
    lines += path_section("Engine seam (`engine.search`)", report["paths"]["engine"])
    return "\n".join(lines + _flame_note(report))


def _flame_note(report: dict) -> list[str]:
    if "committed_depth" not in report:
        return []
    stem = f"{report['engine']}-{report['passages']}"
    depth = report["committed_depth"]
    cut = (
        f", cut to {depth} frames from the root, Flask's frames above the view as one, "
        "to stay under 1 MB"
        if depth
        else ""
    )
    return [
        f"Flame graph: `{stem}.collapsed.txt` beside this file (py-spy's sampled stacks from "
        f"the query roots{cut}; the whole file is bench/results/profiles/{stem}.collapsed.txt). "
        "Open it in speedscope, or `flamegraph.pl FILE > flame.svg`.",
        "",
    ]


def _git_code() -> str:
    from bench.run import _git_state

    return _git_state()


@dataclass
class Options:
    engine: str
    size: int
    rounds: int
    results: Path
    profiles: Path
    sampler: bool
    sample_seconds: float
    rate: int
    rebuild: bool


def run(opts: Options, command: str) -> dict:
    os.environ["KB_QUERY_CACHE"] = "0"
    home, data = prepare(opts.engine, opts.size, opts.results, opts.rebuild)
    first_doc = json.loads(documents_path(data).read_text(encoding="utf-8"))[0]["id"]
    mix = query_mix(first_doc)
    version, client = open_app(home)
    out = opts.results / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{opts.engine}-{opts.size}"
    paths = {}
    for name, call in _calls(version, client).items():
        found = profile_path(name, call, mix, opts.rounds)
        found.merged.dump_stats(out / f"{stem}-{name}.pstats")
        total_s = sum(q["total"] for q in found.per_query)
        paths[name] = {
            "stages": stage_summary(found.per_query),
            "per_query": found.per_query,
            "unprofiled_ms": found.unprofiled_ms,
            "top": top_functions(found.merged, len(found.per_query), total_s),
        }
    collapsed = sample(home, first_doc, opts.sample_seconds, opts.rate) if opts.sampler else None
    if collapsed is not None:
        for name, root in PATHS.items():
            paths[name]["sampled"] = stages.sampled_stages(collapsed, root, flask=name == "api")
    report = {
        "engine": opts.engine,
        "passages": version.engine.count(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "code": _git_code(),
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
        "queries": len(mix),
        "rounds": opts.rounds,
        "paths": paths,
    }
    write_outputs(report, collapsed, opts.profiles, out, stem)
    return report


def write_outputs(
    report: dict, collapsed: list[str] | None, profiles: Path, out: Path, stem: str
) -> None:
    profiles.mkdir(parents=True, exist_ok=True)
    if collapsed is not None:
        (out / f"{stem}.collapsed.txt").write_text("\n".join(collapsed) + "\n")
        text, depth = fit(collapsed, MAX_COMMITTED_BYTES)
        (profiles / f"{stem}.collapsed.txt").write_text(text, encoding="utf-8")
        report["committed_depth"] = depth
    (profiles / f"{stem}.md").write_text(markdown(report), encoding="utf-8")
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def _elide_flask(line: str) -> str:
    """A stack through the Flask view with the ~17 frames of Flask and the test client above
    the view as one frame, so that a cut at some depth keeps as much search as the seam's."""
    frames = line.split(";")
    view = next((i for i, f in enumerate(frames) if stages.is_view(stages.parse_frame(f))), None)
    if view is None or view < 2:
        return line
    return ";".join([frames[0], f"[Flask, {view - 1} frames] (flask)", *frames[view:]])


def fit(collapsed: list[str], limit: int) -> tuple[str, int | None]:
    """The stacks in at most `limit` bytes: whole if they fit, else with Flask's frames above
    the view as one, cut to the greatest depth (frames from the root) that fits, the deeper
    frames' samples given to the frame above them."""
    text = "\n".join(collapsed) + "\n"
    if len(text.encode()) <= limit:
        return text, None
    collapsed = [_elide_flask(line) for line in collapsed]
    for depth in range(64, 3, -1):
        counts: dict[str, int] = {}
        for line in collapsed:
            stack, _, n = line.rpartition(" ")
            cut = ";".join(stack.split(";")[:depth])
            counts[cut] = counts.get(cut, 0) + int(n)
        text = "".join(f"{stack} {n}\n" for stack, n in counts.items())
        if len(text.encode()) <= limit:
            return text, depth
    return text, depth


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--sample-child":
        seconds = float(argv[argv.index("--seconds") + 1])
        return sample_child(Path(argv[1]), argv[2], seconds)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=tuple(APP_ENGINES), required=True)
    parser.add_argument("--size", type=int, default=10_000, help="passages")
    parser.add_argument("--rounds", type=int, default=3, help="profiled passes over the mix")
    parser.add_argument("--results", type=Path, default=RESULTS, help="data, index, pstats")
    parser.add_argument("--profiles", type=Path, default=PROFILES, help="the Markdown tables")
    parser.add_argument("--no-sampler", action="store_true", help="cProfile only, no py-spy")
    parser.add_argument("--sample-seconds", type=float, default=15.0, help="per path")
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--rebuild", action="store_true", help="build the index afresh")
    args = parser.parse_args(argv)
    opts = Options(
        args.engine,
        args.size,
        args.rounds,
        args.results,
        args.profiles,
        not args.no_sampler,
        args.sample_seconds,
        args.rate,
        args.rebuild,
    )
    report = run(opts, "python -m bench.profile " + " ".join(argv))
    print(markdown(report))


if __name__ == "__main__":
    main()
