"""Rollups answer exactly what the raw table answers: a property test on random histories.

Sessions with random start times (some in the current hour, some around window edges),
bots, repeat visitors, and random ends applied in random batches go through the real write
path (``apply_batch``, which keeps the rollups). Then every analytics number for random
windows, levels and bot settings is computed both ways and must be identical.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from arv_analytics.analytics import queries
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.writes import EndWrite, Rules, StartWrite, apply_batch
from arv_analytics.models import ARViewSession
from arv_analytics.rollups.rebuild import rebuild, session_days
from tests.support import Database, clean, make_content, settings_for

RULES = Rules(rollups=True, end_window_seconds=10**9)
QUALITY = st.sampled_from([None, "none", "poor", "fair", "good"])

session_st = st.fixed_dictionaries(
    {
        "content": st.integers(0, 3),
        # Seconds before "now": mostly spread over ~40 days, some inside the current hour.
        "age": st.one_of(st.integers(0, 3_000), st.integers(0, 40 * 86_400)),
        "bot": st.booleans(),
        "visitor": st.one_of(st.none(), st.integers(0, 5)),
        "quality": QUALITY,
        "played": st.booleans(),
        "duration": st.one_of(st.none(), st.integers(0, 900)),
    }
)
end_st = st.fixed_dictionaries(
    {
        "target": st.integers(0, 10_000),
        "duration": st.integers(0, 1_200),
        "quality": QUALITY,
        "played": st.one_of(st.none(), st.booleans()),
        "tracked": st.one_of(st.none(), st.integers(0, 600)),
        "losses": st.one_of(st.none(), st.integers(0, 9)),
        "found": st.one_of(st.none(), st.integers(0, 20_000)),
    }
)


def _rows(
    contents: list[dict[str, Any]], drawn: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for d in drawn:
        c = contents[d["content"]]
        created = now - timedelta(seconds=d["age"], microseconds=d["age"] % 997)
        rows.append(
            {
                "ar_content_id": c["id"], "project_id": c["project_id"],
                "company_id": c["company_id"], "session_id": uuid.uuid4(),
                "is_bot": d["bot"],
                "visitor_hash": None if d["visitor"] is None else d["visitor"] * 7919,
                "tracking_quality": d["quality"], "video_played": d["played"],
                "duration_seconds": d["duration"], "device_type": "mobile",
                "country": "DE", "created_at": created, "updated_at": created,
            }
        )  # fmt: skip
    return rows


async def _history(
    database: Database, rows: list[dict[str, Any]], ends: list[dict[str, Any]], split: int
) -> None:
    engine = create_engine(settings_for(database))
    try:
        maker = create_sessionmaker(engine)
        starts = [StartWrite(row=r) for r in rows]
        changes = [
            EndWrite(
                change=EndChange(
                    rows[e["target"] % len(rows)]["session_id"],
                    {"duration_seconds": e["duration"], "tracking_quality": e["quality"],
                     "video_played": e["played"], "tracked_seconds": e["tracked"],
                     "target_losses": e["losses"], "time_to_first_found_ms": e["found"]},
                )
            )
            for e in ends
        ]  # fmt: skip
        writes = [*starts, *changes]
        for i in range(0, len(writes), split):
            async with maker() as session:
                await apply_batch(session, writes[i : i + split], RULES)
                await session.commit()
    finally:
        await engine.dispose()


async def _compare(database: Database, contents: list[dict[str, Any]], days: int) -> None:
    engine = create_engine(settings_for(database))
    try:
        async with create_sessionmaker(engine)() as session:
            now = datetime.now(UTC)
            since = now - timedelta(days=days)
            for bots in (False, True):
                for company in (None, contents[0]["company_id"]):
                    q = queries.Query(None, None, company, bots, since, now)
                    raw = await queries.overview(session, q, rollups=False)
                    rolled = await queries.overview(session, q, rollups=True)
                    assert rolled == raw, (days, bots, company)
                for level, key in (
                    (queries.COMPANY, "company_id"),
                    (queries.PROJECT, "project_id"),
                    (queries.CONTENT, "id"),
                ):
                    for ident in {c[key] for c in contents}:
                        q = queries.Query(level, ident, None, bots, since, now)
                        raw_e = await queries.entity(session, q, rollups=False)
                        rolled_e = await queries.entity(session, q, rollups=True)
                        assert rolled_e == raw_e, (level.name, ident, days, bots)
    finally:
        await engine.dispose()


def _catalog(api: httpx.Client) -> list[dict[str, Any]]:
    a, b = make_content(api, company="A"), make_content(api, company="B")
    a2 = api.post("/api/ar-content", json={"project_id": a["project_id"], "title": "A2"}).json()
    pb = api.post("/api/projects", json={"company_id": b["company_id"], "name": "Q"}).json()
    b2 = api.post("/api/ar-content", json={"project_id": pb["id"], "title": "B2"}).json()
    return [a, a2, b, b2]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=st.lists(session_st, min_size=1, max_size=60),
    ends=st.lists(end_st, max_size=40),
    split=st.integers(1, 50),
    days=st.lists(st.integers(1, 45), min_size=1, max_size=3),
)
def test_rollups_equal_raw(
    database: Database,
    api: httpx.Client,
    db: Engine,
    drawn: list[dict[str, Any]],
    ends: list[dict[str, Any]],
    split: int,
    days: list[int],
) -> None:
    clean(db)
    contents = _catalog(api)
    rows = _rows(contents, drawn, datetime.now(UTC))
    asyncio.run(_history(database, rows, ends, split))
    for d in days:
        asyncio.run(_compare(database, contents, d))


def test_rebuild_is_idempotent_and_matches_the_write_path(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    contents = _catalog(api)
    now = datetime.now(UTC)
    drawn = [
        {"content": i % 4, "age": (i * 7_919) % (20 * 86_400), "bot": i % 5 == 0,
         "visitor": i % 6, "quality": [None, "poor", "good"][i % 3], "played": i % 2 == 0,
         "duration": i * 3}
        for i in range(200)
    ]  # fmt: skip
    rows = _rows(contents, drawn, now)
    asyncio.run(_history(database, rows, [], 37))

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with db.connect() as conn:
            return {
                t: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t}"))
                for t in ("rollup_hourly", "rollup_hourly_dims", "rollup_daily_visitors")
            }

    kept_by_writes = snapshot()

    async def recount() -> None:
        engine = create_engine(settings_for(database))
        try:
            async with create_sessionmaker(engine)() as session:
                span = await session_days(session, ARViewSession.id.is_not(None))
                assert span is not None
                await rebuild(session, *span)
        finally:
            await engine.dispose()

    asyncio.run(recount())
    assert snapshot() == kept_by_writes
    asyncio.run(recount())
    assert snapshot() == kept_by_writes
