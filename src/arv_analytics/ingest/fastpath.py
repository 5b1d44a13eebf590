"""The tracking fast path: starts and ends answered before FastAPI's routing and middleware.

Tracking is this product's only hot path (a start per viewer page, a heartbeat every 15 s, an
end), and FastAPI's per-request work on the full app (route matching over every router,
dependency solving, response validation) cost more than the rest of a start together. This
pure-ASGI layer sits just inside the request observer (request id, metrics, access log) and
answers the tracking routes itself:

    POST /api/analytics/ar-session                start
    POST /api/analytics/ar-session/{uuid}/end     heartbeat or end
    POST /api/analytics/mobile/sessions, /api/mobile/sessions      original platform's start
    POST /api/analytics/mobile/analytics, /api/mobile/analytics    original platform's update

with a msgspec decoder (ingest/fastschemas.py) and answers encoded once, through the same
service as the routes (``Ingest``: content cache, enrichment, bots, idempotency, the write
buffer's durable group commit, back-pressure and 503s), the same rate limiter, CORS rule,
GPC rule and error bodies (``errors.error_answer``).

Whatever it cannot answer exactly as the FastAPI route would goes to that route, untouched:
a body its strict decoder refuses or that breaks a rule (the route's pydantic schema then
answers, 422 naming the field, or accepts a lax form), a media type other than JSON or text,
a body over the limit, a query string, a path that is not exactly one of the above, any
other method (OPTIONS preflights, 405s). The FastAPI routes stay defined: they document the
API in /openapi.json and are this fallback.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arv_analytics.compat.service import gpc_declined
from arv_analytics.config import Settings
from arv_analytics.errors import error_answer
from arv_analytics.ingest import fastschemas
from arv_analytics.ingest.body import ACCEPTED_MEDIA_TYPES
from arv_analytics.ingest.client_ip import client_ip
from arv_analytics.ingest.service import Ingest
from arv_analytics.observability.metrics import FAST_PATH
from arv_analytics.tenancy.ratelimit import TrackingLimiter

START, END, MOBILE_START, MOBILE_UPDATE = "start", "end", "mobile_start", "mobile_update"
_EXACT = {
    "/api/analytics/ar-session": START,
    "/api/analytics/mobile/sessions": MOBILE_START,
    "/api/mobile/sessions": MOBILE_START,
    "/api/analytics/mobile/analytics": MOBILE_UPDATE,
    "/api/mobile/analytics": MOBILE_UPDATE,
}
# The route templates, for scope["route"]: metrics and the access line name the route.
_TEMPLATES = {
    START: "/api/analytics/ar-session",
    END: "/api/analytics/ar-session/{session_id}/end",
}
_END_PREFIX = "/api/analytics/ar-session/"
_END_SUFFIX = "/end"
_UUID_LENGTH = 36
# Only the headers a tracking answer depends on; the first of repeated ones, as Starlette.
_WANTED = frozenset(
    {
        b"content-type",
        b"content-length",
        b"origin",
        b"user-agent",
        b"forwarded",
        b"x-forwarded-for",
        b"sec-gpc",
    }
)
_JSON = (b"content-type", b"application/json")
_NOSNIFF = (b"x-content-type-options", b"nosniff")  # what web/headers.py adds to every answer
_ANY_ORIGIN = (b"access-control-allow-origin", b"*")  # ingest/cors.py's rule for tracking
_encode = msgspec.json.encode
_TRACKED = b'{"status":"tracked","session_id":"'
_IGNORED = b'{"status":"ignored","session_id":"'
_CREATED = b'{"status":"created","session_id":"'
_EXISTS = b'{"status":"exists","session_id":"'
_CLOSE = b'"}'

# (ingest, settings, event, headers, the client's address) → the answer's body
Handler = Callable[[Ingest, Settings, Any, dict[str, str], str | None], Awaitable[bytes]]


class TrackingFront:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[str, Any] | None = None
        # Made here, in the serving process (a worker's metrics live in its own files).
        self._by_fast = FAST_PATH.labels("fast")
        self._by_route = FAST_PATH.labels("route")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["query_string"]
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        kind = _EXACT.get(path)
        session_id: uuid.UUID | None = None
        if kind is None:
            session_id = _end_session_id(path)
            if session_id is None:
                await self.app(scope, receive, send)
                return
            kind = END
        state = scope["app"].state
        ingest: Ingest | None = getattr(state, "ingest", None)
        limiter: TrackingLimiter | None = getattr(state, "tracking_limiter", None)
        if ingest is None or limiter is None:  # before start-up: the routes say why
            await self.app(scope, receive, send)
            return
        settings: Settings = state.settings
        headers = _headers(scope)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        declared = headers.get("content-length", "")
        limit = settings.max_body_bytes
        if (media and media not in ACCEPTED_MEDIA_TYPES) or (
            declared.isdigit() and int(declared) > limit
        ):
            self._by_route.inc()
            await self.app(scope, receive, send)  # 415 / 413 from the route
            return
        body, more, disconnected = await _read(receive, limit)
        if disconnected:
            return  # nobody to answer; nothing was stored
        event = None if more or len(body) > limit else _DECODERS[kind](body)
        if event is None:
            self._by_route.inc()
            await self.app(scope, _replay(body, more, receive), send)
            return
        self._by_fast.inc()
        scope["route"] = self._route(scope, kind)
        origin = "origin" in headers
        try:
            peer = scope.get("client")
            # Read once: the rate limit's key and the address the start is enriched from.
            ip = client_ip(peer[0] if peer else None, headers, settings.trusted_proxies)
            await limiter.check(ip or "unknown")
            if kind == END:
                assert session_id is not None
                answer = await _end(ingest, session_id, event)
            else:
                answer = await _HANDLERS[kind](ingest, settings, event, headers, ip)
            status, extra = 200, None
        except Exception as exc:
            status, content, extra = error_answer(exc, "POST", path)
            answer = _encode(content)
        await _respond(send, status, answer, origin, extra)

    def _route(self, scope: Scope, kind: str) -> Any:
        """The FastAPI route object of this path (metrics, logs and the access line read it)."""
        if self._routes is None:
            # Included routers stay nested in FastAPI's route list: walk their contexts.
            by_path = {c.path: c.route for c in iter_route_contexts(scope["app"].routes)}
            self._routes = {p: by_path.get(p) for p in (*_EXACT, *_TEMPLATES.values())}
        path = _TEMPLATES[END] if kind == END else scope["path"]
        return self._routes.get(path)


def _end_session_id(path: str) -> uuid.UUID | None:
    if not (path.startswith(_END_PREFIX) and path.endswith(_END_SUFFIX)):
        return None
    text = path[len(_END_PREFIX) : -len(_END_SUFFIX)]
    if len(text) != _UUID_LENGTH:
        return None  # another spelling of a UUID, or none: the route decides
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED:
            key = name.decode("latin-1")
            if key not in found:
                found[key] = value.decode("latin-1")
    return found


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool, bool]:
    """(body, more to come, client gone). Stops reading past ``limit``: the route answers."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", False, True
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > limit:
            return b"".join(chunks), more, False


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A receive that hands the route what was already read, then the rest of the body."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replayed


