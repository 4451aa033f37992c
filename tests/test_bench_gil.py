"""bench/gil.py on a tiny tantivy index: it runs both calls on one and two threads and prints
one row per call. No timing is asserted (what the figures say is for a large index)."""

from __future__ import annotations

from bench import gil
from bench.corpus import write_jsonl
from bench.measure import build_app_engine


def test_the_gil_check_prints_a_row_per_call(tmp_path, capsys, monkeypatch):
    data = tmp_path / "passages.jsonl"
    write_jsonl(data, 200)
    build_app_engine("kb-tantivy", data, tmp_path)
    monkeypatch.setattr(gil, "SPIN", 1000)
    gil.main(["--home", str(tmp_path / "home"), "--calls", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "200 passages, 2 calls per thread"
    rows = {line.split(" | ")[0].strip("| "): line.split("|")[2:-1] for line in lines[3:]}
    assert set(rows) == {"search", "aggregate"}
    for cells in rows.values():
        assert len(cells) == 5 and all(float(cell) >= 0 for cell in cells)
