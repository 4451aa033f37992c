"""Hardening of `kb add` and the corpus reader: ZIP bombs, quadratic Markdown, id spoofing and
the small validation holes (issue "Hardening", points 10–13), each over real files."""

from __future__ import annotations

import os
import re
import sys
import threading
import zipfile
from pathlib import Path

import docx
import pytest
import yaml
from click.testing import CliRunner
from flask import render_template

from indexer import corpus as corpus_module
from indexer import passages as passages_module
from indexer.corpus import read_document, render_document, write_document
from indexer.index.build import build
from indexer.passages import parse_document
from indexer.sources import local as local_module
from indexer.sources.pdf import PdfError, read_pdf
from kb.add_cli import add
from kb.core.models import Document, DocumentError
from tests.conftest import make_settings
from tests.test_local import make_docx
from tests.test_pdfdoc import make_pdf

HANG_GUARD_S = 120

GOOD_MD = "# Example Recycling Policy\n\n## 1. Scope\n\n1.1 The council must recycle paper.\n"


def run_add(args: list[str], out: Path, corpus: Path | None = None):
    env = {"KB_CORPUS": str(corpus or out.parent)}
    return CliRunner(env=env).invoke(add, [*args, "--out", str(out)], catch_exceptions=False)


def failed_line(result, name: str) -> str:
    return next(x for x in result.stderr.splitlines() if x.startswith("failed: ") and name in x)


# --- 10. DOCX decompression and size limits ----------------------------------------------------


def rewrite_docx(source: Path, target: Path, replace: dict[str, object]) -> Path:
    """A copy of a real .docx with some parts replaced: bytes, or a callable writing a stream."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename not in replace:
                new.writestr(info, old.read(info.filename))
                continue
            part = replace[info.filename]
            if callable(part):
                with new.open(info.filename, "w") as stream:
                    part(stream)
            else:
                new.writestr(info.filename, part)
    return target


def empty_paragraphs(count: int):
    """document.xml with `count` empty <w:p/>, written in chunks (never whole in memory)."""

    def write(stream) -> None:
        stream.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
            b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        )
        chunk = b"<w:p/>" * 100_000
        for _ in range(count // 100_000):
            stream.write(chunk)
        stream.write(b"</w:body></w:document>")

    return write


def test_docx_zip_bomb_is_refused_by_its_unpacked_size_and_the_batch_goes_on(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    # 25 million <w:p/>: 150 MB unpacked, about 150 KB as stored.
    bomb = rewrite_docx(
        make_docx(tmp_path / "real.docx"),
        src / "bomb.docx",
        {"word/document.xml": empty_paragraphs(25_000_000)},
    )
    with zipfile.ZipFile(bomb) as package:
        declared = sum(i.file_size for i in package.infolist())
    assert bomb.stat().st_size < 1_000_000 < local_module.MAX_DOCX_UNPACKED_BYTES < declared
    (src / "policy.md").write_text(GOOD_MD, encoding="utf-8")
    out = tmp_path / "corpus" / "local"
    result = run_add([str(bomb), str(src / "policy.md")], out)
    assert result.exit_code == 1
    assert "MAX_DOCX_UNPACKED_BYTES" in failed_line(result, "bomb.docx")
    assert sorted(p.name for p in out.glob("*.md")) == ["policy.md"]
    assert "1 added, 1 failed" in result.stdout


def test_docx_with_too_many_elements_is_refused_before_python_docx_reads_it(tmp_path):
    # 1.2 million <w:p/> is only 7 MB unpacked (under the size limit) but over the element limit;
    # python-docx would build a tree of every one of them.
    count = 1_200_000
    assert count > local_module.MAX_DOCX_ELEMENTS
    bomb = rewrite_docx(
        make_docx(tmp_path / "real.docx"),
        tmp_path / "many.docx",
        {"word/document.xml": empty_paragraphs(count)},
    )
    with zipfile.ZipFile(bomb) as package:
        assert sum(i.file_size for i in package.infolist()) < local_module.MAX_DOCX_UNPACKED_BYTES
    out = tmp_path / "corpus" / "local"
    result = run_add([str(bomb)], out)
    assert result.exit_code == 1
    line = failed_line(result, "many.docx")
    assert "MAX_DOCX_ELEMENTS" in line and "word/document.xml" in line, line


def test_an_unexpected_error_in_one_file_is_reported_and_the_others_added(tmp_path):
    """A numbering part with a level that is no number made _Numbering raise ValueError, which
    was not caught and ended the whole batch."""
    word = docx.Document()
    word.add_paragraph("Example Waste Rules", style="Title")
    word.add_paragraph("Bins are emptied weekly.", style="List Number")
    real = tmp_path / "real.docx"
    word.save(str(real))
    with zipfile.ZipFile(real) as package:
        numbering = package.read("word/numbering.xml")
    assert b'w:ilvl="0"' in numbering
    src = tmp_path / "src"
    src.mkdir()
    odd = rewrite_docx(
        real,
        src / "a-odd.docx",
        {"word/numbering.xml": numbering.replace(b'w:ilvl="0"', b'w:ilvl="x"')},
    )
    (src / "b-policy.md").write_text(GOOD_MD, encoding="utf-8")
    out = tmp_path / "corpus" / "local"
    result = run_add([str(odd), str(src / "b-policy.md")], out)
    assert result.exit_code == 1
    assert "could not be converted (ValueError" in failed_line(result, "a-odd.docx")
    assert (out / "b-policy.md").is_file()
    assert "1 added, 1 failed" in result.stdout


# --- 11. Markdown that made the parser quadratic ---------------------------------------------


def traced_lines(func) -> int:
    """Lines of indexer/passages.py executed while func runs: a count of the parser's own work."""
    count = 0
    target = passages_module.__file__

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == target else None

    sys.settrace(tracer)
    try:
        func()
    finally:
        sys.settrace(None)
    return count


