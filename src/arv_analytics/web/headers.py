"""Security headers on every response, and a Content-Security-Policy on every HTML page.

Pure ASGI middleware: it only edits the response-start message, so streamed bodies and static
files pass through untouched.

HTML pages get a CSP that lets scripts come only from this server, from the viewer's asset
origin (``ARV_VIEWER_ASSETS_URL``: MindAR and three.js) and from inline blocks that carry the
per-request nonce; styles from the same origins or inline. A template reads the nonce as
``request.state.csp_nonce``. A page whose video or target file lives elsewhere names those
origins in ``request.state.csp_media_origins``; they are allowed for media and fetches only.
A route that sets its own Content-Security-Policy keeps it (the API docs do).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REFERRER_POLICY = "strict-origin-when-cross-origin"


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL; None for paths and anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def html_policy(nonce: str, assets_origin: str, media_origins: Iterable[str] = ()) -> str:
    assets = f"'self' {assets_origin}"
    media = " ".join(sorted({o for o in media_origins if o}))
    directives = {
        "default-src": "'self'",
        "script-src": f"{assets} 'nonce-{nonce}'",
        # MindAR injects its overlay's <style> at run time, so styles cannot be nonce-only;
        # inline CSS cannot run code, inline scripts stay nonce-only.
        "style-src": f"{assets} 'unsafe-inline'",
        "img-src": f"{assets} data: blob: {media}",
        "font-src": assets,
        "media-src": f"'self' blob: {media}",
        # The viewer hands MindAR its target file as a blob: URL, which MindAR then fetches.
        "connect-src": f"{assets} blob: {media}",
        # MindAR runs its image tracker in a worker made from a blob.
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {' '.join(value.split())}" for name, value in directives.items())


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, assets_url: str) -> None:
        self.app = app
        self.assets_origin = origin_of(assets_url) or "'self'"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        state = scope.setdefault("state", {})
        state["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    if "content-security-policy" not in headers:
                        media = state.get("csp_media_origins", ())
                        headers["Content-Security-Policy"] = html_policy(
                            nonce, self.assets_origin, media
                        )
                    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
