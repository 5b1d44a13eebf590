"""Per-client rate limit of the tracking endpoints: in memory per process, shared via Redis."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import (
    Database,
    LiveServer,
    client,
    free_port,
    make_content,
    require_redis,
    rows,
    settings_for,
)

START = "/api/analytics/ar-session"


@contextmanager
def servers(database: Database, n: int = 1, **settings: Any) -> Iterator[list[LiveServer]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(LiveServer(settings_for(database, **settings))) for _ in range(n)
        ]


def tracker(server: LiveServer, address: str = "127.0.0.1") -> httpx.Client:
    """A client without a token, from a given loopback address (its rate-limit key)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=30)


def start(c: httpx.Client, content: dict[str, Any]) -> httpx.Response:
    return c.post(START, json={"portrait_id": content["id"], "session_id": str(uuid.uuid4())})


def views(db: Engine) -> int:
    return int(rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"])


def until_limited(
    send: Callable[[], httpx.Response], tries: int = 20
) -> tuple[int, httpx.Response]:
    """Sends until the first 429; returns how many got through, and the 429.

    The sliding-window counter weighs the previous window by its overlap, so a burst that
    straddles a window edge may get one request more than the limit: tests allow for that.
    """
    for passed in range(tries):
        r = send()
        if r.status_code == 429:
            return passed, r
        assert r.status_code == 200, r.text
    raise AssertionError(f"no 429 after {tries} requests")


def assert_limited(r: httpx.Response, *, at_most: int) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error"] == "rate_limited"
    assert "too many tracking requests" in body["detail"]
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= at_most


def test_the_per_minute_limit(api: httpx.Client, database: Database, db: Engine) -> None:
    content = make_content(api)
    with servers(database, rate_limit_per_minute=5, rate_limit_burst=100) as [server]:
        with tracker(server) as c:
            passed, refused = until_limited(lambda: start(c, content))
            assert passed in (5, 6)
            assert_limited(refused, at_most=60)
            # Ends and heartbeats count too: they share the client's allowance.
            sid = rows(db, "SELECT session_id FROM ar_view_sessions")[0]["session_id"]
            assert_limited(c.post(f"{START}/{sid}/end", json={"duration_seconds": 3}), at_most=60)
            assert views(db) == passed  # nothing stored by a refused request
            ended = "SELECT id FROM ar_view_sessions WHERE duration_seconds IS NOT NULL"
            assert rows(db, ended) == []
        # Another client is counted on its own.
        with tracker(server, "127.0.0.2") as other:
            assert start(other, content).status_code == 200
        # Reads are not rate-limited (they need a token instead).
        with client(server.url) as admin:
            for _ in range(10):
                assert admin.get("/api/analytics/overview").status_code == 200


def test_the_burst_limit_recovers(api: httpx.Client, database: Database) -> None:
    content = make_content(api)
    limits = {"rate_limit_per_minute": 1000, "rate_limit_burst": 3}
    with servers(database, **limits) as [server], tracker(server) as c:
        passed, refused = until_limited(lambda: start(c, content))
        assert 3 <= passed <= 6  # a slow machine spreads the requests over two windows
        assert_limited(refused, at_most=2)
        time.sleep(2.1)
        assert start(c, content).status_code == 200


def test_zero_turns_the_limit_off(api: httpx.Client, database: Database) -> None:
    content = make_content(api)
    off = {"rate_limit_per_minute": 0, "rate_limit_burst": 1}
    with servers(database, **off) as [server], tracker(server) as c:
        assert [start(c, content).status_code for _ in range(10)] == [200] * 10


def test_without_redis_each_process_counts_alone(api: httpx.Client, database: Database) -> None:
    content = make_content(api)
    limits = {"rate_limit_per_minute": 3, "rate_limit_burst": 100}
    with (
        servers(database, 2, **limits) as [one, two],
        tracker(one) as c1,
        tracker(two) as c2,
    ):
        passed, _ = until_limited(lambda: start(c1, content))
        assert passed in (3, 4)
        assert start(c2, content).status_code == 200


def test_with_redis_processes_share_the_count(api: httpx.Client, database: Database) -> None:
    url = require_redis()
    shared = {
        "redis_url": url,
        "redis_key_prefix": f"arvtest-{uuid.uuid4().hex[:12]}",  # never another run's counts
        "rate_limit_per_minute": 3,
        "rate_limit_burst": 100,
    }
    content = make_content(api)
    with servers(database, 2, **shared) as [one, two]:
        with tracker(one) as c1, tracker(two) as c2:
            turns = iter(range(100))
            passed, refused = until_limited(lambda: start(c1 if next(turns) % 2 else c2, content))
            assert passed in (3, 4)  # the two processes together, not 3 each
            assert_limited(refused, at_most=60)
            assert_limited(start(c1, content), at_most=60)
            assert_limited(start(c2, content), at_most=60)
        with tracker(two, "127.0.0.2") as other:
            assert start(other, content).status_code == 200


def test_an_unreachable_redis_lets_tracking_through(
    api: httpx.Client, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    content = make_content(api)
    dead = f"redis://127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="arv_analytics")
    limits = {"redis_url": dead, "rate_limit_per_minute": 1, "rate_limit_burst": 1}
    with servers(database, **limits) as [server], tracker(server) as c:
        began = time.monotonic()
        assert [start(c, content).status_code for _ in range(3)] == [200] * 3
        assert time.monotonic() - began < 5
    warnings = [r for r in caplog.records if "rate limit store unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request
