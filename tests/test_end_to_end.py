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

from kb.cli import cli
from kb.config import PROJECT_ROOT
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
    files = {p.stem: p for p in GOVUK_SHARED.glob("*.json")}
    files |= {p.stem: p for p in (FIXTURES / "guidance").glob("govuk-*.json")}
    sources += _lay_out_govuk(mirror, files)
    items = {name: json.loads(path.read_text(encoding="utf-8")) for name, path in files.items()}
    (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    env = {
        "KB_HOME": str(tmp / "home"),
        "KB_CORPUS": str(tmp / "corpus"),
        "KB_CRAWL_DELAY": "0",
    }
    (tmp / "corpus").mkdir()
    runner = CliRunner()
    crawl = runner.invoke(
        cli, ["crawl", "--sources", str(tmp / "sources.yaml"), "--mirror", str(mirror)], env=env, obj={}
    )
    build = runner.invoke(cli, ["build", "--quiet"], env=env, obj={})
    return {"env": env, "crawl": crawl, "build": build, "items": items, "runner": runner}


def _search(crawled, *args):
    result = crawled["runner"].invoke(cli, ["search", "--json", *args], env=crawled["env"], obj={})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_crawl_and_build_succeed_for_every_source(crawled):
    assert crawled["crawl"].exit_code == 0, crawled["crawl"].output
    assert ", 0 failed" in crawled["crawl"].output
    assert crawled["build"].exit_code == 0, crawled["build"].output
    assert "0 problem(s)" in crawled["build"].output


def test_legislation_passages_carry_citations_status_and_amendment_links(crawled):
    body = _search(crawled, "involve", "--type", "act", "--limit", "50")
    ids = {r["id"]: r for r in body["results"]}
    inserted = ids.get("ukpga/2031/7/section/3A/1")
    assert inserted, sorted(ids)
    assert inserted["citation"] == "Example Services Act 2031, s 3A(1)"
    runner, env = crawled["runner"], crawled["env"]
    from kb.config import Settings
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
        cli, ["cite", "--json", "s 3A(1) of the Example Services Act 2031"], env=crawled["env"], obj={}
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["id"] == "ukpga/2031/7/section/3A/1" and body["in_index"] is True
