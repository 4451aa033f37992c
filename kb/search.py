"""One search path for the API, the page and the CLI: check the request, run it, shape the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kb import query
from kb.engine import MAX_LIMIT, MAX_OFFSET, SearchRequest
from kb.models import DOC_TYPES, STATUSES

DEFAULT_LIMIT = 10


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


def make_request(
    params: Mapping[str, Any],
    doc_type: list[str] | None = None,
    status: list[str] | None = None,
    document: list[str] | None = None,
) -> SearchRequest:
    """Validate search parameters; raises RequestError (400) or query.QueryError."""
    checked = query.check(str(params.get("q") or ""))
    return SearchRequest(
        q=checked.text,
        doc_type=_choices(doc_type or [], DOC_TYPES, "doc_type"),
        status=_choices(status or [], (*STATUSES, "current"), "status"),
        document=[d.strip() for d in (document or []) if d.strip()],
        limit=_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int(params, "offset", 0, 0, MAX_OFFSET),
    )


def run_search(version, params: Mapping[str, Any], **lists: list[str]) -> dict[str, Any]:
    try:
        request = make_request(params, **lists)
    except query.QueryError as exc:
        raise RequestError(str(exc), error="invalid_query") from None
    response = version.engine.search(request).to_dict()
    response["query"] = str(params.get("q") or "").strip()
    titles = {doc["id"]: doc["title"] for doc in version.documents}
    for item in response["facets"].get("document_id", []):
        item["label"] = titles.get(item["value"], item["value"])
    return response
