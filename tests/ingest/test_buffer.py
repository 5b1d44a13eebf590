"""The write buffer: batches, order inside a batch, back-pressure, and a database that goes away."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.errors import NotFound, Overloaded
from arv_analytics.ingest.buffer import WriteBuffer
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.writes import Rules
from arv_analytics.models import utcnow
from tests.conftest import LiveFactory
from tests.support import Database, client, make_content, rows, settings_for

START = "/api/analytics/ar-session"
RULES = Rules(rollups=True, end_window_seconds=14_400 + 900)


def _row(content: dict[str, Any], sid: uuid.UUID) -> dict[str, Any]:
    now = utcnow()
    return {
        "ar_content_id": content["id"],
        "project_id": content["project_id"],
        "company_id": content["company_id"],
        "session_id": sid,
        "created_at": now,
        "updated_at": now,
    }


def _end(sid: uuid.UUID, seconds: int, played: bool | None = None) -> EndChange:
    return EndChange(sid, {"duration_seconds": seconds, "video_played": played})


def test_concurrent_requests_share_commits(api: httpx.Client, server: Any, db: Engine) -> None:
    content = make_content(api)
    buffer: WriteBuffer = server.server.config.app.state.write_buffer
    before_batches, before_writes = buffer.batches, buffer.writes

    def post(_: int) -> int:
        with client(server.url, token=None) as c:
            return c.post(START, json={"portrait_id": content["id"]}).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(post, range(240)))
    assert codes == [200] * 240
    assert len(rows(db, "SELECT id FROM ar_view_sessions")) == 240
    writes = buffer.writes - before_writes
    batches = buffer.batches - before_batches
    assert writes == 240
    assert batches < writes / 2, f"{batches} commits for {writes} writes"


def test_order_inside_one_batch(database: Database, api: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    early, known, late = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def go() -> list[Any]:
        engine = create_engine(settings_for(database))
        buffer = WriteBuffer(create_sessionmaker(engine), RULES, max_wait=0.2)
        buffer.start()
        try:
            # All queued before the writer wakes: one batch, in this order.
            return await asyncio.gather(
                buffer.end_session(_end(early, 5)),  # before its own start: unknown then
                buffer.start_session(_row(content, early)),
                buffer.start_session(_row(content, known)),
                buffer.end_session(_end(known, 7)),  # after its start: applies
                buffer.end_session(_end(known, 3, True)),  # merged: max 7, played
                buffer.end_session(_end(late, 1)),  # never started
                return_exceptions=True,
            )
        finally:
            await buffer.close()
            await engine.dispose()

    results = asyncio.run(go())
    assert isinstance(results[0], NotFound)
    assert results[3] == results[4]
    assert (results[3]["duration_seconds"], results[3]["video_played"]) == (7, True)
    assert isinstance(results[5], NotFound)
    stored = {
        str(r["session_id"]).replace("-", ""): r["duration_seconds"]
        for r in rows(db, "SELECT session_id, duration_seconds FROM ar_view_sessions")
    }
    assert stored == {early.hex: None, known.hex: 7}


def test_a_full_queue_answers_503_with_retry_after(api: httpx.Client, live: LiveFactory) -> None:
    content = make_content(api)
    server = live(write_queue_max=2, write_batch_wait_ms=300)

    def post(_: int) -> httpx.Response:
        with client(server.url, token=None) as c:
            return c.post(START, json={"portrait_id": content["id"]})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(post, range(12)))
    refused = [a for a in answers if a.status_code == 503]
    assert refused, [a.status_code for a in answers]
    assert all(a.json()["error"] == "overloaded" for a in refused)
    assert all(a.headers["retry-after"] == "1" for a in refused)
    assert {a.status_code for a in answers} <= {200, 503}


def test_overloaded_is_raised_without_waiting(database: Database) -> None:
    async def go() -> None:
        engine = create_engine(settings_for(database))
        buffer = WriteBuffer(create_sessionmaker(engine), RULES, max_queue=1)  # writer not started
        try:
            first = asyncio.ensure_future(buffer.start_session({"session_id": uuid.uuid4()}))
            await asyncio.sleep(0)
            with pytest.raises(Overloaded):
                await buffer.start_session({"session_id": uuid.uuid4()})
            first.cancel()
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.mark.postgres_only  # a database server that goes away is a PostgreSQL case
def test_lost_database_gives_503s_and_ingest_recovers(
    database: Database, api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    server = live()
    name = database.url.rsplit("/", 1)[1]
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    try:
        with client(server.url, token=None) as c:
            assert c.post(START, json={"portrait_id": content["id"]}).status_code == 200
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'arv-analytics'",
                (name,),
            )
            started = time.monotonic()
            r = c.post(START, json={"portrait_id": content["id"]})
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "database_unavailable"
            assert "retry-after" in r.headers
            assert time.monotonic() - started < 15, "a lost database must not hang requests"
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            deadline = time.monotonic() + 15
            while c.post(START, json={"portrait_id": content["id"]}).status_code != 200:
                assert time.monotonic() < deadline, "ingest did not recover"
                time.sleep(0.2)
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()


def test_naive_mode_writes_one_request_per_commit(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    server = live(ingest_mode="naive")
    with client(server.url, token=None) as c:
        sid = c.post(START, json={"portrait_id": content["id"]}).json()["session_id"]
        r = c.post(f"{START}/{sid}/end", json={"duration_seconds": 9, "video_played": True})
        assert r.json()["duration_seconds"] == 9
        assert (
            c.post(f"{START}/{uuid.uuid4()}/end", json={"duration_seconds": 1}).status_code == 404
        )
    assert server.server.config.app.state.write_buffer is None
    assert rows(db, "SELECT duration_seconds FROM ar_view_sessions") == [{"duration_seconds": 9}]


@pytest.mark.postgres_only
def test_batches_in_flight_apply_each_sessions_writes_in_queue_order(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    """Two batches in flight at once (PostgreSQL): an end queued right after its start, in
    the next batch, still finds the start, and of several ends the first reported
    first-found time stays, as if every batch had been written one after the other."""
    content = make_content(api)
    sids = [uuid.uuid4() for _ in range(30)]

    async def go() -> tuple[list[Any], int, int]:
        engine = create_engine(settings_for(database))
        buffer = WriteBuffer(create_sessionmaker(engine), RULES, max_wait=0, writers=2)
        buffer.start()
        try:
            pending: list[asyncio.Task[Any]] = []
            for sid in sids:
                pending.append(asyncio.create_task(buffer.start_session(_row(content, sid))))
                await asyncio.sleep(0)  # the writer takes it: what follows is a later batch
                for k, first_found in enumerate((300, 200, 100)):
                    change = EndChange(
                        sid, {"duration_seconds": 10 + k, "time_to_first_found_ms": first_found}
                    )
                    pending.append(asyncio.create_task(buffer.end_session(change)))
                    await asyncio.sleep(0)
            answers = await asyncio.gather(*pending, return_exceptions=True)
            return answers, buffer.overlapped, buffer.waited
        finally:
            await buffer.close()
            await engine.dispose()

    answers, overlapped, waited = asyncio.run(go())
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    # The case under test happened: batches overlapped, and some waited for an earlier one.
    assert overlapped > 0, overlapped
    assert waited > 0, waited
    stored = rows(
        db, "SELECT session_id, duration_seconds, time_to_first_found_ms FROM ar_view_sessions"
    )
    assert len(stored) == len(sids)
    assert {(r["duration_seconds"], r["time_to_first_found_ms"]) for r in stored} == {(12, 300)}