ACT = Document.from_front_matter(
    {
        "id": "ukpga/2031/99",
        "title": "Example Big Act 2031",
        "doc_type": "act",
        "status": "in_force",
    }
)
GUIDANCE = Document.from_front_matter(
    {
        "id": "guidance/big",
        "title": "Example Big Guidance",
        "doc_type": "guidance",
        "status": "in_force",
    }
)


def sections(n: int) -> str:
    """Sections with no enclosing node (a parent is looked for, and none found), each with two
    subsections (a parent found)."""
    return "".join(
        f"{{#section-{i}}}\n({i}) An authority must act.\n\n{{#section-{i}-1}}\n(a) promptly,\n\n"
        f"{{#section-{i}-2}}\n(b) fairly.\n\n"
        for i in range(1, n + 1)
    )


def repeated_headings(n: int) -> str:  # n headings with one title: a unique slug apiece
    return "".join(f"## Notes\n\nNote {i} says nothing much.\n\n" for i in range(n))


def numbered_paragraphs(n: int) -> str:  # guidance numbered 1.1, 1.2, ... under one heading
    return "## 1. Scope\n\n" + "".join(
        f"1.{i} The council must keep record {i}.\n\n" for i in range(1, n + 1)
    )


@pytest.mark.parametrize(
    "document,body",
    [(ACT, sections), (GUIDANCE, repeated_headings), (GUIDANCE, numbered_paragraphs)],
    ids=["sections", "repeated-headings", "numbered-paragraphs"],
)
def test_parsing_work_grows_linearly_with_the_document(document, body):
    """Doubling the document doubles the parser's work (a quadratic parser quadruples it)."""
    n = 400
    small = traced_lines(lambda: parse_document(document, body(n)))
    large = traced_lines(lambda: parse_document(document, body(2 * n)))
    assert len(parse_document(document, body(2 * n)).passages) >= 2 * n
    assert large / small < 2.3, (small, large)


def run_guarded(func):
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(HANG_GUARD_S)
    assert not worker.is_alive(), f"still parsing after {HANG_GUARD_S} s"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]


@pytest.mark.slow
def test_a_16_mb_corpus_file_parses_within_the_hang_guard(tmp_path, write_md):
    """16 MB of paragraphs under one heading, then 20,000 anchored sections: the quadratic
    parser took about 50 s for the first 8 MB alone (and four times that for 16); this finishes
    in seconds. It is under MAX_CORPUS_FILE_BYTES, so the build reads it."""
    unanchored = (
        "## Background\n\n" + "A paragraph of background text without a number.\n\n" * 320_000
    )
    body = unanchored + sections(20_000)
    path = write_md("big.md", {"id": "ukpga/2031/99", "title": "Example Big Act 2031",
                               "doc_type": "act", "status": "in_force"}, body)  # fmt: skip
    assert 16_000_000 < path.stat().st_size < corpus_module.MAX_CORPUS_FILE_BYTES
    parsed = run_guarded(lambda: parse_document(*_read(path)))
    assert len(parsed.passages) == 1 + 3 * 20_000
    background = parsed.nodes[0]
    assert background.text.count("A paragraph of background") == 320_000


