"""The pages people use: they work without JavaScript, escape what they show, and show status.

Each test runs against each search engine (the `client` and `engine` fixtures are per engine).
"""

import dataclasses
import re

import pytest

from kb.responses import PassageLink
from tests.conftest import page_of


def text_of(response):
    return response.get_data(as_text=True)


def _banner(page: str) -> str:
    """The document's status banner (the first banner on the page)."""
    start = page.index('<div class="banner')
    return page[start : page.index("</div>", start)]


def _date_fields(page: str, id_: str) -> dict[str, str]:
    """What a date input's Day, Month and Year fields hold."""
    return {
        part: re.search(rf'id="{id_}-{part}" name="\w+" value="([^"]*)"', page).group(1)
        for part in ("day", "month", "year")
    }


def test_empty_search_is_a_helpful_page(client):
    page = text_of(client.get("/"))
    assert '<label for="q">' in page
    assert "duty to consult" in page  # an example to try
    assert "6 documents" in page


def test_results_show_citation_copy_control_status_and_permalink(client):
    response = client.get("/?q=new+joiners+terms")
    assert response.status_code == 200
    page = text_of(response)
    assert "Example Commissioning Act 2031, s 4(2)" in page
    assert 'href="/p/ukpga/2031/12/section/4/2"' in page
    assert 'data-copy="Example Commissioning Act 2031, s 4(2)"' in page
    assert (
        'Withdrawn <span class="badge-date">on <time datetime="2030-06-30">30 June 2030</time>'
        in page
    )
    assert "<mark>joiners</mark>" in page


def test_facet_links_filter_the_results(client):
    page = text_of(client.get("/?q=consult"))
    link = re.search(r'href="(/\?q=consult&amp;doc_type=act[^"]*)"', page)
    assert link
    filtered = text_of(client.get(link.group(1).replace("&amp;", "&")))
    assert 'aria-current="true"' in filtered
    assert "Commissioning Guidance 2031 para" not in filtered


def test_a_cut_facet_list_says_so(client):
    assert "facet-more" not in text_of(client.get("/?q=consult"))
    page = text_of(client.get("/?q=consult&facet_size=1"))
    assert "The 1 with most passages; narrow the search to see others." in page


def test_bad_query_is_a_friendly_400_page(client):
    response = client.get('/?q="unclosed')
    assert response.status_code == 400
    page = text_of(response)
    assert "couldn't run that search" in page
    assert "quotation mark is not closed" in page
    assert "Traceback" not in page


