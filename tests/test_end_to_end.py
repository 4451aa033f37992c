"""A new user's whole path: crawl a mirror of legislation and GOV.UK items, build, search, cite.

The mirror is laid out at test time in a temporary folder: the project's own invented CLML and
Content API fixtures, plus the real GOV.UK items in ../shared read in place (copied only into
the temporary mirror, never into the project).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from indexer.corpus import read_document
from indexer.sources.govuk import html_part_paths
from kb.cli import cli
from kb.core.config import PROJECT_ROOT
from kb.core.pins import slugify
from tests.conftest import SHARED

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
GOVUK_SHARED = SHARED / "reference" / "govuk-content"


def _lay_out_govuk(mirror: Path, items: dict[str, Path]) -> list[dict]:
    """Content API items at www.gov.uk/api/content/<base_path>; a path that is also a
    folder (a publication and its HTML part) keeps its body as <path>/index.json."""
    paths = {
        name: json.loads(item.read_text(encoding="utf-8"))["base_path"].lstrip("/")
        for name, item in items.items()
    }
    sources = []
    for name, path in paths.items():
        parent = path.rsplit("/", 1)[0]
        listed_parent = parent in paths.values()
        target = mirror / "www.gov.uk" / "api" / "content" / path
        if any(other.startswith(path + "/") for other in paths.values()):
            target = target / "index.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(items[name], target)
        if not listed_parent:  # an HTML part is crawled through its publication
            source_id = name.replace("_", "-").replace("--", "-").lower()
            sources.append({"id": source_id, "kind": "govuk", "path": path})
    return sources


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    if not GOVUK_SHARED.is_dir():
        pytest.skip(f"shared GOV.UK items not found at {GOVUK_SHARED}")
    tmp = tmp_path_factory.mktemp("e2e")
    mirror = tmp / "mirror"
    shutil.copytree(FIXTURES / "mirror", mirror)
    manifest = yaml.safe_load((FIXTURES / "sources.yaml").read_text(encoding="utf-8"))
    sources = manifest["sources"]
    # an invented pair shaped like s 138 LGPIHA 2007 inserting s 3A LGA 1999: the revised Act
    # (F note with Operative citations, an outstanding change) and the enacted amending Act
    sources += [
        {"id": "example-library-act", "kind": "legislation", "path": "ukpga/2035/2"},
        {
            "id": "example-reform-act",
            "kind": "legislation",
            "path": "ukpga/2036/3",
            "version": "enacted",
        },
    ]
    files = {p.stem: p for p in GOVUK_SHARED.glob("*.json")}
    files |= {p.stem: p for p in (FIXTURES / "guidance").glob("govuk-*.json")}
    sources += _lay_out_govuk(mirror, files)
    items = {name: json.loads(path.read_text(encoding="utf-8")) for name, path in files.items()}
    # HTML parts a publication links but that are not among the items (../shared has the
    # policy paper without its part): the crawl cannot fetch them, as a real crawl may not.
    have = {item["base_path"] for item in items.values()}
    source_of = {"/" + s["path"]: s["id"] for s in sources if s.get("kind") == "govuk"}
    missing = {
        source_of[item["base_path"]]: [p for p in html_part_paths(item) if p not in have]
        for item in items.values()
        if item.get("schema_name") == "publication" and item["base_path"] in source_of
    }
    missing = {source_id: parts for source_id, parts in missing.items() if parts}
    (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    env = {
        "KB_HOME": str(tmp / "home"),
        "KB_CORPUS": str(tmp / "corpus"),
        "KB_CRAWL_DELAY": "0",
    }
    (tmp / "corpus").mkdir()
    runner = CliRunner()
    crawl = runner.invoke(
        cli,
        ["crawl", "--sources", str(tmp / "sources.yaml"), "--mirror", str(mirror)],
        env=env,
        obj={},
    )
    build = runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    return {
        "env": env, "crawl": crawl, "build": build, "items": items, "runner": runner,
        "missing": missing, "corpus": tmp / "corpus" / "crawled",
    }  # fmt: skip


def _search(crawled, *args):
    result = crawled["runner"].invoke(cli, ["search", "--json", *args], env=crawled["env"], obj={})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_crawl_and_build_succeed_for_every_source(crawled):
    """Every source is crawled; one whose HTML part is not in the mirror is partly fetched: its
    publication page is written, the report names the part and why, and the exit code is 1."""
    output, missing = crawled["crawl"].output, crawled["missing"]
    assert ", 0 failed" in output, output
    partial = [line for line in output.splitlines() if line.startswith("PARTIAL ")]
    assert len(partial) == sum(len(parts) for parts in missing.values()), output
    for source_id, parts in missing.items():
        for part in parts:
            assert any(
                line.startswith(f"PARTIAL {source_id}: not fetched ")
                and line.split(": not in the mirror")[0].endswith(part)
                and "not in the mirror" in line
                for line in partial
            ), (source_id, part, output)
    if missing:
        assert f", {len(missing)} partly fetched" in output
    assert crawled["crawl"].exit_code == (1 if missing else 0), output
    assert crawled["build"].exit_code == 0, crawled["build"].output
    assert "0 problem(s)" in crawled["build"].output


def test_a_publication_whose_html_part_was_not_fetched_is_still_searchable(crawled):
    paper = crawled["items"].get("publication--best-practice-policy-paper")
    if paper is None:
        pytest.skip("the shared policy paper is not there")
    [part] = html_part_paths(paper)
    if part not in sum(crawled["missing"].values(), []):
        pytest.skip("../shared now holds the policy paper's HTML part: nothing is missing")
    slug = paper["base_path"].rsplit("/", 1)[-1]
    stored = read_document(crawled["corpus"] / "guidance" / f"{slug}.md")
    assert stored.document.title == paper["title"]  # the publication page stands in for it
    assert [url.endswith(part) for url in stored.document.extra["not_fetched"]] == [True]
    body = _search(crawled, "safeguarding", "trustees", "--limit", "50")
    hits = [r for r in body["results"] if r["title"] == paper["title"]]
    assert hits and all(r["status"] == "in_force" for r in hits)


def test_withdrawn_travel_advice_parts_are_searchable_and_withdrawn(crawled):
    advice = crawled["items"].get("travel_advice--withdrawn-full-country")
    if advice is None:
        pytest.skip("the shared travel advice is not there")
    body = _search(crawled, "Tirana", "--limit", "50")
    hits = [r for r in body["results"] if r["title"] == advice["title"]]
    assert hits, body
    assert {r["status"] for r in hits} == {"withdrawn"}
    assert {r["status_date"] for r in hits} == {advice["withdrawn_notice"]["withdrawn_at"][:10]}
    # the parts are sections of one document, cited by their headings
    assert len({r["document_id"] for r in hits}) == 1
    parts = {f"heading/{slugify(part['title'])}" for part in advice["details"]["parts"]}
    assert parts & {r["pin"] for r in hits}, [r["pin"] for r in hits]


def test_legislation_passages_carry_citations_status_and_amendment_links(crawled):
    body = _search(crawled, "involve", "--type", "act", "--limit", "50")
    ids = {r["id"]: r for r in body["results"]}
    inserted = ids.get("ukpga/2031/7/section/3A/1")
    assert inserted, sorted(ids)
    assert inserted["citation"] == "Example Services Act 2031, s 3A(1)"
    runner, env = crawled["runner"], crawled["env"]
    from kb.core.config import Settings
    from kb.service import KnowledgeBase

    version = KnowledgeBase(Settings.from_env(env)).current()
    refs = version.references("ukpga/2031/7/section/3A", [])
    assert any(r.startswith("ukpga/2032/4/section/2") for r in refs["amended_by"])
    assert runner  # the CLI and the service read the same index


def test_withdrawn_govuk_items_are_withdrawn_everywhere(crawled):
    withdrawn = crawled["items"]["detailed_guide--withdrawn_detailed_guide"]
    body = _search(crawled, "chemicals", "--limit", "50")
    hits = [r for r in body["results"] if r["title"] == withdrawn["title"]]
    assert hits and all(r["status"] == "withdrawn" and r["status_date"] for r in hits)
    current = _search(crawled, "chemicals", "--status", "current", "--limit", "50")
    assert all(r["title"] != withdrawn["title"] for r in current["results"])


def test_numbered_guidance_paragraphs_are_cited_by_paragraph(crawled):
    body = _search(crawled, "--type", "statutory_guidance", "commissioning", "--limit", "50")
    paras = [r for r in body["results"] if "/para/" in r["id"]]
    assert paras
    assert all(r["short_citation"].endswith("para " + r["id"].split("/para/")[1]) for r in paras)


def test_cite_resolves_against_the_crawled_index(crawled):
    result = crawled["runner"].invoke(
        cli,
        ["cite", "--json", "s 3A(1) of the Example Services Act 2031"],
        env=crawled["env"],
        obj={},
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["id"] == "ukpga/2031/7/section/3A/1" and body["in_index"] is True


def test_an_insertion_links_both_ways_with_its_kind_and_date(crawled):
    from kb.core.config import Settings
    from kb.service import KnowledgeBase

    version = KnowledgeBase(Settings.from_env(crawled["env"])).current()
    inserted = version.references("ukpga/2035/2/section/5", [])
    assert inserted["amended_by"] == ["ukpga/2036/3/section/12"]
    assert version.change_of(inserted, "amended_by", "ukpga/2036/3/section/12") == {
        "change": "inserted",
        "date": "2037-04-01",
    }
    inserting = version.references("ukpga/2036/3/section/12", [])
    assert inserting["amends"] == ["ukpga/2035/2/section/5"]
    assert version.change_of(inserting, "amends", "ukpga/2035/2/section/5") == {
        "change": "inserted",
        "date": "2037-04-01",
    }
    assert version.change_of(inserting, "cited_by", "x") == {}  # only amendment links
    # an amendment known only from the amending text: its kind, date unknown (null)
    nested = version.references("ukpga/2036/3/section/13/a", [])
    assert nested["amends"] == ["ukpga/2035/2/section/4/3"]
    assert version.change_of(nested, "amends", "ukpga/2035/2/section/4/3") == {
        "change": "inserted",
        "date": None,
    }
    # the outstanding change reached the document summary
    summary = version.by_id["ukpga/2035/2"]
    assert [c["pin"] for c in summary["outstanding_changes"]] == ["section/4/2"]
    # statuses per provision, through the corpus file and the index
    repealed = version.engine.passage("ukpga/2035/2/section/6")
    assert repealed["status"] == "repealed" and repealed["status_date"] == "2036-09-01"
    assert version.engine.passage("ukpga/2035/2/section/4/1")["status"] == "in_force"
