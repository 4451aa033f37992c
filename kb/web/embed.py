"""What intranets put on their own pages: the /widget.js script and the /embed iframe page."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request

from kb.core.models import NON_OPERATIVE_KINDS
from kb.core.vocabularies import CURRENT_STATUSES, STATUS_LABELS
from kb.web.pages import retry_headers, search_context

bp = Blueprint("embed", __name__)

WIDGET_MAX_AGE_S = 3600
VOCABULARY_SLOT = "var VOCABULARY = {};"  # in widget.js, where the vocabularies are written


@bp.get("/embed")
def embed_page():
    context, status = search_context("embed.embed_page")
    return render_template("embed.html", **context), status, retry_headers(context)


@bp.get("/widget.js")
def widget_js():
    # Served from the site root so the snippet's URL stays short and stable.
    response = Response(_widget_source(), mimetype="text/javascript")
    response.headers["Cache-Control"] = f"public, max-age={WIDGET_MAX_AGE_S}"
    response.add_etag()
    return response.make_conditional(request)


def _widget_source() -> str:
    """kb/static/widget.js with the vocabularies it shows written in (read once per app)."""
    cached = current_app.extensions.get("kb_widget_js")
    if cached is None:
        source = (Path(current_app.static_folder) / "widget.js").read_text(encoding="utf-8")
        words = {
            "status_labels": STATUS_LABELS,
            "current_statuses": list(CURRENT_STATUSES),
            "not_operative": NON_OPERATIVE_KINDS,
        }
        cached = source.replace(VOCABULARY_SLOT, f"var VOCABULARY = {json.dumps(words)};", 1)
        current_app.extensions["kb_widget_js"] = cached
    return cached
