"""Issue #15 points 7-9: samples beside real text, synonyms below the words typed, letters as
counted paragraphs, and ended text below current text that matches as well."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.index.analysis import stemming_analyzer
from indexer.passages import parse_document
from indexer.sources.local import Options, convert_file
from kb.cli import cli
from kb.core.models import CURRENT_STATUSES, Document
from kb.evaluate import read_qrels
from kb.search import make_request, run_search
from tests.conftest import PROJECT_ROOT, SAMPLES, SHARED, make_settings

SEED_LETTER = SHARED / "seed" / "dclg-letter-2008-10-21.md"
LOCAL = {"doc_type": "local_policy", "status": "in_force", "publisher": "Example Council"}


# --- samples ----------------------------------------------------------------------------------


def _corpus_with_samples(tmp_path: Path, write_md, extra: bool) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(SAMPLES, root / "samples")
    if extra:
        write_md("local/policy.md", {"id": "local/policy", "title": "Policy", **LOCAL}, "Text.")
    root.mkdir(exist_ok=True)
    return root


def _kb_build(tmp_path: Path, root: Path, *args: str):
    settings = make_settings(tmp_path, root)
    return CliRunner().invoke(cli, ["build", "--quiet", *args], obj={"settings": settings})


def test_samples_are_built_when_the_corpus_holds_nothing_else(tmp_path, write_md):
    root = _corpus_with_samples(tmp_path, write_md, extra=False)
    result = _kb_build(tmp_path, root)
    assert result.exit_code == 0, result.output
    assert "Including the 6 invented sample documents." in result.output
    assert "Indexed 6 documents" in result.output


def test_samples_are_left_out_beside_real_documents_unless_asked(tmp_path, write_md):
    root = _corpus_with_samples(tmp_path, write_md, extra=True)
    result = _kb_build(tmp_path, root)
    assert result.exit_code == 0, result.output
    assert (
        "Samples left out: the corpus has 1 crawled or added documents "
        "(use --samples to include them)." in result.output
    )
    assert "Indexed 1 documents" in result.output
    asked = _kb_build(tmp_path, root, "--samples")
    assert "Including the 6 invented sample documents." in asked.output
    assert "Indexed 7 documents" in asked.output
    both = _kb_build(tmp_path, root, "--samples", "--no-samples")
    assert both.exit_code != 0 and "cannot be given together" in both.output


def test_the_bundled_layout_is_what_is_left_out(tmp_path):
    """The README quick start and .ci/run build the checkout's corpus/: its samples folder,
    its manifests and README (not documents), and nothing else, so the samples are built."""
    from indexer.corpus import SAMPLES_FOLDER, select_corpus

    root = tmp_path / "corpus"
    shutil.copytree(SAMPLES, root / SAMPLES_FOLDER)
    shutil.copytree(PROJECT_ROOT / "corpus" / "sources", root / "sources")
    shutil.copy(PROJECT_ROOT / "corpus" / "README.md", root / "README.md")
    selection = select_corpus([root])
    assert (selection.samples, selection.others, selection.samples_included) == (6, 0, True)


# --- synonyms never outrank the words typed ---------------------------------------------------

FILLER = " ".join(f"Clause {i} deals with an unrelated matter of procurement." for i in range(30))


def test_a_synonym_never_outranks_the_words_typed(tmp_kb, write_md, engine):
    meta = {"doc_type": "guidance", "status": "in_force", "publisher": "Example Dept"}
    write_md(
        "literal.md",
        {"id": "guidance/literal", "title": "Long note", **meta},
        f"{FILLER} The two-tier code once applied here. {FILLER}",
    )
    for n in range(4):
        write_md(
            f"syn{n}.md",
            {"id": f"guidance/syn{n}", "title": "Code of Practice on Workforce Matters", **meta},
            "The code of practice on workforce matters. " * 5,
        )
    found = run_search(tmp_kb(engine).current(), {"q": "two-tier code"})["results"]
    ids = [hit["id"] for hit in found]
    assert len(ids) == 5  # the synonyms still match
    assert ids[0] == "guidance/literal/para/1", ids


# --- letters become counted paragraphs --------------------------------------------------------

LETTER = """**A Minister MP**
*Example Department*

Example House
London

Dear Councillor,

Thank you for your letter of 1 March about the council's plan to let its housing repairs contract to an outside provider this spring.

The Government expects every council to involve frontline staff before it decides how a service is provided, and to say how it did so. The council should:

- consult the recognised trade unions;
- publish its assessment.

Where staff transfer, their terms and pensions are protected by the Example Services (Transfer of Staff) Regulations 2031.

Yours sincerely

