"""Periodic jobs: once per period across processes, failures logged and retried."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from arv_analytics.config import Settings
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.jobs.registry import Job
from arv_analytics.jobs.runner import run_due, run_job
from tests.conftest import LiveFactory
from tests.support import Database, rows, settings_for

NOW = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)


def _clear_jobs(db: Engine) -> None:
    with db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM job_runs")


def test_each_job_runs_once_per_period_across_processes(database: Database, db: Engine) -> None:
    _clear_jobs(db)
    calls: list[str] = []

    async def work(session: AsyncSession, _: Settings) -> str:
        calls.append("ran")
        await asyncio.sleep(0.05)
        return "ok"

    job = Job("test-once", timedelta(hours=1), work, "counts its runs")
    settings = settings_for(database)

    async def go() -> list[bool]:
        # Four "processes": separate engines, each with its own pool, racing for one period.
        engines = [create_engine(settings) for _ in range(4)]
        try:
            outcomes = await asyncio.gather(
                *(run_job(create_sessionmaker(e), job, settings, now=NOW) for e in engines)
            )
            later = await run_job(
                create_sessionmaker(engines[0]), job, settings, now=NOW + timedelta(minutes=30)
            )
            next_hour = await run_job(
                create_sessionmaker(engines[0]), job, settings, now=NOW + timedelta(hours=1)
            )
            return [o.ran for o in outcomes] + [later.ran, next_hour.ran]
        finally:
            for e in engines:
                await e.dispose()

    ran = asyncio.run(go())
    assert sorted(ran[:4]) == [False, False, False, True]
    assert ran[4:] == [False, True]
    assert calls == ["ran", "ran"]


def test_a_failing_job_is_recorded_and_retried_next_period(
    database: Database, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _clear_jobs(db)
    attempts: list[int] = []

    async def flaky(session: AsyncSession, _: Settings) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("disk on fire")
        return "fine"

    job = Job("test-flaky", timedelta(hours=1), flaky, "fails once")
    settings = settings_for(database)

    async def go() -> tuple[str | None, str | None]:
        engine = create_engine(settings)
        try:
            maker = create_sessionmaker(engine)
            first = await run_due(maker, settings, (job,), now=NOW)
            second = await run_due(maker, settings, (job,), now=NOW + timedelta(hours=1))
            return first[0].error, second[0].error
        finally:
            await engine.dispose()

    first_error, second_error = asyncio.run(go())
    assert first_error is not None
    assert "disk on fire" in first_error
    assert second_error is None
    assert "job test-flaky failed" in caplog.text
    [row] = rows(db, "SELECT last_error, finished_at FROM job_runs WHERE name = 'test-flaky'")
    assert row["last_error"] is None
    assert row["finished_at"] is not None


def test_the_scheduler_starts_with_the_server(
    database: Database, db: Engine, live: LiveFactory
) -> None:
    _clear_jobs(db)
    with db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM daily_salts")
    live(jobs_enabled=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = {
            r["name"] for r in rows(db, "SELECT name FROM job_runs WHERE finished_at IS NOT NULL")
        }
        if {"salts", "retention"} <= names:
            break
        time.sleep(0.1)
    assert {"salts", "retention"} <= names
    assert len(rows(db, "SELECT day FROM daily_salts")) == 1


def test_jobs_cli(database: Database, db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    today = datetime.now(UTC).date()
    with db.begin() as conn:
        for age in (0, 1, 2, 9):  # visitor keys are kept for today and yesterday only
            conn.exec_driver_sql(
                "INSERT INTO visitor_keys (day, level, entity_id, scope, visitor_hash) "
                f"VALUES ('{today - timedelta(days=age)}', 'company', 1, 'humans', 7)"
            )
    runner = CliRunner()
    result = runner.invoke(app, ["jobs", "run", "salts"])
    assert result.exit_code == 0, result.output
    assert "salts:" in result.output
    kept = sorted(str(r["day"]) for r in rows(db, "SELECT day FROM visitor_keys"))
    assert kept == sorted(str(today - timedelta(days=a)) for a in (0, 1))
    result = runner.invoke(app, ["jobs", "list"])
    assert result.exit_code == 0
    assert "retention" in result.output
    assert runner.invoke(app, ["jobs", "run", "nope"]).exit_code == 2
