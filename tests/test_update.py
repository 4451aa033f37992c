"""`kb update` over real HTTP on 127.0.0.1, against tests/feedserver.py's legislation.gov.uk.

Each test starts from a full first run (no watermark yet), then publishes something on the
fixture site and asserts exactly which paths the next update asks for.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.corpus import read_document
from indexer.index import store
from kb.cli import cli
from kb.core.models import effects
from tests.feedserver import Effect, FeedServer, LogRecord

MIRROR = Path(__file__).parent / "fixtures" / "mirror" / "www.legislation.gov.uk"
ACT, REGS = "ukpga/2031/7", "uksi/2031/112"
ACT_TITLE = "Example Services Act 2031"
REGS_TITLE = "The Example Services (Transfer of Staff) Regulations 2031"
MANIFEST = (
    "sources:\n"
    f"  - {{id: example-act, kind: legislation, path: {ACT}}}\n"
    f"  - {{id: example-regs, kind: legislation, path: {REGS}}}\n"
)


def effect(n: int, pin: str = "section/3/1", modified: str = "2036-03-01T09:00:00Z") -> Effect:
    return Effect(
        id=f"key-{n:032x}",
        type="words substituted",
        affected=ACT,
        affected_title=ACT_TITLE,
        affected_provisions="s. 3(1)",
        affected_pins=[pin],
        affecting="ukpga/2036/3",
        affecting_title="Example Reform Act 2036",
        affecting_provisions=f"s. {n}",
        affecting_pins=[f"section/{n}"],
        in_force=[{"date": "2036-10-01", "qualification": "wholly in force"}],
        modified=modified,
    )


@pytest.fixture
def site():
    server = FeedServer(per_page=2)  # small pages, so paging shows with a few entries
    server.add_item(
        ACT, ACT_TITLE, (MIRROR / ACT / "data.xml").read_bytes(), [effect(1), effect(2), effect(3)]
    )
    server.add_item(REGS, REGS_TITLE, (MIRROR / REGS / "data.xml").read_bytes())
    yield server
    assert all(not p.startswith("/update/data.feed") for p in server.requests)  # never unfiltered
    server.close()


class Kb:
    def __init__(self, tmp_path: Path, site: FeedServer):
        self.home, self.corpus = tmp_path / "kb", tmp_path / "corpus"
        self.corpus.mkdir()
        self.manifest = tmp_path / "sources.yaml"
        self.manifest.write_text(MANIFEST)
        self.site = site
        self.env = {
            "KB_HOME": str(self.home),
            "KB_CORPUS": str(self.corpus),
            "KB_LEGISLATION_URL": site.url,
            "KB_CRAWL_DELAY": "0",
            "KB_SOURCES": "",
        }

    def update(self, *args: str, **env: str):
        self.site.requests.clear()
        result = CliRunner().invoke(
            cli,
            ["update", "--sources", str(self.manifest), *args],
            env={**self.env, **env},
            catch_exceptions=False,
        )
        return result

    @property
    def watermark(self) -> dict:
        return json.loads((self.home / "update.json").read_text())

    def document(self, item: str):
        return read_document(self.corpus / "crawled" / f"{item}.md")

    def version(self) -> str | None:
        return store.current_version(self.home / "index")

    def log_paths(self) -> list[str]:
        start = dt.date.fromisoformat(self.watermark["last_success"][:10])
        today = dt.datetime.now(dt.UTC).date()
        days = [start + dt.timedelta(days=n) for n in range((today - start).days + 1)]
        return [f"/update/{d}/{item}/data.feed" for item in (ACT, REGS) for d in days]


@pytest.fixture
def kb(tmp_path, site):
    return Kb(tmp_path, site)


def test_first_run_is_a_full_crawl_and_says_so(kb):
    result = kb.update()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "no earlier update: full crawl"
    assert "2 item(s) checked, 2 changed, 2 fetched, 0 unchanged, 0 failed" in result.output
    assert "index rebuilt: version" in result.output
    assert kb.site.paths() == [
        f"/{ACT}/data.xml",
        f"/changes/affected/{ACT}/data.feed",
        f"/changes/affected/{ACT}/data.feed?page=2",  # the feed's next link, on our base
        f"/{REGS}/data.xml",
        f"/changes/affected/{REGS}/data.feed",
    ]
    assert len(effects(kb.document(ACT).document.extra["effects"])) == 3
    assert kb.version() is not None
    assert kb.watermark["last_success"].endswith("Z")
    assert set(kb.watermark["items"]) == {ACT, REGS}


def test_nothing_published_asks_only_the_log(kb):
    kb.update()
    version, before = kb.version(), kb.watermark["last_success"]
    result = kb.update()
    assert result.exit_code == 0, result.output
    assert kb.site.paths() == kb_log_paths_from(kb, before)
    assert "2 item(s) checked, 0 changed, 0 fetched, 2 unchanged, 0 failed" in result.output
    assert "index not rebuilt: nothing changed" in result.output
    assert kb.version() == version
    assert kb.watermark["last_success"] >= before


def kb_log_paths_from(kb: Kb, last_success: str) -> list[str]:
    start = dt.date.fromisoformat(last_success[:10])
    today = dt.datetime.now(dt.UTC).date()
    days = [start + dt.timedelta(days=n) for n in range((today - start).days + 1)]
    return [f"/update/{d}/{item}/data.feed" for item in (ACT, REGS) for d in days]


def test_one_effect_refetches_that_items_changes_feed_and_nothing_else(kb):
    kb.update()
    version, log = kb.version(), kb.log_paths()
    kb.site.publish_effect(effect(4, pin="section/3A/1", modified="2036-11-30T10:00:00Z"))
    result = kb.update()
    assert result.exit_code == 0, result.output
    assert kb.site.paths() == [
        *log[: len(log) // 2],
        f"/changes/affected/{ACT}/data.feed",
        f"/changes/affected/{ACT}/data.feed?page=2",
        *log[len(log) // 2 :],
    ]
    assert "2 item(s) checked, 1 changed, 1 fetched, 1 unchanged, 0 failed" in result.output
    line = next(x for x in result.output.splitlines() if "example-act" in x)
    assert line.split()[0] == "fetched" and "effects published" in line
    found = effects(kb.document(ACT).document.extra["effects"])
    assert [e.id for e in found if e.affects("section/3A")] == [f"key-{4:032x}"]
    assert kb.version() != version  # rebuilt
    assert kb.watermark["items"][ACT]["why"].startswith("effects published")


def test_new_point_in_time_refetches_the_items_text(kb):
    kb.update()
    log = kb.log_paths()
    revised = (
        (MIRROR / ACT / "data.xml")
        .read_bytes()
        .replace(
            b"must keep its widget services under review", b"must review its widget services yearly"
        )
    )
    kb.site.publish_version(ACT, "2036-10-01", revised)
    result = kb.update()
    assert result.exit_code == 0, result.output
    assert kb.site.paths() == [*log[: len(log) // 2], f"/{ACT}/data.xml", *log[len(log) // 2 :]]
    assert "point in time 2036-10-01 published" in result.output
    assert "review its widget services yearly" in kb.document(ACT).body
    # the effects came from the cached feed, without a request
    assert len(kb.document(ACT).document.extra["effects"]) == 3


def test_failed_fetch_keeps_corpus_index_and_watermark(kb):
    kb.update()
    written = (kb.corpus / "crawled" / f"{ACT}.md").read_bytes()
    version, watermark = kb.version(), (kb.home / "update.json").read_bytes()
    kb.site.publish_version(ACT, "2036-10-01", b"<Legislation/>")
    kb.site.failures[f"/{ACT}/data.xml"] = 500
    result = kb.update()
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "example-act" in x)
    assert line.split()[0] == "failed" and "500" in line
    assert "1 failed" in result.output
    assert (kb.corpus / "crawled" / f"{ACT}.md").read_bytes() == written
    assert kb.version() == version
    assert (kb.home / "update.json").read_bytes() == watermark
    assert "left as it was" in result.output


def test_failed_effects_feed_keeps_the_earlier_effects(kb):
    kb.update()
    written = (kb.corpus / "crawled" / f"{ACT}.md").read_bytes()
    kb.site.publish_effect(effect(4))
    kb.site.failures[f"/changes/affected/{ACT}/data.feed"] = 500
    result = kb.update()
    assert result.exit_code == 1
    assert "effects not fetched: 500" in result.output
    assert (kb.corpus / "crawled" / f"{ACT}.md").read_bytes() == written


def test_failed_build_keeps_the_index_and_the_watermark(kb):
    kb.update()
    version, watermark = kb.version(), (kb.home / "update.json").read_bytes()
    kb.site.publish_effect(effect(4))
    result = kb.update(KB_ENGINE="no-such-engine")
    assert result.exit_code == 1
    assert "build failed, the index being served was kept" in result.output
    assert kb.version() == version
    assert (kb.home / "update.json").read_bytes() == watermark


def test_log_pages_are_followed(kb):
    kb.update()
    now = dt.datetime.now(dt.UTC)
    # newest first: two PDF entries fill page 1, the effects entry is on page 2
    kb.site.publish_effect(effect(4), when=now)
    for minutes in (1, 2):
        kb.site.log_event(
            LogRecord(
                ACT, ACT_TITLE, now + dt.timedelta(minutes=minutes), "legislation", format="pdf"
            )
        )
    result = kb.update()
    assert result.exit_code == 0, result.output
    today = f"/update/{now.date()}/{ACT}/data.feed"
    assert today in kb.site.paths() and f"{today}?page=2" in kb.site.paths()
    assert f"/changes/affected/{ACT}/data.feed" in kb.site.paths()
    assert f"/{ACT}/data.xml" not in kb.site.paths()  # a PDF does not change the corpus


def test_a_long_span_reads_the_items_undated_log_newest_first(kb):
    kb.update()
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).date()
    kb.site.publish_effect(effect(4))
    result = kb.update("--since", since.isoformat())
    assert result.exit_code == 0, result.output
    assert f"changes since {since}T00:00:00Z" in result.output
    assert kb.site.paths() == [
        f"/update/{ACT}/data.feed?sort=date&sortorder=descending",
        f"/changes/affected/{ACT}/data.feed",
        f"/changes/affected/{ACT}/data.feed?page=2",
        f"/update/{REGS}/data.feed?sort=date&sortorder=descending",
    ]


def test_a_watermark_before_the_publication_log_means_a_full_crawl(kb):
    kb.update()
    kb.home.joinpath("update.json").write_text(
        json.dumps({"last_success": "2023-01-02T00:00:00Z", "items": {}})
    )
    result = kb.update()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "last update 2023-01-02 is before the Publication Log begins (2023-07-05): full crawl"
    )
    assert not any(p.startswith("/update/") for p in kb.site.paths())
    assert kb.watermark["last_success"] > "2023-07-05"


def test_the_request_budget_stops_the_update(kb):
    kb.update()
    watermark = (kb.home / "update.json").read_bytes()
    kb.site.publish_effect(effect(4))
    result = kb.update(KB_UPDATE_MAX_REQUESTS="2")  # robots.txt, then one log feed
    assert result.exit_code == 1
    assert "stopped: the request budget of 2 (KB_UPDATE_MAX_REQUESTS) was spent" in result.output
    assert len(kb.site.requests) == 2
    assert (kb.home / "update.json").read_bytes() == watermark


def test_json_report(kb):
    kb.update()
    kb.site.publish_effect(effect(4))
    result = kb.update("--json", "--no-build")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {
        k: report[k] for k in ("mode", "checked", "changed", "fetched", "unchanged", "failed")
    } == {
        "mode": "update",
        "checked": 2,
        "changed": 1,
        "fetched": 1,
        "unchanged": 1,
        "failed": 0,
    }
    assert report["requests"] == len(kb.site.requests)
    assert report["build"] == "skipped" and report["watermark_written"] is True
    assert [i["status"] for i in report["items"]] == ["fetched", "unchanged"]
    assert kb.watermark["needs_build"] is True  # so the next update builds
    again = kb.update()
    assert "index rebuilt" in again.output


def test_full_flag_crawls_everything(kb):
    kb.update()
    result = kb.update("--full")
    assert result.output.splitlines()[0] == "--full given: full crawl"
    assert f"/{REGS}/data.xml" in kb.site.paths()
    assert not any(p.startswith("/update/") for p in kb.site.paths())


def test_a_complete_kb_crawl_sets_the_watermark_and_the_next_update_builds(kb):
    result = CliRunner().invoke(
        cli, ["crawl", "--sources", str(kb.manifest)], env=kb.env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "update watermark set in" in result.output
    assert kb.watermark["needs_build"] is True and set(kb.watermark["items"]) == {ACT, REGS}
    assert kb.version() is None
    update = kb.update()
    assert update.exit_code == 0, update.output
    assert kb.site.paths() == kb.log_paths()  # nothing re-fetched, but the index is built
    assert "index rebuilt" in update.output and kb.version() is not None
    assert kb.watermark["needs_build"] is False


def test_log_urls_for_calendar_and_regnal_items():
    from kb.core.config import Settings
    from kb.update import log_urls

    settings = Settings(legislation_url="https://www.legislation.gov.uk/")
    since = dt.datetime(2031, 1, 30, 23, 59, tzinfo=dt.UTC)
    assert log_urls(settings, "ukpga/Geo6/6-7/48", since, dt.date(2031, 2, 1)) == [
        f"https://www.legislation.gov.uk/update/2031-01-{d}/ukpga/Geo6/6-7/48/data.feed"
        for d in ("30", "31")
    ] + ["https://www.legislation.gov.uk/update/2031-02-01/ukpga/Geo6/6-7/48/data.feed"]
    settings.update_max_days = 1
    assert log_urls(settings, "ukpga/2031/7", since, dt.date(2031, 2, 1)) == [
        "https://www.legislation.gov.uk/update/ukpga/2031/7/data.feed?sort=date&sortorder=descending"
    ]


@pytest.mark.parametrize("name", ["KB_UPDATE_MAX_DAYS", "KB_UPDATE_MAX_REQUESTS"])
def test_update_settings_must_be_whole_numbers_above_zero(name):
    from kb.core.config import Settings

    assert getattr(Settings.from_env({name: "7"}), name[3:].lower()) == 7
    for bad in ("0", "-1", "many"):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: bad})
