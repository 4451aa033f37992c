"""Security headers on every response, and the API's HTTP caching (ETag, Cache-Control, 304)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Flask, Response, jsonify, request

API_MAX_AGE_S = 60
BASE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def content_security_policy(path: str, embed_ancestors: list[str]) -> str:
    if path == "/embed":
        ancestors = " ".join(["'self'", *embed_ancestors])
    else:
        ancestors = "'none'"
    return f"{BASE_CSP}; frame-ancestors {ancestors}"


def json_with_etag(body: dict[str, Any], volatile: tuple[str, ...] = ("took_ms",)) -> Response:
    """A JSON response whose ETag ignores fields that change on every call (timings)."""
    response = jsonify(body)
    stable = {key: value for key, value in body.items() if key not in volatile}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
    response.set_etag(digest[:32])
    return response


def api_caching(response):
    """The API's after_request hook: an ETag and a short max-age on a 200, so that If-None-Match
    gets a 304; errors are never cached."""
    if request.method not in ("GET", "HEAD"):
        return response
    if response.status_code != 200:
        response.headers.setdefault("Cache-Control", "no-store")
        return response
    if not response.get_etag()[0]:
        response.add_etag()
    response.headers.setdefault("Cache-Control", f"public, max-age={API_MAX_AGE_S}")
    return response.make_conditional(request)


def no_store(response):
    """/healthz's after_request hook: a health check must never be answered from a cache."""
    if request.method in ("GET", "HEAD"):
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask, embed_ancestors: list[str]) -> None:
    """Security headers on every response (the API's caching hooks are its blueprint's)."""

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(request.path, embed_ancestors)
        )
        if request.path != "/embed":
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
