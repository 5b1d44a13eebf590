"""Cross-origin rules: tracking is open to every origin, everything else to none.

The viewer or a customer's own AR page may live on another domain than this service. Its
tracker posts text/plain bodies, which browsers send without a preflight; a page that posts
application/json gets a preflight, answered here for the two tracking routes only. No route
ever allows credentials cross-origin, and the read and management routes send no CORS
headers at all, so a browser on another origin can neither read analytics nor send a token.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TRACKING_PATHS = re.compile(
    r"^/api/analytics/ar-session(/[^/]+/end)?/?$"
    # The original platform's tracking paths (compat/), which its deployed viewers still call.
    r"|^/api(/analytics)?/mobile/(sessions|analytics)/?$|^/api/analytics/ar-diagnostic/?$"
)
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


class TrackingCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not TRACKING_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            # The routes only know POST; OPTIONS on them is a preflight (or a probe).
            await Response(status_code=204, headers=PREFLIGHT_HEADERS)(scope, receive, send)
            return
        if "origin" not in Headers(scope=scope):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Errors too: a tracker on another origin may read why it was refused.
                MutableHeaders(scope=message)["Access-Control-Allow-Origin"] = "*"
            await send(message)

        await self.app(scope, receive, send_with_cors)