A Minister
"""


def _letter(body: str, **extra) -> list:
    meta = {"id": "local/letter", "title": "Letter to Exampleton, 2 March 2032",
            "doc_type": "correspondence", "status": "in_force", "published": "2032-03-02",
            "publisher": "Example Department", **extra}  # fmt: skip
    return parse_document(Document.from_front_matter(meta), body).passages


def test_an_unnumbered_letter_becomes_counted_paragraphs():
    passages = _letter(LETTER)
    assert [p.pin for p in passages] == ["para/1", "para/2", "para/3"]
    first, second, third = passages
    assert first.text.startswith("A Minister MP") and "Dear Councillor" in first.text
    assert "Thank you for your letter" in first.text  # letterhead and salutation join it
    assert "publish its assessment" in second.text  # the list stays with its lead-in
    assert third.text.endswith("Yours sincerely A Minister")  # closing lines join the last
    assert second.label == "para 2"
    assert second.citation == "Example Department, Letter to Exampleton, 2 March 2032 (2032) para 2"


def test_headings_still_make_heading_passages():
    passages = _letter("# Staff\n\nText about staff under a heading, long enough to stand.\n")
    assert [p.pin for p in passages] == ["heading/staff"]


def test_numbered_guidance_keeps_its_own_numbers():
    passages = _letter("1.1 The council must consult.\n\n1.2 It must publish.\n")
    assert [p.pin for p in passages] == ["para/1.1", "para/1.2"]


@pytest.mark.skipif(not SEED_LETTER.exists(), reason=f"{SEED_LETTER} is not here")
def test_the_real_2008_letter_is_several_paragraphs_in_order():
    options = Options(doc_type="correspondence", title="DCLG letter 21 October 2008",
                      doc_id="local/correspondence/dclg-letter-2008-10-21")  # fmt: skip
    converted = convert_file(SEED_LETTER, options)  # kind: local, as corpus/sources reads it
    passages = parse_document(converted.document, converted.body).passages
    assert len(passages) >= 5
    assert [p.pin for p in passages] == [f"para/{n}" for n in range(1, len(passages) + 1)]
    assert max(len(p.text) for p in passages) <= 1500
    assert any("Two-Tier Code" in p.text for p in passages)


# --- ended text below current text that matches as well ----------------------------------------


def _judged_queries() -> list[str]:
    return [j.query for j in read_qrels(PROJECT_ROOT / "eval" / "qrels.tsv")]


def _typed_words(version, hit, query: str) -> set[str]:
    """The query's words (stems) the passage has as typed, in any searched field."""
    analyzer = stemming_analyzer()
    doc = version.by_id.get(hit["document_id"]) or {}
    names = " ".join([doc.get("short_title") or "", *(doc.get("aliases") or [])])
    fields = " ".join([hit["title"], names, hit["heading"], hit["text"], hit["citation"],
                       hit["short_citation"]])  # fmt: skip
    have = {t.text for t in analyzer(fields)}
    return {t.text for t in analyzer(query)} & have


def test_no_ended_passage_ranks_above_a_current_one_with_the_words_it_has(sample_kb):
    """For every judged query: a withdrawn, superseded or repealed passage never ranks above a
    current passage that has every query word (as typed) it has, and text that is not
    operative never above an operative passage."""
    version = sample_kb.current()
    checked = 0
    for query in _judged_queries():
        response = run_search(version, {"q": query, "limit": 100})
        if response["citation"]:
            continue  # a citation look-up puts the cited provision first, whatever its status
        hits = response["results"]
        words = [_typed_words(version, hit, query) for hit in hits]
        for i, upper in enumerate(hits):
            for j in range(i + 1, len(hits)):
                lower = hits[j]
                if lower["operative"] and not upper["operative"]:
                    pytest.fail(f"{query!r}: {upper['id']} (not operative) above {lower['id']}")
                ended = upper["status"] not in CURRENT_STATUSES
                if ended and lower["status"] in CURRENT_STATUSES and words[j] >= words[i]:
                    if upper["operative"] == lower["operative"]:
                        pytest.fail(f"{query!r}: {upper['id']} ({upper['status']}) above "
                                    f"{lower['id']}, which has the words {sorted(words[j])}")  # fmt: skip
                checked += 1
    assert checked > 100


def test_new_joiners_terms_puts_current_guidance_above_the_withdrawn_code(sample_kb):
    ids = [h["id"] for h in run_search(sample_kb.current(), {"q": "new joiners terms"})["results"]]
    guidance = ids.index("guidance/example-commissioning-guidance-2031/para/3.1")
    assert guidance < ids.index("code/example-workforce-code-2019/para/2.1")


def test_the_ranked_pass_shortcut_gives_the_same_pages_as_ranking_each_group(
    whoosh_kb, monkeypatch
):
    """Whoosh takes the page from its single ranked pass when that pass already holds it
    (_page_from_top); ranking each group on its own must give exactly the same pages."""
    import indexer.index.whoosh_engine as whoosh_engine

    version = whoosh_kb.current()
    pages = [(query, limit, offset) for query in _judged_queries() for limit, offset in
             ((10, 0), (3, 0), (5, 5))]  # fmt: skip

    def ids():
        return [
            [h["id"] for h in version.engine.search(
                make_request({"q": q, "limit": limit, "offset": offset})).results]
            for q, limit, offset in pages
        ]  # fmt: skip

    fast = ids()
    monkeypatch.setattr(whoosh_engine, "_page_from_top", lambda *args: None)
    assert ids() == fast
