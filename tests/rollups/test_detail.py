"""Busy contents' own hour and property rows (rollups/detail.py): kept by the write path from
their first day, counted for the days before once those are closed, equal to a recount at
every step, and read by the engine only when ready."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from arv_analytics.analytics import service
from arv_analytics.analytics.engine import Engine as AnalyticsEngine
from arv_analytics.analytics.executors.raw import RawExecutor
from arv_analytics.analytics.executors.rollups import RollupExecutor
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.rollups import detail
from arv_analytics.tenancy.service import BOOTSTRAP_ADMIN
from tests.rollups.test_exactness import (
    COUNTRIES,
    _catalog,
    _history,
    _promote,
    _request,
    _rows,
    _shape,
)
from tests.support import Database, recount_rollups, rollup_rows, rows, settings_for

QUESTIONS = [
    {"metrics": ["views", "video_plays"], "dimensions": ["country"]},
    {"metrics": ["views", "avg_duration_seconds"], "dimensions": ["time:weekday_hour"]},
    {"metrics": ["views"], "dimensions": ["tracking_quality", "time:day"]},
    {"metrics": ["views", "median_duration_seconds"], "dimensions": ["time:hour"]},
]


def _content_rows(db: Engine, content_id: int) -> dict[str, int]:
    found = rows(
        db,
        "SELECT grain, count(*) AS n FROM rollup_stats WHERE level = 'content' "
        "AND entity_id = :c AND (grain = 'h' OR dimension <> '') GROUP BY grain",
        c=content_id,
    )
    return {r["grain"]: r["n"] for r in found}


async def _answers(database: Database, contents: list[dict[str, Any]]) -> list[bool]:
    """Each content-scoped question answered by the rollup executor and the raw one: equal
    figures; returns, per question, whether the rollups said they read the raw sessions
    because the question is scoped by content."""
    engine = create_engine(settings_for(database))
    rolled, raw = AnalyticsEngine(RollupExecutor()), AnalyticsEngine(RawExecutor())
    sources = []
    try:
        async with create_sessionmaker(engine)() as session:
            now = datetime.now(UTC)
            for asked in QUESTIONS:
                question = {"filters": [], "period": "30d", "timezone": "Europe/Berlin",
                            "bots": False, "company": False, "scope": "content",
                            "comparison": "previous_period", **asked}  # fmt: skip
                q = await service.parse(
                    session, raw, BOOTSTRAP_ADMIN, _request(question, contents, now)
                )
                expected, got = await raw.run(session, q), await rolled.run(session, q)
                assert _shape(got) == _shape(expected), asked
                sources.append(any("scoped by content" in w for w in got.warnings))
    finally:
        await engine.dispose()
    return sources


async def _run(database: Database, job: Any) -> Any:
    engine = create_engine(settings_for(database))
    try:
        async with create_sessionmaker(engine)() as session:
            done = await job(session)
            await session.commit()
            return done
    finally:
        await engine.dispose()


def test_a_busy_content_gets_its_rows_without_a_moment_of_wrong_rollups(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    contents = _catalog(api)
    busy = contents[0]
    now = datetime.now(UTC)
    drawn = [
        {"content": i % 3 and 0, "age": 1 + (i * 7_919) % (20 * 86_400), "bot": i % 7 == 0,
         "visitor": i % 6, "quality": [None, "poor", "good"][i % 3], "played": i % 2 == 0,
         "duration": i * 3, "country": COUNTRIES[i % 4], "source": None, "placement": None,
         "camera": None, "camera_ms": None, "device": ["mobile", "tablet"][i % 2]}
        for i in range(240)
    ]  # fmt: skip
    first_day = now.date() - timedelta(days=6)
    # Promoted before any of this history is written.
    asyncio.run(_promote(database, busy["id"], first_day))
    rows_ = _rows(contents, drawn, now)
    ends = [
        {"target": i * 5, "duration": 900 + i, "quality": "fair", "played": True,
         "tracked": i, "losses": 1, "found": 1000 + i}
        for i in range(60)
    ]  # fmt: skip
    asyncio.run(_history(database, rows_, ends, 17))

    # Filling: the write path kept the rows of its days from the first one on, and only them.
    written = rollup_rows(db)
    assert _content_rows(db, busy["id"]).get("h")
    assert _content_rows(db, contents[1]["id"]) == {}  # not busy: no rows of its own
    early = rows(
        db,
        "SELECT count(*) AS n FROM rollup_stats WHERE level = 'content' AND entity_id = :c "
        "AND grain = 'h' AND bucket < :d",
        c=busy["id"],
        d=datetime.combine(first_day, datetime.min.time(), UTC),
    )
    assert early[0]["n"] == 0
    asyncio.run(recount_rollups(database))
    assert rollup_rows(db) == written  # a recount counts exactly those
    # Not ready: the breakdowns read the content's raw sessions.
    assert asyncio.run(_answers(database, contents)) == [True, False, True, False]

    # Not closed yet (an end may still change the last day before the first): not filled.
    window = timedelta(hours=4, minutes=15)
    start = datetime.combine(first_day, datetime.min.time(), UTC)
    soon = start + timedelta(hours=1)
    assert asyncio.run(_run(database, lambda s: detail.fill(s, window, soon))) == []
    later = start + window + timedelta(hours=1)
    assert asyncio.run(_run(database, lambda s: detail.fill(s, window, later))) == [busy["id"]]
    filled = rollup_rows(db)
    assert len(filled) > len(written)
    asyncio.run(recount_rollups(database))
    assert rollup_rows(db) == filled
    # Ready: the content's questions come from its rows, with the raw executor's figures.
    assert asyncio.run(_answers(database, contents)) == [False, False, False, False]


def test_promotion_picks_contents_past_the_threshold_from_the_next_day(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    contents = _catalog(api)
    now = datetime.now(UTC)
    drawn = [
        {"content": 0 if i < 30 else 1, "age": 3_600 * (1 + i), "bot": False, "visitor": i,
         "quality": None, "played": False, "duration": 5, "country": "DE", "source": None,
         "placement": None, "camera": None, "camera_ms": None, "device": "mobile"}
        for i in range(40)
    ]  # fmt: skip
    asyncio.run(_history(database, _rows(contents, drawn, now), [], 40))
    promoted = asyncio.run(_run(database, lambda s: detail.promote(s, 30, now)))
    assert promoted == [contents[0]["id"]]
    again = asyncio.run(_run(database, lambda s: detail.promote(s, 1, now)))
    assert again == [contents[1]["id"]]  # the first stays as it was
    stored = {r["content_id"]: r for r in rows(db, "SELECT * FROM rollup_detail")}
    first = stored[contents[0]["id"]]
    assert (
        str(first["detail_from"]) == (now + timedelta(hours=1)).date().isoformat()
        or str(first["detail_from"]) == detail.first_detail_day(now).isoformat()
    )
    assert detail.first_detail_day(now) > now.date()
    assert not first["ready"]
    assert isinstance(detail.first_detail_day(now), date)
