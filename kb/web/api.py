"""JSON API v1: the blueprint under /api/v1, every page's JSON twin, and /healthz beside it.

Both blueprints (`bp` under /api/v1, `health` for /healthz) answer errors as JSON and set their
own caching and CORS headers; nothing else in the app asks whether a request is the API's.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Rule

from indexer.index.store import IndexMissing
from kb.responses import Error, PassageNotFound
from kb.search import RequestError
from kb.web import changes, cors, headers, openapi, resources
from kb.web.headers import json_with_etag

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
health = Blueprint("health", __name__)
JSON_BLUEPRINTS = (bp.name, health.name)
# What a URL under the prefix that no route matches is given (claim_unrouted); never routed to.
UNROUTED = Rule(f"{PREFIX}/<path:unknown>", endpoint=f"{bp.name}.unknown")


@bp.get("/search")
def search():
    try:
        body = resources.search(request.args, resources.filter_args(request.args))
    except RequestError as exc:
        return error_json(exc.error, exc.message), exc.status
    return json_with_etag(body.to_json())


@bp.get("/cite")
def cite():
    ref = request.args.get("ref", "").strip()
    if not ref:
        return error_json("bad_request", "Give a citation as ?ref=, e.g. s 3(2) LGA 1999."), 400
    if len(ref) > 300:
        return error_json("bad_request", "A citation is at most 300 characters."), 400
    body, status = resources.citation(ref)
    if status != 200:
        return jsonify(body.to_json()), status
    return json_with_etag(body.to_json()), 200


@bp.get("/passages/<path:passage_id>")
def passage(passage_id: str):
    found = resources.provision(passage_id)
    if found is None:
        message = f"No passage or provision with id {passage_id!r}."
        missing = resources.missing_legislation(passage_id)
        if not missing:
            abort(404, description=message)
        return jsonify(
            PassageNotFound(error="not_found", message=message, **missing).to_json()
        ), 404
    return jsonify(found.json.to_json())


@bp.get("/documents")
def documents():
    return jsonify(resources.documents().to_json())


@bp.get("/documents/<path:document_id>")
def document(document_id: str):
    found = resources.document(document_id)
    if found is None:
        abort(404, description=f"No document with id {document_id!r}.")
    return jsonify(found.json.to_json())


@bp.get("/changes")
def changes_api():
    try:
        body = changes.changes_data(request.args)
    except changes.BadRequest as exc:
        return error_json("bad_request", str(exc)), 400
    return jsonify(body.to_json())


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(openapi.spec(current_app))


@health.get("/healthz")
def healthz():
    return jsonify(resources.health().to_json())


def error_json(error: str, message: str):
    """An error body ({error, message}: kb.responses.Error)."""
    return jsonify(Error(error=error, message=message).to_json())


def json_error(exc: HTTPException):
    error = getattr(exc, "error_code", None) or (exc.name or "error").lower()
    response = error_json(error.replace(" ", "_"), exc.description)
    response.status_code = exc.code
    retry_after = dict(exc.get_headers()).get("Retry-After")
    if retry_after:  # a 503 from the search gate says when to come back
        response.headers["Retry-After"] = retry_after
    return response


def index_missing(exc: IndexMissing):
    return error_json("index_unavailable", str(exc)), 503


for blueprint in (bp, health):
    blueprint.register_error_handler(HTTPException, json_error)
    blueprint.register_error_handler(IndexMissing, index_missing)
    # Hooks run last-registered first: CORS, then caching (a 304 keeps the CORS headers).
    blueprint.after_request(headers.api_caching if blueprint is bp else headers.no_store)
    blueprint.after_request(cors.cors_headers)


def claim_unrouted() -> None:
    """Give a request no route matched the blueprint its URL belongs to (app.before_request).

    Flask picks error handlers and hooks by the matched rule, so without this a wrong method
    (POST /api/v1/search, a 405), an unknown URL under the API's prefix (a 404) or a redirect
    from one (Werkzeug's slash merging) would get the pages' HTML error page and headers rather
    than the API's. A 405 is given the rule its URL matches for a method it allows; the others
    are the API's by their URL, there being no rule to go by. /metrics still counts them all as
    unmatched (kb.web.metrics).
    """
    exc = request.routing_exception
    if exc is None:
        return
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        try:
            rule, _ = current_app.create_url_adapter(request).match(
                method=sorted(exc.valid_methods)[0], return_rule=True
            )
        except HTTPException:  # nothing to claim it for: the app's own handler answers
            return
        request.url_rule = rule
    elif request.path.startswith(f"{bp.url_prefix}/"):
        request.url_rule = UNROUTED
