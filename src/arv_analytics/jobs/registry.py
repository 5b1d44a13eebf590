"""The one table of periodic jobs. Each is idempotent: running it twice in a period is harmless."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.clickhouse import aggregates, maintenance
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.config import Settings
from arv_analytics.models import utcnow
from arv_analytics.privacy import salts
from arv_analytics.retention.service import apply_retention
from arv_analytics.rollups import detail
from arv_analytics.rollups.rebuild import forget_visitor_keys

JobFn = Callable[[AsyncSession, Settings], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    run: JobFn
    description: str


async def _rotate_salts(session: AsyncSession, _: Settings) -> str:
    removed = await salts.rotate(session)
    keys = await forget_visitor_keys(session, utcnow().date())
    await session.commit()
    return f"today's salt ready; {removed} expired salt(s) and {keys} old visitor key(s) deleted"


async def _retention(session: AsyncSession, settings: Settings) -> str:
    removed = await apply_retention(session, settings.retention_days)
    if settings.clickhouse_url:
        await asyncio.to_thread(clickhouse_retention, settings)
    return f"{removed} session(s) older than {settings.retention_days} days deleted"


def clickhouse_retention(settings: Settings) -> None:
    assert settings.clickhouse_url is not None
    ch = ClickHouse.from_settings(settings.clickhouse_url, settings.clickhouse_cluster)
    try:
        maintenance.delete(ch, before=utcnow() - timedelta(days=settings.retention_days))
    finally:
        ch.close()


async def _clickhouse_aggregates(_: AsyncSession, settings: Settings) -> str:
    if not settings.clickhouse_url:
        return "ClickHouse is not configured (ARV_CLICKHOUSE_URL)"
    days, mark = await asyncio.to_thread(clickhouse_aggregates, settings)
    return f"{days} settled day(s) counted; aggregates hold every day through {mark}"


def clickhouse_aggregates(settings: Settings) -> tuple[int, date | None]:
    assert settings.clickhouse_url is not None
    ch = ClickHouse.from_settings(settings.clickhouse_url, settings.clickhouse_cluster)
    window = timedelta(seconds=settings.max_session_seconds + settings.end_grace_seconds)
    try:
        return aggregates.fill(ch, aggregates.settled_through(utcnow(), window))
    finally:
        ch.close()


async def _rollup_detail(session: AsyncSession, settings: Settings) -> str:
    return await detail.run(session, settings, utcnow())


JOBS: tuple[Job, ...] = (
    # Often enough that an expired salt is gone minutes after its 48 hours.
    Job("salts", timedelta(minutes=10), _rotate_salts, "create today's salt, delete expired ones"),
    Job("retention", timedelta(hours=1), _retention, "delete sessions past ARV_RETENTION_DAYS"),
    Job(
        "rollup-detail",
        timedelta(hours=1),
        _rollup_detail,
        "give contents past ARV_ROLLUP_DETAIL_VIEWS their own hour and property rows",
    ),
    Job(
        "clickhouse-aggregates",
        timedelta(hours=1),
        _clickhouse_aggregates,
        "count settled days into ClickHouse's aggregate tables (with ARV_CLICKHOUSE_URL)",
    ),
)


def find(name: str, jobs: tuple[Job, ...] = JOBS) -> Job | None:
    return next((job for job in jobs if job.name == name), None)
