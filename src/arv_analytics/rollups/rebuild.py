"""Recomputing rollups from the raw table: for `arv-analytics rollup`, bulk loads and purges.

Idempotent: a range is deleted and recomputed in one transaction per UTC day, so running it
twice, or over a range that is already right, changes nothing. On PostgreSQL the rollup
tables are locked against concurrent writers for that transaction, so a write that lands
meanwhile waits and then adds its change on top of the recomputed rows instead of being
counted twice or lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import (
    ARContent,
    ARViewSession,
    RollupDailyVisitors,
    RollupHourly,
    RollupHourlyDimension,
    VisitorKey,
    utcnow,
)
from arv_analytics.rollups.figures import FIGURES, session_aggregates
from arv_analytics.rollups.maintain import DIMENSIONS, LEVELS
from arv_analytics.sql_functions import utc_hour

S = ARViewSession
UTC_MIDNIGHT = time(0, 0)


async def _lock(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # LOCK TABLE takes the tables one after the other: in the write path's order
        # (ingest.writes), or a batch holding visitor_keys and waiting for
        # rollup_daily_visitors deadlocks with a recount holding the reverse.
        await session.execute(
            text(
                "LOCK TABLE rollup_hourly, rollup_hourly_dims, visitor_keys, "
                "rollup_daily_visitors IN SHARE ROW EXCLUSIVE MODE"
            )
        )


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, UTC_MIDNIGHT, tzinfo=UTC)
    return start, start + timedelta(days=1)


async def rebuild_day(
    session: AsyncSession, day: date, content_ids: Sequence[int] | None = None
) -> None:
    """Recomputes every rollup of one UTC day (optionally only some content) and commits."""
    start, end = _day_bounds(day)
    await _lock(session)
    raw = and_(S.created_at >= start, S.created_at < end)
    if content_ids is not None:
        raw = and_(raw, S.ar_content_id.in_(content_ids))
    await _hourly(session, start, end, raw, content_ids)
    await _dimensions(session, start, end, raw, content_ids)
    await _visitors(session, day, raw, content_ids)
    await session.commit()


async def _hourly(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    raw: ColumnElement[bool],
    content_ids: Sequence[int] | None,
) -> None:
    gone = delete(RollupHourly).where(RollupHourly.hour >= start, RollupHourly.hour < end)
    if content_ids is not None:
        gone = gone.where(RollupHourly.ar_content_id.in_(content_ids))
    await session.execute(gone)
    hour = utc_hour(S.created_at)
    keys = (S.ar_content_id, hour, S.is_bot, S.project_id, S.company_id)
    rows = select(*keys, *session_aggregates()).where(raw).group_by(*keys)
    columns = ["ar_content_id", "hour", "is_bot", "project_id", "company_id", *FIGURES]
    await session.execute(insert(RollupHourly).from_select(columns, rows))


async def _dimensions(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    raw: ColumnElement[bool],
    content_ids: Sequence[int] | None,
) -> None:
    gone = delete(RollupHourlyDimension).where(
        RollupHourlyDimension.hour >= start, RollupHourlyDimension.hour < end
    )
    if content_ids is not None:
        gone = gone.where(RollupHourlyDimension.ar_content_id.in_(content_ids))
    await session.execute(gone)
    hour = utc_hour(S.created_at)
    for dim in DIMENSIONS:
        column = getattr(S, dim)
        value = func.substr(column, 1, 100)
        rows = (
            select(S.ar_content_id, hour, S.is_bot, literal(dim, String), value, func.count())
            .where(raw, column.is_not(None), column != "")
            .group_by(S.ar_content_id, hour, S.is_bot, value)
        )
        await session.execute(
            insert(RollupHourlyDimension).from_select(
                ["ar_content_id", "hour", "is_bot", "dimension", "value", "views"], rows
            )
        )


async def _visitors(
    session: AsyncSession, day: date, raw: ColumnElement[bool], content_ids: Sequence[int] | None
) -> None:
    keep_keys = day >= utcnow().date() - timedelta(days=1)  # days that still take new views
    for level, column_name in LEVELS:
        column = getattr(S, column_name)
        entities: Any = None
        if content_ids is not None:
            # Every project and company that holds one of the contents is recounted whole.
            # Their ids come from the catalog: asking the sessions table would scan it all.
            owner = getattr(ARContent, column_name) if level != "content" else ARContent.id
            entities = select(owner).where(ARContent.id.in_(content_ids)).distinct()
            if level == "content":
                entities = list(content_ids)
        counters = delete(RollupDailyVisitors).where(
            RollupDailyVisitors.level == level, RollupDailyVisitors.day == day
        )
        keys = delete(VisitorKey).where(VisitorKey.level == level, VisitorKey.day == day)
        scope_raw = raw
        if entities is not None:
            counters = counters.where(RollupDailyVisitors.entity_id.in_(entities))
            keys = keys.where(VisitorKey.entity_id.in_(entities))
            scope_raw = and_(
                S.created_at >= _day_bounds(day)[0],
                S.created_at < _day_bounds(day)[1],
                column.in_(entities),
            )
        await session.execute(counters)
        await session.execute(keys)
        human = S.is_bot.is_(False)
        rows = (
            select(
                literal(level, String),
                column,
                literal(day),
                func.count(func.distinct(case((human, S.visitor_hash)))),
                func.count(func.distinct(S.visitor_hash)),
            )
            .where(scope_raw, S.visitor_hash.is_not(None))
            .group_by(column)
        )
        await session.execute(
            insert(RollupDailyVisitors).from_select(
                ["level", "entity_id", "day", "humans", "everyone"], rows
            )
        )
        if keep_keys:
            for scope, condition in (("everyone", None), ("humans", human)):
                where = and_(scope_raw, S.visitor_hash.is_not(None))
                if condition is not None:
                    where = and_(where, condition)
                key_rows = (
                    select(
                        literal(day),
                        literal(level, String),
                        column,
                        literal(scope, String),
                        S.visitor_hash,
                    )
                    .where(where)
                    .distinct()
                )
                await session.execute(
                    insert(VisitorKey).from_select(
                        ["day", "level", "entity_id", "scope", "visitor_hash"], key_rows
                    )
                )


async def rebuild(
    session: AsyncSession,
    first: date,
    last: date,
    *,
    content_ids: Sequence[int] | None = None,
    progress: Callable[[date], None] | None = None,
) -> int:
    """Recomputes the rollups of every UTC day from ``first`` to ``last``; returns the days."""
    day, days = first, 0
    while day <= last:
        await rebuild_day(session, day, content_ids)
        if progress:
            progress(day)
        day += timedelta(days=1)
        days += 1
    return days


async def session_days(
    session: AsyncSession, where: ColumnElement[bool]
) -> tuple[date, date] | None:
    """The first and last UTC day holding matching sessions (what a rebuild must cover)."""
    row = (
        await session.execute(select(func.min(S.created_at), func.max(S.created_at)).where(where))
    ).one()
    if row[0] is None:
        return None
    return row[0].date(), row[1].date()


async def forget_before(session: AsyncSession, cutoff: datetime) -> None:
    """Drops rollups older than ``cutoff`` (retention) and recounts the day it falls in."""
    await _lock(session)
    hour = cutoff.replace(minute=0, second=0, microsecond=0)
    dims, visitors = RollupHourlyDimension, RollupDailyVisitors
    await session.execute(delete(RollupHourly).where(RollupHourly.hour < hour))
    await session.execute(delete(dims).where(dims.hour < hour))
    await session.execute(delete(visitors).where(visitors.day < cutoff.date()))
    await session.commit()
    await rebuild_day(session, cutoff.date())


async def forget_visitor_keys(session: AsyncSession, today: date) -> int:
    """Visitor keys only matter while their day can still get views: keep today's and
    yesterday's (a view committed just after midnight belongs to yesterday)."""
    result = await session.execute(
        delete(VisitorKey).where(VisitorKey.day < today - timedelta(days=1))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
