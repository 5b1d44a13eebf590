"""The aggregate tables of settled days (clickhouse/aggregates.py) change no answer.

A fixed history of 300 sessions over 40 days with ends (tests/clickhouse/test_current_engine)
is stored on the two local shards; every question of a fixed list (zones with whole and
half-hour offsets, every time granularity, properties as dimensions and filters, visitors,
medians, mid-hour custom periods, company scope, bots) is answered by the executor before
any day is counted — from versions only, which the exactness test proves equal to the SQL
executors — and again after counting through several days: the answers must be identical.
Then the same after purges, retention and a fill that stopped half-way.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from arv_analytics.analytics.executors import GroupKey
from arv_analytics.analytics.executors.clickhouse import ClickHouseExecutor, Cut
from arv_analytics.analytics.periods import Period
from arv_analytics.analytics.query import Filter, Query, zone
from arv_analytics.clickhouse import aggregates, maintenance
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.store import SessionStore
from tests.clickhouse.conftest import ClickHouseTarget
from tests.clickhouse.support import connect
from tests.clickhouse.test_current_engine import _history, _questions, _store

Answers = list[dict[GroupKey, dict[str, int]]]


def _more_questions(now: datetime) -> list[Query]:
    """Beyond the engine parity list: periods with mid-hour edges (visitors of a UTC day cut
    between aggregate hours and versions), one property as a filter with visitors, a
    property breakdown without time, a weekly series of one content."""
    out = []
    edges = ((30 * 24, 10 * 24, 17), (20 * 24 + 5, 30, 41), (39 * 24, 39 * 24, 0))
    for back, hours, minute in edges:
        since = now - timedelta(hours=back, minutes=minute)
        period = Period("custom", since, since + timedelta(hours=hours))
        for tz_name, time_dim, dims, filters in (
            ("UTC", None, (), ()),
            ("Europe/Berlin", "day", (), ()),
            ("UTC", "hour", ("project",), ()),
            ("UTC", None, ("country",), ()),
            ("Asia/Kolkata", None, (), (Filter("country", "is", ("DE",)),)),
            ("UTC", "week", ("content",), (Filter("content", "is", ("2",)),)),
            ("UTC", "day", (), (Filter("source", "contains", ("insta",)),)),
        ):
            metrics = ("views", "unique_visitors", "median_duration_seconds", "video_play_rate")
            for bots, company in ((False, None), (True, 1)):
                tz = zone(tz_name)
                out.append(Query(period, tz, now, metrics, time_dim, dims, filters, bots, company))
    return out


def _answers(ch: ClickHouse, questions: list[Query]) -> Answers:
    executor = ClickHouseExecutor(ch)
    return [asyncio.run(executor.answer(q)) for q in questions]


@pytest.fixture
def stored(clickhouse: ClickHouseTarget) -> Any:
    now = datetime.now(UTC)
    rows, ends = _history(now)
    ch = connect(clickhouse)
    _store(ch, rows, ends)
    questions = _questions(now) + _more_questions(now)
    try:
        yield ch, now, rows, questions
    finally:
        ch.close()


def test_counted_days_answer_as_versions(stored: Any) -> None:
    ch, now, _, questions = stored
    expected = _answers(ch, questions)
    assert sum(1 for a in expected if a) > len(questions) * 0.8, "the questions find sessions"
    today = now.date()
    for back in (45, 12, -1):
        through = today - timedelta(days=back)
        _, mark = aggregates.fill(ch, through)
        assert mark == through
        got = _answers(ch, questions)
        for q, a, b in zip(questions, expected, got, strict=True):
            assert a == b, (through, q)
    # Everything is counted: the hour rows hold every session once, summed over the shards.
    db = ch.target.database
    [(views,)] = ch.execute(f"SELECT sum(views) FROM {db}.hours")
    assert views == 300
    [(per_property,)] = ch.execute(f"SELECT sum(views) FROM {db}.props")
    assert per_property == 300 * 12  # once per property


def test_counting_again_and_a_stopped_fill_change_nothing(stored: Any) -> None:
    ch, now, _, questions = stored
    questions = questions[::4]  # the full list runs in the test above
    expected = _answers(ch, questions)
    aggregates.fill(ch, now.date())
    # A fill that stopped after writing its staging rows, and days counted twice.
    db = ch.target.database
    for shard in ch.shards():
        shard.execute(f"INSERT INTO {db}.hours_stage SELECT * FROM {db}.hours_local")
        shard.close()
    days = [now.date() - timedelta(days=n) for n in range(0, 41)]
    assert aggregates.count_days(ch, days) == 41
    assert aggregates.count_days(ch, days[:5]) == 5
    assert _answers(ch, questions) == expected
    # A fill that stopped after inserting its days but before moving the watermark: the
    # next fill finds their rows and replaces them instead of adding to them.
    for shard in ch.shards():
        shard.execute(f"TRUNCATE TABLE {db}.filled_local")
        shard.close()
    aggregates.fill(ch, now.date())
    assert _answers(ch, questions) == expected


def test_settled_days_and_the_watermark(stored: Any) -> None:
    ch, now, _, _ = stored
    window = timedelta(days=1, minutes=30)
    through = aggregates.settled_through(now, window)
    # The day before the last end could arrive is the last one counted.
    assert through == (now - window - aggregates.MARGIN).date() - timedelta(days=1)
    assert aggregates.watermark(ch) is None
    days, mark = aggregates.fill(ch, through, max_days=3)
    assert (days, aggregates.watermark(ch)) == (3, mark)
    first = min(r[0] for r in ch.execute(f"SELECT created_us FROM {ch.target.sessions}"))
    assert mark == datetime.fromtimestamp(first // 1_000_000, UTC).date() + timedelta(days=2)
    days, mark = aggregates.fill(ch, through)
    assert mark == through
    assert aggregates.fill(ch, through) == (0, through)
    aggregates.reset(ch)
    assert aggregates.watermark(ch) is None


@pytest.mark.parametrize("how", ["company", "content", "sessions", "before"])
def test_purge_and_retention_keep_aggregates_true(stored: Any, how: str) -> None:
    ch, now, rows, questions = stored
    questions = questions[::4]
    aggregates.fill(ch, now.date() + timedelta(days=1))
    if how == "company":
        maintenance.delete(ch, company_id=1)
    elif how == "content":
        maintenance.delete(ch, content_id=2)
    elif how == "sessions":
        ids: list[uuid.UUID] = [r["session_id"] for r in rows[::7]]
        maintenance.delete(ch, session_ids=ids)
    else:
        maintenance.delete(ch, before=now - timedelta(days=17, hours=5))
    got = _answers(ch, questions)
    # The reference: the same questions over the versions that remain, nothing counted.
    aggregates.reset(ch)
    assert got == _answers(ch, questions)
    if how == "company":
        assert not any(got)


def test_a_day_is_in_one_partition_whatever_the_server_zone() -> None:
    # The partition key is the UTC day number of the row's time: the fill replaces exactly
    # the partitions of the days it counted.
    assert aggregates._epoch(date(1970, 1, 2)) == 86_400
    assert aggregates._spans([date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2)]) == [
        (date(2026, 1, 1), 3)
    ]
    assert aggregates._spans([date(2026, 1, 1), date(2026, 1, 3)]) == [
        (date(2026, 1, 1), 1), (date(2026, 1, 3), 1),
    ]  # fmt: skip


def test_a_visitor_is_counted_once_on_a_day_cut_by_the_period(
    clickhouse: ClickHouseTarget,
) -> None:
    """A period that starts mid-hour: its first minutes are read from versions, the rest of
    that UTC day from hour rows. One visitor seen in both parts is one visitor that day."""
    now = datetime.now(UTC)
    day = datetime.combine(now.date() - timedelta(days=5), datetime.min.time(), UTC)
    base = {"ar_content_id": 1, "project_id": 1, "company_id": 1, "is_bot": False,
            "visitor_hash": 42, "video_played": False}  # fmt: skip
    moments = [day + timedelta(hours=9, minutes=10), day + timedelta(hours=15)]
    rows = [{**base, "session_id": uuid.uuid4(), "created_at": m, "updated_at": m} for m in moments]
    ch = connect(clickhouse)
    try:
        SessionStore(ch).store_sync(rows)
        period = Period("custom", day + timedelta(hours=9, minutes=5), day + timedelta(days=2))
        q = Query(period, zone("UTC"), now, ("views", "unique_visitors"), None, (), (), False,
                  None)  # fmt: skip
        assert _answers(ch, [q])[0][(None,)]["visitors"] == 1
        aggregates.fill(ch, now.date())
        assert Cut(q, datetime.combine(now.date(), datetime.min.time(), UTC)).rows
        [answer] = _answers(ch, [q])
        assert (answer[(None,)]["views"], answer[(None,)]["visitors"]) == (2, 1)
    finally:
        ch.close()


def test_a_database_from_before_the_aggregate_tables_answers_from_versions(stored: Any) -> None:
    """Upgraded servers reading a ClickHouse database that `init` has not yet given the
    aggregate tables: every question is answered from versions, none fails."""
    ch, _, _, questions = stored
    questions = questions[::8]
    expected = _answers(ch, questions)
    for shard in ch.shards():
        for name in ("filled_local", "hours_local", "props_local", "hours", "props"):
            shard.execute(f"DROP TABLE IF EXISTS {ch.target.database}.{name}")
        shard.close()
    assert aggregates.watermark(ch) is None
    assert _answers(ch, questions) == expected
