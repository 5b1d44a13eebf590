"""Which executor answers, chosen once at start-up."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.analytics.engine import Engine
from arv_analytics.analytics.executors.clickhouse import ClickHouseExecutor
from arv_analytics.analytics.executors.raw import RawExecutor
from arv_analytics.analytics.executors.rollups import RollupExecutor
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.config import Settings
from arv_analytics.rollups import state

log = logging.getLogger(__name__)


async def choose_engine(
    settings: Settings,
    maker: async_sessionmaker[AsyncSession],
    clickhouse: ClickHouse | None = None,
) -> Engine:
    if clickhouse is not None:
        return Engine(ClickHouseExecutor(clickhouse))
    if not settings.uses_rollups:
        return Engine(RawExecutor())
    try:
        async with maker() as session:
            current = await state.is_current(session)
    except DBAPIError:
        # A schema older than this code (no rollup_state yet): /readyz reports it; until the
        # migration runs, answer from the raw sessions rather than refuse to start.
        log.warning("rollup state unreadable (schema not migrated?); answering from raw sessions")
        return Engine(RawExecutor())
    if not current:
        log.warning(
            "rollups were counted with an older layout: answering from raw sessions until "
            "`arv-analytics rollup` has recounted them (then restart)"
        )
        return Engine(RawExecutor())
    return Engine(RollupExecutor())
