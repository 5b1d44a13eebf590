"""One error shape everywhere, and never a stack trace."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest
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


def test_a_client_gone_before_its_body_is_no_server_error(
    api: httpx.Client, server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone that loses its network halfway through a request is not a bug of ours: it is
    logged as a closed request (nginx's 499), never as a 500, and nothing is stored."""
    host, port = server.url.removeprefix("http://").split(":")
    token = api.headers["Authorization"]
    requests = [
        # the tracking fast path, a chunked body (which the fast path hands to its FastAPI
        # route), and a management route
        "POST /api/analytics/ar-session HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        'Content-Length: 300\r\n\r\n{"ar_',
        "POST /api/analytics/ar-session HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"ar_\r\n',
        f"POST /api/companies HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name": "Half',
    ]
    with caplog.at_level(logging.INFO, logger="arv_analytics"):
        for raw in requests:
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(raw.encode())
                time.sleep(0.2)
        deadline = time.monotonic() + 5
        while len(_posts(caplog)) < len(requests) and time.monotonic() < deadline:
            time.sleep(0.05)
    statuses = [r.getMessage().split()[2] for r in _posts(caplog)]
    assert statuses[:2] == ["499", "499"], caplog.text
    assert "500" not in statuses
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert api.get("/api/companies").json()["items"] == []


def _posts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records
        if r.name == "arv_analytics.access" and r.getMessage().startswith("POST ")
    ]  # fmt: skip
