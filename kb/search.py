"""One search path for the API, the page and the CLI: check the request, run it, shape the answer."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from indexer.index.engine import FACET_SIZE, MAX_FACET_SIZE, MAX_LIMIT, MAX_OFFSET, SearchRequest
from kb import hybrid
from kb.core import query, synonyms
from kb.core.cite import resolve
from kb.core.effects import long_date
from kb.core.models import DOC_TYPES, NATIONS, STATUSES, change_affects
from kb.core.paths import passage_path
from kb.core.vocabularies import FACET_FILTERS, HOLDERS, holder_term
from kb.responses import DUTY_KINDS, SearchResponse, SearchResult

STALE_VALUES = ("true", "stale")
MODES = ("keyword", "hybrid")  # kb.core.config.SEARCH_MODES

DEFAULT_LIMIT = 10
# Cost limits per search, beyond kb.core.query's 500 characters and 40 terms: each wildcard expands
# to every indexed word it matches, and each filter value is one more clause to match.
MAX_WILDCARDS = 10  # wildcard terms (consult*) in one query
MAX_FILTER_VALUES = 50  # filter values (doc_type, status, document, duty, holder, extent) in all


class RequestError(ValueError):
    """A request we refuse, with an HTTP status and a message for the person who sent it."""

    def __init__(self, message: str, error: str = "bad_request", status: int = 400):
        super().__init__(message)
        self.message = message
        self.error = error
        self.status = status

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message}


def _int(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise RequestError(f"'{name}' must be a whole number, not {str(raw)[:20]!r}.") from None
    if not low <= value <= high:
        raise RequestError(f"'{name}' must be between {low} and {high}; got {value}.")
    return value


def _choices(values: list[str], allowed: tuple[str, ...], name: str) -> list[str]:
    cleaned = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
    for value in cleaned:
        if value not in allowed:
            raise RequestError(f"Unknown {name} {value[:40]!r}. Use one of: {', '.join(allowed)}.")
    return cleaned


def _nations(values: list[str]) -> list[str]:
    """Extent filter values as nation codes: 'W', 'ni' and 'N.I.' are all accepted."""
    cleaned = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
    codes = [value.upper().replace(".", "") for value in cleaned]
    for value, code in zip(cleaned, codes, strict=True):
        if code not in NATIONS:
            raise RequestError(
                f"Unknown extent {value[:40]!r}. Use one of: {', '.join(NATIONS)} "
                "(England, Wales, Scotland, Northern Ireland)."
            )
    return list(dict.fromkeys(codes))


def _holders(values: list[str]) -> list[str]:
    """Holder filter values as vocabulary terms ('relevant authority' -> 'authority'); a name
    the vocabulary does not know is refused with the list, as an unknown doc_type is."""
    terms = []
    for value in values:
        for name in (h.strip() for h in value.split(",")):
            if not name:
                continue
            term = holder_term(name)
            if term is None:
                raise RequestError(
                    f"'holder' must be one of {', '.join(HOLDERS)}, not {name[:40]!r}."
                )
            terms.append(term)
    return list(dict.fromkeys(terms))


def _as_at(params: Mapping[str, Any]) -> str | None:
    raw = str(params.get("as_at") or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise RequestError(f"'as_at' must be a date like 2011-03-23, not {raw[:20]!r}.") from None


def _flag(params: Mapping[str, Any], name: str) -> bool:
    return str(params.get(name) or "").lower() in ("1", "true", "yes", "on")


def _checked_query(params: Mapping[str, Any]) -> query.CheckedQuery:
    """The query checked (kb.core.query), with no more than MAX_WILDCARDS wildcards."""
    checked = query.check(str(params.get("q") or ""))
    wildcards = sum(1 for leaf in query.leaves(checked.tree) if isinstance(leaf, query.Wildcard))
    if wildcards > MAX_WILDCARDS:
        raise query.QueryError(
            f"Your search has {wildcards} wildcards; the limit is {MAX_WILDCARDS}. "
            "Use whole words for the rest."
        )
    return checked


def _check_filter_values(given: tuple[list[str] | None, ...]) -> None:
    values = sum(len(str(v).split(",")) for values in given for v in values or [])
    if values > MAX_FILTER_VALUES:
        raise RequestError(
            f"The search has {values} filter values; the limit is {MAX_FILTER_VALUES}."
        )


def make_request(
    params: Mapping[str, Any],
    doc_type: list[str] | None = None,
    status: list[str] | None = None,
    document: list[str] | None = None,
    duty: list[str] | None = None,
    holder: list[str] | None = None,
    extent: list[str] | None = None,
    stale: list[str] | None = None,
) -> SearchRequest:
    """Validate search parameters; raises RequestError (400) or query.QueryError."""
    checked = _checked_query(params)
    _check_filter_values((doc_type, status, document, duty, holder, extent, stale))
    duties = _choices(duty or [], (*DUTY_KINDS, "true", "false"), "duty")
    # duty=true is the "duties only" switch; duty=duty/power picks one kind.
    duties = [("duty" if d == "true" else "none" if d == "false" else d) for d in duties]
    return SearchRequest(
        q=synonyms.expand(checked.tree),
        doc_type=_choices(doc_type or [], DOC_TYPES, "doc_type"),
        status=_choices(status or [], (*STATUSES, "current"), "status"),
        document=[d.strip() for d in (document or []) if d.strip()],
        duty=duties,
        holder=_holders(holder or []),
        extent=_nations(extent or []),
        # stale=true (or the facet's own value, stale): guidance citing law changed since
        stale=["stale"] if _choices(stale or [], STALE_VALUES, "stale") else [],
        as_at=_as_at(params),
        typed=checked.tree,
        limit=_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int(params, "offset", 0, 0, MAX_OFFSET),
        facet_size=_int(params, "facet_size", FACET_SIZE, 1, MAX_FACET_SIZE),
    )


def citation_hit(
    version, q: str, as_at: str | None = None, url: Callable[[str], str] | None = None
) -> dict[str, Any] | None:
    """If the whole query is a citation ("s 3 LGA 1999"), the provision it names: with as_at,
    as it stood that day where an earlier version of it is held (kb.service.version_at).
    `url` gives the provision's page from its id (kb.web builds it with url_for)."""
    url = url or passage_path
    found = resolve(q, version.registry)
    if found is None or not found.pin:
        return None
    # Only when the citation is (nearly) all the query, not a citation inside words.
    if len(q[: found.start].strip()) + len(q[found.end :].strip(" .,;")) > 2:
        return None
    passage_id = version.canonical_id(found.id)
    hit = found.to_dict(in_index=passage_id is not None)
    if passage_id and as_at:
        earliest = _held_from(version, passage_id)
        if earliest and as_at < earliest:  # no text of it that day: never the current instead
            return hit | {
                "id": passage_id,
                "url": url(passage_id),
                "note": no_version_note(as_at, earliest),
            }
        passage_id = version.version_at(passage_id, as_at) or passage_id
    if passage_id:
        hit.update(id=passage_id, url=url(passage_id), **_cited_provision(version, passage_id))
    return hit


