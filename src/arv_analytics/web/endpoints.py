"""The AR viewer page and the files it loads (the tracker, and optionally MindAR/three.js)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from arv_analytics import __version__
from arv_analytics.config import Settings
from arv_analytics.db import SessionDep
from arv_analytics.errors import NotFound
from arv_analytics.web import assets, service
from arv_analytics.web.headers import origin_of
from arv_analytics.web.static_files import IMMUTABLE

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
# Busts the cache of the viewer's own (unversioned) script and styles on every release.
templates.env.globals["version"] = __version__

TRACKER_PATH = "/static/arv-tracker.v1.js"
# The page depends on the content's state (it may be deactivated at any time).
_PAGE_HEADERS = {"Cache-Control": "no-cache"}


@router.get("/ar/{unique_id}", response_class=HTMLResponse)
async def viewer(unique_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    try:
        content = await service.viewer_content(session, unique_id)
    except service.NotReady:
        return _not_found(request, ready=False)
    except NotFound:
        return _not_found(request, ready=True)
    # The page's CSP must allow the video and target file wherever the content keeps them.
    request.state.csp_media_origins = [
        origin
        for url in (content.video_url, content.marker_url)
        if url and (origin := origin_of(url))
    ]
    return templates.TemplateResponse(
        request,
        "viewer.html",
        {
            "content": content,
            "assets": assets.viewer_assets(settings.viewer_assets_url),
            "tracker_src": TRACKER_PATH,
            "heartbeat_seconds": settings.heartbeat_seconds,
            "respect_gpc": settings.respect_gpc,
        },
        headers=_PAGE_HEADERS,
    )


def _not_found(request: Request, *, ready: bool) -> HTMLResponse:
    # A person followed a QR code here: answer with a page, not a JSON error.
    return templates.TemplateResponse(
        request, "not_found.html", {"ready": ready}, status_code=404, headers=_PAGE_HEADERS
    )


@router.get(assets.LOCAL_PREFIX + "/{spec}/{path:path}")
async def vendor_asset(spec: str, path: str) -> FileResponse:
    """The local copy of MindAR/three.js (`make vendor`), laid out like the npm CDN."""
    found = assets.vendor_file(spec, path)
    if found is None:
        raise NotFound(f"no vendor file {spec}/{path}; run `make vendor` to install them")
    # The version is in the URL, so the file behind it never changes.
    return FileResponse(found, headers={"Cache-Control": IMMUTABLE})
