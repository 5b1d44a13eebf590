"""The request observer: request id, metrics and the access log line, as pure ASGI middleware.

Pure ASGI (not BaseHTTPMiddleware) because it sits in front of the tracking routes: it only
wraps ``send`` to see the response start, adds no task and no body copy. Everything it does per
request is a clock read, a few dictionary lookups and two metric updates on cached children.

The access line carries the request id, method, path, route, status and time, never the
client's address, a header or the query string (which is where a careless caller would put a
token), so that no log line holds a token, a salt or a full IP address.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from contextvars import ContextVar
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arv_analytics.observability.metrics import LATENCY, REQUESTS, TRACKING

REQUEST_ID: ContextVar[str | None] = ContextVar("arv_request_id", default=None)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_TRACKING_PREFIX = "/api/analytics/ar-session"
_UNMATCHED = "unmatched"
ACCESS_LOGGER = "arv_analytics.access"
access_log = logging.getLogger(ACCESS_LOGGER)


def _outcome(status: int) -> str:
    if status < 400:
        return "accepted"
    return "unavailable" if status == 503 else "rejected"


class RequestObserver:
    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        # labels() takes a lock and builds a key; caching the children keeps the hot path short.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        status = 500  # what the client gets if the app fails before answering
        header = (b"x-request-id", request_id.encode())
        gone = answered = False

        async def watch() -> Message:
            # A client that leaves before the answer (a phone losing its network mid-body)
            # gets nothing: logged as nginx's 499, not as a 500 of ours.
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
            return message

        async def observe(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message["headers"] = [*message.get("headers", ()), header]
                self._record(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, watch, observe)
        finally:
            if gone and not answered:
                status = 499
            if self.access_log_enabled and access_log.isEnabledFor(logging.INFO):
                _log_access(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route(scope)
        method: str = scope["method"]
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(route, method, str(status))
        counter.inc()
        histogram = self._histograms.get((route, method))
        if histogram is None:
            histogram = self._histograms[(route, method)] = LATENCY.labels(route, method)
        histogram.observe(seconds)
        if route.startswith(_TRACKING_PREFIX) and method == "POST":
            TRACKING.labels(_outcome(status)).inc()


class _Ids:
    """Request ids: 128 random bits as 32 hex digits, like ``uuid4().hex`` but from a
    generator seeded once per process instead of a system call for 16 bytes per request.
    Not a counter: consecutive ids must not tell a client how busy the server is. They are
    not secrets either, so a non-cryptographic generator is enough."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)  # a forked worker draws its own

    def reseed(self) -> None:
        self._bits = random.Random(os.urandom(32)).getrandbits  # noqa: S311 - not a secret

    def next(self) -> str:
        return f"{self._bits(128):032x}"


_IDS = _Ids()


def _request_id(scope: Scope) -> str:
    # A proxy's id (nginx $request_id) is kept so that its log and ours can be joined.
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _INCOMING_ID.match(candidate):
                return candidate
            break
    return _IDS.next()


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    path: object = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    access_log.info(
        "%s %s %d %.1fms",
        scope["method"],
        scope["path"],
        status,
        seconds * 1000,
        extra={
            "http_method": scope["method"],
            "path": scope["path"],
            "route": _route(scope),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        },
    )
