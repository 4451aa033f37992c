"""The Flask app factory: pages for people, a JSON API mirroring them, and shared error handling."""

from __future__ import annotations

from flask import Flask, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from indexer.index.store import IndexMissing
from kb.core.config import PROJECT_ROOT, Settings
from kb.service import KnowledgeBase
from kb.web.limits import SearchGate


def create_app(
    settings: Settings,
    kb: KnowledgeBase | None = None,
    search_gate: SearchGate | None = None,
) -> Flask:
    """The app, with the settings its caller read (`kb serve`: the CLI's); `search_gate` bounds
    concurrent searches (kb.web.limits; `kb serve` sizes it)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "kb" / "static"),
    )
    app.config["KB_SETTINGS"] = settings
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    app.extensions["kb"] = kb or KnowledgeBase(settings)

    from kb.web import api, changes, cors, embed, headers, limits, metrics, openapi, pages, render

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(changes.bp)
    render.install(app)
    headers.install(app, settings.embed_ancestors)
    cors.install(app, settings.cors_origins)
    metrics.install(app)
    limits.install(app, search_gate)  # after metrics, so refused requests are counted too

    @app.get("/favicon.ico")
    def favicon():  # browsers and bookmark tools ask for it whatever the page's <link> says
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path == "/healthz"

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            error = getattr(exc, "error_code", None) or (exc.name or "error").lower()
            response = jsonify(error=error.replace(" ", "_"), message=exc.description)
        else:
            page = render_template("error.html", code=exc.code, message=exc.description)
            response = app.make_response(page)
        response.status_code = exc.code
        retry_after = dict(exc.get_headers()).get("Retry-After")
        if retry_after:  # a 503 from the search gate says when to come back
            response.headers["Retry-After"] = retry_after
        return response

    @app.errorhandler(IndexMissing)
    def index_missing(exc: IndexMissing):
        if wants_json():
            return jsonify(error="index_unavailable", message=str(exc)), 503
        return render_template("error.html", code=503, message=str(exc)), 503

    return app
