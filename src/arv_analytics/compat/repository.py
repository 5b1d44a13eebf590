"""All SQL of the compat routes: the daily diagnostic counts."""

from __future__ import annotations

import typing
from datetime import date
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.db import insert_for
from arv_analytics.models import ARDiagnosticDaily

D = ARDiagnosticDaily
KEYS = ("ar_content_id", "day", "stage", "error", "browser", "os")


async def is_known(session: AsyncSession, day: date, column: str, value: str) -> bool:
    """Whether the day already counts ``value`` in ``column`` (stage or error)."""
    col = getattr(D, column)
    stmt = select(col).where(D.day == day, col == value).limit(1)
    return (await session.execute(stmt)).first() is not None


async def distinct_values(session: AsyncSession, day: date, column: str) -> int:
    col = getattr(D, column)
    stmt = select(func.count(func.distinct(col))).where(D.day == day)
    return int((await session.execute(stmt)).scalar_one())


async def add(session: AsyncSession, row: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter."""
    table = typing.cast(Table, D.__table__)
    stmt = insert_for(session)(table).values(row)
    counters = [c for c in row if c not in KEYS and c not in ("project_id", "company_id")]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEYS),
        set_={c: table.c[c] + stmt.excluded[c] for c in counters},
    )
    await session.execute(stmt)
