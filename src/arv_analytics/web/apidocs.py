"""Swagger UI at /docs, served from this server: no CDN, so it works offline.

The assets are the ones the ``fastapi-offline`` package ships (a current Swagger UI 5,
which renders OpenAPI 3.1). The page has its own, tighter Content-Security-Policy: its
scripts come only from here, and its one inline script carries the request's nonce.
"""

from __future__ import annotations

import json
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
_ASSETS_DIR = files("fastapi_offline") / "static"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script nonce="{nonce}">
window.ui = SwaggerUIBundle({{
  url: {openapi_url},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
"""


def docs_policy(nonce: str) -> str:
    # Swagger UI sets inline styles as it renders, hence 'unsafe-inline' for styles only.
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def install(app: FastAPI, docs_url: str = "/docs") -> None:
    """Mounts the assets and the page; create the app with ``docs_url=None``."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(_ASSETS_DIR)), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        nonce: str = request.state.csp_nonce
        root = request.scope.get("root_path", "")
        html = _PAGE.format(
            title=f"{app.title} – API docs",
            assets=root + ASSETS_PATH,
            nonce=nonce,
            openapi_url=json.dumps(root + (app.openapi_url or "/openapi.json")),
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(nonce)})
