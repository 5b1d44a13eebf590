"""The original platform's viewer page, unchanged in its calls, against this service.

The page below is a test fixture (not a product page) that makes the same requests, in the
same order and with the same encodings, as the original platform's ``templates/ar_viewer.html``:

1. ``GET /api/ar-content/by-unique/{uid}`` and ``GET /api/ar/{uid}/active-video`` (the original
   platform's own content API, answered here by the fixture: a studio keeps serving them),
2. MindAR 1.2.5 + three.js 0.158.0 start on the camera,
3. ``POST /api/mobile/sessions`` with an ``application/json`` body
   ``{session_id, ar_content_unique_id, user_agent, device_type}``,
4. on ``beforeunload``: ``navigator.sendBeacon("/api/mobile/analytics", JSON.stringify(
   {session_id, duration_seconds, video_played: true}))``, a ``text/plain;charset=UTF-8`` body.

Everything runs on one origin, as in the original (``API_BASE = window.location.origin``): the
fixture server answers the content API and hands every other request to this service, which is
how a studio routes its viewer domain to it. One deviation, needed for the page to run at all:
the original includes MindAR's files with classic ``<script>`` tags, but mind-ar 1.2.5 ships
them as ES modules (``import … from "three"``), which a classic tag refuses with a SyntaxError;
here they are loaded as modules with an import map, so that ``window.MINDAR`` exists.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Playwright, sync_playwright
from sqlalchemy import Engine
from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arv_analytics.app import create_app
from tests.support import free_port, new_database, settings_for
from tests.web.browser import chromium, require_browser
from tests.web.helpers import DEMO_MARKER, DEMO_VIDEO, new_content, the_session, wait_for

ASSETS = "/assets/vendor"

PAGE = """<!DOCTYPE html>
<html lang="ru">
<head>
  <meta charset="UTF-8">
  <meta name="viewport" content="width=device-width, initial-scale=1.0, user-scalable=no">
  <title>AR Viewer (original platform's calls)</title>
  <style>
    body {{ margin: 0; background: #000; }}
    #ar-container {{ position: fixed; inset: 0; }}
  </style>
</head>
<body>
  <div id="loading">Loading AR…</div>
  <div id="ar-container"></div>
  <script type="importmap">{{"imports": {{
    "three": "{assets}/three@0.158.0/build/three.module.js",
    "three/addons/": "{assets}/three@0.158.0/examples/jsm/"}}}}</script>
  <script type="module" src="{assets}/mind-ar@1.2.5/dist/mindar-image.prod.js"></script>
  <script type="module" src="{assets}/mind-ar@1.2.5/dist/mindar-image-three.prod.js"></script>
  <script src="{assets}/three@0.158.0/build/three.min.js"></script>
  <script>
    const PORTRAIT_UID = "{uid}";
    const API_BASE = window.location.origin;

    async function initAR() {{
      try {{
        const portraitRes = await fetch(`${{API_BASE}}/api/ar-content/by-unique/${{PORTRAIT_UID}}`);
        const portrait = await portraitRes.json();
        if (portrait.marker_status !== 'ready') throw new Error('marker not ready');
        const videoRes = await fetch(`${{API_BASE}}/api/ar/${{PORTRAIT_UID}}/active-video`);
        const videoData = await videoRes.json();
        const mindarThree = new window.MINDAR.IMAGE.MindARThree({{
          container: document.getElementById("ar-container"),
          imageTargetSrc: portrait.marker_url,
          maxTrack: 1, filterMinCF: 0.0001, filterBeta: 0.001, warmupTolerance: 5, missTolerance: 5
        }});
        const {{ renderer, scene, camera }} = mindarThree;
        const video = document.createElement('video');
        video.src = videoData.video_url;
        video.muted = true;
        video.playsInline = true;
        const texture = new THREE.VideoTexture(video);
        const plane = new THREE.Mesh(new THREE.PlaneGeometry(1, 0.5625),
                                     new THREE.MeshBasicMaterial({{ map: texture }}));
        const anchor = mindarThree.addAnchor(0);
        anchor.group.add(plane);
        anchor.onTargetFound = () => {{ video.play().catch(() => {{}}); }};
        anchor.onTargetLost = () => {{ video.pause(); }};
        await mindarThree.start();
        document.getElementById('loading').hidden = true;
        renderer.setAnimationLoop(() => {{ renderer.render(scene, camera); }});
        trackARSession(PORTRAIT_UID);
      }} catch (error) {{
        window.arError = String(error);
        console.error('AR initialization error:', error);
      }}
    }}

    function trackARSession(portraitId) {{
      const sessionId = generateUUID();
      const startTime = Date.now();
      window.arSessionId = sessionId;
      fetch(`${{API_BASE}}/api/mobile/sessions`, {{
        method: 'POST',
        headers: {{'Content-Type': 'application/json'}},
        body: JSON.stringify({{
          session_id: sessionId,
          ar_content_unique_id: portraitId,
          user_agent: navigator.userAgent,
          device_type: detectDeviceType()
        }})
      }});
      window.addEventListener('beforeunload', () => {{
        const duration = Math.round((Date.now() - startTime) / 1000);
        navigator.sendBeacon(`${{API_BASE}}/api/mobile/analytics`, JSON.stringify({{
          session_id: sessionId,
          duration_seconds: duration,
          video_played: true
        }}));
      }});
    }}

    function detectDeviceType() {{
      const ua = navigator.userAgent;
      if (/(tablet|ipad|playbook|silk)|(android(?!.*mobi))/i.test(ua)) return 'tablet';
      const mobile = /Mobile|Android|iP(hone|od)|IEMobile|BlackBerry|Kindle|Silk-Accelerated/;
      if (mobile.test(ua) || /(hpw|web)OS|Opera M(obi|ini)/.test(ua)) return 'mobile';
      return 'desktop';
    }}

    function generateUUID() {{
      return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function(c) {{
        const r = Math.random() * 16 | 0;
        const v = c === 'x' ? r : (r & 0x3 | 0x8);
        return v.toString(16);
      }});
    }}

    window.addEventListener('DOMContentLoaded', initAR);
  </script>
</body>
</html>
"""


@dataclass
class Seen:
    method: str
    path: str
    content_type: str
    body: bytes
    status: int = 0


@dataclass
class OriginalSite:
    """The viewer's origin: the original's page and content API, this service behind it."""

    url: str
    engine: Engine
    seen: list[Seen] = field(default_factory=list)

    def api_calls(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/api/")]


def front(service: ASGIApp, site: OriginalSite) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await service(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen = Seen(scope["method"], path, headers.get("content-type", ""), b"")
        if path.startswith("/api/"):
            site.seen.append(seen)

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen.body += message.get("body", b"")
            return message

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.status = message["status"]
            await send(message)

        uid = path.rstrip("/").split("/")[-1]
        if path.startswith("/viewer/"):
            response: Any = HTMLResponse(PAGE.format(assets=ASSETS, uid=uid))
        elif path.startswith("/api/ar-content/by-unique/"):
            response = JSONResponse({"marker_status": "ready", "marker_url": DEMO_MARKER})
        elif path.startswith("/api/ar/") and path.endswith("/active-video"):
            response = JSONResponse({"video_url": DEMO_VIDEO})
        else:
            await service(scope, recording_receive, recording_send)
            return
        await response(scope, recording_receive, recording_send)

    return app


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OriginalSite]:
    require_browser()
    with new_database("sqlite", tmp_path_factory.mktemp("original")) as db:
        engine = db.engine()
        port = free_port()
        site = OriginalSite(f"http://127.0.0.1:{port}", engine)
        service = create_app(settings_for(db, viewer_assets_url=ASSETS))
        server = uvicorn.Server(
            uvicorn.Config(front(service, site), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "server did not start"
            assert time.monotonic() < deadline, "server did not start in time"
            time.sleep(0.02)
        try:
            yield site
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            engine.dispose()


@pytest.fixture(scope="module")
def playwright(site: OriginalSite) -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


def test_the_original_viewer_records_its_session_and_duration(
    site: OriginalSite, playwright: Playwright
) -> None:
    content = new_content(site.url, "original viewer")
    site.seen.clear()  # from here on, only the browser's requests
    with chromium(playwright) as browser:
        page = browser.browser.new_context(viewport={"width": 640, "height": 480}).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{site.url}/viewer/{content['unique_id']}")
        # MindAR loads TensorFlow.js and warms up on a software GPU before start() resolves.
        page.wait_for_function("window.arSessionId || window.arError", timeout=90_000)
        assert page.evaluate("window.arError || null") is None, problems
        sid = page.evaluate("window.arSessionId")
        row = wait_for(lambda: the_session(site.engine, content["id"]), 10, "the start")
        assert row["session_id"] == sid.replace("-", "")
        assert row["duration_seconds"] is None
        time.sleep(3)
        # Leaving the page: beforeunload fires and the beacon goes out.
        page.goto("about:blank")
        row = wait_for(
            lambda: (r := the_session(site.engine, content["id"])) and r["duration_seconds"] and r,
            10,
            "the beacon's duration",
        )
    assert 3 <= row["duration_seconds"] <= 6, row
    assert row["video_played"] is True
    assert row["device_type"] == "desktop"

    calls = [(s.method, s.path.replace(content["unique_id"], "{uid}")) for s in site.api_calls()]
    assert calls == [
        ("GET", "/api/ar-content/by-unique/{uid}"),
        ("GET", "/api/ar/{uid}/active-video"),
        ("POST", "/api/mobile/sessions"),
        ("POST", "/api/mobile/analytics"),
    ]
    start, beacon = site.api_calls()[2:]
    assert (start.content_type, start.status) == ("application/json", 200)
    assert (beacon.content_type, beacon.status) == ("text/plain;charset=UTF-8", 200)
    assert beacon.body.decode() == (
        f'{{"session_id":"{sid}","duration_seconds":{row["duration_seconds"]},"video_played":true}}'
    )
