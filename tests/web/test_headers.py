"""Security headers: nosniff everywhere, a CSP on every HTML page, and /docs without a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse

from arv_analytics.app import create_app
from tests.support import Database, LiveServer, settings_for

ASSETS = "https://cdn.jsdelivr.net/npm/mind-ar@1.2.5/dist/"


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_json_answers_are_nosniff_without_a_csp(api: httpx.Client) -> None:
    for r in (api.get("/api/analytics/overview"), api.get("/api/nothing"), api.get("/healthz")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in r.headers


def test_the_docs_work_offline_under_their_own_policy(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    # Nothing is loaded from another origin.
    assert not re.search(r"""(src|href)=["']https?://""", html)
    policy = directives(page.headers["content-security-policy"])
    assert policy["script-src"][0] == "'self'"
    [nonce] = re.findall(r'<script nonce="([^"]+)">', html)
    assert f"'nonce-{nonce}'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # A fresh nonce per page.
    assert nonce not in api.get("/docs").headers["content-security-policy"]
    for src in re.findall(r"""(?:src|href)="(/docs/assets/[^"]+)""", html):
        asset = api.get(src)
        assert asset.status_code == 200, src
        assert asset.headers["x-content-type-options"] == "nosniff"
    bundle = api.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert "SwaggerUIBundle" in bundle.text


@pytest.fixture
def html_server(database: Database) -> Iterator[LiveServer]:
    """The real app plus two HTML pages, standing in for the viewer."""
    app = create_app(settings_for(database))

    @app.get("/page", include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        nonce = request.state.csp_nonce
        return HTMLResponse(f'<script nonce="{nonce}">1</script>')

    @app.get("/video-page", include_in_schema=False)
    async def video_page(request: Request) -> HTMLResponse:
        request.state.csp_media_origins = ["https://videos.example.com"]
        return HTMLResponse("<video></video>")

    server = LiveServer(settings_for(database))
    server.server.config.app = app
    server.server.config.loaded = False
    with server:
        yield server


def test_html_pages_allow_only_the_viewer_asset_origin(html_server: LiveServer) -> None:
    with httpx.Client(base_url=html_server.url) as c:
        r = c.get("/page")
        policy = directives(r.headers["content-security-policy"])
        nonce = re.search(r'nonce="([^"]+)"', r.text)
        assert nonce
        assert policy["script-src"] == ["'self'", "https://cdn.jsdelivr.net", f"'nonce-{nonce[1]}'"]
        assert policy["default-src"] == ["'self'"]
        assert "'unsafe-inline'" not in policy["script-src"]
        assert "'unsafe-eval'" not in policy["script-src"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        # No other origin anywhere unless the page names one.
        origins = {v for vs in policy.values() for v in vs if "://" in v}
        assert origins == {"https://cdn.jsdelivr.net"}
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"

        media = directives(c.get("/video-page").headers["content-security-policy"])
        assert "https://videos.example.com" in media["media-src"]
        assert "https://videos.example.com" in media["connect-src"]
        assert "https://videos.example.com" not in media["script-src"]


def test_the_asset_origin_follows_the_setting(database: Database) -> None:
    app = create_app(
        settings_for(database, viewer_assets_url="https://assets.example:8443/mindar/")
    )

    @app.get("/page", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    server = LiveServer(settings_for(database))
    server.server.config.app = app
    server.server.config.loaded = False
    with server, httpx.Client(base_url=server.url) as c:
        policy = directives(c.get("/page").headers["content-security-policy"])
    assert "https://assets.example:8443" in policy["script-src"]
    assert "https://cdn.jsdelivr.net" not in policy["script-src"]
