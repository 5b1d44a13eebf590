"""Where an engine question's time goes: each SQL statement's duration, in-process.

    .venv/bin/python bench/query_profile.py postgresql+asyncpg://postgres@127.0.0.1:5432/DB

Runs the benchmark questions three times each against an existing database (for example one
loaded with `arv-analytics demo --sessions 1000000 --days 365`) through the rollup executor,
and prints the last run's total time, the time spent in SQL, and every statement with its time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from sqlalchemy import event

from arv_analytics.analytics import service
from arv_analytics.analytics.engine import Engine
from arv_analytics.analytics.executors.rollups import RollupExecutor
from arv_analytics.analytics.query_schemas import QueryRequest
from arv_analytics.config import Settings
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.tenancy.service import BOOTSTRAP_ADMIN

VISITS = ["views", "unique_visitors"]  # what bench/query.py's series questions ask
QUESTIONS = {
    "30d daily + previous": QueryRequest(
        period="30d", dimensions=["time:day"], comparison="previous_period", metrics=VISITS
    ),
    "12mo monthly": QueryRequest(period="12mo", dimensions=["time:month"], metrics=VISITS),
    "30d by country": QueryRequest(
        period="30d", dimensions=["country"], metrics=["views", "video_play_rate"]
    ),
    "30d by country + unique_visitors": QueryRequest(
        period="30d", dimensions=["country"], metrics=VISITS
    ),
}


async def main(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    timings: list[tuple[float, str]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        timings.append((time.perf_counter() - conn.info["t0"], " ".join(statement.split())[:120]))

    maker = create_sessionmaker(engine)
    analytics = Engine(RollupExecutor())
    async with maker() as session:
        for name, body in QUESTIONS.items():
            for _ in range(3):
                timings.clear()
                began = time.perf_counter()
                _, result = await service.run(session, analytics, BOOTSTRAP_ADMIN, body)
                total = time.perf_counter() - began
            sql = sum(t for t, _ in timings)
            print(f"{name}: {total * 1e3:.1f} ms, SQL {sql * 1e3:.1f} ms in {len(timings)} "
                  f"statements, source {result.source}")  # fmt: skip
            for t, statement in timings:
                print(f"  {t * 1e3:7.1f} ms  {statement}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
