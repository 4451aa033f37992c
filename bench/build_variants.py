"""Whoosh build throughput with writer settings other than indexer/index/whoosh_engine.py's, on the same
passages: the current settings, two writer processes, and no final merge.

    python -m bench.build_variants --size 10000

The variants patch Whoosh's writer factory, so write_index itself runs unchanged.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import writing

from bench.corpus import read_jsonl
from indexer.index.whoosh_engine import write_index

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def writer_options(**overrides):
    original = whoosh_index.FileIndex.writer

    def writer(self, procs=1, **kwargs):
        kwargs.update(overrides)
        return original(self, procs=kwargs.pop("procs", procs), **kwargs)

    whoosh_index.FileIndex.writer = writer
    try:
        yield
    finally:
        whoosh_index.FileIndex.writer = original


@contextmanager
def no_optimize():
    original = writing.SegmentWriter.commit

    def commit(self, mergetype=None, optimize=False, merge=True):
        return original(self, mergetype=mergetype, optimize=False, merge=merge)

    writing.SegmentWriter.commit = commit
    try:
        yield
    finally:
        writing.SegmentWriter.commit = original


def timed_build(data: Path) -> float:
    passages = list(read_jsonl(data))
    target = Path(tempfile.mkdtemp()) / "engine"
    try:
        started = time.perf_counter()
        count = write_index(target, passages)
        return count / (time.perf_counter() - started)
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args(argv)
    data = RESULTS / "data" / f"passages-{args.size}.jsonl"
    rates = {"current (procs=1, optimize)": timed_build(data)}
    with writer_options(procs=2, multisegment=True):
        rates["procs=2, multisegment"] = timed_build(data)
    with no_optimize():
        rates["procs=1, no final merge"] = timed_build(data)
    report = {"size": args.size, "passages_per_s": {k: round(v) for k, v in rates.items()}}
    (RESULTS / f"build-variants-{args.size}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
