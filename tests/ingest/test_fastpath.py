"""The tracking fast path (ingest/fastpath.py) over real HTTP, on SQLite and PostgreSQL.

Two real servers on the same database: the app as it is, and the same app with the fast
path taken out (its tracking then served by the FastAPI routes alone). Every request below
goes to both; status, body and the headers a client reads must be the same, and the first
server's counter says which requests the fast path answered itself.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from arv_analytics.app import create_app
from arv_analytics.observability.metrics import FAST_PATH
from tests.support import (
    PHONE_UA,
    Database,
    LiveServer,
    client,
    free_port,
    make_content,
    rows,
    settings_for,
)

START = "/api/analytics/ar-session"


class RoutesOnly(LiveServer):
    """The real app without the fast path: what the FastAPI routes answer on their own."""

    def __init__(self, database: Database, **overrides: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(settings_for(database, **overrides))
        app.front(access_log=True, fast_path=False)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture
def routes_only(database: Database, db: Engine) -> Iterator[httpx.Client]:
    with RoutesOnly(database) as live, client(live.url, token=None) as c:
        yield c


def counts() -> tuple[float, float]:
    fast = FAST_PATH.labels("fast")._value.get()  # type: ignore[attr-defined]
    route = FAST_PATH.labels("route")._value.get()  # type: ignore[attr-defined]
    return fast, route


def same_answer(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.headers["content-type"] == b.headers["content-type"] == "application/json"
    for name in ("access-control-allow-origin", "retry-after", "x-content-type-options"):
        assert a.headers.get(name) == b.headers.get(name), name
    assert "x-request-id" in a.headers
    assert a.json() == b.json()


def test_valid_tracking_is_answered_by_the_fast_path_like_the_routes(
    api: httpx.Client, public: httpx.Client, routes_only: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    uid = content["unique_id"]
    sid = str(uuid.uuid4())
    body = {
        "ar_content_unique_id": uid,
        "session_id": sid,
        "tracking_quality": "good",
        "video_played": True,
        "time_to_first_found_ms": 850,
        "utm_source": "  ",
        "src": "metro-12",
        "referrer": "https://www.Instagram.com/p/x",
    }
    fast0, route0 = counts()
    text = {"Content-Type": "text/plain", "Origin": "https://viewer.example"}
    first = public.post(START, content=json.dumps(body), headers=text)
    assert counts() == (fast0 + 1, route0)
    again = routes_only.post(START, content=json.dumps(body), headers=text)
    same_answer(first, again)
    assert first.json() == {"status": "tracked", "session_id": sid}
    assert first.headers["access-control-allow-origin"] == "*"
    [row] = rows(db, "SELECT * FROM ar_view_sessions WHERE ar_content_id = :c", c=content["id"])
    assert row["device_type"] == "mobile"
    assert row["browser"] == "Mobile Safari"
    assert row["utm_source"] is None
    assert row["placement"] == "metro-12"
    assert row["referrer_host"] == "instagram.com"
    assert row["time_to_first_found_ms"] == 850

    end = {"duration_seconds": 42.4, "tracked_seconds": 99, "target_losses": 1}
    a = public.post(f"{START}/{sid}/end", json=end)
    b = routes_only.post(f"{START}/{sid}/end", json=end)
    same_answer(a, b)
    assert a.json()["duration_seconds"] == 42
    assert a.json()["tracked_seconds"] == 42
    assert counts()[0] == fast0 + 2

    mobile = {"session_id": str(uuid.uuid4()), "ar_content_unique_id": uid}
    a = public.post("/api/mobile/sessions", json=mobile)
    b = routes_only.post("/api/analytics/mobile/sessions", json=mobile)
    assert a.json()["status"] == "created"
    assert b.json()["status"] == "exists"
    update = {"session_id": mobile["session_id"], "video_played": True}
    same_answer(
        public.post("/api/analytics/mobile/analytics", json=update),
        routes_only.post("/api/mobile/analytics", json=update),
    )
    assert counts()[0] == fast0 + 4


CASES: list[tuple[str, dict[str, str], bytes]] = [
    # answered by the fast path: its own errors
    (START, {}, b'{"ar_content_unique_id":"00000000-0000-4000-8000-000000000000"}'),
    (START, {}, b'{"ar_content_id": 987654}'),
    (f"{START}/00000000-0000-4000-8000-000000000001/end", {}, b'{"duration_seconds": 3}'),
    ("/api/mobile/analytics", {}, b'{"session_id":"00000000-0000-4000-8000-000000000002"}'),
    # handed to the route: its 4xx bodies
    (START, {}, b'{"ar_content_id": 1, "video_played": "yes"}'),
    (START, {}, b'{"ar_content_id": 1, "user_agent": "a\\u0000b"}'),
    (START, {}, b'{"ar_content_id": 1, "utm_source": "a\\nb"}'),
    (START, {}, b'{"ar_content_id": 1, "utm_source": "ab\\n"}'),
    (START, {}, b'{"ar_content_id": 1, "referrer": "a b"}'),
    (START, {}, b'{"ar_content_id": 1, "target_losses": -1}'),
    (START, {}, b'{"ar_content_id": 1, "time_to_first_found_ms": 1e400}'),
    (START, {}, b'{"video_played": true}'),
    (START, {}, b"[1, 2]"),
    (START, {}, b"{not json"),
    (START, {}, b""),
    (START, {}, b'{"ar_content_id": 1, "browser": "' + b"x" * 101 + b'"}'),
    (START, {"content-type": "application/x-www-form-urlencoded"}, b"a=1"),
    (START, {}, b'{"ar_content_id": 1, "pad": "' + b"p" * 17_000 + b'"}'),
    (f"{START}?x=1", {}, b'{"ar_content_id": 1}'),
    (f"{START}/not-a-uuid/end", {}, b'{"duration_seconds": 3}'),
    (f"{START}/00000000-0000-4000-8000-000000000001/end", {}, b"{}"),
    (f"{START}/00000000-0000-4000-8000-000000000001/end", {}, b'{"duration_seconds": -1}'),
    ("/api/mobile/sessions", {}, b'{"ar_content_unique_id": "x"}'),
    ("/api/mobile/analytics", {}, b'{"session_id": 5}'),
]


@pytest.mark.parametrize(("path", "headers", "body"), CASES)
def test_refusals_are_the_routes_own(
    public: httpx.Client,
    routes_only: httpx.Client,
    db: Engine,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    sent = {"content-type": "application/json", "origin": "https://x.example", **headers}
    a = public.post(path, content=body, headers=sent)
    b = routes_only.post(path, content=body, headers=sent)
    same_answer(a, b)
    assert 400 <= a.status_code < 500
    assert rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"] == 0


def test_lax_forms_the_schema_accepts_still_track(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    fast0, route0 = counts()
    lax = [
        {"portrait_id": float(content["id"])},  # 5.0 is a JSON integer
        {"ar_content_unique_id": "{" + content["unique_id"] + "}"},  # braces: uuid.UUID's form
        {"ar_content_id": content["id"], "target_losses": 2.0},
    ]
    for body in lax:
        r = public.post(START, json=body)
        assert r.status_code == 200, r.text
    assert counts() == (fast0, route0 + 3)
    assert rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"] == 3


def test_rate_limit_and_gpc_on_the_fast_path(
    api: httpx.Client, database: Database, db: Engine
) -> None:
    uid = make_content(api)["unique_id"]
    with (
        LiveServer(settings_for(database, rate_limit_per_minute=3, rate_limit_burst=100)) as fast,
        RoutesOnly(database, rate_limit_per_minute=3, rate_limit_burst=100) as slow,
        client(fast.url, token=None) as f,
        client(slow.url, token=None) as s,
    ):
        body = {"ar_content_unique_id": uid}
        f.headers["Origin"] = "https://x.example"
        a = [f.post(START, json=body).status_code for _ in range(3)]
        b = [s.post(START, json=body).status_code for _ in range(3)]
        assert a == b == [200, 200, 200]

        def first_refusal(c: httpx.Client) -> httpx.Response:
            # The per-minute window is a sliding counter over clock minutes: right after a
            # minute turns, the count of the last one weighs less, so allow a few more tries.
            for _ in range(8):
                r = c.post(START, json=body)
                if r.status_code != 200:
                    return r
            return r

        limited, too = first_refusal(f), first_refusal(s)
        assert limited.status_code == too.status_code == 429
        assert limited.json()["error"] == too.json()["error"] == "rate_limited"
        assert limited.json()["detail"].startswith("too many tracking requests")
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["access-control-allow-origin"] == "*"
    before = rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"]
    with LiveServer(settings_for(database, respect_gpc=True)) as gpc, client(gpc.url, None) as g:
        sid = str(uuid.uuid4())
        r = g.post(
            "/api/mobile/sessions",
            json={"session_id": sid, "ar_content_unique_id": uid},
            headers={"Sec-GPC": "1", "User-Agent": PHONE_UA},
        )
        assert r.json() == {"status": "ignored", "session_id": sid}
    assert rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"] == before
