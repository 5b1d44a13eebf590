"""The engine's statements are served by indexes: PostgreSQL EXPLAIN of what each executor
really sends, with sequential scans priced out so the plan shows which index can serve it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event

from arv_analytics.analytics import service
from arv_analytics.analytics.engine import Engine as AnalyticsEngine
from arv_analytics.analytics.executors.raw import RawExecutor
from arv_analytics.analytics.executors.rollups import RollupExecutor
from arv_analytics.analytics.query_schemas import QueryRequest, Scope
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.tenancy.service import BOOTSTRAP_ADMIN, Principal
from tests.analytics.test_endpoints import random_sessions, seed_catalog, write
from tests.support import Database, settings_for

QUESTIONS = [
    {"period": "30d", "dimensions": ["time:day"], "comparison": "previous_period"},
    {"period": "12mo", "dimensions": ["time:month"]},
    {"period": "30d", "dimensions": ["country"], "metrics": ["views"]},
    {"period": "7d", "dimensions": ["content"], "metrics": ["views", "unique_visitors"]},
    {"period": "30d", "dimensions": ["country"], "metrics": ["views", "unique_visitors"]},
]


async def _statements(database: Database, contents: list[dict[str, Any]]) -> list[Any]:
    engine = create_engine(settings_for(database))
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    company = Principal("company", BOOTSTRAP_ADMIN.actor, contents[0]["company_id"])
    scoped = {"scope": Scope(project_id=contents[0]["project_id"])}
    plans = []
    try:
        async with create_sessionmaker(engine)() as session:
            for executor in (RollupExecutor(), RawExecutor()):
                analytics = AnalyticsEngine(executor)
                for principal in (BOOTSTRAP_ADMIN, company):
                    for question in QUESTIONS:
                        for extra in ({}, scoped):
                            body = QueryRequest.model_validate({**question, **extra})
                            await service.run(session, analytics, principal, body)
            conn = await session.connection()
            await conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, parameters in sent:
                if "ar_view_sessions" not in statement and "rollup_" not in statement:
                    continue  # the catalog's own small lookups
                result = await conn.exec_driver_sql("EXPLAIN " + statement, parameters)
                plans.append((statement, "\n".join(r[0] for r in result)))
    finally:
        await engine.dispose()
    return plans


@pytest.mark.postgres_only  # SQLite's planner has no cost switch to make the choice visible
def test_every_engine_statement_uses_an_index(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    contents = seed_catalog(api)
    write(db, random_sessions(contents, 2000, seed=3), database)
    with db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    plans = asyncio.run(_statements(database, contents))
    assert len(plans) > 40
    for statement, plan in plans:
        tables = ("rollup_stats", "rollup_daily_visitors", "rollup_property_visitors")
        for table in ("ar_view_sessions", *tables):
            assert f"Seq Scan on {table}" not in plan, f"{statement[:300]}\n{plan}"
