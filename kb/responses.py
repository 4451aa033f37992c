"""What the JSON API returns, as records (kb.records): each response is built as one of these,
and /api/v1/openapi.json's `components.schemas` is generated from them (kb.web.openapi).

A record's docstring is its schema's description; each field's `info(...)` is its own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Literal

from indexer.index.changes import KINDS as CHANGE_KINDS
from indexer.index.engine import FACETS, MAX_PREFIX_TERMS, SEARCH_BUDGET_S
from kb.core.models import DOC_TYPES, NATIONS, STATUSES
from kb.records import OMIT, Choice, Record, info

DUTY_KINDS = ("duty", "power", "none")

Status = Annotated[str, Choice(STATUSES, "Status")]
DocType = Annotated[str, Choice(DOC_TYPES, "DocType")]
Nation = Annotated[
    str,
    Choice(
        NATIONS,
        "Nation",
        "A nation a provision extends to: E England, W Wales, S Scotland, NI Northern Ireland.",
    ),
]
DutyKind = Annotated[
    str,
    Choice(
        DUTY_KINDS,
        "DutyKind",
        "Whether the passage imposes a duty, confers a power, or neither.",
    ),
]
FacetName = Annotated[str, Choice(FACETS)]
ChangeKind = Annotated[str, Choice(CHANGE_KINDS)]

DATE = {"format": "date"}


# --- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Error(Record):
    error: str = info(
        "A stable code: bad_request, invalid_query, not_found, unresolved, method_not_allowed, "
        "index_unavailable…",
        examples=["invalid_query"],
    )
    message: str = info("What went wrong, for a person.")


@dataclass(frozen=True)
class PassageNotFound(Error):
    citation: str | None = info(
        "For a legislation id the index does not hold (not crawled yet, e.g. "
        "ukpga/1999/27/section/3/2): its OSCOLA citation, from the instrument's name where "
        "known, else its number ('2099 c 1, s 1').",
        default=OMIT,
        examples=["Local Government Act 1999, s 3(2)"],
    )
    source_url: str = info(
        "For a legislation id: where to read it on legislation.gov.uk (KB_LEGISLATION_URL).",
        default=OMIT,
    )


@dataclass(frozen=True)
class Candidate(Record):
    """An instrument the citation may have meant."""

    id: str = info(examples=["ukpga/2031/12"])
    title: str = info(examples=["Example Commissioning Act 2031"])


@dataclass(frozen=True)
class CiteError(Error):
    candidates: list[Candidate] = info("Instruments with similar names.")


# --- changes to the text: outstanding changes, effects, stale citations -----------------------


@dataclass(frozen=True)
class OutstandingChange(Record):
    """An effect legislation.gov.uk records as not yet made to the text."""

    affected: str | None = info(
        "The provision changed, as legislation.gov.uk names it.", examples=["s. 86(9A)"]
    )
    pin: str | None = info(
        "Its pin in this document (`section/86/9A`); null when it is not one provision (the "
        "change is then shown on the document only)."
    )
    type: str | None = info("What the change does.", examples=["inserted", "words substituted"])
    by: str | None = info("The amending instrument's id.", examples=["uksi/2019/707"])
    by_provisions: str | None = info(
        "The provisions of it that make the change.", examples=["reg. 8(9)"]
    )
    note: str | None
    by_citation: str | None = info("The amending instrument cited (or its number).")
    by_url: str | None = info(
        "The amending instrument's page here (relative) when `by_in_index`, else its "
        "legislation.gov.uk address."
    )
    by_in_index: bool = info("Whether this knowledge base holds the amending instrument.")


@dataclass(frozen=True)
class EffectEnd(Record):
    id: str = info(
        "The passage id when the provision is held here, else its legislation.gov.uk path.",
        examples=["ukpga/2007/28/section/138"],
    )
    citation: str
    short_citation: str
    url: str = info(
        "Its page here (relative) when `in_index`, else its legislation.gov.uk address."
    )
    in_index: bool


@dataclass(frozen=True)
class InForce(Record):
    date: str | None = info(**DATE)
    qualification: str | None = info("How far.", examples=["wholly in force", "for E."])
    applied: bool
    prospective: bool


@dataclass(frozen=True)
class Effect(Record):
    """An effect legislation.gov.uk lists on this provision, one enclosing it or one inside
    it."""

    id: str = info("legislation.gov.uk's effect id.")
    type: str = info(
        "As legislation.gov.uk gives it.", examples=["inserted", "words substituted", "repealed"]
    )
    affected: EffectEnd
    affecting: EffectEnd
    affected_provisions: str = info(examples=["s. 3(4)"])
    affecting_provisions: str = info(examples=["s. 137(2)"])
    in_force: list[InForce]
    applied: bool = info("Whether the text held here has been changed by it.")
    outstanding: bool = info("Still to be made to the text held here.")
    notes: str | None


@dataclass(frozen=True)
class StaleAffecting(Record):
    id: str
    citation: str
    short_citation: str
    in_index: bool


@dataclass(frozen=True)
class StaleCitation(Record):
    """A provision the passage cites that was changed after the guidance's date."""

    cited: str = info("Id of the cited provision.")
    affected: str = info(
        "The provision the effect changed: `cited`, one enclosing it or one inside it "
        "(`…/section/3/5` for guidance citing s 3)."
    )
    affected_provisions: str = info("The effect's own words for it.", examples=["s. 3(5)"])
    citation: str
    short_citation: str
    type: str = info("The effect's type.")
    date: str = info("It came into force.", **DATE)
    effect: str = info("The effect's id.")
    affecting: StaleAffecting
    since: str = info("The guidance's date the change came after.", **DATE)
    since_basis: Literal["issued", "last updated"] = info(
        "Whether `since` is when it was issued or last updated."
    )


