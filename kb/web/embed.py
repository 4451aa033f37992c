"""What intranets put on their own pages: the /widget.js script and the /embed iframe page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

from kb.web.pages import retry_headers, search_context

bp = Blueprint("embed", __name__)

WIDGET_MAX_AGE_S = 3600


@bp.get("/embed")
def embed_page():
    context, status = search_context("embed.embed_page")
    return render_template("embed.html", **context), status, retry_headers(context)


@bp.get("/widget.js")
def widget_js():
    # Served from the site root so the snippet's URL stays short and stable.
    response = send_from_directory(
        current_app.static_folder, "widget.js", mimetype="text/javascript", max_age=WIDGET_MAX_AGE_S
    )
    response.headers["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE_S}"
    return response
