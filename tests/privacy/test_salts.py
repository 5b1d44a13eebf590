"""Daily salts: one per UTC day shared by all processes, kept for today and yesterday only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.privacy import salts
from arv_analytics.privacy.hashing import stored_ip, visitor_hash
from tests.support import Database, rows, settings_for

DAY1 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


T = TypeVar("T")
Maker = async_sessionmaker[AsyncSession]


def _run(database: Database, fn: Callable[[Maker], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(settings_for(database))
        try:
            return await fn(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_hash_is_stable_within_a_day_and_differs_across_days(
    database: Database, db: Engine
) -> None:
    with db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM daily_salts")

    async def go(maker: Maker) -> tuple[bytes, bytes, bytes]:
        first, second = salts.SaltKeeper(maker), salts.SaltKeeper(maker)  # two processes
        morning = await first.today(DAY1)
        evening = await second.today(DAY1 + timedelta(hours=14))
        next_day = await first.today(DAY1 + timedelta(days=1))
        return morning, evening, next_day

    morning, evening, next_day = _run(database, go)
    assert morning == evening
    assert morning != next_day
    assert len(morning) == 32
    ip = "81.2.69.142"
    assert stored_ip(ip, "hash", morning) == stored_ip(ip, "hash", evening)
    assert stored_ip(ip, "hash", morning) != stored_ip(ip, "hash", next_day)
    assert visitor_hash(morning, ip, "ua", 1) == visitor_hash(evening, ip, "ua", 1)
    assert visitor_hash(morning, ip, "ua", 1) != visitor_hash(next_day, ip, "ua", 1)
    assert visitor_hash(morning, ip, "ua", 1) != visitor_hash(morning, ip, "ua", 2)


def test_only_today_and_yesterday_are_kept(database: Database, db: Engine) -> None:
    with db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM daily_salts")

    async def go(maker: Maker) -> int:
        for offset in range(4):
            async with maker() as session:
                await salts.get_or_create(session, (DAY1 + timedelta(days=offset)).date())
                await session.commit()
        async with maker() as session:
            removed = await salts.rotate(session, DAY1 + timedelta(days=3))
            await session.commit()
        return removed

    assert _run(database, go) == 2
    days = sorted(str(r["day"]) for r in rows(db, "SELECT day FROM daily_salts"))
    assert days == ["2026-03-03", "2026-03-04"]


def test_truncate_and_none_modes() -> None:
    assert stored_ip("203.0.113.77", "truncate", b"") == "203.0.113.0"
    assert stored_ip("2001:db8:1234:5678::1", "truncate", b"") == "2001:db8:1234::"
    assert stored_ip("203.0.113.77", "none", b"x") is None
    assert stored_ip("203.0.113.77", "full", b"x") == "203.0.113.77"
    assert stored_ip(None, "hash", b"x") is None
