"""Unique visitors per property value (rollup_property_visitors): the write path's counters
and keys, the recount, the dropping of old keys, and which questions read them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from arv_analytics import migrate
from arv_analytics.analytics import service
from arv_analytics.analytics.dimensions import PROPERTIES, VISITOR_PROPERTIES
from arv_analytics.analytics.engine import Engine as AnalyticsEngine
from arv_analytics.analytics.executors.raw import RawExecutor
from arv_analytics.analytics.executors.rollups import RollupExecutor
from arv_analytics.analytics.query_schemas import QueryRequest
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.ingest.merge import END_RULES
from arv_analytics.ingest.writes import Rules, StartWrite, apply_batch
from arv_analytics.models import ARContent, ARViewSession, Company, Project
from arv_analytics.rollups.rebuild import forget_visitor_keys
from arv_analytics.tenancy.service import BOOTSTRAP_ADMIN
from tests.support import (
    Database,
    make_content,
    new_database,
    recount_rollups,
    rows,
    settings_for,
)

RULES = Rules(rollups=True, end_window_seconds=10**9)


def test_rolled_up_properties_are_the_ones_no_end_changes() -> None:
    columns = {p.column for p in VISITOR_PROPERTIES}
    assert not columns & set(END_RULES)
    assert {p.column for p in PROPERTIES.values()} & set(END_RULES) == {
        "tracking_quality",
        "camera_outcome",
    }


def _session(content: dict[str, Any], visitor: int, country: str, *, bot: bool = False,
             at: datetime) -> dict[str, Any]:  # fmt: skip
    return {
        "ar_content_id": content["id"], "project_id": content["project_id"],
        "company_id": content["company_id"], "session_id": uuid.uuid4(), "is_bot": bot,
        "visitor_hash": visitor, "country": country, "device_type": "mobile",
        "created_at": at, "updated_at": at,
    }  # fmt: skip


async def _write(database: Database, batches: list[list[dict[str, Any]]]) -> None:
    engine = create_engine(settings_for(database))
    try:
        maker = create_sessionmaker(engine)
        for batch in batches:
            async with maker() as session:
                await apply_batch(session, [StartWrite(row=r) for r in batch], RULES)
                await session.commit()
    finally:
        await engine.dispose()


def _countries(db: Engine) -> dict[tuple[str, int, str], tuple[int, int]]:
    found = rows(
        db,
        "SELECT level, entity_id, value, humans, everyone FROM rollup_property_visitors "
        "WHERE property = 'country'",
    )
    return {(r["level"], r["entity_id"], r["value"]): (r["humans"], r["everyone"]) for r in found}


def _snapshot(db: Engine, table: str) -> list[tuple[str, ...]]:
    return sorted(tuple(str(v) for v in r.values()) for r in rows(db, f"SELECT * FROM {table}"))


def test_write_path_counts_each_visitor_once_per_value_and_day(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    a, b = make_content(api, company="A"), make_content(api, company="B")
    ca, cb = a["company_id"], b["company_id"]
    now = datetime.now(UTC).replace(microsecond=0)
    at = now - timedelta(seconds=5) if now.hour or now.minute else now
    # A new visitor for a value.
    asyncio.run(_write(database, [[_session(a, 1, "DE", at=at)]]))
    assert _countries(db) == {("company", ca, "DE"): (1, 1), ("all", 0, "DE"): (1, 1)}
    # The same visitor again, same value: nothing new (in a later batch and in one batch).
    again = [_session(a, 1, "DE", at=at) for _ in range(3)]
    asyncio.run(_write(database, [again[:1], again[1:]]))
    assert _countries(db) == {("company", ca, "DE"): (1, 1), ("all", 0, "DE"): (1, 1)}
    # The same visitor with a second value: one visitor of each value.
    asyncio.run(_write(database, [[_session(a, 1, "AT", at=at)]]))
    assert _countries(db)[("company", ca, "AT")] == (1, 1)
    assert _countries(db)[("company", ca, "DE")] == (1, 1)
    # A bot, then the same visitor as a human: everyone first, humans when the human comes.
    asyncio.run(_write(database, [[_session(a, 2, "DE", bot=True, at=at)]]))
    assert _countries(db)[("company", ca, "DE")] == (1, 2)
    asyncio.run(_write(database, [[_session(a, 2, "DE", at=at)]]))
    assert _countries(db)[("company", ca, "DE")] == (2, 2)
    # The same hash at another company is another visitor (keys are per company); "all" sums.
    asyncio.run(_write(database, [[_session(b, 1, "DE", at=at)]]))
    counted = _countries(db)
    assert counted[("company", cb, "DE")] == (1, 1)
    assert counted[("all", 0, "DE")] == (3, 3)
    assert counted[("all", 0, "AT")] == (1, 1)
    # Every rolled-up property got its row (a missing value is stored as "").
    props = {
        r["property"] for r in rows(db, "SELECT DISTINCT property FROM rollup_property_visitors")
    }
    assert props == {p.name for p in VISITOR_PROPERTIES}

    written = {t: _snapshot(db, t) for t in ("rollup_property_visitors", "property_visitor_keys")}
    # The recount gives the very rows and keys the write path kept, also for some contents.
    asyncio.run(recount_rollups(database))
    assert {t: _snapshot(db, t) for t in written} == written
    asyncio.run(recount_rollups(database, [b["id"]]))
    assert {t: _snapshot(db, t) for t in written} == written


def test_recount_after_old_history_and_key_expiry(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    a = make_content(api, company="A")
    now = datetime.now(UTC)
    old = [_session(a, v % 3, c, bot=v % 4 == 0, at=now - timedelta(days=d, minutes=v))
           for d in (3, 9) for v in range(12) for c in ("DE", "US")]  # fmt: skip
    asyncio.run(_write(database, [old[:20], old[20:]]))
    counters = _snapshot(db, "rollup_property_visitors")
    assert counters

    async def forget() -> int:
        engine = create_engine(settings_for(database))
        try:
            async with create_sessionmaker(engine)() as session:
                gone = await forget_visitor_keys(session, now.date())
                await session.commit()
                return gone
        finally:
            await engine.dispose()

    assert asyncio.run(forget()) > 0
    assert rows(db, "SELECT * FROM property_visitor_keys") == []
    # Days no view can reach any more keep their counters, and the recount keeps no keys.
    asyncio.run(recount_rollups(database))
    assert _snapshot(db, "rollup_property_visitors") == counters
    assert rows(db, "SELECT * FROM property_visitor_keys") == []


def test_breakdown_visitors_come_from_rollups_when_each_group_is_one_value(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    a = make_content(api, company="A")
    now = datetime.now(UTC)
    history = [_session(a, v % 4, ("DE", "AT", "US")[v % 3], at=now - timedelta(days=2 + v % 5))
               for v in range(30)]  # fmt: skip
    asyncio.run(_write(database, [history]))

    async def ask(body: dict[str, Any]) -> tuple[Any, Any]:
        engine = create_engine(settings_for(database))
        try:
            async with create_sessionmaker(engine)() as session:
                request = QueryRequest.model_validate({"period": "30d", **body})
                _, rolled = await service.run(
                    session, AnalyticsEngine(RollupExecutor()), BOOTSTRAP_ADMIN, request
                )
                _, raw = await service.run(
                    session, AnalyticsEngine(RawExecutor()), BOOTSTRAP_ADMIN, request
                )
                return rolled, raw
        finally:
            await engine.dispose()

    visitors = {"metrics": ["unique_visitors"]}
    one = {"dimension": "country", "op": "is", "values": ["DE"]}
    two = {"dimension": "country", "op": "is", "values": ["DE", "AT"]}
    project = {"dimension": "project", "op": "is", "values": [a["project_id"]]}
    for body, from_rollups in (
        ({**visitors, "dimensions": ["country"]}, True),
        ({**visitors, "dimensions": ["country", "time:day"]}, True),
        ({**visitors, "filters": [one]}, True),
        ({**visitors, "dimensions": ["country"], "filters": [two]}, True),
        ({**visitors, "filters": [two]}, False),  # a visitor may be in both
        ({**visitors, "dimensions": ["tracking_quality"]}, False),  # ends change it
        # a project's breakdown: its views come from project rows, its visitors from raw
        ({**visitors, "dimensions": ["country"], "filters": [project]}, False),
    ):
        rolled, raw = asyncio.run(ask(body))
        shape = [(r.dimensions, r.metrics) for r in rolled.rows], rolled.totals
        assert shape == ([(r.dimensions, r.metrics) for r in raw.rows], raw.totals), body
        assert any(r.metrics["unique_visitors"] for r in rolled.rows), body
        warned = any("unique visitors" in w for w in rolled.warnings)
        assert warned != from_rollups, (body, rolled.warnings)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_fills_what_the_recount_counts(backend: str, tmp_path: Path) -> None:
    """Migration 0015 on a database that already holds sessions (and current rollups): its
    per-value visitors and keys equal what the recount (and so the write path) keeps."""
    with new_database(backend, tmp_path, migrated=False) as database:
        migrate.upgrade(database.url, "0014_project_breakdowns")
        engine = database.engine()
        try:
            with Session(engine) as orm:
                companies = [Company(name=n, slug=n) for n in ("a", "b")]
                orm.add_all(companies)
                orm.flush()
                projects = [Project(company_id=c.id, name="p", slug="p") for c in companies]
                orm.add_all(projects)
                orm.flush()
                contents = [ARContent(project_id=p.id, company_id=p.company_id, title="t")
                            for p in projects]  # fmt: skip
                orm.add_all(contents)
                orm.commit()
                catalog = [{"id": c.id, "project_id": c.project_id, "company_id": c.company_id}
                           for c in contents]  # fmt: skip
            now = datetime.now(UTC)
            history = [
                {**_session(catalog[i % 2], i % 5, ("DE", "AT", None)[i % 3], bot=i % 7 == 0,
                            at=now - timedelta(hours=i * 5, minutes=i)),
                 "utm_source": ("poster", None)[i % 2], "referrer_host": "x" * (i % 3) or None}
                for i in range(120)
            ]  # fmt: skip
            with engine.begin() as conn:
                conn.execute(insert(ARViewSession.__table__), history)
            migrate.upgrade(database.url)
            tables = ("rollup_property_visitors", "property_visitor_keys")
            filled = {t: _snapshot(engine, t) for t in tables}
            assert filled["rollup_property_visitors"]
            assert filled["property_visitor_keys"]
            asyncio.run(recount_rollups(database))
            assert {t: _snapshot(engine, t) for t in tables} == filled
        finally:
            engine.dispose()
