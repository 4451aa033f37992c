"""The `kb` command as a new user runs it: build, search, serve."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from kb.cli import cli
from tests.conftest import SAMPLES


def env_for(tmp_path):
    return {"KB_HOME": str(tmp_path / "home"), "KB_CORPUS": str(SAMPLES)}


def test_build_then_search_json_prints_ids_and_citations(tmp_path):
    runner = CliRunner()
    env = env_for(tmp_path)
    built = runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    assert built.exit_code == 0, built.output
    assert "Indexed 6 documents, 47 passages" in built.output
    result = runner.invoke(cli, ["search", "--json", "duty"], env=env, obj={})
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["total"] > 0
    assert all(r["id"] and r["citation"] for r in body["results"])


def test_search_prints_citations_for_people(tmp_path):
    runner = CliRunner()
    env = env_for(tmp_path)
    runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    result = runner.invoke(cli, ["search", "new", "joiners", "--type", "act"], env=env, obj={})
    assert result.exit_code == 0
    assert "1. Example Commissioning Act 2031, s 4(2)" in result.output
    assert "ukpga/2031/12/section/4/2" in result.output


def test_bad_query_exits_non_zero_with_a_message(tmp_path):
    runner = CliRunner()
    env = env_for(tmp_path)
    runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    result = runner.invoke(cli, ["search", "--json", '"unclosed'], env=env, obj={})
    assert result.exit_code == 1
    assert json.loads(result.output)["error"] == "invalid_query"


def test_search_without_an_index_says_to_build(tmp_path):
    result = CliRunner().invoke(cli, ["search", "duty"], env=env_for(tmp_path), obj={})
    assert result.exit_code == 2
    assert "Run `kb build` first" in result.output


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_runs_a_production_server(tmp_path):
    env = {**os.environ, **env_for(tmp_path)}
    subprocess.run([sys.executable, "-m", "kb", "build", "--quiet"], env=env, check=True)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120  # only a server that never starts takes this long
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                    health = json.load(r)
                    server = r.headers["Server"]
                break
            except OSError as exc:
                if proc.poll() is not None:
                    output = proc.stdout.read().decode("utf-8", "replace")[-2000:]
                    raise AssertionError(f"kb serve exited ({proc.returncode}): {output}") from exc
                if time.monotonic() > deadline:
                    raise AssertionError("kb serve did not answer /healthz in 120 s") from exc
                time.sleep(0.2)
        assert health["passages"] == 47
        assert server == "statutory-kb"  # waitress, not Flask's development server
        url = f"http://127.0.0.1:{port}/api/v1/search?q=duty+to+consult"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert json.load(r)["results"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_search_by_extent_and_flags_for_people(tmp_path):
    runner = CliRunner()
    env = env_for(tmp_path)
    runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    wales = runner.invoke(
        cli, ["search", "relevant", "authority", "--extent", "W"], env=env, obj={}
    )
    assert wales.exit_code == 0, wales.output
    assert "ukpga/2031/12/section/1/1" not in wales.output  # s 1 extends to England only
    assert "(extent E+W)" in wales.output
    changed = runner.invoke(cli, ["search", "consult", "--limit", "50"], env=env, obj={})
    assert "Example Commissioning Act 2031, s 4(3) [DUTY: authority] [OUTSTANDING CHANGES: 1]" in (
        changed.output
    )
    assert "introductory text [NOT OPERATIVE TEXT: INTRODUCTORY TEXT]" in changed.output


def test_version_and_help_show_whole_descriptions():
    runner = CliRunner()
    version = runner.invoke(cli, ["--version"], obj={})
    assert version.exit_code == 0 and version.output.startswith("kb, version ")
    listing = runner.invoke(cli, ["--help"], obj={}).output
    assert "..." not in listing.split("Commands:")[1]
    assert "Serve the web pages and the JSON API with the Waitress production" in listing
    assert "documents" in listing and "List what is indexed" in listing


def test_documents_lists_what_is_indexed(tmp_path):
    runner = CliRunner()
    env = env_for(tmp_path)
    runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    table = runner.invoke(cli, ["documents"], env=env, obj={})
    assert table.exit_code == 0, table.output
    assert "ukpga/2031/12 [SAMPLE]\n  Example Commissioning Act 2031\n  act, in_force since" in (
        table.output
    )
    assert table.output.rstrip().endswith("6 documents")
    body = json.loads(runner.invoke(cli, ["documents", "--json"], env=env, obj={}).output)
    assert body["total"] == 6
    act = next(d for d in body["documents"] if d["id"] == "ukpga/2031/12")
    assert act["doc_type"] == "act" and act["passages"] > 0 and act["sample"] is True


def test_documents_without_an_index_says_to_build(tmp_path):
    result = CliRunner().invoke(cli, ["documents"], env=env_for(tmp_path), obj={})
    assert result.exit_code == 2 and "kb build" in result.output


def test_add_uses_the_cli_settings_sets_publisher_and_date_and_says_to_build(tmp_path):
    corpus = tmp_path / "corpus"
    source = tmp_path / "policy.md"
    source.write_text("# Invented Procurement Policy\n\n## 1. Scope\n\nIt applies to buying.\n")
    env = {"KB_HOME": str(tmp_path / "home"), "KB_CORPUS": str(corpus)}
    args = ["add", str(source), "--publisher", "Example Borough Council", "--date", "2030-05-01"]
    result = CliRunner().invoke(cli, args, env=env, obj={})
    assert result.exit_code == 0, result.output
    written = corpus / "local" / "policy.md"
    assert written.is_file()
    assert f"Written to {corpus / 'local'}. Run `kb build` to index them." in result.output
    text = written.read_text()
    assert "publisher: Example Borough Council" in text and "published: '2030-05-01'" in text
    bad = CliRunner().invoke(cli, [*args[:-1], "1 May 2030"], env=env, obj={})
    assert bad.exit_code == 2
    assert "'1 May 2030' does not match the format '%Y-%m-%d'" in bad.output


def test_a_cors_origin_without_its_scheme_is_refused(tmp_path):
    env = {**env_for(tmp_path), "KB_CORS_ORIGINS": "https://ok.example,127.0.0.1:8081"}
    result = CliRunner().invoke(cli, ["info"], env=env, obj={})
    assert result.exit_code == 1
    assert "KB_CORS_ORIGINS: '127.0.0.1:8081' is not an origin" in result.output
    assert "e.g. http://127.0.0.1:8081" in result.output
