"""Rollups answer exactly what the raw table answers: a property test on random histories
and random questions.

Sessions with random start times (some in the current hour, some around period edges, some
across the DST changes of late October and early November), bots, repeat visitors, sources,
camera outcomes, and random ends applied in random batches go through the real write path
(``apply_batch``, which keeps the rollups). Then random questions — metrics × dimensions ×
filters × periods × time zones × bot settings × company scopes, with breakdowns by property
and unique visitors drawn often — are answered by the rollup executor and by the raw
executor, and every row, total and count must be identical.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from arv_analytics.analytics import service
from arv_analytics.analytics.engine import Engine as AnalyticsEngine
from arv_analytics.analytics.executors.raw import RawExecutor
from arv_analytics.analytics.executors.rollups import RollupExecutor
from arv_analytics.analytics.metrics import METRICS
from arv_analytics.analytics.query_schemas import FilterIn, QueryRequest, Scope
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.errors import InvalidInput
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.writes import EndWrite, Rules, StartWrite, apply_batch
from arv_analytics.models import RollupDetail
from arv_analytics.rollups import detail as detail_job
from arv_analytics.tenancy.service import BOOTSTRAP_ADMIN, Principal
from tests.support import (
    Database,
    clean,
    make_content,
    recount_rollups,
    rollup_rows,
    settings_for,
)

RULES = Rules(rollups=True, end_window_seconds=10**9)
QUALITY = st.sampled_from([None, "none", "poor", "fair", "good"])
COUNTRIES = [None, "DE", "AT", "US"]
SOURCES = [None, "poster", "instagram"]
PLACEMENTS = [None, "metro-12", "magazine-p4"]
CAMERA = [None, "granted", "denied", "error"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]

session_st = st.fixed_dictionaries(
    {
        "content": st.integers(0, 3),
        # Seconds before "now" (at least 1: nothing is stored "at" the moment a question is
        # asked): mostly spread over ~40 days, some inside the current hour.
        "age": st.one_of(st.integers(1, 3_000), st.integers(1, 40 * 86_400)),
        "bot": st.booleans(),
        "visitor": st.one_of(st.none(), st.integers(0, 5)),
        "quality": QUALITY,
        "played": st.booleans(),
        "duration": st.one_of(st.none(), st.integers(0, 900)),
        "country": st.sampled_from(COUNTRIES),
        "source": st.sampled_from(SOURCES),
        "placement": st.sampled_from(PLACEMENTS),
        "camera": st.sampled_from(CAMERA),
        "camera_ms": st.one_of(st.none(), st.integers(0, 9_000)),
        "device": st.sampled_from(["mobile", "tablet", None]),
    }
)
end_st = st.fixed_dictionaries(
    {
        "target": st.integers(0, 10_000),
        "duration": st.integers(0, 1_200),
        "quality": QUALITY,
        "played": st.one_of(st.none(), st.booleans()),
        "tracked": st.one_of(st.none(), st.integers(0, 600)),
        "losses": st.one_of(st.none(), st.integers(0, 9)),
        "found": st.one_of(st.none(), st.integers(0, 20_000)),
    }
)
DIMENSIONS = ["time:hour", "time:day", "time:week", "time:month", "time:weekday",
              "time:hour_of_day", "time:weekday_hour", "company", "project", "content",
              "country", "device_type", "tracking_quality", "source", "placement",
              "camera_outcome"]  # fmt: skip
filter_st = st.one_of(
    st.builds(lambda v, op: FilterIn(dimension="country", op=op, values=v),
              st.lists(st.sampled_from(["DE", "AT", "US"]), min_size=1, max_size=2),
              st.sampled_from(["is", "is_not"])),
    st.builds(lambda v: FilterIn(dimension="source", op="contains", values=[v]),
              st.sampled_from(["POST", "gram", "x"])),
    st.builds(lambda v: FilterIn(dimension="tracking_quality", op="is", values=[v]),
              st.sampled_from(["good", "poor", "none"])),
    st.builds(lambda v: FilterIn(dimension="device_type", op="is_not", values=[v]),
              st.sampled_from(["mobile", "tablet"])),
)  # fmt: skip
question_st = st.fixed_dictionaries(
    {
        "metrics": st.lists(st.sampled_from(sorted(METRICS)), min_size=1, max_size=4,
                            unique=True),
        "dimensions": st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True),
        "filters": st.lists(filter_st, max_size=2),
        "period": st.sampled_from(["today", "yesterday", "7d", "30d", "month", "custom",
                                   "realtime"]),
        "custom": st.tuples(st.integers(0, 45 * 24), st.integers(1, 20 * 24),
                            st.integers(0, 59)),
        "timezone": st.sampled_from(ZONES),
        "bots": st.booleans(),
        "company": st.booleans(),
        "scope": st.sampled_from([None, "company", "project", "content"]),
        "comparison": st.sampled_from([None, "previous_period", "year_over_year"]),
    }
)  # fmt: skip

# Breakdowns by a property a session keeps from its start, with unique visitors: the rollups
# answer them from per-value visitor rows (rollup_property_visitors), so they are drawn often.
FIXED = ["country", "device_type", "source", "placement"]


def _visitors_by(question: dict[str, Any], dimensions: list[str]) -> dict[str, Any]:
    return {**question, "metrics": sorted({"unique_visitors", *question["metrics"]}),
            "dimensions": dimensions}  # fmt: skip


visitor_question_st = st.builds(
    _visitors_by,
    question_st,
    st.lists(st.sampled_from([*FIXED, "time:day", "time:week", "company"]), min_size=1,
             max_size=2, unique=True).filter(lambda d: any(x in FIXED for x in d)),
)  # fmt: skip


def _rows(
    contents: list[dict[str, Any]], drawn: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for d in drawn:
        c = contents[d["content"]]
        created = now - timedelta(seconds=d["age"], microseconds=d["age"] % 997)
        rows.append(
            {
                "ar_content_id": c["id"], "project_id": c["project_id"],
                "company_id": c["company_id"], "session_id": uuid.uuid4(),
                "is_bot": d["bot"],
                "visitor_hash": None if d["visitor"] is None else d["visitor"] * 7919,
                "tracking_quality": d["quality"], "video_played": d["played"],
                "duration_seconds": d["duration"], "device_type": d["device"],
                "country": d["country"], "utm_source": d["source"],
                "placement": d["placement"], "camera_outcome": d["camera"],
                "camera_ms": d["camera_ms"], "created_at": created, "updated_at": created,
            }
        )  # fmt: skip
    return rows


async def _history(
    database: Database,
    rows: list[dict[str, Any]],
    ends: list[dict[str, Any]],
    split: int,
    rules: Rules = RULES,
) -> None:
    """The drawn starts, then the drawn ends, through the write path in batches of ``split``
    (the ClickHouse exactness test passes rules with its store as the sink)."""
    engine = create_engine(settings_for(database))
    try:
        maker = create_sessionmaker(engine)
        starts = [StartWrite(row=r) for r in rows]
        changes = [
            EndWrite(
                change=EndChange(
                    rows[e["target"] % len(rows)]["session_id"],
                    {"duration_seconds": e["duration"], "tracking_quality": e["quality"],
                     "video_played": e["played"], "tracked_seconds": e["tracked"],
                     "target_losses": e["losses"], "time_to_first_found_ms": e["found"]},
                )
            )
            for e in ends
        ]  # fmt: skip
        writes = [*starts, *changes]
        for i in range(0, len(writes), split):
            async with maker() as session:
                await apply_batch(session, writes[i : i + split], rules)
                await session.commit()
    finally:
        await engine.dispose()


def _request(question: dict[str, Any], contents: list[dict[str, Any]], now: datetime) -> Any:
    scope = None
    c = contents[0]
    if question["scope"] == "company":
        scope = Scope(company_id=c["company_id"])
    elif question["scope"] == "project":
        scope = Scope(project_id=c["project_id"])
    elif question["scope"] == "content":
        scope = Scope(content_id=c["id"])
    extra: dict[str, Any] = {"period": question["period"]}
    if question["period"] == "custom":
        back, length, minute = question["custom"]
        start = now - timedelta(hours=back, minutes=minute)
        extra = {"from": start, "to": start + timedelta(hours=length)}
    comparison = question["comparison"] if question["period"] != "realtime" else None
    return QueryRequest.model_validate(
        {
            "scope": scope, "metrics": question["metrics"],
            "dimensions": question["dimensions"], "filters": question["filters"],
            "timezone": question["timezone"], "include_bots": question["bots"],
            "comparison": comparison, "limit": 10_000, **extra,
        }
    )  # fmt: skip


def _shape(result: Any) -> Any:
    rows = [(r.dimensions, r.metrics, r.comparison) for r in result.rows]
    return rows, result.total_rows, result.totals, result.comparison_totals, result.time_labels


async def _compare(
    database: Database, contents: list[dict[str, Any]], questions: list[dict[str, Any]]
) -> None:
    engine = create_engine(settings_for(database))
    rolled_engine, raw_engine = AnalyticsEngine(RollupExecutor()), AnalyticsEngine(RawExecutor())
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
                    continue  # e.g. two time dimensions: refused before any executor runs
                raw = await raw_engine.run(session, q)
                rolled = await rolled_engine.run(session, q)
                assert _shape(rolled) == _shape(raw), (question, rolled.source)
            # The compatible endpoints too, over rolling windows with mid-hour edges.
            for days in (1, 7, 30):
                for principal in (BOOTSTRAP_ADMIN,):
                    a = await service.overview(session, raw_engine, principal, days, True)
                    b = await service.overview(session, rolled_engine, principal, days, True)
                    assert _figures(a) == _figures(b), days
    finally:
        await engine.dispose()


def _figures(body: Any) -> dict[str, Any]:
    out = body.model_dump()
    out.pop("since"), out.pop("until")
    return dict(out)


def _catalog(api: httpx.Client) -> list[dict[str, Any]]:
    a, b = make_content(api, company="A"), make_content(api, company="B")
    a2 = api.post("/api/ar-content", json={"project_id": a["project_id"], "title": "A2"}).json()
    pb = api.post("/api/projects", json={"company_id": b["company_id"], "name": "Q"}).json()
    b2 = api.post("/api/ar-content", json={"project_id": pb["id"], "title": "B2"}).json()
    return [a, a2, b, b2]


@settings(
    max_examples=25,
    deadline=None,
    # Shrinking a history of writes takes many minutes; the failing example is printed whole.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=st.lists(session_st, min_size=1, max_size=60),
    ends=st.lists(end_st, max_size=40),
    split=st.integers(1, 50),
    questions=st.lists(st.one_of(question_st, visitor_question_st), min_size=1, max_size=6),
    detail=st.one_of(st.none(), st.tuples(st.integers(0, 25), st.booleans())),
)
def test_rollups_equal_raw(
    database: Database,
    api: httpx.Client,
    db: Engine,
    drawn: list[dict[str, Any]],
    ends: list[dict[str, Any]],
    split: int,
    questions: list[dict[str, Any]],
    detail: tuple[int, bool] | None,
) -> None:
    """``detail``: the first content is busy (rollups/detail.py), promoted before the
    history with its own rows from that many days ago, and filled after it, or not yet."""
    clean(db)
    contents = _catalog(api)
    now = datetime.now(UTC)
    if detail is not None:
        asyncio.run(_promote(database, contents[0]["id"], now.date() - timedelta(days=detail[0])))
    rows = _rows(contents, drawn, now)
    asyncio.run(_history(database, rows, ends, split))
    if detail is not None and detail[1]:
        asyncio.run(_fill(database))
    asyncio.run(_compare(database, contents, questions))


async def _promote(database: Database, content_id: int, first_day: date) -> None:
    engine = create_engine(settings_for(database))
    try:
        async with create_sessionmaker(engine)() as session:
            session.add(RollupDetail(content_id=content_id, detail_from=first_day))
            await session.commit()
    finally:
        await engine.dispose()


async def _fill(database: Database) -> None:
    """As the job does once every earlier day is closed (here: once all was written)."""
    engine = create_engine(settings_for(database))
    try:
        async with create_sessionmaker(engine)() as session:
            await detail_job.fill(session, timedelta(0), datetime.now(UTC) + timedelta(days=2))
    finally:
        await engine.dispose()


def test_rebuild_is_idempotent_and_matches_the_write_path(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    contents = _catalog(api)
    now = datetime.now(UTC)
    drawn = [
        {"content": i % 4, "age": 1 + (i * 7_919) % (20 * 86_400), "bot": i % 5 == 0,
         "visitor": i % 6, "quality": [None, "poor", "good"][i % 3], "played": i % 2 == 0,
         "duration": i * 3, "country": COUNTRIES[i % 4], "source": SOURCES[i % 3],
         "placement": PLACEMENTS[i % 3], "camera": CAMERA[i % 4], "camera_ms": i * 40,
         "device": "mobile"}
        for i in range(200)
    ]  # fmt: skip
    rows = _rows(contents, drawn, now)
    ends = [
        {"target": i * 3, "duration": 500 + i, "quality": "fair", "played": True,
         "tracked": i, "losses": 1, "found": 1000 + i}
        for i in range(50)
    ]  # fmt: skip
    asyncio.run(_history(database, rows, ends, 37))

    def snapshot() -> dict[str, list[tuple[str, ...]]]:
        tables = ("rollup_stats", "rollup_daily_visitors", "rollup_property_visitors")
        return {table: rollup_rows(db, table) for table in tables}

    kept_by_writes = snapshot()
    assert kept_by_writes["rollup_stats"]

    asyncio.run(recount_rollups(database))
    assert snapshot() == kept_by_writes
    asyncio.run(recount_rollups(database))
    assert snapshot() == kept_by_writes
    # A recount of some contents (as an import or a purge does) leaves every level exact.
    asyncio.run(recount_rollups(database, [contents[1]["id"], contents[2]["id"]]))
    assert snapshot() == kept_by_writes
