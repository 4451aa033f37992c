"""The Flask app factory: pages for people, the JSON API mirroring them (its own blueprint, with
its own error handlers and hooks), and the pages' error page."""

from __future__ import annotations

from flask import Flask, redirect, render_template, url_for
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

    from kb.mcp_http import mount
    from kb.web import api, changes, cors, embed, headers, limits, metrics, openapi, pages, render

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.health)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(changes.bp)
    app.before_request(api.claim_unrouted)  # first: a 404 or 405 is answered as its URL's
    render.install(app)
    headers.install(app, settings.embed_ancestors)
    cors.install(app, settings.cors_origins)
    metrics.install(app, settings.metrics_dir)
    limits.install(app, search_gate)  # after metrics, so refused requests are counted too
    metrics.watch_gate(app)
    mount(app, settings)  # /mcp: the MCP server (streamable HTTP) beside the app (kb.mcp_http)

    @app.get("/favicon.ico")
    def favicon():  # browsers and bookmark tools ask for it whatever the page's <link> says
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    # The pages' errors, and those of URLs no blueprint owns; the API's are its own (kb.web.api).
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        page = render_template("error.html", code=exc.code, message=exc.description)
        response = app.make_response(page)
        response.status_code = exc.code
        retry_after = dict(exc.get_headers()).get("Retry-After")
        if retry_after:  # a 503 from the search gate says when to come back
            response.headers["Retry-After"] = retry_after
        return response

    @app.errorhandler(IndexMissing)
    def index_missing(exc: IndexMissing):
        return render_template("error.html", code=503, message=str(exc)), 503

    return app
