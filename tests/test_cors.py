"""CORS: only origins the operator lists may call the API from a browser."""

import dataclasses

import pytest

from kb.web import create_app

ALLOWED = "https://intranet.council.example"


@pytest.fixture()
def cors_client(sample_settings, sample_kb):
    settings = dataclasses.replace(sample_settings, cors_origins=[ALLOWED, "http://127.0.0.1:9"])
    app = create_app(settings, kb=sample_kb)
    app.testing = True
    return app.test_client()


def test_an_allowed_origin_is_echoed_with_vary(cors_client):
    response = cors_client.get("/api/v1/search?q=duty", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_another_origin_gets_no_cors_headers(cors_client):
    response = cors_client.get("/api/v1/search?q=duty", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert not [h for h in response.headers.keys() if h.lower().startswith("access-control-")]
    assert "Origin" in response.headers["Vary"]  # caches must not reuse it for another origin


def test_no_origin_no_cors_headers(cors_client):
    response = cors_client.get("/api/v1/documents")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_by_default_no_origin_is_allowed(client):
    response = client.get("/api/v1/search?q=duty", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_for_an_allowed_origin(cors_client):
    response = cors_client.options(
        "/api/v1/search?q=duty",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match, X-Secret",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "If-None-Match"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_preflight_for_another_origin_is_refused(cors_client):
    response = cors_client.options(
        "/api/v1/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_pages_never_get_cors_headers(cors_client):
    response = cors_client.get("/?q=duty", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_errors_carry_cors_so_the_widget_can_read_the_message(cors_client):
    response = cors_client.get('/api/v1/search?q="open', headers={"Origin": ALLOWED})
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_origins_come_from_the_environment():
    from kb.core.config import Settings

    settings = Settings.from_env({"KB_CORS_ORIGINS": "https://a.example, https://b.example/"})
    # a trailing slash is dropped: a browser never sends one in Origin
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