# --- passages: a search result and the passage or provision itself ----------------------------


@dataclass(frozen=True)
class ProvisionFields(Record):
    """What a search result and a passage both say of a provision."""

    id: str = info(examples=["ukpga/2031/12/section/2/2"])
    document_id: str
    title: str = info("The document's title.")
    heading: str = info("Heading path, joined with ›.")
    citation: str = info("OSCOLA citation.")
    short_citation: str
    url: str = info("The passage's page, relative to the API.")
    source_url: str | None = info("The authoritative source.")
    text: str
    doc_type: DocType
    status: Status
    status_date: str | None = info(**DATE)
    label: str
    pin: str
    sample: bool = info("An invented sample document.")
    duty: DutyKind
    holders: list[str] = info("Who the duty or power falls on (e.g. `employer`).")
    operative: bool = info(
        "False for text that is part of the document but not its law: prelims (long title, "
        "preamble, enacting formula), signatures, explanatory notes."
    )
    extent: list[Nation] = info("The nations it extends to (empty when none is recorded).")
    effects: list[Effect] = info(
        "legislation.gov.uk's effects on it (for documents with an effects feed): what changed "
        "it, when in force, and whether applied to this text."
    )
    stale_citations: list[StaleCitation] = info(
        "Guidance only: cited provisions changed since it was issued."
    )


@dataclass(frozen=True)
class SearchResult(ProvisionFields):
    """A passage that matched: where it is, its status, its text with the matched words marked,
    and what has changed or is still to change in it."""

    snippet_html: str = info("HTML-escaped text; only matched terms are wrapped in <mark>.")
    heading_html: str = info(
        "The heading path, HTML-escaped, with matched terms in <mark>: shows when a passage "
        "matched by its heading."
    )
    score: float | None = info("Relevance; null for a cited provision put first without matching.")
    anchor: str
    order: int = info("Position in its document.")
    valid_from: str | None = info(**DATE)
    valid_to: str | None = info(**DATE)
    cites: list[str] = info("Ids of the provisions this passage cites.")
    outstanding_changes: int = info(
        "How many outstanding changes (not yet made to the text) are shown on this provision; "
        "`/api/v1/passages/{id}` lists them.",
        minimum=0,
    )


@dataclass(frozen=True)
class PassageLink(Record):
    """A cross-reference. An indexed passage has `status` and `url`; a provision of a known
    instrument that is not a passage itself has `url` and `source_url`; anything else only
    `id`, `citation` and `in_index`."""

    id: str
    citation: str
    in_index: bool = info("Whether this knowledge base holds it.")
    short_citation: str = info(default=OMIT)
    title: str = info(default=OMIT)
    status: Status = info(default=OMIT)
    url: str = info("Its page here, relative to the API.", default=OMIT)
    source_url: str | None = info("Its authoritative source.", default=OMIT)
    change: str | None = info(
        "For `amended_by` and `amends`: what the amendment does.",
        default=OMIT,
        examples=["inserted", "substituted", "words inserted"],
    )
    date: str | None = info("For `amended_by` and `amends`: when.", default=OMIT, **DATE)


@dataclass(frozen=True)
class TextVersion(Record):
    """The text of a document or provision as it stood between two dates."""

    id: str = info("The id of this version (a passage id, or a document id).")
    url: str = info("Its page here (relative).")
    valid_from: str | None = info("The day this text started to apply.", **DATE)
    valid_to: str | None = info(
        "The day the next version started (exclusive); null for the current text.", **DATE
    )


@dataclass(frozen=True)
class ProvisionVersion(TextVersion):
    """One version of a provision: the text as it stood between two dates."""

    current: bool = info("True for the current text.")


@dataclass(frozen=True)
class EarlierVersion(TextVersion):
    """An earlier version of a document: the text as it stood between two dates."""