async def _respond(
    send: Send, status: int, body: bytes, origin: bool, extra: dict[str, str] | None
) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode()), _NOSNIFF]
    if origin:
        headers.append(_ANY_ORIGIN)
    if extra:
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _start(
    ingest: Ingest, settings: Settings, event: Any, headers: dict[str, str], ip: str | None
) -> bytes:
    result = await ingest.start(event, ip=ip, header_user_agent=headers.get("user-agent"))
    head = _TRACKED if result.stored else _IGNORED
    return head + str(result.session_id).encode() + _CLOSE


async def _mobile_start(
    ingest: Ingest, settings: Settings, event: Any, headers: dict[str, str], ip: str | None
) -> bytes:
    if gpc_declined(settings, headers):
        return _IGNORED + str(event.session_id).encode() + _CLOSE
    result = await ingest.start(event, ip=ip, header_user_agent=headers.get("user-agent"))
    head = _IGNORED if not result.stored else _CREATED if result.created else _EXISTS
    return head + str(result.session_id).encode() + _CLOSE


async def _end(ingest: Ingest, session_id: uuid.UUID, event: Any) -> bytes:
    return _encode((await ingest.end(session_id, event)).model_dump(mode="json"))


async def _mobile_update(
    ingest: Ingest, settings: Settings, event: Any, headers: dict[str, str], ip: str | None
) -> bytes:
    if gpc_declined(settings, headers):
        return _IGNORED + str(event.session_id).encode() + _CLOSE
    return await _end(ingest, event.session_id, event)


_DECODERS: dict[str, Callable[[bytes], Any]] = {
    START: fastschemas.start_event,
    END: fastschemas.end_event,
    MOBILE_START: fastschemas.mobile_start,
    MOBILE_UPDATE: fastschemas.mobile_update,
}
_HANDLERS: dict[str, Handler] = {
    START: _start,
    MOBILE_START: _mobile_start,
    MOBILE_UPDATE: _mobile_update,
}
