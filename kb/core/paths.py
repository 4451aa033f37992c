"""This knowledge base's own page paths, for code below the web layer.

The web layer builds its links with url_for; the core, the service and the search answers
(cross-references, effects, versions, citation look-ups) need the same paths without a
request, so they are written here once. tests/test_pages.py checks they are url_for's.
"""

from __future__ import annotations


def passage_path(passage_id: str) -> str:
    """A passage's or provision's page: /p/<id>."""
    return f"/p/{passage_id}"


def document_path(document_id: str) -> str:
    """A document's page: /d/<id>."""
    return f"/d/{document_id}"
