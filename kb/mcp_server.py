"""The Model Context Protocol server (the official `mcp` SDK): the knowledge base's tools and
resources for AI assistants, over stdio (`kb mcp`) and streamable HTTP (`kb serve` at /mcp,
kb.mcp_http).

Every tool answers from the web layer's resources (kb.web.resources: the same search, citation,
passage and document functions the API returns), inside a request context of the app they were
given, so limits, errors, search slots and URLs are the API's. The answers are shaped by
kb.mcp_answers, each with its status in words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from typing import Annotated, Any, Literal

from flask import Flask
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from werkzeug.exceptions import HTTPException

from indexer.index.engine import MAX_LIMIT, MAX_OFFSET
from indexer.index.store import IndexMissing
from kb import mcp_answers as answers
from kb.core.models import NATIONS
from kb.core.vocabularies import DOC_TYPES, HOLDERS, STATUSES
from kb.search import DEFAULT_LIMIT, RequestError
from kb.web import resources

MOUNT = "/mcp"  # where `kb serve` serves it (kb.mcp_http)
MAX_CITATION = 300  # as the API's /api/v1/cite

DocType = Literal[DOC_TYPES]  # type: ignore[valid-type]
StatusFilter = Literal[(*STATUSES, "current")]  # type: ignore[valid-type]
Holder = Literal[HOLDERS]  # type: ignore[valid-type]
Nation = Literal[NATIONS]  # type: ignore[valid-type]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=True)

INSTRUCTIONS = (
    "A knowledge base of UK legislation, statutory guidance and a council's own documents, "
    "searched passage by passage. Quote passages with their `citation` (OSCOLA) and always "
    "say their status: when an answer's `warning` is set (repealed, withdrawn, superseded or "
    "prospective text), repeat it and do not present that text as current law. Documents "
    "marked `sample` are invented examples, not law."
)

Query = Annotated[
    str,
    Field(
        description="Words to find (all of them first, then any), with the API's syntax: "
        '"exact phrase", AND, OR, NOT, consult* (3 letters or more before *), field:word. '
        "A citation ('s 3(2) LGA 1999') puts that provision first. At most 500 characters."
    ),
]
AsAt = Annotated[
    str | None,
    Field(
        description="A date (YYYY-MM-DD): only text that applied on that day, as it stood then.",
        json_schema_extra={"format": "date"},
    ),
]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Results to return.")]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="Results to skip (paging).")]
Documents = Annotated[
    list[str] | None, Field(description="Only these document ids (list_documents gives them).")
]


class KnowledgeBaseTools:
    """The tools and resources, answering from one Flask app (its index, settings, search
    slots)."""

    def __init__(self, app: Flask):
        self.app = app

    @contextmanager
    def answering(self, ctx: Context | None) -> Iterator[answers.Link]:
        """A request context of the app (url_for, the search gate, one index version for the
        whole answer) and how to turn a path into a permalink: absolute over HTTP, from the
        request's own address; over stdio the path on the `kb serve` site."""
        origin, prefix = _http_base(ctx)
        try:
            with self.app.test_request_context("/", base_url=f"{origin}{prefix}" or None):
                yield (lambda path: f"{origin}{path}") if origin else (lambda path: path)
        except (RequestError, HTTPException, IndexMissing) as exc:
            raise ToolError(_message(exc)) from None

    # --- tools --------------------------------------------------------------------------------

    def search(
        self,
        query: Query,
        doc_type: Annotated[
            list[DocType] | None, Field(description="Only these document types.")
        ] = None,
        status: Annotated[
            list[StatusFilter] | None,
            Field(description="Only these statuses; 'current' is every status still in use."),
        ] = None,
        document: Documents = None,
        duty: Annotated[
            Literal["duty", "power"] | None,
            Field(description="Only passages imposing a duty, or conferring a power."),
        ] = None,
        holder: Annotated[
            list[Holder] | None, Field(description="Only duties or powers of these holders.")
        ] = None,
        extent: Annotated[
            list[Nation] | None,
            Field(description="Only text extending to these nations (E, W, S, NI)."),
        ] = None,
        as_at: AsAt = None,
        stale: Annotated[
            bool, Field(description="Only guidance citing law changed since it was issued.")
        ] = False,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Search the legislation and guidance passage by passage. Each result has its OSCOLA
        citation and short citation, its status (with a warning sentence when it is repealed,
        withdrawn, superseded or prospective), status date, text, permalink, authoritative
        source and a kb://passage/ resource. Malformed queries are refused with the reason."""
        filters = {
            "doc_type": doc_type or [],
            "status": status or [],
            "document": document or [],
            "duty": [duty] if duty else [],
            "holder": holder or [],
            "extent": extent or [],
            "stale": ["true"] if stale else [],
        }
        params = {"q": query, "limit": limit, "offset": offset, "as_at": as_at or ""}
        with self.answering(ctx) as link:
            body = resources.search(params, filters).to_json()
            answer = answers.search_answer(body, link)
        return _result(answers.search_text(answer), answer)

    def cite(
        self,
        citation: Annotated[
            str,
            Field(
                description="A citation as people write it: 's 3(2) LGA 1999', 'reg. 13(2)(a) "
                "TUPE', 'Sch 8 para 5 LGPIHA 2007', or a legislation.gov.uk URL."
            ),
        ],
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Resolve a citation to the provision it names: its id, OSCOLA citation, whether this
        knowledge base holds it and, when it does, its status and text. When it names no
        known instrument, the instruments it may have meant (`candidates`)."""
        ref = citation.strip()
        if not ref:
            raise ToolError("Give a citation, e.g. s 3(2) LGA 1999.")
        if len(ref) > MAX_CITATION:
            raise ToolError(f"A citation is at most {MAX_CITATION} characters.")
        with self.answering(ctx) as link:
            body, status = resources.citation(ref)
            answer = self._cited(body.to_json(), status, link)
        return _result(_cite_text(answer), answer)

    def _cited(self, body: dict[str, Any], status: int, link: answers.Link) -> dict[str, Any]:
        if status != 200:
            return {"resolved": False, **body}
        answer = {"resolved": True, **body, "source_url": body["url"]}
        del answer["url"]
        found = resources.provision(body["id"]) if body["in_index"] else None
        if found is not None:
            answer["passage"] = answers.passage_head(found.json.to_json(), link)
        return answer

    def get_passage(
        self,
        id: Annotated[
            str,
            Field(
                description="A passage or provision id, as search and cite give it "
                "('ukpga/2031/12/section/2/2')."
            ),
        ],
        ctx: Context | None = None,
    ) -> CallToolResult:
        """A passage or provision by id: its citation, status (in words when not in force),
        text, cross-references (what it cites, what cites it, what amended it), effects and
        outstanding changes from legislation.gov.uk, and the versions held of it."""
        with self.answering(ctx) as link:
            answer = self._passage(id.strip(), link)
        return _result(answers.passage_full_text(answer), answer)

    def _passage(self, passage_id: str, link: answers.Link) -> dict[str, Any]:
        found = resources.provision(passage_id)
        if found is None:
            raise ToolError(_not_found(passage_id))
        return answers.passage_answer(found.json.to_json(), link)

    def list_documents(self, ctx: Context | None = None) -> CallToolResult:
        """Every document held (never an earlier version): id, title, type, status (in words
        when withdrawn, repealed or superseded), publisher, passages, and whether it is an
        invented sample."""
        with self.answering(ctx) as link:
            docs = resources.documents().to_json()["documents"]
            entries = [answers.document_entry(doc, link) for doc in docs]
        text = "\n\n".join(
            [f"{len(entries)} documents"] + [answers.document_text(e) for e in entries]
        )
        return _result(text, {"total": len(entries), "documents": entries})

    def find_duties(
        self,
        holder: Annotated[
            Holder | None,
            Field(description="Whose duties or powers (all holders when not given)."),
        ] = None,
        kind: Annotated[
            Literal["duty", "power", "any"], Field(description="Duties, powers, or both.")
        ] = "any",
        query: Annotated[
            str | None,
            Field(description="Words the duty concerns (the search syntax); all when not given."),
        ] = None,
        document: Documents = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Duties imposed, or powers conferred, on a holder (an authority, an employer, the
        Secretary of State, …), each with its citation, status and text. With `query`, the
        search ranks them by those words; without, they are listed in document order."""
        kinds = ["duty", "power"] if kind == "any" else [kind]
        with self.answering(ctx) as link:
            if query and query.strip():
                filters = {"duty": kinds, "holder": [holder] if holder else []}
                filters |= {"document": document or []}
                params = {"q": query, "limit": limit, "offset": offset}
                body = resources.search(params, filters).to_json()
                answer = answers.search_answer(body, link)
            else:
                answer = _duties_listed(holder, kinds, document or [], limit, offset, link)
        return _result(answers.search_text(answer), answer)

    # --- resources ------------------------------------------------------------------------------

    def passage_resource(self, passage_id: str) -> str:
        """A passage or provision, with its citation and status before its text."""
        with self.app.test_request_context("/"):
            found = resources.provision(passage_id)
            if found is None:
                raise ResourceNotFoundError(_not_found(passage_id))
            return answers.passage_full_text(
                answers.passage_answer(found.json.to_json(), lambda path: path)
            )

    def document_resource(self, document_id: str) -> str:
        """A document: its status and its contents, each provision with its kb:// address."""
        with self.app.test_request_context("/"):
            found = resources.document(document_id)
            if found is None:
                raise ResourceNotFoundError(f"No document with id {document_id!r}.")
            body = found.json.to_json()
        lines = [answers.document_text(answers.document_entry(body, lambda path: path)), ""]
        for entry in body["contents"]:
            indent = "  " * entry["depth"]
            where = f" ({answers.PASSAGE_URI.format(entry['id'])})" if entry["has_text"] else ""
            lines.append(f"{indent}- {entry['label']} {entry['title']}".rstrip() + where)
        return "\n".join(lines)

    def documents_resource(self) -> str:
        """Every document held, with its status."""
        with self.app.test_request_context("/"):
            docs = resources.documents().to_json()["documents"]
        return "\n\n".join(answers.document_text(answers.document_entry(d, str)) for d in docs)


def _duties_listed(holder, kinds, documents, limit, offset, link) -> dict[str, Any]:
    """Every passage with a duty or power of the holder, in document order (no query to rank
    by): the engine's passages of each current document."""
    version = resources.current_version()
    found = []
    for doc in version.current_documents:
        if documents and doc["id"] not in documents:
            continue
        for hit in version.engine.passages_of(doc["id"]):
            if hit.get("duty") in kinds and (holder is None or holder in hit.get("holders", [])):
                found.append(hit | {"url": resources.passage_url(hit["id"])})
    shown = found[offset : offset + limit]
    return {
        "query": "",
        "total": len(found),
        "offset": offset,
        "limit": limit,
        "relaxed": False,
        "suggestion": None,
        "as_at": None,
        "as_at_notes": [],
        "citation": None,
        "results": [answers.passage_head(hit, link) for hit in shown],
    }


def _http_base(ctx: Context | None) -> tuple[str, str]:
    """(scheme://host, path prefix) of the HTTP request a tool is answering; ('', '') over
    stdio or in process."""
    try:
        request = ctx.request_context.request if ctx is not None else None
    except ValueError:  # no request: called in process
        return "", ""
    url = getattr(request, "url", None)
    if url is None:
        return "", ""
    prefix = str(request.scope.get("root_path", "")).removesuffix(MOUNT)
    return f"{url.scheme}://{url.netloc}", prefix


def _message(exc: Exception) -> str:
    if isinstance(exc, RequestError):
        return exc.message
    if isinstance(exc, HTTPException):  # the search gate's 503: busy
        return exc.description or str(exc)
    return str(exc)


def _not_found(passage_id: str) -> str:
    """The API's 404 message, with how to cite a legislation id not held and where to read it."""
    message = f"No passage or provision with id {passage_id!r}."
    missing = resources.missing_legislation(passage_id)
    if missing:
        message += (
            f" It would be {missing['citation']}, which this knowledge base does not hold; "
            f"read it at {missing['source_url']}."
        )
    return message


def _cite_text(answer: dict[str, Any]) -> str:
    if not answer["resolved"]:
        names = [f"{c['title']} ({c['id']})" for c in answer["candidates"]]
        tail = f" Did you mean: {'; '.join(names)}?" if names else ""
        return f"{answer['message']}{tail}"
    held = "held here" if answer["in_index"] else "not held in this knowledge base"
    head = f"{answer['ref']!r} is {answer['citation']} (id {answer['id']}; {held})."
    if answer.get("passage"):
        return f"{head}\n\n{answers.passage_text(None, answer['passage'])}"
    return head if not answer.get("source_url") else f"{head} Source: {answer['source_url']}"


def _result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


TOOLS = ("search", "cite", "get_passage", "list_documents", "find_duties")


def build_server(app: Flask) -> MCPServer:
    """The MCP server answering from `app` (kb.web.create_app's)."""
    tools = KnowledgeBaseTools(app)
    server = MCPServer(
        "statutory-kb",
        title="Statutory guidance knowledge base",
        instructions=INSTRUCTIONS,
        version=package_version("statutory-kb"),
        log_level="WARNING",
    )
    for name in TOOLS:
        server.add_tool(getattr(tools, name), name=name, annotations=READ_ONLY)
    for uri, name, read in (
        ("kb://passage/{+passage_id}", "passage", tools.passage_resource),
        ("kb://document/{+document_id}", "document", tools.document_resource),
        ("kb://documents", "documents", tools.documents_resource),
    ):
        server.resource(uri, name=name, description=read.__doc__, mime_type="text/markdown")(read)
    return server
