"""One error shape everywhere, and never a stack trace."""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from arv_analytics.app import create_app
from tests.support import Database, LiveServer, settings_for


def test_unknown_route_and_wrong_method_are_json(api: httpx.Client) -> None:
    r = api.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "Not Found"}
    r = api.get("/api/analytics/ar-session")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"


def test_unexpected_errors_are_a_json_500_without_a_trace(database: Database) -> None:
    app = create_app(settings_for(database))
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app.include_router(boom)
    server = LiveServer.__new__(LiveServer)
    LiveServer.__init__(server, settings_for(database))
    server.server.config.app = app
    server.server.config.loaded = False
    with server, httpx.Client(base_url=server.url) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "detail": "internal server error"}
    assert "secret" not in r.text


def test_health_and_openapi(api: httpx.Client) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/analytics/overview",
        "/api/analytics/companies/{company_id}",
        "/api/analytics/projects/{project_id}",
        "/api/analytics/ar-content/{content_id}",
        "/api/analytics/ar-session",
        "/api/analytics/ar-session/{session_id}/end",
    ):
        assert path in paths
    body = paths["/api/analytics/ar-session"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/plain"}
    assert api.get("/docs").status_code == 200