def test_query_is_escaped_in_the_page(client):
    page = text_of(client.get("/?q=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_passage_permalink_shows_it_in_its_document(client):
    response = client.get("/p/ukpga/2031/12/section/2/2/a")
    assert response.status_code == 200
    page = text_of(response)
    assert "Example Commissioning Act 2031, s 2(2)(a)" in page
    assert 'id="section-2-2-a"' in page
    assert "is-target" in page
    assert 'href="#part-1"' in page  # table of contents
    assert "Sample document." in page


def test_withdrawn_document_has_a_status_banner(client):
    page = text_of(client.get("/p/code/example-workforce-code-2019/para/2.1"))
    banner = _banner(page)
    assert "banner-warning" in banner
    assert "<strong>Withdrawn on 30 June 2030</strong> with immediate effect;" in banner
    assert banner.count("30 June 2030") == 1 and "2030-06-30" not in banner
    assert "contracts let before that date keep its protections" in banner


def test_repealed_provision_is_marked(client):
    page = text_of(client.get("/d/ukpga/2031/12"))
    section = page[page.index('id="section-2-4"') :][:400]
    assert "Repealed" in section


def test_unknown_passage_is_a_404_page(client):
    response = client.get("/p/guidance/example-commissioning-guidance-2031/para/99")
    assert response.status_code == 404
    page = text_of(response)
    assert "There is no passage" in page and "legislation.gov.uk" not in page


def test_documents_page_lists_everything(client):
    page = text_of(client.get("/documents"))
    assert page.count('<th scope="row">') == 6


def test_raw_html_in_the_corpus_is_never_rendered(engine, tmp_kb, write_md):
    write_md(
        "x.md",
        {"id": "local/x", "title": "X", "doc_type": "local_policy", "status": "in_force"},
        "# Rules\n\n<script>alert(1)</script> and [a link](javascript:alert(1)).\n",
    )
    page = page_of(tmp_kb(engine), "/d/local/x")
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript' not in page


def test_tables_show_as_tables_with_their_cells_escaped(engine, tmp_kb, write_md):
    write_md(
        "t.md",
        {"id": "local/t", "title": "T", "doc_type": "local_policy", "status": "in_force"},
        "1.1 Fees:\n\n| Service | Fee |\n| --- | --- |\n| Licence <b>now</b> | £10 |\n",
    )
    page = page_of(tmp_kb(engine), "/d/local/t")
    assert "<th>Service</th>" in page and "<td>£10</td>" in page
    assert "<td>Licence &lt;b&gt;now&lt;/b&gt;</td>" in page
    assert "| --- |" not in page


def _wrap_search(monkeypatch, **extra):
    """Make the page's search return extra response keys (what a richer engine adds)."""
    from kb.web import resources

    real = resources.run_search

    def fake(*args, **kwargs):
        response = real(*args, **kwargs)
        if "facets" in extra:
            extra["facets"] = {**response["facets"], **extra["facets"]}
        return dataclasses.replace(response, **extra)

    monkeypatch.setattr(resources, "run_search", fake)


def test_every_facet_the_engine_returns_is_shown(client, monkeypatch):
    _wrap_search(monkeypatch, facets={"region": [{"value": "wales", "count": 2}]})
    page = text_of(client.get("/?q=consult&status=current"))
    for title in ("Status", "Type", "Document", "Region"):
        assert f">{title}</h3>" in page
    assert '>Wales <span class="count">(2)</span>' in page
    # Not a filter search accepts, so it is shown without a link.
    assert "region=wales" not in page


def test_a_selected_facet_links_to_removing_only_itself(client):
    page = text_of(client.get("/?q=consult&status=current&doc_type=act"))
    link = re.search(r'<a href="([^"]*)" aria-current="true" class="facet-active">Act', page)
    assert link
    href = link.group(1).replace("&amp;", "&")
    assert "doc_type=" not in href and "status=current" in href


def test_did_you_mean_is_a_link_that_keeps_filters(client, monkeypatch):
    _wrap_search(monkeypatch, suggestion="consult")
    page = text_of(client.get("/?q=consutl&status=current"))
    assert "Did you mean" in page
    assert 'href="/?q=consult&amp;status=current" class="suggestion-link">consult</a>' in page


def test_no_suggestion_no_did_you_mean(client, monkeypatch):
    _wrap_search(monkeypatch, suggestion=None)
    assert "Did you mean" not in text_of(client.get("/?q=consult"))


def test_a_cited_provision_is_shown_first_in_its_own_box(client, monkeypatch):
    cited = {
        "ref": "s 9 ECA 2031",
        "id": "ukpga/2031/12/section/9",
        "citation": "Example Commissioning Act 2031, s 9",
        "short_citation": "ECA 2031 s 9",
        "url": "/p/ukpga/2031/12/section/9",
        "in_index": True,
        "status": "repealed",
        "status_date": "2032-01-01",
    }
    _wrap_search(monkeypatch, citation=cited)
    page = text_of(client.get("/?q=s+9+ECA+2031"))
    box = page[page.index('class="cited-box"') :]
    assert box.index("The provision you cited") < box.index('class="results-layout"')
    assert 'href="/p/ukpga/2031/12/section/9">Example Commissioning Act 2031, s 9</a>' in box
    assert "Repealed" in box[: box.index('class="results-layout"')]
    assert 'data-copy="Example Commissioning Act 2031, s 9"' in box


def test_a_cited_provision_outside_the_index_links_to_its_source(client, monkeypatch):
    cited = {
        "ref": "s 3 LGA 1999",
        "id": "ukpga/1999/27/section/3",
        "citation": "Local Government Act 1999, s 3",
        "short_citation": "LGA 1999 s 3",
        "url": "https://www.legislation.gov.uk/ukpga/1999/27/section/3",
        "in_index": False,
    }
    _wrap_search(monkeypatch, citation=cited)
    page = text_of(client.get("/?q=s+3+LGA+1999"))
    assert "not in the knowledge base" in page
    assert 'href="https://www.legislation.gov.uk/ukpga/1999/27/section/3"' in page
    assert 'href="/p/ukpga/1999/27/section/3"' not in page


def test_pagination_numbers_pages_and_marks_the_current_one(client):
    total = client.get("/api/v1/search?q=consult&limit=2").get_json()["total"]
    assert total > 4
    page = text_of(client.get("/?q=consult&limit=2&offset=2"))
    nav = page[page.index('aria-label="Results pages"') :]
    assert f"Results 3–4 of {total}" in nav
    assert re.search(
        r'aria-current="page" class="current"><span class="visually-hidden">Page </span>2<', nav
    )
    assert 'rel="prev" href="/?q=consult&amp;limit=2"' in nav
    assert 'rel="next" href="/?q=consult&amp;limit=2&amp;offset=4"' in nav


def test_reader_side_panel_lists_citing_and_amending_passages(client, monkeypatch):
    from kb.web import resources

    real = resources.provision_json

    def with_links(found):
        cited_by = PassageLink(
            id="guidance/example/para/2.1",
            citation="Example guidance para 2.1",
            in_index=True,
            short_citation="Guide para 2.1",
            title="Example guidance",
            status="withdrawn",
        )
        amended_by = PassageLink(
            id="ukpga/2032/4/section/5", citation="Amending Act 2032, s 5", in_index=False
        )
        return dataclasses.replace(real(found), cited_by=[cited_by], amended_by=[amended_by])

    monkeypatch.setattr(resources, "provision_json", with_links)
    page = text_of(client.get("/p/ukpga/2031/12/section/2/2"))
    panel = page[page.index('class="provision-panel"') : page.index('class="toc"')]
    assert 'href="/p/guidance/example/para/2.1">Guide para 2.1</a>' in panel
    assert "Withdrawn" in panel
    assert 'href="/p/ukpga/2032/4/section/5">Amending Act 2032, s 5</a>' in panel
    assert "No passage in this knowledge base cites it." not in panel
    assert ">Cites</h3>" not in panel  # an empty list of what it cites is left out


def test_reader_side_panel_has_empty_states(client):
    page = text_of(client.get("/p/ukpga/2031/12/section/1/2"))
    panel = page[page.index('class="provision-panel"') : page.index('class="toc"')]
    assert "ECA 2031 s 1(2)" in panel
    assert "No passage in this knowledge base cites it." in panel
    assert "No amendment to it is recorded here." in panel
    assert 'href="#section-1-2"' in panel


def test_reader_side_panel_lists_what_cites_the_provision(client):
    page = text_of(client.get("/p/ukpga/2031/12/section/2/2"))
    panel = page[page.index('class="provision-panel"') : page.index('class="toc"')]
    assert "No passage in this knowledge base cites it." not in panel
    assert (
        'href="/p/local/exampleton/letter-2032-02-03/heading/commissioning-and-your-workforce"'
        in panel
    )
    assert 'href="/p/local/exampleton/commissioning-policy/heading/principles"' in panel


def test_the_target_provision_is_marked_for_scrolling(client):
    page = text_of(client.get("/p/ukpga/2031/12/section/2/2"))
    assert re.search(r'id="section-2-2" class="[^"]*is-target[^"]*" data-target', page)
    assert page.count("data-target") == 1
    assert "provision-panel" not in text_of(client.get("/d/ukpga/2031/12"))


def test_headings_do_not_skip_levels(client):
    for path in (
        "/?q=consult",
        "/p/ukpga/2031/12/section/2/2",
        "/d/ukpga/2031/12",
        "/documents",
        "/api",
    ):
        levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", text_of(client.get(path)))]
        assert levels[0] == 1, path
        for before, after in zip(levels, levels[1:], strict=False):
            assert after <= before + 1, f"{path}: h{before} then h{after}"


def test_embed_is_a_compact_search_without_site_chrome(client):
    page = text_of(client.get("/embed?q=consult"))
    assert 'action="/embed"' in page
    assert "site-header" not in page and "Skip to main content" not in page
    assert '<label for="q">' in page
    assert re.search(r'<a href="/p/[^"]+" target="_blank" rel="noopener">', page)
    assert "opens in a new tab" in page
    assert (
        'class="heading-path">reg 4 Duty to inform and <mark>consult</mark> representatives' in page
    )


def test_widget_script_is_served_as_javascript_and_never_uses_innerhtml(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    source = response.get_data(as_text=True)
    assert "customElements.define" in source and "attachShadow" in source
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source


def test_widget_script_shows_the_vocabulary_s_status_labels(client):
    """The labels are kb.core.vocabularies', written in when the script is served: no copy."""
    import json

    from kb.core.vocabularies import CURRENT_STATUSES, STATUS_LABELS

    response = client.get("/widget.js")
    source = response.get_data(as_text=True)
    line = next(x for x in source.splitlines() if x.strip().startswith("var VOCABULARY = "))
    words = json.loads(line.strip().removeprefix("var VOCABULARY = ").removesuffix(";"))
    assert words["status_labels"] == STATUS_LABELS
    assert words["current_statuses"] == list(CURRENT_STATUSES)
    assert '"Partially in force"' not in source.replace(line, "")  # no second copy
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_site_navigation_marks_the_current_page(client):
    page = text_of(client.get("/documents"))
    assert '<a href="/documents" aria-current="page">' in page
    assert '<a href="/api">API</a>' in page


def test_duties_only_and_as_at_controls_work_without_javascript(client):
    page = text_of(client.get("/?q=consult&duty=true"))
    assert 'id="duties-only" name="duty" value="true" checked' in page
    assert "Exampleton Commissioning Policy" not in page.split('class="results"', 1)[-1]
    old = text_of(client.get("/?q=joiners&as_at=2025-01-01"))
    assert _date_fields(old, "as-at") == {"day": "1", "month": "1", "year": "2025"}
    results = old.split('class="results"', 1)[-1]
    assert "Example Workforce Code para 2.1" in results
    assert "ECA 2031 s 4(2)" not in results


def test_duties_and_their_holders_show_on_results_and_the_reader(client):
    results = text_of(client.get("/?q=new+joiners+terms&doc_type=act"))
    assert '<span class="badge duty-duty">Duty: contractor</span>' in results
    reader = text_of(client.get("/p/ukpga/2031/12/section/1/2"))
    panel = reader[reader.index('class="provision-panel"') : reader.index('class="toc"')]
    assert '<span class="badge duty-power">Power: Secretary of State</span>' in panel


def test_reader_side_panel_says_how_and_when_an_amendment_changed_it(client, monkeypatch):
    from kb.web import resources

    real = resources.provision_json

    def with_changes(found):
        amended_by = [
            {
                "id": "ukpga/2032/4/section/5",
                "citation": "Amending Act 2032, s 5",
                "in_index": False,
                "change": "inserted",
                "date": "2031-04-01",
            },
            {
                "id": "ukpga/2033/1/section/2",
                "citation": "Other Act 2033, s 2",
                "in_index": False,
                "change": None,
                "date": None,
            },
        ]
        amends = {
            "id": "ukpga/1999/27/section/3A",
            "citation": "LGA 1999, s 3A",
            "in_index": False,
            "change": "<b>words</b> substituted",
            "date": "2032-01-09",
        }
        return dataclasses.replace(
            real(found),
            amended_by=[PassageLink.from_dict(link) for link in amended_by],
            amends=[PassageLink.from_dict(amends)],
        )

    monkeypatch.setattr(resources, "provision_json", with_changes)
    page = text_of(client.get("/p/ukpga/2031/12/section/2/2"))
    panel = page[page.index('class="provision-panel"') : page.index('class="toc"')]
    assert (
        '<span class="relation-change">Inserted by</span> '
        '<a href="/p/ukpga/2032/4/section/5">Amending Act 2032, s 5</a>'
    ) in panel
    assert '<time datetime="2031-04-01">1 April 2031</time>' in panel
    assert '<a href="/p/ukpga/2033/1/section/2">Other Act 2033, s 2</a>' in panel
    assert "None" not in panel
    amends = panel[panel.index('id="rel-amends"') :]
    assert "(&lt;b&gt;words&lt;/b&gt; substituted)" in amends and "<b>words" not in amends
    assert "9 January 2032" in amends


def test_sample_long_title_is_marked_not_operative(client):
    # It comes after every operative provision that matches, so look within its own Act.
    page = text_of(client.get("/?q=involve+local+people+consult&document=ukpga/2031/12"))
    intro = next(item for item in page.split('<li class="result')[1:] if "/introduction" in item)
    assert "not-operative" in intro.split(">")[0]
    assert "Not operative text: introductory text" in intro


# --- dates, banners, the permalink's status line -------------------------------------------

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def visible_text(page: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_dates_are_written_the_uk_way_and_iso_only_for_machines(client):
    pages = {
        path: text_of(client.get(path))
        for path in (
            "/?q=new+joiners+terms",
            "/p/code/example-workforce-code-2019/para/2.1",
            "/p/ukpga/2031/12/section/2/4",
            "/d/local/exampleton/letter-2032-02-03",
            "/documents",
            "/embed?q=new+joiners+terms",
        )
    }
    for path, page in pages.items():
        assert not ISO_DATE.findall(visible_text(page)), path
    reader = pages["/p/code/example-workforce-code-2019/para/2.1"]
    assert 'From <time datetime="2019-03-01">1 March 2019</time>' in reader
    assert 'to <time datetime="2030-06-30">30 June 2030</time>' in reader
    act = pages["/p/ukpga/2031/12/section/2/4"]
    assert '<time datetime="2032-01-01">1 January 2032</time>' in act


def test_the_api_keeps_iso_dates(client):
    body = client.get("/api/v1/passages/code/example-workforce-code-2019/para/2.1").get_json()
    assert body["status_date"] == "2030-06-30"


def test_a_sample_has_one_banner(client):
    page = text_of(client.get("/d/ukpga/2031/12"))
    header = page[: page.index('class="reader-layout')]
    assert header.count('<div class="banner') == 1  # the changes banner is a <section>
    assert header.count("Sample document") == 1
    withdrawn = text_of(client.get("/d/code/example-workforce-code-2019"))
    header = withdrawn[: withdrawn.index('class="reader-layout')]
    assert header.count('<div class="banner') == 1
    assert "banner-warning banner-sample" in header


def test_the_banner_says_a_status_date_once_however_the_note_words_it():
    from kb.web.render import status_banner

    def said(**document):
        found = status_banner({"status": "withdrawn", "status_date": "2011-03-23", **document})
        return found["lead"] + found["rest"]

    expected = "Withdrawn on 23 March 2011; replaced by the 2011 code."
    assert said(status_note="Withdrawn on 23 March 2011; replaced by the 2011 code.") == expected
    assert said(status_note="Withdrawn on 2011-03-23; replaced by the 2011 code.") == expected
    assert said(status_note="Replaced by the 2011 code.") == (
        "Withdrawn on 23 March 2011. Replaced by the 2011 code."
    )
    assert said() == "Withdrawn on 23 March 2011. This text is not current: check what replaced it."
    assert status_banner({"status": "in_force", "status_date": "2031-04-01"}) is None
    in_force = status_banner(
        {"status": "in_force", "status_date": "2031-04-01", "status_note": "Commenced by order."}
    )
    assert in_force["lead"] + in_force["rest"] == "In force since 1 April 2031. Commenced by order."


def _target_block(page: str) -> str:
    start = page.index("data-target")
    return page[start : page.index("</p>", page.index('class="target-status"', start))]


def test_a_permalink_states_the_provisions_status_where_it_is_highlighted(client):
    repealed = _target_block(text_of(client.get("/p/ukpga/2031/12/section/2/4")))
    assert "Repealed on 1 January 2032" in repealed
    assert "Sample document: not law or official guidance" in repealed
    withdrawn = _target_block(text_of(client.get("/p/code/example-workforce-code-2019/para/2.1")))
    assert "Withdrawn on 30 June 2030" in withdrawn
    changed = _target_block(text_of(client.get("/p/ukpga/2031/12/section/4/3")))
    assert "In force since 1 April 2031" in changed
    assert '<a href="#target-heading">Changes not yet made to it</a>' in changed
    # a document page highlights nothing, so has no such line
    assert 'class="target-status"' not in text_of(client.get("/d/ukpga/2031/12"))


# --- the "Law as it stood on" date input --------------------------------------------------


def _results(page: str) -> str:
    return page.split('class="results"', 1)[-1]


def test_the_date_input_searches_the_law_as_it_stood_that_day(client):
    typed = text_of(client.get("/?q=joiners&as_at_day=1&as_at_month=1&as_at_year=2025"))
    linked = text_of(client.get("/?q=joiners&as_at=2025-01-01"))
    assert "Example Workforce Code para 2.1" in _results(typed)
    assert "ECA 2031 s 4(2)" not in _results(typed)
    assert _results(typed).count('class="result') == _results(linked).count('class="result')
    assert _date_fields(typed, "as-at") == {"day": "1", "month": "1", "year": "2025"}
    json_link = re.search(r'href="(/api/v1/search\?[^"]*)"', typed).group(1)
    assert "as_at=2025-01-01" in json_link and "as_at_day" not in json_link
    page = text_of(client.get("/"))
    assert "<legend>Law as it stood on</legend>" in page
    assert "For example, 21 10 2008." in page
    for part, title in (("day", "Day"), ("month", "Month"), ("year", "Year")):
        assert f'<label for="as-at-{part}">{title}</label>' in page
        assert f'inputmode="numeric" id="as-at-{part}" name="as_at_{part}"' in page


@pytest.mark.parametrize(
    "query,message,wrong",
    [
        ("as_at_day=1&as_at_month=4", "“Law as it stood on” must include a year.", {"year"}),
        ("as_at_year=2031", "“Law as it stood on” must include a day and month.", {"day", "month"}),
        ("as_at_day=31&as_at_month=2&as_at_year=2031", "must be a real date", {"day"}),
        ("as_at_day=1&as_at_month=13&as_at_year=2031", "must be a real date", {"month"}),
        ("as_at_day=1&as_at_month=4&as_at_year=31", "The year of “Law as it stood on”", {"year"}),
        ("as_at_day=first&as_at_month=4&as_at_year=2031", "in numbers", {"day"}),
        ("as_at=2031-02-31", "must be a date like 21 10 2008", {"day", "month", "year"}),
    ],
)
def test_an_incomplete_or_impossible_date_is_refused_naming_the_field(
    client, query, message, wrong
):
    for q in ("q=joiners&", ""):  # with a search, and with the date alone
        response = client.get(f"/?{q}{query}")
        assert response.status_code == 400
        page = text_of(response)
        assert message in page
        assert 'id="as-at-error"' in page and 'aria-describedby="as-at-hint as-at-error"' in page
        invalid = set(re.findall(r'id="as-at-(\w+)"[^>]*aria-invalid="true"', page))
        assert invalid == wrong
        assert "0 passages found" not in page  # refused, not searched without the date


def test_the_changes_page_takes_its_date_in_three_fields_too(client):
    page = text_of(client.get("/changes?since=2031-04-01"))
    assert _date_fields(page, "since") == {"day": "1", "month": "4", "year": "2031"}
    assert "<legend>Changes since</legend>" in page
    typed = client.get("/changes?since_day=1&since_month=4&since_year=2031")
    assert typed.status_code == 200
    assert 'since <time datetime="2031-04-01">1 April 2031</time>' in text_of(typed)
    bad = client.get("/changes?since_day=30&since_month=2&since_year=2031")
    assert bad.status_code == 400
    assert "“Changes since” must be a real date" in text_of(bad)


# --- facets keep their other values --------------------------------------------------------


def _facet_items(page: str, name: str) -> dict[str, str]:
    """A facet group's links on the page: label -> count."""
    group = page.split(f'id="facet-{name}"', 1)[1].split("</ul>", 1)[0]
    return dict(re.findall(r'>([^<>]+?) <span class="count">\((\d+)\)</span>', group))


def test_choosing_a_facet_value_keeps_the_groups_other_values(client):
    everything = _facet_items(text_of(client.get("/?q=consult")), "doc_type")
    page = text_of(client.get("/?q=consult&doc_type=act"))
    assert _facet_items(page, "doc_type") == everything
    assert len(everything) > 2
    assert 'aria-current="true" class="facet-active">Act' in page
    # another value adds to the choice (either type), its count what it would add
    assert re.search(r'href="/\?q=consult&amp;doc_type=act&amp;doc_type=si"', page)
    assert "Commissioning Guidance 2031 para" not in _results(page)


# --- a citation the index does not hold -----------------------------------------------------


def test_a_legislation_path_not_in_the_index_says_so_and_links_to_the_source(client):
    response = client.get("/p/ukpga/1999/27/section/3/2")
    assert response.status_code == 404
    page = text_of(response)
    assert "<h1>This provision is not in this knowledge base</h1>" in page
    assert "<cite>Local Government Act 1999, s 3(2)</cite>" in page
    assert (
        '<a href="https://www.legislation.gov.uk/ukpga/1999/27/section/3/2" rel="noopener">'
        "Local Government Act 1999, s 3(2) on legislation.gov.uk</a>" in page
    )
    assert 'href="/?q=Local+Government+Act+1999%2C+s+3%282%29"' in page
    searched = text_of(client.get("/?q=Local+Government+Act+1999%2C+s+3%282%29"))
    assert "This provision is not in the knowledge base." in searched  # the search knows it


def test_a_missing_provision_is_cited_from_its_number_when_the_act_is_unknown(client):
    page = text_of(client.get("/p/ukpga/2099/1/section/1"))
    assert "<cite>2099 c 1, s 1</cite>" in page
    assert 'href="https://www.legislation.gov.uk/ukpga/2099/1/section/1"' in page


def test_cite_path_uses_the_configured_legislation_address():
    from kb.core.cite import DEFAULT_REGISTRY, cite_path

    found = cite_path("ukpga/1999/27/section/3/2", DEFAULT_REGISTRY, "http://mirror.test/")
    assert found == {
        "citation": "Local Government Act 1999, s 3(2)",
        "source_url": "http://mirror.test/ukpga/1999/27/section/3/2",
    }
    assert cite_path("guidance/some-guide/para/2", DEFAULT_REGISTRY) == {}


def test_paths_below_the_web_layer_are_the_routes_url_for_builds(app):
    from flask import url_for

    from kb.core.paths import document_path, passage_path

    with app.test_request_context():
        for pid in ("ukpga/2031/12/section/3/2", "guidance/example/para/2.1"):
            assert passage_path(pid) == url_for("pages.passage_page", passage_id=pid)
        assert document_path("ukpga/2031/12") == url_for(
            "pages.document_page", document_id="ukpga/2031/12"
        )
