"""`kb build`: broken files are reported by name, the rest indexed; a failed build changes nothing."""

import pytest
from click.testing import CliRunner

from indexer.index import store
from indexer.index.build import BuildFailed, build
from indexer.index.engine import SearchRequest
from kb.cli import cli
from kb.service import KnowledgeBase
from tests.conftest import make_settings

GOOD = {
    "id": "guidance/good",
    "title": "Good Guidance",
    "doc_type": "guidance",
    "status": "in_force",
}


def _search(settings, q):
    kb = KnowledgeBase(settings, check_interval=0)
    try:
        return [h["id"] for h in kb.current().engine.search(SearchRequest(q=q)).results]
    finally:
        kb.close()


def test_broken_file_is_named_and_the_rest_indexed(tmp_path, write_md):
    write_md("good.md", GOOD, "1.1 Authorities must consult residents.\n")
    write_md("broken.md", "title: [unclosed\n", "text\n")
    write_md("nomatter.md", "", "")
    (tmp_path / "corpus" / "latin1.md").write_bytes(b"---\nid: x\n---\ncaf\xe9\n")
    settings = make_settings(tmp_path, tmp_path / "corpus")
    report = build(settings, progress=False)
    assert report.documents == 1 and report.passages == 1
    reasons = {p.path.split("/")[-1]: p.reason for p in report.problems}
    assert "not valid YAML" in reasons["broken.md"]
    assert "not UTF-8" in reasons["latin1.md"]
    assert "nomatter.md" in reasons
    assert _search(settings, "consult residents") == ["guidance/good/para/1.1"]


def test_strict_build_fails_and_keeps_the_served_index(tmp_path, write_md):
    write_md("good.md", GOOD, "1.1 Authorities must consult residents.\n")
    settings = make_settings(tmp_path, tmp_path / "corpus")
    first = build(settings, progress=False)
    write_md("good.md", GOOD, "1.1 Authorities must publish accounts.\n")
    write_md("broken.md", {"id": "b", "title": "B", "doc_type": "poem", "status": "in_force"}, "x")
    with pytest.raises(BuildFailed, match="--strict"):
        build(settings, strict=True, progress=False)
    assert store.current_version(settings.index_dir) == first.version
    assert _search(settings, "consult") == ["guidance/good/para/1.1"]
    assert _search(settings, "accounts") == []
    assert not list(settings.index_dir.glob(".building-*")), "a failed build leaves no debris"


def test_new_build_switches_atomically_and_open_searchers_keep_working(tmp_path, write_md):
    write_md("good.md", GOOD, "1.1 Authorities must consult residents.\n")
    settings = make_settings(tmp_path, tmp_path / "corpus")
    build(settings, progress=False)
    kb = KnowledgeBase(settings, check_interval=0)
    old = kb.current()
    write_md("good.md", GOOD, "1.1 Authorities must publish accounts.\n")
    build(settings, progress=False)
    # A request that started on the old version finishes on it.
    assert [h["id"] for h in old.engine.search(SearchRequest(q="consult")).results]
    new = kb.current()
    assert new.name != old.name
    assert [h["id"] for h in new.engine.search(SearchRequest(q="accounts")).results]
    assert not new.engine.search(SearchRequest(q="consult")).results
    kb.close()


def test_duplicate_document_ids_are_reported(tmp_path, write_md):
    write_md("a.md", GOOD, "1.1 First.\n")
    write_md("b.md", GOOD, "1.1 Second.\n")
    report = build(make_settings(tmp_path, tmp_path / "corpus"), progress=False)
    assert report.documents == 1
    assert "already used by" in report.problems[0].reason


def test_cli_build_reports_problems_and_strict_exits_non_zero(tmp_path, write_md):
    write_md("good.md", GOOD, "1.1 Consult.\n")
    write_md("broken.md", "title: [\n", "x")
    env = {"KB_HOME": str(tmp_path / "home"), "KB_CORPUS": str(tmp_path / "corpus")}
    runner = CliRunner()
    result = runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    assert result.exit_code == 0, result.output
    assert "Indexed 1 documents, 1 passages" in result.output
    assert "broken.md" in result.output
    strict = runner.invoke(cli, ["build", "--quiet", "--strict"], env=env, obj={})
    assert strict.exit_code == 1
    assert "Build failed" in strict.output


def test_empty_corpus_never_replaces_a_good_index(tmp_path, write_md):
    write_md("good.md", GOOD, "1.1 Consult.\n")
    settings = make_settings(tmp_path, tmp_path / "corpus")
    first = build(settings, progress=False)
    (tmp_path / "corpus" / "good.md").unlink()
    with pytest.raises(BuildFailed, match="No documents"):
        build(settings, progress=False)
    assert store.current_version(settings.index_dir) == first.version


def test_build_reports_every_stage_and_advises_before_writing(tmp_path, monkeypatch, capsys):
    """Progress covers reading, linking, writing and switching; the advice for a corpus too
    large for Whoosh comes before the index is written, not after the wait."""
    import indexer.index.build as build_module
    from tests.conftest import make_settings

    monkeypatch.setattr(build_module, "LARGE_CORPUS", 10)
    settings = make_settings(tmp_path)
    settings.engine = "whoosh"  # the advice is Whoosh's: auto writes with tantivy
    seen = []

    def note(text):
        building = list((settings.index_dir).glob(".building-*/engine/*"))
        seen.append((text, building))

    build_module.build(settings, progress=True, note=note)
    err = capsys.readouterr().err
    stages = [
        "Reading and parsing",
        "Linking cross-references and effects…",
        "Writing",
        "Committing the index…",
        "Index written in",
        "Checking and switching to the new version…",
        "Checking and switching to the new version: done in",
    ]
    positions = [err.find(stage) for stage in stages]
    assert -1 not in positions, err
    assert positions == sorted(positions)
    [(text, written)] = seen
    assert text.startswith("Note: 47 passages is a large corpus for Whoosh")
    assert written == []  # nothing of the index had been written yet
    build_module.build(settings, progress=False, note=note)
    assert len(seen) == 2  # the advice does not depend on the progress bars
    settings.engine = "tantivy"
    build_module.build(settings, progress=False, note=note)
    assert len(seen) == 2  # and is for Whoosh only


def test_auto_writes_with_tantivy_and_says_so(tmp_path):
    """KB_ENGINE=auto (the default) builds with tantivy, records it in the version's
    manifest and names it in kb build's report; an explicit choice is kept."""
    import json

    from click.testing import CliRunner

    from kb.cli import cli
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    assert settings.engine == "auto"
    result = CliRunner().invoke(cli, ["build", "--quiet"], obj={"settings": settings})
    assert result.exit_code == 0, result.output
    assert "Engine: tantivy (KB_ENGINE=auto)." in result.output
    [manifest] = settings.index_dir.glob("v*/manifest.json")
    assert json.loads(manifest.read_text())["engine"] == "tantivy"


def test_auto_falls_back_to_whoosh_where_tantivy_cannot_be_imported(monkeypatch):
    import sys

    from indexer.index.build import chosen_engine

    assert chosen_engine("auto") == "tantivy"
    assert chosen_engine("whoosh") == "whoosh"
    monkeypatch.setitem(sys.modules, "tantivy", None)  # import tantivy now raises ImportError
    assert chosen_engine("auto") == "whoosh"
    assert chosen_engine("tantivy") == "tantivy"  # asked for by name: the build says if not
