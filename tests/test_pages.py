"""The pages people use: they work without JavaScript, escape what they show, and show status."""

import re


def text_of(response):
    return response.get_data(as_text=True)


def test_empty_search_is_a_helpful_page(client):
    page = text_of(client.get("/"))
    assert '<label for="q">' in page
    assert "duty to consult" in page  # an example to try
    assert "4 documents" in page


def test_results_show_citation_copy_control_status_and_permalink(client):
    response = client.get("/?q=new+joiners+terms")
    assert response.status_code == 200
    page = text_of(response)
    assert "Example Commissioning Act 2031, s 4(2)" in page
    assert 'href="/p/ukpga/2031/12/section/4/2"' in page
    assert 'data-copy="Example Commissioning Act 2031, s 4(2)"' in page
    assert "Withdrawn" in page and "since 2030-06-30" in page
    assert "<mark>joiners</mark>" in page


def test_facet_links_filter_the_results(client):
    page = text_of(client.get("/?q=consult"))
    link = re.search(r'href="(/\?q=consult&amp;doc_type=act[^"]*)"', page)
    assert link
    filtered = text_of(client.get(link.group(1).replace("&amp;", "&")))
    assert 'aria-current="true"' in filtered
    assert "Commissioning Guidance 2031 para" not in filtered


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
    assert "banner-warning" in page
    assert "Withdrawn on 2030-06-30." in page
    assert "contracts let before that date keep its protections" in page


def test_repealed_provision_is_marked(client):
    page = text_of(client.get("/d/ukpga/2031/12"))
    section = page[page.index('id="section-2-4"') :][:400]
    assert "Repealed" in section


def test_unknown_passage_is_a_404_page(client):
    response = client.get("/p/ukpga/2031/12/section/77")
    assert response.status_code == 404
    assert "There is no passage" in text_of(response)


def test_documents_page_lists_everything(client):
    page = text_of(client.get("/documents"))
    assert page.count('<th scope="row">') == 4


def test_raw_html_in_the_corpus_is_never_rendered(tmp_path, write_md):
    from indexer.build import build
    from kb.service import KnowledgeBase
    from kb.web import create_app
    from tests.conftest import make_settings

    write_md(
        "x.md",
        {"id": "local/x", "title": "X", "doc_type": "local_policy", "status": "in_force"},
        "# Rules\n\n<script>alert(1)</script> and [a link](javascript:alert(1)).\n",
    )
    settings = make_settings(tmp_path, tmp_path / "corpus")
    build(settings, progress=False)
    app = create_app(settings, kb=KnowledgeBase(settings))
    page = app.test_client().get("/d/local/x").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript' not in page
