"""The MCP server over streamable HTTP at /mcp of `kb serve`, which is WSGI (Flask under
waitress) while the SDK's transport is ASGI.

- **Stateless, JSON responses.** Each POST is answered on its own, in one JSON body: no session
  to keep between requests (so any thread, or any of several `kb serve` processes behind a
  balancer, can answer any request) and no SSE stream holding a waitress thread open.
- **ASGI inside WSGI** with a2wsgi's ASGIMiddleware, dispatched by path with werkzeug's
  DispatcherMiddleware (kb.web.create_app), so the pages and the API are untouched. The SDK's
  session manager must run in the event loop that serves the requests: one loop thread,
  started on the first request to /mcp (an app that is never asked for /mcp starts none).
- **Origin.** A browser sends Origin with every POST, so a request with an Origin other than a
  loopback one or one listed in KB_CORS_ORIGINS is refused (403): that is what stops another
  web page, or a DNS-rebinding one, from driving the server through a browser. Requests without
  Origin (assistants, scripts) pass. The SDK's own Host check is left off, since it would
  refuse every name an operator serves the knowledge base under.
- **Token.** With KB_MCP_TOKEN set, a request without `Authorization: Bearer <token>` is refused
  with 401; without it, /mcp is as open as the API. Refusals are JSON-RPC errors, so that an
  MCP client shows their message rather than a bare status.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

from a2wsgi import ASGIMiddleware
from flask import Flask
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import INVALID_REQUEST
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from kb.core.config import Settings
from kb.mcp_server import MOUNT, build_server
from kb.responses import Error
from kb.web.metrics import timed

StartResponse = Callable[..., Any]
ALLOW_METHODS = "POST, GET, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id"
EXPOSE_HEADERS = "Mcp-Session-Id, Mcp-Protocol-Version"
LOOPBACK_NAMES = ("localhost",)


def is_loopback_origin(origin: str) -> bool:
    """http(s)://127.0.0.1:<any port>, localhost or [::1]."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class McpMount:
    """The WSGI app answering /mcp: Origin and token checks, then the SDK's ASGI transport."""

    def __init__(self, app: Flask, settings: Settings):
        self.flask_app = app
        self.token = settings.mcp_token
        self.origins = {origin.rstrip("/") for origin in settings.cors_origins}
        self._lock = threading.Lock()
        self._wsgi: ASGIMiddleware | None = None

    def origin_allowed(self, origin: str | None) -> bool:
        return not origin or origin in self.origins or is_loopback_origin(origin)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        cors = _cors_headers(origin) if origin else []
        if not self.origin_allowed(origin):
            message = f"Origin {origin!r} may not use /mcp: list it in KB_CORS_ORIGINS."
            return _error(start_response, "403 Forbidden", "forbidden_origin", message, [])
        if environ.get("PATH_INFO", "") not in ("", "/"):
            message = f"The MCP endpoint is {MOUNT}; nothing is under it."
            return _error(start_response, "404 Not Found", "not_found", message, cors)
        if environ["REQUEST_METHOD"] == "OPTIONS":  # a CORS preflight: browsers send no token
            start_response("204 No Content", [*cors, ("Access-Control-Max-Age", "600")])
            return [b""]
        if self.token and not _bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), self.token):
            message = "This MCP endpoint needs the header 'Authorization: Bearer <KB_MCP_TOKEN>'."
            headers = [*cors, ("WWW-Authenticate", 'Bearer realm="statutory-kb"')]
            return _error(start_response, "401 Unauthorized", "unauthorized", message, headers)

        def with_cors(status: str, headers: list[tuple[str, str]], *rest):
            return start_response(status, [*headers, *cors], *rest)

        return self._transport()(environ, with_cors)

    def _transport(self) -> ASGIMiddleware:
        with self._lock:
            if self._wsgi is None:
                self._wsgi = _start(self.flask_app)
            return self._wsgi


def _start(app: Flask) -> ASGIMiddleware:
    """The SDK's streamable HTTP handler behind a2wsgi, its session manager running in a
    daemon event-loop thread of its own."""
    server = build_server(app)
    server.streamable_http_app(
        streamable_http_path=MOUNT,
        stateless_http=True,
        json_response=True,
        # Origin is checked by McpMount; the SDK still checks POST's Content-Type.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="kb-mcp", daemon=True).start()
    started: Future[None] = Future()

    async def run_manager() -> None:
        async with manager.run():
            started.set_result(None)
            await asyncio.Event().wait()  # for the life of the process

    asyncio.run_coroutine_threadsafe(run_manager(), loop)
    started.result(timeout=60)
    return ASGIMiddleware(manager.handle_request, loop=loop)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _cors_headers(origin: str) -> list[tuple[str, str]]:
    """For an allowed Origin (the caller refuses the others)."""
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", ALLOW_METHODS),
        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
        ("Vary", "Origin"),
    ]


def _error(
    start_response: StartResponse,
    status: str,
    error: str,
    message: str,
    headers: list[tuple[str, str]],
) -> list[bytes]:
    """A refusal as a JSON-RPC error (with no request id, as the SDK's own), which MCP clients
    show as it is; `data` is the API's error body ({error, message})."""
    data = Error(error=error, message=message).to_json()
    failure = {"code": INVALID_REQUEST, "message": message, "data": data}
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": failure}).encode()
    start_response(
        status,
        [*headers, ("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def mount(app: Flask, settings: Settings) -> None:
    """Serve MCP at /mcp of `app`, in front of its own WSGI app, counted in /metrics and the
    access log as route /mcp (kb.web.metrics.timed)."""
    answer = timed(app, MOUNT, McpMount(app, settings))
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {MOUNT: answer})
