"""`arv-analytics clickhouse backfill`: sessions stored in SQL before ClickHouse was set are
copied in batches, an interrupted copy resumes after its checkpoint, and copying again (even
from scratch) adds no duplicate: the answers equal the SQL executors' answers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from typer.testing import CliRunner

from arv_analytics.cli.main import app as cli
from arv_analytics.clickhouse import aggregates, backfill, maintenance
from arv_analytics.db import create_engine, create_sessionmaker
from tests.clickhouse.conftest import ClickHouseTarget
from tests.clickhouse.support import connect
from tests.conftest import LiveFactory
from tests.support import Database, client, make_content, settings_for

QUESTION = {"period": "30d", "metrics": ["views", "avg_duration_seconds", "unique_visitors"],
            "dimensions": ["time:day"]}  # fmt: skip


def _copy(database: Database, target: ClickHouseTarget, **kwargs: object) -> int:
    async def go() -> int:
        engine = create_engine(settings_for(database))
        ch = connect(target, create=False)
        try:
            async with create_sessionmaker(engine)() as session:
                return await backfill.backfill(session, ch, **kwargs)  # type: ignore[arg-type]
        finally:
            ch.close()
            await engine.dispose()

    return asyncio.run(go())


def test_backfill_copies_resumes_and_never_duplicates(
    database: Database, live: LiveFactory, api: httpx.Client, clickhouse: ClickHouseTarget
) -> None:
    ch = connect(clickhouse)
    content = make_content(api)
    with client(api.base_url.__str__(), token=None) as tracker:
        for i in range(23):
            sid = uuid.uuid4()
            body = {"ar_content_id": content["id"], "session_id": str(sid)}
            assert tracker.post("/api/analytics/ar-session", json=body).status_code in (200, 201)
            end = {"duration_seconds": i, "video_played": i % 2 == 0}
            assert tracker.post(f"/api/analytics/ar-session/{sid}/end", json=end).status_code == 200
    # Interrupted after two batches of 5, then resumed: 23 in all, none twice.
    assert _copy(database, clickhouse, batch=5, max_batches=2) == 10
    assert maintenance.count(ch) == 10
    assert _copy(database, clickhouse, batch=5) == 13
    assert _copy(database, clickhouse, batch=5) == 0
    # The checkpoint lost: everything is copied again, and still counted once.
    assert _copy(database, clickhouse, batch=100, restart=True) == 23
    assert maintenance.count(ch) == 23
    ch.close()
    server = live(clickhouse_url=clickhouse.url, clickhouse_cluster=clickhouse.name)
    with client(server.url) as reader:
        clicked = reader.post("/api/v1/query", json=QUESTION).json()
    expected = api.post("/api/v1/query", json=QUESTION).json()
    assert clicked["meta"]["source"] == "clickhouse"
    assert clicked["results"] == expected["results"]
    assert clicked["totals"] == expected["totals"]
    assert clicked["totals"]["views"] == 23


def test_backfill_command_shows_progress_and_resumes(
    database: Database, api: httpx.Client, clickhouse: ClickHouseTarget
) -> None:
    connect(clickhouse).close()
    content = make_content(api)
    with client(api.base_url.__str__(), token=None) as tracker:
        for _ in range(7):
            body = {"ar_content_id": content["id"], "session_id": str(uuid.uuid4())}
            assert tracker.post("/api/analytics/ar-session", json=body).status_code in (200, 201)
    env = {
        "ARV_DATABASE_URL": database.url,
        "ARV_CLICKHOUSE_URL": clickhouse.url,
        "ARV_CLICKHOUSE_CLUSTER": clickhouse.name,
    }
    result = CliRunner().invoke(cli, ["clickhouse", "backfill", "--batch", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "copied 7 session(s)" in result.output
    again = CliRunner().invoke(cli, ["clickhouse", "backfill"], env=env)
    assert "copied 0 session(s)" in again.output


def test_backfill_forgets_counted_days_and_aggregate_counts_them_again(
    database: Database, api: httpx.Client, clickhouse: ClickHouseTarget
) -> None:
    """Backfilled sessions land in past days, which the aggregate tables may have counted
    already: the backfill forgets every counted day, and `clickhouse aggregate` (or the
    hourly job) counts the settled ones again."""
    ch = connect(clickhouse)
    try:
        today = datetime.now(UTC).date()
        aggregates.fill(ch, today)
        assert aggregates.watermark(ch) == today
        content = make_content(api)
        with client(api.base_url.__str__(), token=None) as tracker:
            body = {"ar_content_id": content["id"], "session_id": str(uuid.uuid4())}
            assert tracker.post("/api/analytics/ar-session", json=body).status_code in (200, 201)
        env = {
            "ARV_DATABASE_URL": database.url,
            "ARV_CLICKHOUSE_URL": clickhouse.url,
            "ARV_CLICKHOUSE_CLUSTER": clickhouse.name,
        }
        result = CliRunner().invoke(cli, ["clickhouse", "backfill"], env=env)
        assert result.exit_code == 0, result.output
        assert aggregates.watermark(ch) is None
        result = CliRunner().invoke(cli, ["clickhouse", "aggregate"], env=env)
        assert result.exit_code == 0, result.output
        settled = aggregates.settled_through(datetime.now(UTC), timedelta(seconds=14_400 + 900))
        assert f"aggregates hold every day through {settled}" in result.output
        assert aggregates.watermark(ch) == settled
        result = CliRunner().invoke(cli, ["clickhouse", "aggregate", "--recount"], env=env)
        assert result.exit_code == 0, result.output
        assert aggregates.watermark(ch) == settled
    finally:
        ch.close()