def _cited_provision(version, passage_id: str) -> dict[str, Any]:
    """What a citation look-up shows of the provision it found: its text, status, heading and
    source; for an earlier version, the citation that says which ('… (as it stood on …)')."""
    provision = version.provision(passage_id)
    passage = provision["passage"] or {}
    shown = {
        "source_url": passage.get("source_url"),
        "text": provision["text"],
        "status": passage.get("status") or provision["document"]["status"],
        "heading": " › ".join(provision["node"].get("heading_path") or []),
    }
    if provision["document"].get("version_of") and passage:
        shown.update(citation=passage["citation"], short_citation=passage["short_citation"])
    return shown


def no_version_note(day: str, earliest: str, title: str = "") -> str:
    """'No version held for 1 March 1999; the earliest is 10 May 2031.' ('No version of
    Example Registers Act 2031 held …' with a title)."""
    of = f" of {title}" if title else ""
    return f"No version{of} held for {long_date(day)}; the earliest is {long_date(earliest)}."


def _held_from(version, passage_id: str) -> str | None:
    found = version.document_for_passage_id(passage_id)
    return version.held_from(found[0]["id"]) if found else None


def as_at_notes(version, request: SearchRequest) -> list[dict[str, str]]:
    """The instruments held at several points in time that an as_at search covers (by its
    `document` and `doc_type` filters) but holds no text of for that day: each one's
    {document_id, title, earliest, note}, so that their absence is said, not implied."""
    if not request.as_at:
        return []
    notes = []
    for doc in version.current_documents:
        if request.document and doc["id"] not in request.document:
            continue
        if request.doc_type and doc.get("doc_type") not in request.doc_type:
            continue
        earliest = version.held_from(doc["id"])
        if earliest and request.as_at < earliest:
            notes.append(
                {
                    "document_id": doc["id"],
                    "title": doc["title"],
                    "earliest": earliest,
                    "note": no_version_note(request.as_at, earliest, doc["title"]),
                }
            )
    return notes


LIST_PARAMS = tuple(FACET_FILTERS.values())  # every facet's filter (kb.core.vocabularies)


def _lists(params: Mapping[str, Any], given: dict[str, list[str]]) -> dict[str, list[str]]:
    """Repeatable filters, from keyword arguments or else from the request's parameters."""
    lists = {}
    for name in LIST_PARAMS:
        if name in given:
            lists[name] = list(given[name])
        elif hasattr(params, "getlist"):
            lists[name] = params.getlist(name)
        else:
            value = params.get(name)
            lists[name] = [] if value in (None, "") else [str(value)]
    return lists