def _read(path: Path):
    found = read_document(path)
    return found.document, found.body


def test_a_corpus_file_over_the_size_limit_is_named_and_skipped_by_the_build(tmp_path, write_md):
    write_md("good.md", {"id": "guidance/good", "title": "Good", "doc_type": "guidance",
                         "status": "in_force"}, "1.1 Authorities must consult residents.\n")  # fmt: skip
    big = write_md("huge.md", {"id": "guidance/huge", "title": "Huge", "doc_type": "guidance",
                               "status": "in_force"}, "")  # fmt: skip
    with big.open("a", encoding="utf-8") as fh:
        line = "Text of a very long document.\n\n"
        fh.write(line * (corpus_module.MAX_CORPUS_FILE_BYTES // len(line) + 1))
    assert big.stat().st_size > corpus_module.MAX_CORPUS_FILE_BYTES
    report = build(make_settings(tmp_path, tmp_path / "corpus"), progress=False)
    assert report.documents == 1
    reasons = {p.path.rsplit("/", 1)[-1]: p.reason for p in report.problems}
    assert "MAX_CORPUS_FILE_BYTES" in reasons["huge.md"]


def test_kb_add_refuses_what_would_be_over_the_corpus_file_limit(tmp_path):
    src = tmp_path / "long.md"
    with src.open("w", encoding="utf-8") as fh:
        fh.write("# Example Long Policy\n\n")
        line = "Text of a very long local policy.\n\n"
        fh.write(line * (corpus_module.MAX_CORPUS_FILE_BYTES // len(line) + 1))
    out = tmp_path / "corpus" / "local"
    result = run_add([str(src)], out)
    assert result.exit_code == 1
    assert "MAX_CORPUS_FILE_BYTES" in failed_line(result, "long.md")
    assert not list(out.glob("*.md")) if out.exists() else True


# --- 12. Id spoofing ---------------------------------------------------------------------------

SAMPLE_ACT = {"id": "ukpga/2031/12", "title": "Example Commissioning Act 2031", "doc_type": "act",
              "status": "in_force"}  # fmt: skip
ACT_BODY = "{#section-2-2}\n(2) The authority must secure genuine value.\n"


def test_kb_add_keeps_local_documents_in_their_own_id_space(tmp_path):
    src = tmp_path / "spoof.md"
    src.write_text("---\nid: ukpga/2031/12\ntitle: Spoof\n---\n\n{#section-2-2}\n(2) Spoofed.\n")
    out = tmp_path / "corpus" / "local"
    result = run_add([str(src)], out)
    assert result.exit_code == 1
    assert "not a local document id" in failed_line(result, "spoof.md")
    result = run_add([str(tmp_path / "spoof.md"), "--id", "guidance/x"], out)
    assert "not a local document id" in failed_line(result, "spoof.md")
    assert not out.exists() or not list(out.rglob("*.md"))


def test_kb_add_refuses_an_id_another_corpus_file_has_but_replaces_its_own(tmp_path, write_md):
    corpus = tmp_path / "corpus"
    crawled = write_md("crawled/local/correspondence/letter.md",
                       {"id": "local/correspondence/letter", "title": "Letter",
                        "doc_type": "correspondence", "status": "in_force"}, "Dear council.\n")  # fmt: skip
    src = tmp_path / "mine.md"
    src.write_text(GOOD_MD, encoding="utf-8")
    out = corpus / "local"
    result = run_add([str(src), "--id", "local/correspondence/letter"], out, corpus)
    assert result.exit_code == 1
    line = failed_line(result, "mine.md")
    assert "already used by" in line and str(crawled) in line, line
    assert not (out / "correspondence" / "letter.md").exists()
    # Adding a file again replaces its own earlier copy.
    assert run_add([str(src)], out, corpus).exit_code == 0
    src.write_text(GOOD_MD.replace("paper", "glass"), encoding="utf-8")
    assert run_add([str(src)], out, corpus).exit_code == 0
    assert "glass" in (out / "mine.md").read_text(encoding="utf-8")


def test_build_keeps_the_crawled_act_when_a_local_file_claims_its_id(tmp_path, write_md):
    """A spoof written by an older `kb add` (corpus/local/ukpga/2031/12.md) sorted before
    corpus/samples/ and replaced the genuine Act; the local file now loses and is named."""
    genuine = write_md("samples/ukpga-2031-12.md", SAMPLE_ACT, ACT_BODY)
    spoof = write_md("local/ukpga/2031/12.md", {**SAMPLE_ACT, "title": "Spoof"},
                     "{#section-2-2}\n(2) The authority need not secure value.\n")  # fmt: skip
    settings = make_settings(tmp_path, tmp_path / "corpus")
    # --samples: beside a local file the samples would otherwise be left out (README).
    report = build(settings, include_samples=True, progress=False)
    assert report.documents == 1
    [problem] = report.problems
    assert problem.path.endswith("local/ukpga/2031/12.md")
    assert "ukpga/2031/12" in problem.reason and "samples/ukpga-2031-12.md" in problem.reason
    from kb.service import KnowledgeBase

    kb = KnowledgeBase(settings, check_interval=0)
    try:
        assert kb.current().by_id["ukpga/2031/12"]["title"] == "Example Commissioning Act 2031"
    finally:
        kb.close()
    assert genuine.exists() and spoof.exists()


# --- 13. Validation holes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,x",
        "//evil.example/x",
        "/relative/path",
        "https:///nohost",
    ],  # fmt: skip
)
def test_source_url_must_be_http_or_https(url):
    with pytest.raises(DocumentError, match="source_url must be an http"):
        Document.from_front_matter({**SAMPLE_ACT, "source_url": url})
    ok = Document.from_front_matter(
        {**SAMPLE_ACT, "source_url": "https://www.legislation.gov.uk/x"}
    )
    assert ok.source_url == "https://www.legislation.gov.uk/x"


def test_kb_add_and_build_refuse_a_javascript_source_url(tmp_path, write_md):
    src = tmp_path / "xss.md"
    src.write_text("---\nsource_url: javascript:alert(1)\n---\n\n# Policy\n\nText.\n")
    result = run_add([str(src)], tmp_path / "corpus" / "local")
    assert "source_url must be an http(s) URL" in failed_line(result, "xss.md")
    write_md(
        "xss.md", {**SAMPLE_ACT, "source_url": "javascript:alert(1)"}, ACT_BODY, tmp_path / "c2"
    )
    write_md("ok.md", {**SAMPLE_ACT, "id": "ukpga/2031/13"}, ACT_BODY, tmp_path / "c2")
    report = build(make_settings(tmp_path, tmp_path / "c2"), progress=False)
    assert [p.path.rsplit("/", 1)[-1] for p in report.problems] == ["xss.md"]


def test_reader_page_links_only_http_source_urls(app):
    """An index built before source_url was checked may still hold a javascript: URL."""
    with app.test_request_context("/d/ukpga/2031/12"):
        version = app.extensions["kb"].current()
        found = version.provision("ukpga/2031/12/section/2/2")
        from kb.web.resources import provision_json

        def page(url: str) -> str:
            document = {**version.by_id["ukpga/2031/12"], "source_url": url}
            target = {**provision_json(found), "source_url": url}
            return render_template("reader.html", document=document, nodes=[], target=target,
                                   highlight=set(), changes=[], flags={})  # fmt: skip

        bad = page("javascript:alert(1)")
        assert "javascript:" not in bad
        assert "Authoritative source" not in bad and "At the source" not in bad
        good = page("https://www.legislation.gov.uk/ukpga/2031/12")
        assert 'href="https://www.legislation.gov.uk/ukpga/2031/12"' in good
        assert "Authoritative source" in good and "At the source" in good


def test_a_provision_status_outside_the_vocabulary_is_reported_and_not_used(tmp_path):
    body = (
        '{#section-1 status="repealed"}\n(1) Old text.\n\n'
        '{#section-2 status="alive"}\n(2) The authority must act.\n\n'
        "{#section-2-1}\n(a) promptly.\n"
    )
    parsed = parse_document(ACT, body)
    statuses = {p.pin: p.status for p in parsed.passages}
    assert statuses == {"section/1": "repealed", "section/2": "in_force", "section/2/1": "in_force"}
    [warning] = parsed.warnings
    assert "section-2" in warning and "'alive'" in warning
    # kb add names the file and the anchor.
    src = tmp_path / "policy.md"
    src.write_text('# Policy\n\n{#para-2 status="alive"}\n2 The council must act.\n')
    result = run_add([str(src)], tmp_path / "corpus" / "local")
    assert result.exit_code == 0
    assert re.search(r"warning: .*policy\.md: anchor 'para-2': status 'alive'", result.stderr)


def test_kb_add_reports_a_nul_in_an_id_and_goes_on(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a-nul.md").write_text('---\nid: "local/a\\0b"\n---\n\n# A\n\nText.\n')
    (src / "b-policy.md").write_text(GOOD_MD, encoding="utf-8")
    out = tmp_path / "corpus" / "local"
    result = run_add([str(src / "a-nul.md"), str(src / "b-policy.md")], out)
    assert result.exit_code == 1
    assert "must be a path" in failed_line(result, "a-nul.md")
    assert (out / "b-policy.md").is_file()


@pytest.mark.parametrize("doc_id", ["local/_draft", "local/.hidden", "local/notes/README",
                                    "local/samples/x", "local/a%2Fb"])  # fmt: skip
def test_kb_add_refuses_an_id_the_build_would_skip(tmp_path, doc_id):
    src = tmp_path / "policy.md"
    src.write_text(GOOD_MD, encoding="utf-8")
    corpus = tmp_path / "corpus"
    result = run_add([str(src), "--id", doc_id], corpus / "local", corpus)
    assert result.exit_code == 1, result.stdout
    assert failed_line(result, "policy.md")


def test_kb_add_refuses_a_pdf_whose_only_text_is_a_running_head(tmp_path):
    head = "Exampleton Council - Contract Procedure Rules"
    data = make_pdf([[head], [head], [head]])
    with pytest.raises(PdfError, match="no text left once running heads"):
        read_pdf(data)
    (tmp_path / "heads.pdf").write_bytes(data)
    result = run_add([str(tmp_path / "heads.pdf")], tmp_path / "corpus" / "local")
    assert result.exit_code == 1
    assert "no text left" in failed_line(result, "heads.pdf")


def test_a_file_name_with_a_newline_cannot_forge_report_lines(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    name = "x\nadded: forged.md -> etc-passwd (local-forged)\n.md"
    (src / name).write_text(GOOD_MD, encoding="utf-8")
    result = run_add([str(src / name)], tmp_path / "corpus" / "local")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert not any(line.startswith("added: forged.md") for line in lines), lines
    assert any("x\\nadded: forged.md" in line for line in lines), lines
    assert lines[-2] == "1 added, 0 failed"


@pytest.mark.parametrize(
    "value,expected",
    [
        (True, True),
        (False, False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("true", True),
        ("yes", True),
        (None, False),
    ],  # fmt: skip
)
def test_sample_is_read_as_a_boolean(value, expected):
    assert Document.from_front_matter({**SAMPLE_ACT, "sample": value}).sample is expected


def test_a_sample_flag_that_is_no_boolean_is_refused_and_kb_add_keeps_false(tmp_path):
    with pytest.raises(DocumentError, match="sample must be true or false"):
        Document.from_front_matter({**SAMPLE_ACT, "sample": "maybe"})
    src = tmp_path / "policy.md"
    src.write_text('---\nsample: "false"\n---\n\n' + GOOD_MD, encoding="utf-8")
    out = tmp_path / "corpus" / "local"
    assert run_add([str(src)], out).exit_code == 0
    assert read_document(out / "policy.md").document.sample is False
    meta = yaml.safe_load((out / "policy.md").read_text().split("---")[1])
    assert "sample" not in meta


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_corpus_files_are_written_with_the_umask(tmp_path, mask, mode):
    document = Document.from_front_matter({**SAMPLE_ACT, "id": "local/x"})
    old = os.umask(mask)
    try:
        write_document(tmp_path / "x.md", document, "Text.\n")
    finally:
        os.umask(old)
    assert (tmp_path / "x.md").stat().st_mode & 0o777 == mode
    assert read_document(tmp_path / "x.md").body.strip() == "Text."


def test_rendered_front_matter_round_trips_through_the_checks():
    document = Document.from_front_matter({**SAMPLE_ACT, "id": "local/x", "sample": "false"})
    assert "sample" not in render_document(document, "Text.")


def test_kb_build_names_a_provision_status_outside_the_vocabulary(tmp_path, write_md):
    write_md(
        "ukpga-2031-12.md", SAMPLE_ACT, '{#section-9 status="alive"}\n(9) The authority must act.\n'
    )
    settings = make_settings(tmp_path, tmp_path / "corpus")
    report = build(settings, progress=False)
    assert report.documents == 1  # indexed, with the provision's status taken from the Act
    [problem] = report.problems
    assert problem.path.endswith("ukpga-2031-12.md") and "section-9" in problem.reason
    assert "'alive'" in problem.reason
