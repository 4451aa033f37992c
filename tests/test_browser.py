"""The pages, the intranet widget and the iframe embed, used in a real browser (Debian's chromium).

The knowledge base runs as `kb serve` in a subprocess; two tiny static servers on other
127.0.0.1 ports play intranets: one the operator allowed (KB_CORS_ORIGINS, KB_EMBED_ANCESTORS),
one it did not. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from kb.core.config import PROJECT_ROOT
from tests.conftest import SAMPLES

pytestmark = pytest.mark.slow  # run by CI and the README's command; skip with -m "not slow"

CHROMIUM = os.environ.get("KB_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERIOUS = ("serious", "critical")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no chromium at {CHROMIUM} (CI installs it with apt-get)", allow_module_level=True)

# An intranet page with hostile styles: none of them may reach inside the widget, and none of
# the widget's may reach out (the page's own .result list keeps its look).
INTRANET_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Council intranet: HR</title>
<style>
  * {{ color: rgb(128, 0, 0) !important; font-family: "Courier New", monospace; letter-spacing: 2px; }}
  body {{ font-size: 22px; background: #fff; margin: 1rem; }}
  li, p, a, button, input {{ border: 3px dashed rgb(0, 128, 0); }}
  .result {{ background-color: rgb(255, 255, 0); }}
  .theme kb-search {{ --kb-accent: #5b1f69; --kb-radius: 6px; }}
</style></head>
<body>
<header><h1>Human resources</h1></header>
<main class="theme">
  <h2>Search the law</h2>
  <script src="{kb}/widget.js" data-kb-search data-label="Search statutory guidance" data-limit="4"></script>
  <h2>Our own list</h2>
  <ul><li class="result" id="own-result">An intranet item styled by the intranet</li></ul>
</main>
</body></html>
"""
# The second way the README offers: load the script once, place <kb-search> elements by hand.
ELEMENTS_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Council intranet: legal</title>
<script src="{kb}/widget.js" defer></script></head>
<body><main><h1>Legal services</h1>
<h2>Acts in force</h2>
<kb-search id="acts" label="Search HR law" limit="2" status="current" doc-type="act"></kb-search>
<h2>Everything</h2>
<kb-search id="all" label="Search everything" mode="hybrid"></kb-search>
</main></body></html>
"""
EMBED_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Council intranet: embed</title></head>
<body><main><h1>Find guidance</h1>
<iframe src="{kb}/embed" title="Search statutory guidance" width="720" height="620"></iframe>
</main></body></html>
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _static_server(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The knowledge base, an allowed intranet and a foreign site, all on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("browser")
    pages = tmp / "intranet"
    pages.mkdir()
    intranet, intranet_url = _static_server(pages)
    foreign, foreign_url = _static_server(pages)
    port = _free_port()
    kb_url = f"http://127.0.0.1:{port}"
    (pages / "hr.html").write_text(INTRANET_PAGE.format(kb=kb_url), encoding="utf-8")
    (pages / "embed.html").write_text(EMBED_PAGE.format(kb=kb_url), encoding="utf-8")
    (pages / "legal.html").write_text(ELEMENTS_PAGE.format(kb=kb_url), encoding="utf-8")

    env = {
        **os.environ,
        "KB_HOME": str(tmp / "home"),
        "KB_CORPUS": str(SAMPLES),
        "KB_CORS_ORIGINS": intranet_url,
        "KB_EMBED_ANCESTORS": intranet_url,
    }
    subprocess.run([sys.executable, "-m", "kb", "build", "--quiet"], env=env, check=True)
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120  # only a server that never starts takes this long
        while True:
            try:
                _get_json(f"{kb_url}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp / "serve.log").read_text()) from None
                time.sleep(0.1)
        yield {"kb": kb_url, "intranet": intranet_url, "foreign": foreign_url}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        intranet.shutdown()
        foreign.shutdown()


@pytest.fixture(scope="module")
def chromium():
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def tab(chromium, sites):
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    context.set_default_timeout(30_000)  # a hang guard; expect() returns as soon as it holds
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page, name: str, full_page: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def assert_accessible(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    (ARTIFACTS / f"axe-{name}.json").write_text(
        json.dumps(results.response["violations"], indent=1)
    )
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )


def in_viewport(locator) -> bool:
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"
    )


def a_deep_provision(kb: str) -> tuple[str, str]:
    """A document id and the anchor id of a provision near its end (so reaching it scrolls)."""
    docs = _get_json(f"{kb}/api/v1/documents")["documents"]
    longest = max(docs, key=lambda d: d["passage_count"] or 0)
    contents = _get_json(f"{kb}/api/v1/documents/{longest['id']}")["contents"]
    last = [c for c in contents if c["has_text"] and not c["heading"]][-2]
    return longest["id"], last["pin"]


# --- pages --------------------------------------------------------------------------------


def test_search_then_filter_by_a_facet(tab, sites):
    tab.goto(sites["kb"] + "/")
    tab.get_by_label("Words, a “quoted phrase”, or a citation").fill("consult")
    tab.keyboard.press("Enter")
    heading = tab.locator("#results-heading")
    sync_api.expect(heading).to_contain_text("found")
    before = tab.locator(".result").count()
    assert before > 1
    assert tab.locator(".snippet mark").count() > 0
    shot(tab, "search-results", full_page=True)

    act = tab.locator(".facets a", has_text="Act").first
    act.click()
    tab.wait_for_url("**doc_type=act**")
    sync_api.expect(tab.locator(".facets a[aria-current=true]")).to_contain_text("Act")
    types = tab.locator(".result .doc-type").all_inner_texts()
    assert types and set(types) == {"Act"}
    assert_accessible(tab, "search-results")


def test_not_operative_text_extent_and_outstanding_changes_are_shown(tab, sites):
    # Within one Act, so its long title (ranked after every operative match) is on page 1
    tab.goto(sites["kb"] + "/?q=involve+local+people+consult&document=ukpga/2031/12")
    intro = tab.locator(".result.not-operative")
    sync_api.expect(intro.first).to_be_visible()
    sync_api.expect(intro.first.locator(".badge-not-operative")).to_have_text(
        "Not operative text: introductory text"
    )
    first = tab.locator(".result").first
    assert "not-operative" not in (first.get_attribute("class") or "")
    tab.locator(".facets a", has_text="Wales").first.click()
    tab.wait_for_url("**extent=W**")
    chosen = tab.locator(".facets a[aria-current=true]", has_text="Wales")
    sync_api.expect(chosen).to_have_count(1)
    extents = tab.locator(".result .extent abbr").all_inner_texts()
    assert extents and all("W" in e for e in extents)
    assert_accessible(tab, "search-extent")

    tab.goto(sites["kb"] + "/d/ukpga/2031/12")
    banner = tab.locator(".banner-changes")
    sync_api.expect(banner).to_be_visible()
    sync_api.expect(banner.locator("h2")).to_have_text("Changes to legislation")
    sync_api.expect(banner.locator("li")).to_have_count(2)
    sync_api.expect(tab.locator("#section-4-3 .change-flag")).to_be_visible()
    shot(tab, "reader-outstanding-changes", full_page=True)
    assert_accessible(tab, "reader-outstanding-changes")


def test_copy_citation_puts_it_on_the_clipboard_and_says_so(chromium, sites):
    context = chromium.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=sites["kb"])
    tab = context.new_page()
    try:
        tab.goto(sites["kb"] + "/?q=consult")
        button = tab.locator(".result button.copy").first
        sync_api.expect(button).to_be_visible()  # hidden until the script enhances it
        citation = button.get_attribute("data-copy")
        button.click()
        sync_api.expect(button).to_contain_text("Copied")
        sync_api.expect(tab.locator("[role=status]")).to_have_text(f"Citation copied: {citation}")
        assert tab.evaluate("navigator.clipboard.readText()") == citation
    finally:
        context.close()


def test_passage_permalink_opens_scrolled_to_the_highlighted_provision(tab, sites):
    doc_id, pin = a_deep_provision(sites["kb"])
    tab.goto(f"{sites['kb']}/p/{doc_id}/{pin}")
    target = tab.locator(".document [data-target]")
    sync_api.expect(target).to_have_count(1)
    tab.wait_for_function("window.scrollY > 0")
    assert in_viewport(target)
    assert target.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(234, 242, 251)"
    panel = tab.locator(".provision-panel")
    sync_api.expect(panel.locator("h3", has_text="Cited by")).to_be_visible()
    assert in_viewport(panel.locator(".citation-text"))  # sticky: the citation stays in view
    shot(tab, "reader-permalink")
    assert_accessible(tab, "reader")

    tab.emulate_media(media="print")
    shot(tab, "reader-print", full_page=True)
    assert tab.locator(".toc").is_hidden() and tab.locator(".site-header nav").is_hidden()


def test_document_anchor_link_opens_at_that_provision(tab, sites):
    doc_id, pin = a_deep_provision(sites["kb"])
    anchor = pin.replace("/", "-")
    tab.goto(f"{sites['kb']}/d/{doc_id}#{anchor}")
    target = tab.locator(f"[id='{anchor}']")
    assert target.evaluate("el => el.matches(':target')")
    assert in_viewport(target)
    # the arrival flash ends on the steady highlight (expect waits for it)
    sync_api.expect(target).to_have_css("background-color", "rgb(234, 242, 251)")
    # the table of contents jumps within the page
    toc_link = tab.locator(".toc a").first
    toc_link.click()
    assert tab.evaluate("location.hash") == toc_link.get_attribute("href")


def test_documents_and_api_pages_are_accessible(tab, sites):
    tab.goto(sites["kb"] + "/documents")
    assert tab.locator("table.documents tbody tr").count() >= 4
    shot(tab, "documents")
    assert_accessible(tab, "documents")
    tab.goto(sites["kb"] + "/api")
    sync_api.expect(tab.locator("h2", has_text="GET /api/v1/search")).to_be_visible()
    shot(tab, "api")
    assert_accessible(tab, "api")


def test_search_by_keyboard_alone(tab, sites):
    tab.goto(sites["kb"] + "/")
    tab.keyboard.press("Tab")
    focused = tab.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    tab.keyboard.press("Enter")
    for _ in range(5):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.id") == "q":
            break
    assert tab.evaluate("document.activeElement.id") == "q"
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    tab.keyboard.type("duty to consult")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**q=duty+to+consult**")

    # Tab through the filters to the first result and open it with Enter.
    for _ in range(80):
        tab.keyboard.press("Tab")
        if tab.evaluate("!!document.activeElement.closest('.result h3')"):
            break
    href = tab.evaluate("document.activeElement.getAttribute('href')")
    assert href and href.startswith("/p/")
    shot(tab, "keyboard-focus-on-result")
    tab.keyboard.press("Enter")
    tab.wait_for_url(f"**{href}")
    sync_api.expect(tab.locator(".provision-panel")).to_be_visible()


# --- intranet widget and embed ------------------------------------------------------------


def test_widget_on_an_allowed_intranet_searches_across_origins(tab, sites):
    api_calls = []
    tab.on("request", lambda r: api_calls.append(r.url) if "/api/v1/search" in r.url else None)
    tab.goto(sites["intranet"] + "/hr.html")
    box = tab.get_by_role(
        "searchbox", name="Search statutory guidance"
    )  # labelled, inside the shadow root
    box.fill("consult")
    box.press("Enter")
    results = tab.locator("kb-search li.result")
    sync_api.expect(results.first).to_be_visible()
    assert 1 <= results.count() <= 4  # data-limit
    assert api_calls and api_calls[0].startswith(sites["kb"] + "/api/v1/search?")

    status = tab.locator("kb-search [role=status]")
    sync_api.expect(status).to_contain_text("found for “consult”")
    first = results.first.locator("a.cite")
    assert first.get_attribute("href").startswith(sites["kb"] + "/p/")
    expected = _get_json(f"{sites['kb']}/api/v1/search?q=consult&limit=4")["results"][0]
    assert first.inner_text() == expected["citation"]
    assert results.first.locator(".snippet mark").count() > 0
    assert results.first.locator(".heading").inner_text() == expected["heading"]
    marked = _get_json(f"{sites['kb']}/api/v1/search?q=consult&limit=4")["results"]
    in_heading = sum("<mark>" in hit["heading_html"] for hit in marked)
    assert in_heading and tab.locator("kb-search .heading mark").count() == in_heading
    assert (
        results.first.locator(".badge")
        .inner_text()
        .startswith(
            {"in_force": "In force", "withdrawn": "Withdrawn", "repealed": "Repealed"}.get(
                expected["status"], ""
            )
        )
    )

    # No CSS leaks: the page's rules stop at the shadow root, and the widget's stay inside it.
    inside = first.evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).fontFamily,"
        " getComputedStyle(el).letterSpacing]"
    )
    assert inside[0] != "rgb(128, 0, 0)" and "Courier" not in inside[1] and inside[2] == "normal"
    button = tab.locator("kb-search button")
    assert (
        button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(91, 31, 105)"
    )  # themed
    own = tab.locator("#own-result")
    assert own.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 0)"
    assert own.evaluate("el => getComputedStyle(el).borderTopStyle") == "dashed"

    # Keyboard: from the search box, Tab reaches the results in order.
    box.focus()
    tab.keyboard.press("Tab")  # the Search button
    tab.keyboard.press("Tab")
    active = tab.evaluate(
        "document.querySelector('kb-search').shadowRoot.activeElement.getAttribute('href')"
    )
    assert active == first.get_attribute("href")
    shot(tab, "widget-intranet", full_page=True)
    assert_accessible(tab, "widget-host")

    with tab.expect_navigation():
        first.click()
    assert tab.url == sites["kb"] + expected["url"]


def test_hand_placed_widgets_each_keep_their_own_options(tab, sites):
    api_calls = []
    tab.on("request", lambda r: api_calls.append(r.url) if "/api/v1/search" in r.url else None)
    tab.goto(sites["intranet"] + "/legal.html")
    acts = tab.locator("#acts")
    box = acts.get_by_role("searchbox", name="Search HR law")
    box.fill("consult")
    box.press("Enter")
    results = acts.locator("li.result")
    sync_api.expect(results.first).to_be_visible()
    assert api_calls[0].startswith(sites["kb"] + "/api/v1/search?")  # base: the script's site
    assert "status=current" in api_calls[0] and "doc_type=act" in api_calls[0]
    expected = _get_json(
        f"{sites['kb']}/api/v1/search?q=consult&limit=2&status=current&doc_type=act"
    )["results"]
    assert [r.inner_text() for r in results.locator("a.cite").all()] == [
        hit["citation"] for hit in expected
    ]
    more = acts.get_by_role("link", name="See all")
    href = more.get_attribute("href")  # the full search keeps this widget's filters
    assert href.startswith(sites["kb"] + "/?") and "doc_type=act" in href and "limit" not in href
    assert tab.locator("#all li.result").count() == 0  # the other widget is untouched

    other = tab.locator("#all").get_by_role("searchbox", name="Search everything")
    other.fill("joiners")
    other.press("Enter")
    sync_api.expect(tab.locator("#all li.result").first).to_be_visible()
    assert "doc_type" not in api_calls[-1] and "limit=5" in api_calls[-1]  # the defaults
    # mode="hybrid" is asked for; a knowledge base that cannot rank by meaning answers
    # hybrid_unavailable and the widget searches by keyword instead
    hybrid_calls = [url for url in api_calls if "q=joiners" in url]
    assert "mode=hybrid" in hybrid_calls[0]
    if not _get_json(f"{sites['kb']}/healthz")["hybrid_available"]:
        assert len(hybrid_calls) == 2 and "mode=" not in hybrid_calls[1]
    assert results.count() == len(expected)
    shot(tab, "widget-elements", full_page=True)
    assert_accessible(tab, "widget-elements")


def test_widget_on_a_site_not_allowed_cannot_read_the_api(tab, sites):
    tab.goto(sites["foreign"] + "/hr.html")
    box = tab.get_by_role("searchbox", name="Search statutory guidance")
    box.fill("consult")
    box.press("Enter")
    sync_api.expect(tab.locator("kb-search [role=status]")).to_have_text(
        "The knowledge base could not be reached from this page. If this page is on another "
        "site, ask the knowledge base's operator to add its address to KB_CORS_ORIGINS."
    )
    assert tab.locator("kb-search li.result").count() == 0
    blocked = tab.evaluate(
        "url => fetch(url).then(() => 'read', e => e.name)", sites["kb"] + "/api/v1/documents"
    )
    assert blocked == "TypeError"
    shot(tab, "widget-foreign-origin")


def test_iframe_embed_searches_inside_the_frame(tab, sites):
    tab.goto(sites["intranet"] + "/embed.html")
    frame = tab.frame_locator("iframe")
    frame.get_by_label("Words, a “quoted phrase”, or a citation").fill("new joiners")
    frame.get_by_role("button", name="Search").click()
    first = frame.locator(".embed-results .result h3 a").first
    sync_api.expect(first).to_be_visible()
    assert first.get_attribute("target") == "_blank"
    assert tab.url == sites["intranet"] + "/embed.html"  # the intranet page stays put
    shot(tab, "embed-in-intranet")

    embedded = tab.frames[1]
    assert embedded.url.startswith(sites["kb"] + "/embed?")
    tab.goto(embedded.url)
    assert_accessible(tab, "embed")


def test_a_site_not_allowed_cannot_frame_the_embed(tab, sites):
    # Wait for the iframe's own navigation to commit, whatever it commits to.
    with tab.expect_event("framenavigated", predicate=lambda f: f.parent_frame is not None) as nav:
        tab.goto(sites["foreign"] + "/embed.html")
    frame = nav.value
    frame.wait_for_load_state()
    assert frame.url != sites["kb"] + "/embed"  # chromium replaced it with its error page
    assert frame.locator("form[action='/embed']").count() == 0


def _boxes(page, *selectors: str) -> dict[str, dict[str, float]]:
    return {
        s: page.locator(s).first.evaluate(
            "el => { const r = el.getBoundingClientRect();"
            " return {left: r.left, right: r.right, top: r.top + window.scrollY,"
            " bottom: r.bottom + window.scrollY, width: r.width}; }"
        )
        for s in selectors
    }


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"] - 1
        and b["left"] < a["right"] - 1
        and a["top"] < b["bottom"] - 1
        and b["top"] < a["bottom"] - 1
    )


@pytest.mark.parametrize("width", [390, 1000, 1280])
def test_passage_page_text_panel_and_contents_never_overlap(chromium, sites, width):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale="en-GB")
    tab = context.new_page()
    try:
        doc_id, pin = a_deep_provision(sites["kb"])
        tab.goto(f"{sites['kb']}/p/{doc_id}/{pin}")
        sync_api.expect(tab.locator(".provision-panel")).to_be_visible()
        boxes = _boxes(tab, ".document", ".provision-panel", ".toc", ".site-header .brand", "h1")
        text, panel, toc = boxes[".document"], boxes[".provision-panel"], boxes[".toc"]
        assert not _overlap(text, panel) and not _overlap(text, toc) and not _overlap(panel, toc)
        assert text["width"] >= min(480, width - 40)  # the law text keeps a readable measure
        assert abs(boxes[".site-header .brand"]["left"] - boxes["h1"]["left"]) <= 1
        if width == 390:  # a phone: the text first, then the panel, then the contents
            assert text["top"] < panel["top"] < toc["top"]
        shot(tab, f"reader-{width}")
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_results_come_before_the_filters_on_a_phone(chromium, sites, width):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale="en-GB")
    tab = context.new_page()
    try:
        tab.goto(sites["kb"] + "/?q=consult")
        first = tab.locator(".result").first
        sync_api.expect(first).to_be_visible()
        facet_link = tab.locator(".facets a").first
        if width == 390:
            sync_api.expect(facet_link).to_be_hidden()  # folded behind "Filter results"
            assert in_viewport(tab.locator("#results-heading"))
            tab.locator(".facets summary").click()
            sync_api.expect(facet_link).to_be_visible()
        else:
            sync_api.expect(facet_link).to_be_visible()
        shot(tab, f"search-{width}", full_page=True)
        assert_accessible(tab, f"search-{width}")
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_date_input_and_the_permalink_status_line(chromium, sites, width):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale="en-US")
    tab = context.new_page()  # a US locale: the fields still read day, month, year
    try:
        tab.goto(sites["kb"] + "/?q=joiners")
        date = tab.get_by_role("group", name="Law as it stood on")
        sync_api.expect(date).to_contain_text("For example, 21 10 2008")
        fields = [date.get_by_label(name) for name in ("Day", "Month", "Year")]
        for field, value in zip(fields, ("1", "1", "2025"), strict=True):
            field.fill(value)
            box = field.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
        fields[-1].press("Enter")
        tab.wait_for_url("**as_at_year=2025**")
        results = tab.locator(".result h3").all_inner_texts()
        assert "Example Workforce Code para 2.1" in results
        assert "ECA 2031 s 4(2)" not in results
        shot(tab, f"as-at-{width}", full_page=True)
        assert_accessible(tab, f"as-at-{width}")

        fields = [date.get_by_label(name) for name in ("Day", "Month", "Year")]
        fields[2].fill("")
        fields[1].press("Enter")
        tab.wait_for_url(lambda url: "as_at_year" in url and "as_at_year=2025" not in url)
        error = date.locator(".error-message")
        sync_api.expect(error).to_have_text("Error: “Law as it stood on” must include a year.")
        sync_api.expect(date.get_by_label("Year")).to_have_attribute("aria-invalid", "true")
        shot(tab, f"as-at-error-{width}")
        assert_accessible(tab, f"as-at-error-{width}")

        doc_id, pin = a_deep_provision(sites["kb"])
        tab.goto(f"{sites['kb']}/p/{doc_id}/{pin}")
        line = tab.locator(".document [data-target] .target-status")
        sync_api.expect(line).to_contain_text("This provision:")
        tab.wait_for_function("window.scrollY > 0")
        assert in_viewport(line)  # status in sight without scrolling up to the banners
        shot(tab, f"permalink-status-{width}")
        assert_accessible(tab, f"permalink-status-{width}")
    finally:
        context.close()


def test_favicon_is_served(sites):
    with urllib.request.urlopen(sites["kb"] + "/favicon.ico") as response:
        assert response.headers["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in response.read()
