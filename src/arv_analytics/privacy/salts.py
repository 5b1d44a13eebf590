"""Daily secret salts: random, stored in the database so every process hashes alike, and kept
for today and yesterday only. They are never logged or returned by any endpoint."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.db import insert_for
from arv_analytics.models import DailySalt, utcnow


async def get_or_create(session: AsyncSession, day: date) -> bytes:
    insert = insert_for(session)
    # Two processes may start a day at once; the primary key picks one salt for both.
    await session.execute(
        insert(DailySalt)
        .values(day=day, salt=secrets.token_bytes(32), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["day"])
    )
    salt = (await session.execute(select(DailySalt.salt).where(DailySalt.day == day))).scalar_one()
    return bytes(salt)


async def delete_expired(session: AsyncSession, today: date) -> int:
    """Deletes salts older than yesterday; their hashes can no longer be linked to anyone."""
    result = await session.execute(delete(DailySalt).where(DailySalt.day < today - timedelta(1)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def rotate(session: AsyncSession, now: datetime | None = None) -> int:
    """The periodic job: make sure today's salt exists and drop the expired ones."""
    today = (now or utcnow()).date()
    await get_or_create(session, today)
    return await delete_expired(session, today)


class SaltKeeper:
    """Today's salt, cached in the process, created in its own committed transaction.

    A salt must never be cached unless it is committed: otherwise a rolled-back request could
    leave this process hashing with a salt no other process knows.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._day: date | None = None
        self._salt = b""

    async def today(self, now: datetime | None = None) -> bytes:
        day = (now or utcnow()).date()
        if day != self._day:
            async with self._sessionmaker() as session:
                salt = await get_or_create(session, day)
                await delete_expired(session, day)
                await session.commit()
            self._day, self._salt = day, salt
        return self._salt
