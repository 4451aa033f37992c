"""`kb add`: Markdown, HTML, PDF and DOCX into corpus/local; bad files named, good ones kept."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
import yaml
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter

from indexer.corpus import read_document
from indexer.passages import parse_document
from indexer.sources.local import Options, convert_file, parse_source
from kb.add_cli import add
from kb.core.config import PROJECT_ROOT, Settings
from kb.core.models import DOC_TYPES, STATUSES
from tests.test_pdfdoc import guidance_pdf, make_pdf

SEED = PROJECT_ROOT.parent / "shared" / "seed" / "dclg-letter-2008-10-21.md"
MANIFEST = PROJECT_ROOT / "corpus" / "sources" / "guidance.yaml"


def make_docx(path: Path) -> Path:
    word = docx.Document()
    word.add_paragraph("Example Contract Procedure Rules 2031", style="Title")
    word.add_heading("1. Scope", level=1)
    word.add_paragraph("1.1 These invented rules apply to every contract the council lets.")
    word.add_heading("Exemptions", level=1)
    word.add_paragraph("A chief officer may waive an invented rule.", style="List Bullet")
    table = word.add_table(rows=2, cols=2)
    for (row, col), text in {
        (0, 0): "Value",
        (0, 1): "Route",
        (1, 0): "Up to 10",
        (1, 1): "Three quotes",
    }.items():
        table.cell(row, col).text = text
    word.save(str(path))
    return path


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(guidance_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "commissioning-policy.md").write_text(
        "# Example Commissioning Policy 2031\n\n## 2. Principles\n\n2.1 Invented principle.\n",
        encoding="utf-8",
    )
    (src / "standing-orders.html").write_bytes(
        b"<html><head><meta charset='windows-1252'><title>Standing orders</title></head><body>"
        b"<nav>Home</nav><main><h1>Example Standing Orders</h1><h2>3. Meetings</h2>"
        b"<p>3.1 Invented rule \x96 meetings are public.</p></main></body></html>"
    )
    (src / "guidance.pdf").write_bytes(guidance_pdf())
    make_docx(src / "procedure-rules.docx")
    (src / "scanned.pdf").write_bytes(make_pdf([[]], image_only=True))
    (src / "locked.pdf").write_bytes(encrypted_pdf())
    fake = io.BytesIO()
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("notes.txt", "not a Word document")
    (src / "fake.docx").write_bytes(fake.getvalue())
    (src / "latin.md").write_bytes("# Caf\xe9 policy\n".encode("latin-1"))
    (src / "broken-front-matter.md").write_text("---\ntitle: [unclosed\n---\nText\n")
    (src / "notes.txt").write_text("plain text")
    return src


def run(args: list[str], out: Path):
    return CliRunner().invoke(add, [*args, "--out", str(out)], catch_exceptions=False)


def test_add_takes_good_files_reports_each_bad_one_and_fails(folder, tmp_path):
    out = tmp_path / "corpus" / "local"
    out.mkdir(parents=True)
    (out / "scanned.md").write_text("previously stored copy\n")
    files = sorted(p for p in folder.iterdir())
    result = run([str(p) for p in files], out)
    assert result.exit_code == 1
    reasons = {
        "scanned.pdf": "no text layer: needs OCR",
        "locked.pdf": "encrypted PDF",
        "fake.docx": "without word/document.xml",
        "latin.md": "not UTF-8",
        "broken-front-matter.md": "front matter is not valid YAML",
        "notes.txt": "unsupported file type .txt",
    }
    for name, reason in reasons.items():
        line = next(
            x for x in result.stderr.splitlines() if x.startswith(f"failed: {folder / name}")
        )
        assert reason in line, line
    assert (out / "scanned.md").read_text() == "previously stored copy\n"  # not lost
    written = sorted(p.name for p in out.glob("*.md"))
    assert written == [
        "commissioning-policy.md",
        "guidance.md",
        "procedure-rules.md",
        "scanned.md",
        "standing-orders.md",
    ]
    assert "4 added, 6 failed" in result.stdout


def test_each_format_lands_in_the_corpus_format(folder, tmp_path):
    out = tmp_path / "local"
    names = [
        "commissioning-policy.md",
        "standing-orders.html",
        "guidance.pdf",
        "procedure-rules.docx",
    ]
    result = run([str(folder / n) for n in names], out)
    assert result.exit_code == 0, result.output
    policy = read_document(out / "commissioning-policy.md")
    assert policy.document.id == "local/commissioning-policy"
    assert policy.document.title == "Example Commissioning Policy 2031"
    assert policy.document.doc_type == "local_policy" and policy.document.status == "in_force"
    html = read_document(out / "standing-orders.md")
    assert html.document.title == "Example Standing Orders"
    assert "{#para-3.1}" in html.body and "– meetings are public" in html.body
    assert "Home" not in html.body
    pdf = read_document(out / "guidance.md")
    assert '{#para-1.1 page="1"}' in pdf.body and "Page 1 of 4" not in pdf.body
    word = read_document(out / "procedure-rules.md")
    assert word.document.title == "Example Contract Procedure Rules 2031"
    assert "{#para-1}\n## 1\\. Scope" in word.body
    assert "{#para-1.1}" in word.body and "{#heading-exemptions}" in word.body
    assert "- A chief officer may waive" in word.body
    assert "| Up to 10 | Three quotes |" in word.body
    texts = [p.text for p in parse_document(word.document, word.body).passages]
    assert any("Up to 10 Three quotes" in t for t in texts)  # searched as words, not | and ---
    assert not any("---" in t or "| Up to" in t for t in texts)
    assert len(word.document.sha256) == 64


def test_options_set_id_title_type_and_status(folder, tmp_path):
    out = tmp_path / "local"
    result = run(
        [
            str(folder / "guidance.pdf"),
            "--id",
            "local/barnet/commissioning",
            "--title",
            "Invented Commissioning Note",
            "--doc-type",
            "guidance",
            "--status",
            "superseded",
        ],
        out,
    )
    assert result.exit_code == 0, result.output
    stored = read_document(out / "barnet" / "commissioning.md").document
    assert (stored.id, stored.title) == (
        "local/barnet/commissioning",
        "Invented Commissioning Note",
    )
    assert (stored.doc_type, stored.status) == ("guidance", "superseded")
    again = run([str(folder / "guidance.pdf"), str(folder / "scanned.pdf"), "--id", "x/y"], out)
    assert again.exit_code == 2 and "one file" in again.output


def test_markdown_front_matter_is_kept_and_completed(tmp_path):
    path = tmp_path / "letter.md"
    path.write_text("---\ntitle: An invented letter\ndoc_type: correspondence\n---\nDear all,\n")
    converted = convert_file(path, Options())
    assert converted.document.title == "An invented letter"
    assert converted.document.doc_type == "correspondence"
    assert converted.document.id == "local/letter"
    assert converted.body == "Dear all,\n"


def test_folder_argument_and_default_corpus_location(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_CORPUS", str(tmp_path / "corpus"))
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.md").write_text("# Invented A\n\nText.\n")
    (good / ".hidden.md").write_text("# Hidden\n")
    result = CliRunner().invoke(add, [str(good)], obj=Settings.from_env())
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "corpus" / "local").glob("*.md")] == ["a.md"]


def test_manifest_entries_are_complete():
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    entries = {e["doc_id"]: e for e in data["sources"]}
    assert len(entries) == 5
    assert len({e["id"] for e in data["sources"]}) == 5
    for entry in entries.values():
        assert entry["kind"] in ("govuk", "archived_html", "pdf", "local")
        assert entry["doc_type"] in DOC_TYPES and entry["status"] in STATUSES
        assert entry.get("path") or "verified" in entry["notes"]  # no URL without saying so
        if entry["kind"] == "archived_html":
            assert "unverified" in entry["notes"]
    code = entries["code/two-tier-code"]
    assert (code["status"], str(code["status_date"])) == ("withdrawn", "2011-03-23")
    assert "HC Deb 23 March 2011, vol 525" in code["status_note"]
    best_value = entries["guidance/best-value-standards-and-intervention"]
    assert best_value["path"].endswith(
        "/best-value-standards-and-intervention-a-statutory-guide-for-best-value-authorities"
    )


def test_manifest_letter_is_read_in_place_as_correspondence():
    if not SEED.exists():
        pytest.skip(f"{SEED} is not there (it is read in place, never copied)")
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    entry = next(e for e in data["sources"] if e["kind"] == "local")
    [(document, body)] = parse_source(entry, None, Settings())
    assert document.id == "local/correspondence/dclg-letter-2008-10-21"
    assert document.doc_type == "correspondence"
    assert document.published == "2008-10-21"
    assert "corporate restructuring" in body


def test_manifest_loads_with_the_crawler_manifest_reader():
    from indexer.manifest import load_manifest

    sources = {s.id: s for s in load_manifest([MANIFEST], Settings())}
    assert sources["two-tier-code"].url.startswith(Settings().archive_url)
    assert sources["two-tier-code"].extra["doc_id"] == "code/two-tier-code"
