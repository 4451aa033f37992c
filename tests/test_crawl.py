"""`kb crawl`: manifest -> fetch -> parse -> corpus, in mirror mode and over local HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.corpus import read_document
from indexer.crawl import run_crawl
from indexer.http import Fetcher
from indexer.manifest import ManifestError, load_manifest, manifest_files
from kb.core.config import Settings
from kb.crawl_cli import crawl
from tests.test_http import GOOD, LocalServer, dribble_body, gzipped, ok, status, truncated

FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST = FIXTURES / "sources.yaml"
MIRROR = FIXTURES / "mirror"
PATH = "/ukpga/2031/7/data.xml"


def run(args: list[str], tmp_path: Path, **env: str):
    environ = {"KB_HOME": str(tmp_path / "kb"), "KB_CRAWL_DELAY": "0", "KB_SOURCES": ""}
    environ.update(env)
    return CliRunner().invoke(crawl, args, env=environ, catch_exceptions=False)


def test_mirror_crawl_writes_readable_corpus_documents(tmp_path):
    out = tmp_path / "crawled"
    result = run(["--sources", str(MANIFEST), "--mirror", str(MIRROR), "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 from mirror, 0 failed" in result.output
    act = read_document(out / "ukpga/2031/7.md")
    assert act.document.title == "Example Services Act 2031"
    assert act.document.short_title == "ESA 2031"
    assert act.document.aliases == ["ESA 2031", "2031 c. 7"]
    assert act.document.source_url == "https://www.legislation.gov.uk/ukpga/2031/7"
    assert act.document.extra["source_id"] == "example-act"
    anchor = next(line for line in act.body.splitlines() if line.startswith("{#section-3A "))
    assert 'amended_by="ukpga/2032/4/section/2"' in anchor
    amending = read_document(out / "ukpga/2032/4.md")
    assert amending.document.extra["version"] == "enacted"
    assert "{#section-3}" not in amending.body  # scope section/1-2 only
    assert read_document(out / "uksi/2031/112.md").document.doc_type == "si"


def test_only_and_unknown_ids(tmp_path):
    out = tmp_path / "crawled"
    args = ["--sources", str(MANIFEST), "--mirror", str(MIRROR), "--out", str(out)]
    result = run(args + ["--only", "example-regs"], tmp_path)
    assert result.exit_code == 0
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.md")] == ["uksi/2031/112.md"]
    result = run(args + ["--only", "nope"], tmp_path)
    assert result.exit_code != 0 and "unknown source id nope" in result.output


def test_missing_mirror_file_fails_that_source_only(tmp_path):
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(
        MANIFEST.read_text() + "  - id: absent\n    kind: legislation\n    path: ukpga/1999/27\n"
    )
    out = tmp_path / "crawled"
    result = run(["--sources", str(manifest), "--mirror", str(MIRROR), "--out", str(out)], tmp_path)
    assert result.exit_code == 1
    assert (
        "FAILED absent (https://www.legislation.gov.uk/ukpga/1999/27/data.xml): not in the mirror"
        in (result.output)
    )
    assert "3 from mirror, 1 failed" in result.output
    assert (out / "ukpga/2031/7.md").is_file()
    # A first crawl has no earlier copies to keep, and says so.
    assert f"there was no earlier crawl in {out}, so nothing was kept in their place" in (
        result.output
    )


def write_manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    return path


def test_unknown_kind_and_missing_parser_are_reported(tmp_path):
    manifest = write_manifest(
        tmp_path,
        "sources:\n"
        "  - {id: odd, kind: mystery, url: 'https://example.org/x'}\n"
        "  - {id: later, kind: pdf, url: 'https://example.org/y.pdf',"
        " parser: 'indexer.not_written_yet:parse_source'}\n",
    )
    result = run(["--sources", str(manifest), "--out", str(tmp_path / "o")], tmp_path)
    assert result.exit_code == 1
    assert "FAILED odd (https://example.org/x): no parser is registered for kind 'mystery'" in (
        result.output
    )
    assert "FAILED later" in result.output and "is unavailable" in result.output


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


def test_http_crawl_then_faults_never_lose_the_written_document(tmp_path, server):
    env = {"KB_LEGISLATION_URL": server.url("")}
    manifest = write_manifest(
        tmp_path, "sources:\n  - {id: example-act, kind: legislation, path: ukpga/2031/7}\n"
    )
    out = tmp_path / "crawled"
    args = ["--sources", str(manifest), "--out", str(out)]
    server.route("/robots.txt", ok(b"User-agent: *\nAllow: /\n"))
    server.route(PATH, ok(GOOD, etag='"v1"'))
    first = run(args, tmp_path, **env)
    assert first.exit_code == 0, first.output
    assert "1 fetched" in first.output
    written = out / "ukpga/2031/7.md"
    assert read_document(written).document.source_url == server.url("/ukpga/2031/7")
    body = read_document(written).body

    second = run(args, tmp_path, **env)
    assert second.exit_code == 0 and "1 not modified" in second.output
    last_text_request = [headers for path, headers in server.requests if path == PATH][-1]
    assert last_text_request["If-None-Match"] == '"v1"'
    assert read_document(written).body == body
    good = written.read_bytes()  # as last written (its retrieved_at may be a second later)

    for handler, reason in [
        (status(404), "404 Not Found"),
        (ok(b"<Legislation"), "malformed XML"),
        (ok(b"<!DOCTYPE x [<!ENTITY a 'a'>]><x>&a;</x>"), "DOCTYPE"),
    ]:
        server.route(PATH, handler)
        result = run(args, tmp_path, **env)
        assert result.exit_code == 1
        assert f"FAILED example-act ({server.url(PATH)}): " in result.output
        assert reason in result.output
        assert "1 failed source(s); earlier copies, where there were any, were kept" in (
            result.output
        )
        assert written.read_bytes() == good


def test_faults_keep_document_and_cache(tmp_path, server):
    """The slower faults, through run_crawl with a fetcher tuned for tests."""
    settings = Settings(home=tmp_path / "kb", legislation_url=server.url(""), crawl_delay=0)
    manifest = write_manifest(
        tmp_path, "sources:\n  - {id: example-act, kind: legislation, path: ukpga/2031/7}\n"
    )
    sources = load_manifest([manifest], settings)
    out = tmp_path / "crawled"

    def crawl_once():
        fetcher = Fetcher(
            settings,
            allowed_hosts=[server.host],
            delay=0,
            timeout=(1, 0.3),
            retries=1,
            backoff=0.01,
            max_bytes=100_000,
        )
        return run_crawl(sources, settings, out, fetcher, progress=False)[0]

    server.route(PATH, ok(GOOD))
    assert crawl_once().status == "fetched"
    written = (out / "ukpga/2031/7.md").read_bytes()
    cache = next((tmp_path / "kb/cache/raw").rglob("data.xml"))
    for handler, reason in [
        (status(500), "500 Internal Server Error"),
        (truncated(GOOD), "incomplete body"),
        (ok(GOOD + b" " * 100_000), "larger than the 100000-byte limit"),
    ]:
        server.route(PATH, handler)
        report = crawl_once()
        assert report.status == "failed" and reason in report.reason
        assert (out / "ukpga/2031/7.md").read_bytes() == written
        assert cache.read_bytes() == GOOD


def test_robots_disallow_fails_the_source(tmp_path, server):
    env = {"KB_LEGISLATION_URL": server.url("")}
    manifest = write_manifest(
        tmp_path, "sources:\n  - {id: example-act, kind: legislation, path: ukpga/2031/7}\n"
    )
    server.route("/robots.txt", ok(b"User-agent: *\nDisallow: /ukpga/\n"))
    server.route(PATH, ok(GOOD))
    result = run(["--sources", str(manifest), "--out", str(tmp_path / "o")], tmp_path, **env)
    assert result.exit_code == 1 and "disallowed by robots.txt" in result.output
    assert server.hits(PATH) == 0


@pytest.mark.parametrize(
    "entry, problem",
    [
        (
            "{id: a, kind: legislation, url: 'https://www.legislation.gov.uk/ukpga/1999/27'}",
            "give 'path', not 'url': the base comes from KB_LEGISLATION_URL",
        ),
        ("{id: a, kind: legislation, path: ukpga/1999/27, version: yesterday}", "'version'"),
        ("{id: a, kind: legislation, path: ukpga/1999/27, scope: [part one]}", "scope items"),
        ("{id: a, kind: legislation, path: 'Local Government Act'}", "'path' must look like"),
        ("{kind: legislation, path: ukpga/1999/27}", "'id' is required"),
    ],
)
def test_manifest_errors_name_file_and_entry(tmp_path, entry, problem):
    manifest = write_manifest(tmp_path, f"sources:\n  - {entry}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest([manifest], Settings())
    assert str(manifest) in str(caught.value) and "source #1" in str(caught.value)
    assert problem in str(caught.value)


def test_manifest_folder_duplicates_and_env(tmp_path, monkeypatch):
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "a.yaml").write_text("sources:\n  - {id: x, kind: legislation, path: ukpga/2031/2}\n")
    (folder / "b.yaml").write_text(
        "sources:\n  - {id: g, kind: govuk, path: guidance/x, attachments: true}\n"
    )
    monkeypatch.setenv("KB_SOURCES", str(folder))
    sources = load_manifest(manifest_files(None, Settings()), Settings())
    assert [(s.id, s.kind) for s in sources] == [("x", "legislation"), ("g", "govuk")]
    assert sources[1].url == "https://www.gov.uk/guidance/x"
    assert sources[1].extra == {"attachments": True}  # other kinds' own fields are kept
    (folder / "c.yaml").write_text("sources:\n  - {id: x, kind: legislation, path: ukpga/2031/3}\n")
    with pytest.raises(ManifestError, match="already defined"):
        load_manifest(manifest_files(None, Settings()), Settings())


def test_project_manifest_names_the_mission_instruments():
    sources = {
        s.id: s
        for s in load_manifest(
            manifest_files(Path(__file__).resolve().parents[1] / "corpus/sources/legislation.yaml"),
            Settings(),
        )
    }
    assert sources["lga-1999"].path == "ukpga/1999/27"
    assert {"LGA 1999", "1999 c. 27"} <= set(sources["lga-1999"].aliases)
    assert "section/137-139" in sources["lgpiha-2007"].scope
    assert "schedule/8" in sources["lgpiha-2007"].scope
    assert {"TUPE", "TUPE 2006", "SI 2006/246"} <= set(sources["tupe-2006"].aliases)
    assert sources["tupe-2006"].scope is None


PUBLICATION = (FIXTURES / "guidance" / "govuk-example-publication.json").read_bytes()
HTML_PART = (FIXTURES / "guidance" / "govuk-example-html-publication.json").read_bytes()
PUBLICATION_API = "/api/content/government/publications/example-commissioning-guidance-2031"
PART_API = PUBLICATION_API + "/example-commissioning-guidance-2031"


def test_publication_whose_html_part_cannot_be_fetched_over_http(tmp_path, server):
    """The part fails alone: the publication page is written in its place and indexed, the
    report names the part and why, the exit code is 1; once the part has been fetched, a later
    failure of it keeps that copy rather than going back to the publication page."""
    env = {"KB_GOVUK_URL": server.url("")}
    manifest = write_manifest(
        tmp_path,
        "sources:\n  - {id: ecg-2031, kind: govuk, doc_id: guidance/ecg-2031,"
        " path: government/publications/example-commissioning-guidance-2031}\n",
    )
    out = tmp_path / "crawled"
    args = ["--sources", str(manifest), "--out", str(out)]
    written = out / "guidance" / "ecg-2031.md"
    server.route(PUBLICATION_API, ok(PUBLICATION))

    server.route(PART_API, status(404))
    for _ in range(2):  # and again: a page standing in for its part is refreshed
        result = run(args, tmp_path, **env)
        assert result.exit_code == 1, result.output
        assert "0 failed, 1 partly fetched" in result.output
        assert f"PARTIAL ecg-2031: not fetched {server.url(PART_API)}: 404" in result.output
        assert "guidance/ecg-2031 was written without it" in result.output
        assert "1 partly fetched source(s); what was not fetched was not written" in result.output
        stand_in = read_document(written)
        assert stand_in.document.extra["not_fetched"] == [server.url(PART_API)]
        assert "This invented statutory guidance is for local authorities." in stand_in.body
        assert "Example commissioning plan template" in stand_in.body  # its list of documents
    assert server.hits(PART_API) == 2

    server.route(PART_API, ok(HTML_PART))
    result = run(args, tmp_path, **env)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output and "PARTIAL" not in result.output
    complete = read_document(written)
    assert "not_fetched" not in complete.document.extra
    assert "publish an invented plan" in complete.body
    good = written.read_bytes()

    server.route(PART_API, ok(b"<html><p>Service unavailable</p></html>"))
    result = run(args, tmp_path, **env)
    assert result.exit_code == 1, result.output
    assert f"PARTIAL ecg-2031: not fetched {server.url(PART_API)}: " in result.output
    assert "not JSON" in result.output
    assert "the earlier copy of guidance/ecg-2031 was kept" in result.output
    assert "guidance/ecg-2031 (earlier copy kept)" in result.output
    assert written.read_bytes() == good


def test_mirror_crawl_refuses_a_symlink_out_of_the_mirror(tmp_path):
    """A file in the mirror that is a symlink to a file outside it (here a good CLML file, so
    only where it lies can refuse it; in the issue, /etc/passwd) fails its source."""
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    outside = tmp_path / "outside.xml"
    outside.write_bytes(GOOD)
    linked = mirror / "www.legislation.gov.uk/ukpga/2031/7/data.xml"
    linked.unlink()
    linked.symlink_to(outside)
    out = tmp_path / "crawled"
    result = run(["--sources", str(MANIFEST), "--mirror", str(mirror), "--out", str(out)], tmp_path)
    assert result.exit_code == 1
    assert "2 from mirror, 1 failed" in result.output
    assert "FAILED example-act" in result.output and "resolves outside the mirror" in result.output
    assert not (out / "ukpga/2031/7.md").exists()


def test_http_crawl_of_a_gzip_answer(tmp_path, server):
    """Ordinary servers answer `Accept-Encoding: gzip` with the compressed Content-Length."""
    manifest = write_manifest(
        tmp_path, "sources:\n  - {id: example-act, kind: legislation, path: ukpga/2031/7}\n"
    )
    server.route(PATH, gzipped(GOOD))
    out = tmp_path / "crawled"
    args = ["--sources", str(manifest), "--out", str(out)]
    result = run(args, tmp_path, KB_LEGISLATION_URL=server.url(""))
    assert result.exit_code == 0, result.output
    assert "1 fetched" in result.output
    assert read_document(out / "ukpga/2031/7.md").document.title == "Example Services Act 2031"


@pytest.mark.slow
def test_crawl_deadline_option(tmp_path, server):
    """`--deadline 1` ends a request whose body is dribbled; it overrides KB_CRAWL_DEADLINE."""
    manifest = write_manifest(
        tmp_path, "sources:\n  - {id: example-act, kind: legislation, path: ukpga/2031/7}\n"
    )
    server.route(PATH, dribble_body)
    args = ["--sources", str(manifest), "--out", str(tmp_path / "o"), "--deadline", "1"]
    env = {"KB_LEGISLATION_URL": server.url(""), "KB_CRAWL_DEADLINE": "600"}
    results = []
    crawling = threading.Thread(target=lambda: results.append(run(args, tmp_path, **env)))
    crawling.daemon = True
    crawling.start()
    crawling.join(timeout=120)  # a hang guard: with the option applied it takes about 1 s
    assert not crawling.is_alive(), "--deadline was not applied"
    result = results[0]
    assert result.exit_code == 1
    assert "FAILED example-act" in result.output
    assert "gave up at the 1-second total deadline per request" in result.output
    assert not list((tmp_path / "kb/cache/raw").rglob(".part-*"))
    bad = run(args[:-1] + ["0"], tmp_path, **env)
    assert bad.exit_code == 2 and "--deadline" in bad.output


@pytest.mark.slow
def test_sigterm_mid_download_leaves_no_partial_file(tmp_path, server):
    """`kill` (SIGTERM) during a download: the crawl cleans up its partial file and exits 143."""
    manifest = write_manifest(
        tmp_path, "sources:\n  - {id: example-act, kind: legislation, path: ukpga/2031/7}\n"
    )
    server.route(PATH, dribble_body)
    env = dict(
        os.environ,
        KB_HOME=str(tmp_path / "kb"),
        KB_LEGISLATION_URL=server.url(""),
        KB_CRAWL_DELAY="0",
        KB_SOURCES="",
    )
    args = ["--sources", str(manifest), "--out", str(tmp_path / "o")]
    crawl_proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "crawl", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        raw = tmp_path / "kb/cache/raw"
        hang_guard = time.monotonic() + 120
        while not (raw.is_dir() and list(raw.rglob(".part-*"))):  # the download has begun
            assert crawl_proc.poll() is None, crawl_proc.stderr.read().decode()
            assert time.monotonic() < hang_guard, "the download never began"
            time.sleep(0.01)
        crawl_proc.send_signal(signal.SIGTERM)
        assert crawl_proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if crawl_proc.poll() is None:
            crawl_proc.kill()
            crawl_proc.wait()
    assert not list(raw.rglob(".part-*"))
