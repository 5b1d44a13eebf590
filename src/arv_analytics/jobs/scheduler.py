"""The in-process scheduler that starts with the server and runs due jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.config import Settings
from arv_analytics.jobs.registry import JOBS, Job
from arv_analytics.jobs.runner import run_due

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        jobs: tuple[Job, ...] = JOBS,
        tick_seconds: float = 30.0,
    ) -> None:
        self._maker = maker
        self._settings = settings
        self._jobs = jobs
        self._tick = tick_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="arv-jobs")

    async def _loop(self) -> None:
        while True:
            try:
                await run_due(self._maker, self._settings, self._jobs)
            except Exception:  # e.g. the database is away: try again next tick
                log.exception("scheduler tick failed")
            await asyncio.sleep(self._tick)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
