"""Whatever people type, the parser and the API answer with results or a message, never a crash;
a missing or damaged index is reported plainly by `kb search`, never as a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import write_markdown_corpus
from indexer.index import store
from kb.core import query

PIECES = [
    "duty",
    "consult",
    "new",
    "joiners",
    "s",
    "3(2)",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    '"',
    "*",
    "?",
    ":",
    "title:",
    "type:act",
    "status:",
    "doc:",
    "id:",
    "heading:",
    "cite:",
    "consult*",
    "co*",
    "-",
    "+",
    "^",
    "~2",
    "[a TO b]",
    "{",
    "}",
    "\\",
    "'",
    "/",
    "ukpga/2031/7",
    "é",
    "\x00",
    "<script>",
    "%",
    "&",
    "#",
    "=",
    ",",
    ".",
]
queries = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=0, max_size=12).map(" ".join),
    st.lists(st.sampled_from(PIECES), min_size=0, max_size=12).map("".join),
    st.text(max_size=80),
    st.text(alphabet='ab ()":*?ANDORT', max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(queries)
def test_query_check_accepts_or_refuses_with_a_message(raw):
    try:
        checked = query.check(raw)
    except query.QueryError as exc:
        assert str(exc)  # a message to show, not an empty refusal
        return
    assert checked.terms


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    q=queries,
    limit=st.one_of(st.none(), st.integers(-5, 200).map(str), st.text(max_size=5)),
    offset=st.one_of(st.none(), st.integers(-5, 2000).map(str), st.text(max_size=5)),
    doc_type=st.one_of(st.none(), st.sampled_from(["act", "si", "guidance", "nope", ""])),
    status=st.one_of(st.none(), st.sampled_from(["current", "in_force", "withdrawn", "x", ","])),
)
def test_search_api_answers_200_or_400_never_500(app, q, limit, offset, doc_type, status):
    params = {"q": q, "limit": limit, "offset": offset, "doc_type": doc_type, "status": status}
    params = {k: v for k, v in params.items() if v is not None}
    response = app.test_client().get("/api/v1/search", query_string=params)
    assert response.status_code in (200, 400), (params, response.get_data(as_text=True)[:300])
    body = response.get_json()
    if response.status_code == 400:
        assert body["error"] and body["message"]
    else:
        assert isinstance(body["results"], list) and body["total"] >= len(body["results"])


@pytest.fixture(params=["whoosh", "tantivy"])
def built_home(tmp_path, request):
    corpus = tmp_path / "corpus"
    write_markdown_corpus(corpus, 30)
    home = tmp_path / "home"
    env = {**os.environ, "KB_HOME": str(home), "KB_CORPUS": str(corpus), "KB_ENGINE": request.param}
    subprocess.run(
        [sys.executable, "-m", "kb", "build", "--quiet", "--no-samples"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return home, env


def kb_search(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb", "search", "contract"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_clear_failure(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output, output[-2000:]
    assert "kb build" in output  # says what to do about it


def test_search_without_any_index_says_to_build(tmp_path):
    env = {**os.environ, "KB_HOME": str(tmp_path / "empty")}
    assert_clear_failure(kb_search(env))


def test_current_naming_a_missing_version_is_a_clear_error(built_home):
    home, env = built_home
    shutil.rmtree(store.current_dir(home / "index"))
    assert_clear_failure(kb_search(env))


# Each engine's segment data and its table of contents (what says which segments exist).
SEGMENTS = ("*.seg", "*.idx", "*.store")
CONTENTS = ("*.toc", "meta.json")


def _each(engine: Path, patterns: tuple[str, ...], change) -> list[Path]:
    found = [p for pattern in patterns for p in engine.glob(pattern)]
    assert found, f"nothing in {engine} matches {patterns}: the damage would not be done"
    return [change(p) for p in found]


CORRUPTIONS = {
    "segment files deleted": lambda engine: _each(engine, SEGMENTS, Path.unlink),
    "table of contents garbled": lambda engine: _each(
        engine, CONTENTS, lambda p: p.write_bytes(b"garbage")
    ),
    "manifest truncated": lambda engine: (engine.parent / "manifest.json").write_text("{"),
    "a document record deleted": lambda engine: next((engine.parent / "docs").glob("*")).unlink(),
    "a document record garbled": lambda engine: [
        p.write_text("{}") for p in (engine.parent / "docs").glob("*")
    ],
    "links deleted": lambda engine: (engine.parent / "links.json").unlink(),
    "links garbled": lambda engine: (engine.parent / "links.json").write_text('{"cites": 1}'),
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_a_damaged_index_is_a_clear_error_not_a_traceback(built_home, damage):
    home, env = built_home
    assert kb_search(env).returncode == 0
    CORRUPTIONS[damage](store.current_dir(home / "index") / "engine")
    assert_clear_failure(kb_search(env))
