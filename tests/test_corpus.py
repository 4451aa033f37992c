"""The corpus format: front matter validation and how a body becomes nodes and passages."""

import pytest

from indexer.corpus import escape_text, read_document, render_document, split_front_matter
from indexer.passages import BodyError, parse_document
from kb.core.models import Document, DocumentError

ACT = {
    "id": "ukpga/2031/7",
    "title": "Example Services Act 2031",
    "short_title": "ESA 2031",
    "doc_type": "act",
    "status": "in_force",
}

ACT_BODY = """\
An Act about examples.

{#part-1}
# Part 1 Duties

## Consultation

{#section-2}
### 2 General duty

{#section-2-1}
(1) An authority must consult.

{#section-2-2}
(2) For that purpose it must consult—

{#section-2-2-a}
(a) taxpayers, and

{#section-2-2-b}
(b) service users.

{#section-2-3 status="repealed"}
(3) . . . . . . .
"""


def test_front_matter_round_trips(tmp_path):
    doc = Document.from_front_matter({**ACT, "aliases": ["ESA 2031"], "valid_from": "2031-04-01"})
    path = tmp_path / "a.md"
    path.write_text(render_document(doc, ACT_BODY), encoding="utf-8")
    again = read_document(path)
    assert again.document == doc
    assert again.body.strip() == ACT_BODY.strip()


@pytest.mark.parametrize(
    "meta,message",
    [
        ({**ACT, "doc_type": "novel"}, "doc_type 'novel' is not one of"),
        ({**ACT, "status": "alive"}, "status 'alive' is not one of"),
        ({k: v for k, v in ACT.items() if k != "title"}, "missing title"),
        ({**ACT, "valid_from": "next week"}, "valid_from must be a date"),
        ({**ACT, "id": "has space"}, "must be a path of at most"),
    ],
)
def test_bad_front_matter_says_what_is_wrong(meta, message):
    with pytest.raises(DocumentError, match=message):
        Document.from_front_matter(meta)


def test_missing_or_broken_yaml_is_reported():
    with pytest.raises(DocumentError, match="no YAML front matter"):
        split_front_matter("# Just a heading\n")
    with pytest.raises(DocumentError, match="not valid YAML at line"):
        split_front_matter("---\ntitle: [unclosed\n---\nbody\n")


def test_act_body_gives_one_passage_per_provision_with_citations():
    parsed = parse_document(Document.from_front_matter(ACT), ACT_BODY)
    by_id = {p.id: p for p in parsed.passages}
    assert list(by_id) == [
        "ukpga/2031/7/preamble",
        "ukpga/2031/7/section/2/1",
        "ukpga/2031/7/section/2/2",
        "ukpga/2031/7/section/2/2/a",
        "ukpga/2031/7/section/2/2/b",
        "ukpga/2031/7/section/2/3",
    ]
    sub = by_id["ukpga/2031/7/section/2/2/a"]
    assert sub.citation == "Example Services Act 2031, s 2(2)(a)"
    assert sub.short_citation == "ESA 2031 s 2(2)(a)"
    assert sub.heading == "Part 1 Duties › Consultation › s 2 General duty"
    assert sub.text == "(a) taxpayers, and"
    assert by_id["ukpga/2031/7/section/2/3"].status == "repealed"
    assert by_id["ukpga/2031/7/section/2/1"].status == "in_force"
    # s 2 itself groups its subsections: a node, not a passage of its own.
    nodes = {n.pin: n for n in parsed.nodes}
    assert nodes["section/2"].is_heading and not nodes["section/2"].text
    assert nodes["section/2/2/a"].parent == "section/2/2"
    assert nodes["section/2/2"].parent == "section/2"


def test_councils_markdown_without_anchors_gets_numbered_and_slugged_pins():
    doc = Document.from_front_matter(
        {
            "id": "local/x/policy",
            "title": "Policy",
            "doc_type": "local_policy",
            "status": "in_force",
        }
    )
    body = "# 1. Purpose\n\n1.1 We commission fairly.\n\n1.2 We consult staff.\n\n# Review\n\nEvery two years.\n\n# Review\n\nAgain.\n"
    parsed = parse_document(doc, body)
    assert [p.pin for p in parsed.passages] == [
        "para/1.1",
        "para/1.2",
        "heading/review",
        "heading/review-2",
    ]
    assert parsed.passages[0].short_citation == "Policy para 1.1"
    assert parsed.passages[0].heading == "1 Purpose"


def test_duplicate_anchor_is_an_error():
    with pytest.raises(BodyError, match="share the anchor 'section-1'"):
        parse_document(
            Document.from_front_matter(ACT), "{#section-1}\nOne.\n\n{#section-1}\nTwo.\n"
        )


def test_escaped_text_reads_back_literally():
    doc = Document.from_front_matter(
        {"id": "g/x", "title": "G", "doc_type": "guidance", "status": "in_force"}
    )
    raw = "1. not a list *not emphasis* <script>alert(1)</script> # not a heading"
    body = "{#para-1}\n" + escape_text(raw) + "\n"
    parsed = parse_document(doc, body)
    assert parsed.passages[0].text == raw


def test_a_table_is_searched_by_its_words_and_kept_as_a_table():
    doc = Document.from_front_matter(
        {"id": "g/t", "title": "G", "doc_type": "guidance", "status": "in_force"}
    )
    body = (
        "2.1 The fees are:\n\n| Service | Fee |\n| --- | --- |\n"
        "| Licence | £10 |\n| Renewal \\| late | £5 |\n\n2.2 Next.\n"
    )
    parsed = parse_document(doc, body)
    fees = parsed.passages[0]
    assert fees.text == "2.1 The fees are: Service Fee Licence £10 Renewal | late £5"
    assert "| Licence | £10 |" in parsed.nodes[0].markdown
    assert [p.pin for p in parsed.passages] == ["para/2.1", "para/2.2"]


def test_dotted_anchors_and_pages_become_pins():
    doc = Document.from_front_matter(
        {
            "id": "g/x",
            "title": "G",
            "doc_type": "guidance",
            "status": "in_force",
            "published": "2024-05-08",
        }
    )
    body = '{#para-2.3}\nTwo point three.\n\n{#page-23 page="23"}\nOn page 23.\n'
    parsed = parse_document(doc, body)
    assert [(p.pin, p.short_citation) for p in parsed.passages] == [
        ("para/2.3", "G para 2.3"),
        ("page/23", "G p 23"),
    ]


def test_repeated_paragraph_number_stays_with_the_text_before_it():
    doc = Document.from_front_matter(
        {"id": "g/y", "title": "G", "doc_type": "guidance", "status": "in_force"}
    )
    parsed = parse_document(doc, "2.1 First.\n\n2.1 Quoted again.\n")
    assert [p.pin for p in parsed.passages] == ["para/2.1"]
    assert parsed.passages[0].text == "2.1 First. 2.1 Quoted again."
