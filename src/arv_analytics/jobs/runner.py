"""Running jobs once per period, even with several server processes on one database.

A process claims a job's period with one conditional UPDATE of ``job_runs``; the database
lets exactly one claim win. On PostgreSQL a session advisory lock also keeps a manual
`arv-analytics jobs run` from overlapping a scheduled run of the same job.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from arv_analytics.config import Settings
from arv_analytics.db import insert_for
from arv_analytics.jobs.registry import JOBS, Job
from arv_analytics.models import JobRun, utcnow
from arv_analytics.observability import metrics

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Outcome:
    job: str
    ran: bool
    summary: str
    error: str | None = None


def period_start(now: datetime, job: Job) -> datetime:
    step = job.every.total_seconds()
    return EPOCH + (now - EPOCH) // job.every * job.every if step else now


async def _ensure_row(session: AsyncSession, job: Job) -> None:
    await session.execute(
        insert_for(session)(JobRun)
        .values(name=job.name, period_start=EPOCH)
        .on_conflict_do_nothing(index_elements=["name"])
    )


async def claim(session: AsyncSession, job: Job, period: datetime) -> bool:
    await _ensure_row(session, job)
    result = await session.execute(
        update(JobRun)
        .where(JobRun.name == job.name, JobRun.period_start < period)
        .values(period_start=period, started_at=utcnow())
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _lock_key(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(b"arv-job:" + name.encode()).digest()[:8], "big", signed=True
    )


@asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Whether this process holds job ``name`` now (PostgreSQL: a session advisory lock held
    until the block ends); also taken by commands that do a job's work by hand."""
    if engine.dialect.name != "postgresql":
        yield True  # SQLite serialises writers itself; one host, one file
        return
    async with engine.connect() as conn:
        key = _lock_key(name)
        got = bool(
            (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        )
        try:
            yield got
        finally:
            if got:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await conn.commit()


async def run_job(
    maker: async_sessionmaker[AsyncSession],
    job: Job,
    settings: Settings,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> Outcome:
    """Runs ``job`` if its current period is unclaimed (or ``force``); never raises."""
    async with maker() as session:
        if force:
            await _ensure_row(session, job)
            await session.commit()
        elif not await claim(session, job, period_start(now or utcnow(), job)):
            return Outcome(job.name, False, "already ran this period")
        async with exclusive(maker.kw["bind"], job.name) as got:
            if not got:
                return Outcome(job.name, False, "running in another process")
            error = None
            try:
                summary = await job.run(session, settings)
            except Exception as exc:  # a job's failure must never take the server down
                await session.rollback()
                log.exception("job %s failed; it will be retried next period", job.name)
                summary, error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
            await session.execute(
                update(JobRun)
                .where(JobRun.name == job.name)
                .values(finished_at=utcnow(), last_error=error)
            )
            await session.commit()
    metrics.JOB_RUNS.labels(job.name, "ok" if error is None else "failed").inc()
    if error is None:
        log.info("job %s: %s", job.name, summary)
    return Outcome(job.name, True, summary, error)


async def run_due(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    jobs: tuple[Job, ...] = JOBS,
    now: datetime | None = None,
) -> list[Outcome]:
    return [await run_job(maker, job, settings, now=now) for job in jobs]
