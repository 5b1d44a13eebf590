"""The write buffer against conflicts it cannot avoid: a deadlock it loses, and a write whose
own data the database refuses. Neither may fail anyone else's write or say
``database_unavailable``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.errors import InvalidInput
from arv_analytics.ingest.buffer import WriteBuffer
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.writes import Rules
from arv_analytics.models import utcnow
from tests.support import Database, make_content, rows, settings_for

RULES = Rules(rollups=True, end_window_seconds=14_400 + 900)
CONTENT_HOUR = "level = 'content' AND grain = 'd' AND dimension = ''"  # the content's day row


def _row(content: dict[str, Any], sid: uuid.UUID, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    return {
        "ar_content_id": content["id"],
        "project_id": content["project_id"],
        "company_id": content["company_id"],
        "session_id": sid,
        "created_at": now,
        "updated_at": now,
        **extra,
    }


@pytest.mark.postgres_only  # SQLite has one writer at a time: it cannot deadlock
def test_a_lost_deadlock_is_retried_not_answered(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    sid = uuid.uuid4()
    conninfo = database.sync_url.replace("postgresql+psycopg://", "postgresql://")

    async def go() -> tuple[dict[str, Any], int]:
        engine = create_engine(settings_for(database))
        buffer = WriteBuffer(create_sessionmaker(engine), RULES)
        buffer.start()
        other: psycopg.Connection[Any] = await asyncio.to_thread(lambda: psycopg.connect(conninfo))
        try:
            await buffer.start_session(_row(content, sid))
            # Another transaction holds the session's rollup row and will then want the
            # session: the reverse of the buffer's order, so one of the two must lose.
            # Its own deadlock check waits 5 s, the buffer's 1 s: the buffer loses.
            await asyncio.to_thread(other.execute, "SET deadlock_timeout = '5s'")
            await asyncio.to_thread(
                other.execute,
                "UPDATE rollup_stats SET views = views WHERE level = 'content' AND entity_id = %s",
                (content["id"],),
            )
            end = asyncio.ensure_future(
                buffer.end_session(EndChange(sid, {"duration_seconds": 9, "video_played": True}))
            )
            await asyncio.sleep(0.3)  # the buffer now waits for the rollup row
            await asyncio.to_thread(
                other.execute,
                "SELECT 1 FROM ar_view_sessions WHERE session_id = %s FOR UPDATE",
                (sid,),
            )
            await asyncio.to_thread(other.commit)
            return await end, buffer.retries
        finally:
            await asyncio.to_thread(other.close)
            await buffer.close()
            await engine.dispose()

    stored, retries = asyncio.run(go())
    assert stored["duration_seconds"] == 9
    assert retries >= 1, "the deadlock did not happen: the test proves nothing"
    [hourly] = rows(db, f"SELECT views, duration_sum, plays FROM rollup_stats WHERE {CONTENT_HOUR}")
    assert hourly == {"views": 1, "duration_sum": 9, "plays": 1}


def test_a_value_the_database_refuses_fails_only_its_own_write(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    good = [uuid.uuid4() for _ in range(6)]
    bad = uuid.uuid4()

    async def go() -> tuple[list[Any], int, int]:
        engine = create_engine(settings_for(database))
        buffer = WriteBuffer(create_sessionmaker(engine), RULES, max_wait=0.2)
        buffer.start()
        try:
            # One batch. A lone surrogate cannot be encoded for either database (a NUL only
            # for PostgreSQL): it stands for any value the API's checks would have missed.
            writes = [buffer.start_session(_row(content, s, browser="Safari")) for s in good]
            writes.insert(3, buffer.start_session(_row(content, bad, browser="\ud800")))
            results = await asyncio.gather(*writes, return_exceptions=True)
            return results, buffer.refused, buffer.batches
        finally:
            await buffer.close()
            await engine.dispose()

    results, refused, batches = asyncio.run(go())
    assert isinstance(results[3], InvalidInput)
    assert [r for i, r in enumerate(results) if i != 3] == [True] * 6  # each one created
    assert refused == 1
    assert batches <= 6, "halving, not one transaction per write"
    found = rows(db, "SELECT session_id FROM ar_view_sessions")
    stored = {str(r["session_id"]).replace("-", "") for r in found}
    assert stored == {s.hex for s in good}
    [hourly] = rows(db, f"SELECT views FROM rollup_stats WHERE {CONTENT_HOUR}")
    assert hourly == {"views": 6}