@dataclass(frozen=True)
class Passage(ProvisionFields):
    """A passage, or a provision that groups passages, with its links, effects and versions."""

    status_note: str | None
    indexed: bool = info("False for a provision that only groups indexed passages.")
    markdown: str
    contains: list[str] = info("Ids of the passages it is made of.")
    parent: str | None = info("Id of the enclosing provision.")
    attributes: dict[str, str]
    notes: str = info(
        "Annotations and footnotes shown with the text (in `markdown`), never searched."
    )
    outstanding_changes: list[OutstandingChange] = info(
        "Changes not yet made to the text of this provision, of one enclosing it, or of one "
        "inside it."
    )
    versions: list[ProvisionVersion] = info(
        "Every point in time of this provision held here (the current text and each earlier "
        "version crawled from legislation.gov.uk), oldest first; empty when only the current "
        "text is held."
    )
    cited_by: list[PassageLink]
    cites: list[PassageLink]
    amended_by: list[PassageLink]
    amends: list[PassageLink]


# --- search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetValue(Record):
    value: str
    count: int = info(minimum=0)
    label: str = info("A readable name, where the value is an id (document_id).", default=OMIT)


Facets = dataclasses.make_dataclass(
    "Facets",
    [(name, list[FacetValue]) for name in FACETS],
    bases=(Record,),
    frozen=True,
    namespace={
        "__doc__": "Counts per facet over every match, with every filter applied except the "
        "facet's own (so `doc_type=act` keeps the other types listed, with their counts); each "
        "facet's values can be passed back as a filter (`holder` values as `holder=`, `extent` "
        "values as `extent=`).",
        "__module__": __name__,
    },
)


@dataclass(frozen=True)
class CiteResult(Record):
    ref: str = info("The citation as given.")
    id: str = info(examples=["ukpga/1999/27/section/3/2"])
    citation: str = info("OSCOLA citation.")
    short_citation: str
    url: str | None = info("The provision at its authoritative source.")
    in_index: bool = info("Whether this knowledge base holds it.")


@dataclass(frozen=True)
class SearchCitation(CiteResult):
    """The provision a query names; `source_url`, `text`, `status` and `heading` are given when
    it is in the index and held for the `as_at` day."""

    url: str | None = info(
        "The provision's page here (relative) when `in_index`, otherwise its authoritative source."
    )
    source_url: str | None = info("The authoritative source.", default=OMIT)
    text: str = info("The provision's whole text.", default=OMIT)
    status: Status = info(default=OMIT)
    heading: str = info(default=OMIT)
    note: str = info(
        "With `as_at` before the earliest version held of the instrument: 'No version held for "
        "1 March 1999; the earliest is 10 May 2031.' Then there is no `text`, `status`, "
        "`heading` or `source_url`, and `url` is the current text's page.",
        default=OMIT,
    )

    __schema__ = {
        "if": {"properties": {"in_index": {"const": True}}, "not": {"required": ["note"]}},
        "then": {"required": ["source_url", "text", "status", "heading"]},
    }


@dataclass(frozen=True)
class TruncatedPrefix(Record):
    prefix: str = info("The wildcard (`tok*`).")
    kept: int = info(minimum=0)
    matched: int = info(minimum=0)


@dataclass(frozen=True)
class AsAtNote(Record):
    """An instrument held at several points in time that the search covers but holds no text
    of for the `as_at` day."""

    document_id: str
    title: str
    earliest: str = info("The first day of the earliest text held of it.", **DATE)
    note: str = info(
        "For a person: 'No version of Example Registers Act 2031 held for 21 October 2008; the "
        "earliest is 10 May 2031.'"
    )


@dataclass(frozen=True)
class SearchResponse(Record):
    """A page of search results, with facet counts and the citation the query named."""

    query: str = info("The query as given.")
    total: int = info(minimum=0)
    limit: int
    offset: int
    relaxed: bool = info("No passage had every word, so passages with any are shown.")
    suggestion: str | None = info("A spelling to try instead.")
    took_ms: float
    results: list[SearchResult]
    facets: Facets  # type: ignore[valid-type]
    facets_truncated: list[FacetName] = info(
        "Facets with more values than `facet_size`; their lists show the values with most passages."
    )
    truncated_prefixes: list[TruncatedPrefix] = info(
        f"Wildcards that matched more than {MAX_PREFIX_TERMS} indexed words: each was searched "
        "as the `kept` words in most passages, of `matched`."
    )
    partial: bool = info(
        f"The search ran out of its {SEARCH_BUDGET_S:g} s budget: `results`, `total` and "
        "`facets` are what was found by then, and `relaxed` and `suggestion` were not worked "
        "out."
    )
    as_at: str | None = info("The `as_at` date used.", **DATE)
    as_at_notes: list[AsAtNote] = info(
        "With `as_at`: each instrument held at several points in time (within the `document` "
        "and `doc_type` filters) of which no text is held for that day, so none of it is in "
        "`results`; empty otherwise."
    )
    citation: SearchCitation | None = info(
        "Set when the query is itself a citation of a provision."
    )
    mode: Literal["keyword", "hybrid"] = info(
        "How the results were ranked: `keyword`, or `hybrid` (the keyword ranking fused with "
        "dense retrieval by reciprocal rank fusion; `score` is then the fused score, `total` "
        "adds the passages only dense retrieval found, and `facets` count the keyword matches)."
    )
    hybrid_available: bool = info(
        "Whether `mode=hybrid` can be asked for: the semantic extra is installed and this index "
        "version holds embeddings."
    )


