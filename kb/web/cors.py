"""CORS for the JSON API, only for the origins the operator lists in KB_CORS_ORIGINS.

Written out rather than using flask-cors because it sends Access-Control-Allow-Origin even to
requests without an Origin and omits `Vary: Origin`, which lets a shared cache hand one
origin's permission to another.
"""

from __future__ import annotations

from flask import Flask, current_app, request

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_HEADERS = {"accept", "accept-language", "content-language", "if-none-match"}
MAX_AGE_S = "600"


def install(app: Flask, origins: list[str]) -> None:
    """Remember the origins allowed; the API's blueprints run `cors_headers` on their responses."""
    app.extensions["kb_cors_origins"] = {origin.rstrip("/") for origin in origins}


def cors_headers(response):
    """The API's after_request hook (kb.web.api): pages never get CORS headers."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if not origin or origin not in current_app.extensions.get("kb_cors_origins", ()):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        asked = request.headers.get("Access-Control-Request-Headers", "")
        wanted = [h.strip() for h in asked.split(",") if h.strip()]
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        granted = [h for h in wanted if h.lower() in ALLOWED_HEADERS]
        if granted:
            response.headers["Access-Control-Allow-Headers"] = ", ".join(granted)
        response.headers["Access-Control-Max-Age"] = MAX_AGE_S
        response.vary.update(["Access-Control-Request-Method", "Access-Control-Request-Headers"])
    return response
