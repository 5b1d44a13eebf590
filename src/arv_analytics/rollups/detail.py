"""Busy contents get content-level hour and per-property day rows (models.RollupDetail).

Per-content hour and property rows would hold about one view each in a big catalog of thin
contents (dimensions.py), so the layout stops at projects and a content's breakdowns and
weekday × hour heatmap read its raw sessions: fast for a content with a few thousand views,
seconds for one with a million a year. This job gives the latter their own rows, without
stopping the write path and without a moment where the rows are wrong:

1. **Promote**: a content with at least ``ARV_ROLLUP_DETAIL_VIEWS`` views over the last 30
   days gets a row with ``detail_from``, the UTC day that starts at least an hour after now.
   Every write batch reads this table (``maintain.detail_days``) after its session rows, so
   each batch that writes a session of that day or later sees the promotion, and keeps the
   content's detail rows for it, starts and ends alike.
2. **Fill**: once the days before ``detail_from`` are closed (no end is accepted for a view
   older than ARV_MAX_SESSION_SECONDS + ARV_END_GRACE_SECONDS), their rows are counted from
   the raw sessions in one transaction, and the content is marked ``ready``. No writer
   touches those rows, so nothing can race the count. Until then the engine keeps reading
   the content's raw sessions.

A recount (``arv-analytics rollup``) counts the same rows (rollups/rebuild.py), so rollups
equal their recount at every step.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Date, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.config import Settings
from arv_analytics.db import insert_for
from arv_analytics.models import ARContent, RollupDetail, rollup_stats
from arv_analytics.rollups.rebuild import count_detail_before, day_start

R = rollup_stats
WINDOW_DAYS = 30
PROMOTION_MARGIN = timedelta(hours=1)  # between a promotion and its first day
FILL_MARGIN = timedelta(minutes=10)  # after the last end a closed day could still take


def first_detail_day(now: datetime) -> date:
    return (now + PROMOTION_MARGIN).date() + timedelta(days=1)


async def promote(session: AsyncSession, views: int, now: datetime) -> list[int]:
    """Marks the contents with at least ``views`` human views over the last 30 days; returns
    the newly marked ones (already marked ones stay as they are)."""
    since = day_start(now.date() - timedelta(days=WINDOW_DAYS))
    busy = (
        select(R.c.entity_id, literal(first_detail_day(now), Date))
        .where(
            R.c.level == "content", R.c.grain == "d", R.c.dimension == "",
            R.c.bucket >= since, R.c.is_bot.is_(False),
            R.c.entity_id.in_(select(ARContent.id)),
        )
        .group_by(R.c.entity_id)
        .having(func.sum(R.c.views) >= views)
    )  # fmt: skip
    stmt = (
        insert_for(session)(RollupDetail)
        .from_select(["content_id", "detail_from"], busy)
        .on_conflict_do_nothing()
        .returning(RollupDetail.content_id)
    )
    return sorted(int(c) for c in (await session.execute(stmt)).scalars())


async def fill(session: AsyncSession, end_window: timedelta, now: datetime) -> list[int]:
    """Counts the days before ``detail_from`` of every promoted content whose earlier days
    are closed, one content per transaction; returns the contents made ready."""
    closed = now - end_window - FILL_MARGIN
    due = (
        await session.execute(
            select(RollupDetail.content_id, RollupDetail.detail_from).where(
                RollupDetail.ready.is_(False)
            )
        )
    ).all()
    done = []
    for content_id, detail_from in due:
        if day_start(detail_from) > closed:
            continue
        await count_detail_before(session, content_id, detail_from)
        await session.execute(
            update(RollupDetail).where(RollupDetail.content_id == content_id).values(ready=True)
        )
        await session.commit()
        done.append(int(content_id))
    return done


async def run(session: AsyncSession, settings: Settings, now: datetime) -> str:
    """The ``rollup-detail`` job: promote, then fill what is due."""
    promoted: list[int] = []
    if settings.rollup_detail_views:
        promoted = await promote(session, settings.rollup_detail_views, now)
        await session.commit()
    window = timedelta(seconds=settings.max_session_seconds + settings.end_grace_seconds)
    ready = await fill(session, window, now)
    return (
        f"{len(promoted)} content(s) promoted to detail rows from "
        f"{first_detail_day(now).isoformat()}; {len(ready)} content(s) filled and ready"
    )
