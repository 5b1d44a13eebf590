"""ClickHouse answers exactly what the raw SQL executor answers: the exactness property test
of the rollups (tests/rollups/test_exactness.py) with the same random histories and random
questions, written by its own ``_history`` through the real write path with the ClickHouse
store as the sink, and every question answered by the raw and the ClickHouse executors —
with the aggregate tables counted through a random day (or not at all), so that questions
read aggregate rows, versions, or both cut at a random place."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from arv_analytics.analytics import service
from arv_analytics.analytics.engine import Engine as AnalyticsEngine
from arv_analytics.analytics.executors import raw
from arv_analytics.analytics.executors.clickhouse import ClickHouseExecutor
from arv_analytics.analytics.executors.raw import RawExecutor
from arv_analytics.clickhouse import aggregates
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.store import SessionStore
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.errors import InvalidInput
from arv_analytics.ingest.writes import Rules
from arv_analytics.tenancy.service import BOOTSTRAP_ADMIN, Principal
from tests.clickhouse.conftest import ClickHouseTarget
from tests.clickhouse.support import connect
from tests.rollups.test_exactness import (
    _catalog,
    _figures,
    _history,
    _request,
    _rows,
    _shape,
    end_st,
    question_st,
    session_st,
)
from tests.support import Database, clean, settings_for


async def _compare(
    database: Database, ch: ClickHouse, contents: list[dict[str, Any]], questions: list[Any]
) -> None:
    engine = create_engine(settings_for(database))
    executor = ClickHouseExecutor(ch)
    clicked, raw_engine = AnalyticsEngine(executor), AnalyticsEngine(RawExecutor())
    try:
        async with create_sessionmaker(engine)() as session:
            now = datetime.now(UTC)
            for question in questions:
                body = _request(question, contents, now)
                principal = BOOTSTRAP_ADMIN
                if question["company"]:
                    principal = Principal(
                        "company", BOOTSTRAP_ADMIN.actor, contents[0]["company_id"]
                    )
                try:
                    q = await service.parse(session, raw_engine, principal, body)
                except InvalidInput:
                    continue
                expected = await raw_engine.run(session, q)
                got = await clicked.run(session, q)
                assert _shape(got) == _shape(expected), question
                # Realtime, in the same scope and filters.
                windows = (timedelta(minutes=5), timedelta(minutes=30))
                assert await executor.realtime(session, q, now, *windows) == (
                    await raw.realtime(session, q, now, *windows)
                ), question
            # The compatible overview over a rolling window with mid-hour edges.
            for days in (7,):
                a = await service.overview(session, raw_engine, BOOTSTRAP_ADMIN, days, True)
                b = await service.overview(session, clicked, BOOTSTRAP_ADMIN, days, True)
                assert _figures(a) == _figures(b), days
    finally:
        await engine.dispose()


@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=st.lists(session_st, min_size=1, max_size=60),
    ends=st.lists(end_st, max_size=40),
    split=st.integers(1, 50),
    questions=st.lists(question_st, min_size=1, max_size=6),
    # Aggregates counted through this many days before today (-1: through tomorrow, every
    # session counted), or not at all.
    counted=st.one_of(st.none(), st.integers(-1, 42)),
)
def test_clickhouse_equals_raw(
    database: Database,
    api: httpx.Client,
    db: Engine,
    clickhouse: ClickHouseTarget,
    drawn: list[dict[str, Any]],
    ends: list[dict[str, Any]],
    split: int,
    questions: list[dict[str, Any]],
    counted: int | None,
) -> None:
    clean(db)
    ch = connect(clickhouse)
    try:
        ch.execute(f"TRUNCATE TABLE {clickhouse.database}.sessions_local")
        for shard in ch.shards():
            shard.execute(f"TRUNCATE TABLE {clickhouse.database}.sessions_local")
            shard.close()
        aggregates.reset(ch)
        contents = _catalog(api)
        rows = _rows(contents, drawn, datetime.now(UTC))
        # The longest end window the settings allow (max_session_seconds ≤ 7 days, grace ≤ 1
        # day): the executor's realtime reads 8 days of versions, as no older view can be
        # active. (The rollup test accepts ends at any age.)
        rules = Rules(rollups=False, end_window_seconds=8 * 86_400, sink=SessionStore(ch))
        asyncio.run(_history(database, rows, ends, split, rules))
        if counted is not None:
            through = datetime.now(UTC).date() - timedelta(days=counted)
            assert aggregates.fill(ch, through)[1] == through
        asyncio.run(_compare(database, ch, contents, questions))
    finally:
        ch.close()