def _cited_first(version, results: list[dict[str, Any]], cited_id: str, limit: int) -> list:
    """The results with the cited provision (or the passages it is made of) leading them; a
    passage put first without matching has no score and its text unhighlighted."""
    provision = version.provision(cited_id)
    wanted = provision["members"] if provision else [cited_id]
    found = {hit["id"]: hit for hit in results}
    first = []
    for pid in wanted[:limit]:
        hit = found.pop(pid, None) or version.engine.passage(pid)
        if hit is None:
            continue
        unmatched = {
            "score": None,
            "snippet_html": html.escape(hit["text"], quote=False),
            "heading_html": html.escape(hit["heading"], quote=False),
        }
        first.append(unmatched | hit)
    rest = [hit for hit in results if hit["id"] in found]
    return (first + rest)[:limit]


def _result(version, hit: dict[str, Any], url: Callable[[str], str]) -> SearchResult:
    """An engine's hit with what the service adds: its URL, outstanding changes and effects.
    Effects are few per provision (tens for the most amended), so hits carry them whole; the
    notes are shown with the passage (/api/v1/passages), not in results."""
    shown = {key: value for key, value in hit.items() if key != "notes"}
    return SearchResult.from_dict(
        shown
        | {
            "url": url(hit["id"]),
            "outstanding_changes": _outstanding_count(version, hit),
            "effects": version.effects_json(hit["document_id"], hit["pin"]),
            "stale_citations": hit.get("stale_citations") or [],
        }
    )


def _facets(version, facets: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict]]:
    """The engine's facet counts, each document_id value labelled with its document's title."""
    labelled = []
    for item in facets.get("document_id", []):
        doc = version.by_id.get(item["value"])
        labelled.append(item | {"label": doc["title"] if doc else item["value"]})
    return facets | {"document_id": labelled} if "document_id" in facets else facets


def search_mode(version, params: Mapping[str, Any], default: str = "keyword") -> str:
    """The request's `mode` (keyword or hybrid), else the default. Hybrid asked for where it
    cannot run is refused (400, saying why); a hybrid default falls back to keyword there."""
    asked = str(params.get("mode") or "").strip().lower()
    if asked and asked not in MODES:
        raise RequestError(f"Unknown mode {asked[:20]!r}. Use one of: {', '.join(MODES)}.")
    why = version.hybrid_unavailable()
    if asked == "hybrid" and why:
        raise RequestError(f"Hybrid search is unavailable: {why}.", error="hybrid_unavailable")
    mode = asked or default
    return "hybrid" if mode == "hybrid" and not why else "keyword"


def run_search(
    version,
    params: Mapping[str, Any],
    slot: Callable[[], AbstractContextManager] | None = None,
    url: Callable[[str], str] = passage_path,
    default_mode: str = "keyword",
    **given: list[str],
) -> SearchResponse:
    """Check the request, run it and shape the answer; `slot`, if given, is held around the
    engine's search only, so a malformed request is refused (400) without waiting for one.
    `url` gives a result's page from its id (kb.web builds it with url_for); `default_mode`
    is the mode of a request naming none (Settings.search_mode)."""
    try:
        request = make_request(params, **_lists(params, given))
    except query.QueryError as exc:
        raise RequestError(str(exc), error="invalid_query") from None
    raw = str(params.get("q") or "").strip()
    mode = search_mode(version, params, default_mode)
    try:
        with slot() if slot else nullcontext():
            if mode == "hybrid":
                response = hybrid.search(version, request, raw)
            else:
                response = version.search(request)
    except query.QueryError as exc:
        raise RequestError(str(exc), error="invalid_query") from None
    cited = citation_hit(version, raw, request.as_at, url)
    results = response.results
    if cited and cited["in_index"] and not cited.get("note") and request.offset == 0:
        results = _cited_first(version, results, cited["id"], request.limit)
    engine = response.to_dict()
    return SearchResponse.from_dict(
        engine
        | {
            "query": raw,
            "results": [_result(version, hit, url) for hit in results],
            "facets": _facets(version, engine["facets"]),
            "as_at": request.as_at,
            "as_at_notes": as_at_notes(version, request),
            "citation": cited,
            "mode": mode,
            "hybrid_available": version.hybrid_unavailable() is None,
        }
    )


def _outstanding_count(version, hit: dict[str, Any]) -> int:
    derived = version.outstanding_changes(hit["document_id"], hit["pin"])
    if derived is not None:
        return len(derived)
    changes = (version.by_id.get(hit["document_id"]) or {}).get("outstanding_changes") or []
    return sum(change_affects(c["pin"], hit["pin"]) for c in changes)