# --- documents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionsSummary(Record):
    """The earlier versions held of a document (for an earlier version, of the current
    document it belongs to)."""

    count: int = info("How many earlier versions of the document are held.", minimum=0)
    earliest: str | None = info("The earliest one's date; null when none.", **DATE)


@dataclass(frozen=True)
class DocumentSummary(Record):
    """A document as the list of documents gives it."""

    id: str
    title: str
    short_title: str | None
    doc_type: DocType
    identifier: str | None
    aliases: list[str] | None
    publisher: str | None
    source_url: str | None
    status: Status
    status_date: str | None = info(**DATE)
    status_note: str | None
    valid_from: str | None = info(**DATE)
    valid_to: str | None = info(**DATE)
    published: str | None = info(**DATE)
    extent: str | None
    licence: str | None
    attribution: str | None
    retrieved_at: str | None = info("When it was fetched from its source.")
    sha256: str | None
    sample: bool | None = info("An invented sample document.")
    passage_count: int | None = info(minimum=0)
    url: str = info("The document's page, relative to the API.")
    version_of: str | None = info(
        "For an earlier version of a legislation document (a point in time), the current "
        "document's id; null for a current document."
    )
    version_date: str | None = info(
        "For legislation held at several points in time, the day this text started to apply.",
        **DATE,
    )
    versions: VersionsSummary


@dataclass(frozen=True)
class ContentsEntry(Record):
    id: str
    pin: str
    label: str
    title: str
    depth: int = info(minimum=0)
    heading: bool
    has_text: bool
    operative: bool = info("False for prelims, signatures and explanatory notes.")


@dataclass(frozen=True)
class Document(DocumentSummary):
    """Everything in DocumentSummary, its outstanding changes, its contents and its earlier
    versions."""

    earlier_versions: list[EarlierVersion] = info(
        "The earlier versions held (of the current document, for an earlier version), oldest "
        "first; empty when none."
    )
    outstanding_changes: list[OutstandingChange] = info(
        "Every change legislation.gov.uk records as not yet made to the text."
    )
    contents: list[ContentsEntry]


@dataclass(frozen=True)
class DocumentList(Record):
    total: int = info(minimum=0)
    documents: list[DocumentSummary]


# --- the change log and health ----------------------------------------------------------------


@dataclass(frozen=True)
class ChangedDocument(Record):
    id: str
    title: str
    doc_type: str | None
    status: str | None
    url: str | None = info("Null once a document is removed.")


@dataclass(frozen=True)
class RemovedProvision(Record):
    """A provision a change names (one no longer in the amended text has no `url`)."""

    id: str
    label: str


@dataclass(frozen=True)
class ChangedProvision(RemovedProvision):
    """A provision amended or repealed: its page here (null once its document is removed)."""

    url: str | None


@dataclass(frozen=True)
class Change(Record):
    id: str = info("Unique: the build's time, kind, document.")
    date: str = info("When the build that saw it ran (UTC).")
    kind: ChangeKind
    document: ChangedDocument
    provisions: list[ChangedProvision] = info("The provisions amended or repealed (at most 50).")
    provisions_total: int = info(minimum=0)
    removed_provisions: list[RemovedProvision] = info("Provisions no longer in the amended text.")


@dataclass(frozen=True)
class ChangeList(Record):
    since: str | None = info("The `since` date used.", **DATE)
    kind: list[str] = info("The kinds asked for (`kind`); empty means every kind.")
    total: int = info(minimum=0)
    limit: int = info(minimum=1)
    changes: list[Change]


@dataclass(frozen=True)
class Health(Record):
    status: Literal["ok"]
    index_version: str
    engine: str | None
    documents: int = info(minimum=0)
    passages: int = info(minimum=0)
    hybrid_available: bool = info(
        "Whether searches may ask for `mode=hybrid` (the semantic extra is installed and this "
        "index version holds embeddings)."
    )


# Every response body, by the component name the OpenAPI paths refer to.
RESPONSES = (
    Error,
    PassageNotFound,
    CiteError,
    CiteResult,
    SearchResponse,
    Passage,
    DocumentList,
    Document,
    ChangeList,
    Health,
)
