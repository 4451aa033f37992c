"""Schemathesis against /api/v1/openapi.json: whatever the spec allows a client to send, the API
never answers with a server error, and every answer is one the spec describes: a documented
status code and media type, a body that validates against that status's schema (whose objects
are closed with `additionalProperties: false`, so an undocumented field fails) and the
documented headers (ETag, Cache-Control)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow  # run by CI and the README's command; skip with -m "not slow"

# Not `positive_data_acceptance`: the query grammar (balanced quotes and brackets, at most 40
# terms) is more than a JSON schema can say, so a schema-valid `q` may rightly get a 400, whose
# body the conformance checks still validate.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="session")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_answer_conforms_to_the_openapi_document(case):
    case.call_and_validate(checks=CHECKS)
