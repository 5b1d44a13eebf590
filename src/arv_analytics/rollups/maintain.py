"""Keeping the rollups exact from the write path, inside the transaction that writes the views.

A start adds its view to its hour's row (and dimension rows), and counts its visitor once per
day and level; an end adds the *difference* it made (duration, quality, video) to the hour of
the session's start. Every change is pre-aggregated per key in Python and written with one
"insert or add" statement per table, so a batch of 500 writes costs a handful of statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from arv_analytics.models import (
    TRACKER_FIGURES,
    TRACKING_QUALITIES,
    RollupDailyVisitors,
    RollupHourly,
    RollupHourlyDimension,
    VisitorKey,
)

DIMENSIONS = ("device_type", "browser", "os", "country")
LEVELS = (("company", "company_id"), ("project", "project_id"), ("content", "ar_content_id"))
QUALITY_COLUMN: dict[str | None, str] = {q: f"q_{q}" for q in TRACKING_QUALITIES}
QUALITY_COLUMN[None] = "q_unknown"


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def _add(
    session: AsyncSession,
    table: Table | FromClause,
    keys: tuple[str, ...],
    rows: Iterable[dict[str, Any]],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter."""
    # Sorted by key: every writer locks rollup rows in the same order, so two processes
    # upserting overlapping rows wait for each other instead of deadlocking.
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    if not rows:
        return
    # One cached statement, many parameter sets (see ingest.repository.insert_sessions).
    stmt = _insert(session)(table)
    counters = [c for c in rows[0] if c not in keys and c not in ("project_id", "company_id")]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] for c in counters},
    )
    conn = await session.connection()
    await conn.execute(stmt, rows)


HOURLY_KEYS = ("ar_content_id", "hour", "is_bot")
DIM_KEYS = ("ar_content_id", "hour", "is_bot", "dimension", "value")
VISITOR_KEYS = ("level", "entity_id", "day")


def _hourly_zero(row: Mapping[str, Any]) -> dict[str, Any]:
    zero = dict.fromkeys(
        ("views", "sessions", "duration_sum", "duration_count", "video_plays",
         *QUALITY_COLUMN.values(),
         *(f"{p}_{part}" for p in TRACKER_FIGURES.values() for part in ("sum", "count"))),
        0,
    )  # fmt: skip
    return {"project_id": row["project_id"], "company_id": row["company_id"], **zero}


def _add_figures(
    acc: dict[str, Any], old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> None:
    """Adds the change of each tracker figure (from ``old``, or nothing) to the sums/counts."""
    for column, prefix in TRACKER_FIGURES.items():
        before = old.get(column) if old is not None else None
        after = new.get(column)
        acc[f"{prefix}_sum"] += (after or 0) - (before or 0)
        acc[f"{prefix}_count"] += (after is not None) - (before is not None)


def _count_starts(
    rows: list[dict[str, Any]],
) -> tuple[dict[tuple[Any, ...], dict[str, Any]], dict[tuple[Any, ...], int]]:
    """The hourly and dimension counters that newly stored views add, per key."""
    hourly: dict[tuple[Any, ...], dict[str, Any]] = {}
    dims: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in rows:
        bot = bool(row.get("is_bot", False))
        key = (row["ar_content_id"], hour_of(row["created_at"]), bot)
        acc = hourly.setdefault(key, _hourly_zero(row))
        acc["views"] += 1
        acc["sessions"] += row.get("session_id") is not None
        duration = row.get("duration_seconds")
        if duration is not None:
            acc["duration_sum"] += duration
            acc["duration_count"] += 1
        acc["video_plays"] += bool(row.get("video_played"))
        acc[QUALITY_COLUMN[row.get("tracking_quality")]] += 1
        _add_figures(acc, None, row)
        for dim in DIMENSIONS:
            value = row.get(dim)
            if value:
                dims[(*key, dim, str(value)[:100])] += 1
    return hourly, dims


async def add_batch(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    before: Mapping[Any, Mapping[str, Any]],
    after: Mapping[Any, Mapping[str, Any]],
) -> None:
    """A write batch's starts (newly inserted rows only) and ends, in the global lock order.

    Starts and ends share ONE ``rollup_hourly`` statement, and the tables follow each other
    in the order of ``ingest.writes`` (hourly → dims → visitor keys → daily visitors): a
    second hourly statement after the dims would lock in an order another process reverses.
    """
    hourly, dims = _count_starts(rows)
    _count_end_changes(hourly, before, after)
    await _write_hourly(session, hourly, dims)
    await _count_visitors(session, rows)


async def _write_hourly(
    session: AsyncSession,
    hourly: dict[tuple[Any, ...], dict[str, Any]],
    dims: dict[tuple[Any, ...], int],
) -> None:
    await _add(
        session,
        RollupHourly.__table__,
        HOURLY_KEYS,
        ({**dict(zip(HOURLY_KEYS, k, strict=True)), **v} for k, v in hourly.items()),
    )
    await _add(
        session,
        RollupHourlyDimension.__table__,
        DIM_KEYS,
        ({**dict(zip(DIM_KEYS, k, strict=True)), "views": n} for k, n in dims.items()),
    )


async def _count_visitors(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # A visitor is counted once per day, level and entity: the key table says who already is.
    keys: set[tuple[date, str, int, str, int]] = set()
    for row in rows:
        visitor = row.get("visitor_hash")
        if visitor is None:
            continue
        day = row["created_at"].date()
        scopes = ("everyone",) if row.get("is_bot") else ("everyone", "humans")
        for level, column in LEVELS:
            for scope in scopes:
                keys.add((day, level, row[column], scope, visitor))
    if not keys:
        return
    names = ("day", "level", "entity_id", "scope", "visitor_hash")
    stmt = (
        _insert(session)(VisitorKey.__table__)
        .on_conflict_do_nothing()
        .returning(*(VisitorKey.__table__.c[n] for n in names))
    )
    params = [dict(zip(names, k, strict=True)) for k in sorted(keys)]  # lock order, see _add
    counts: dict[tuple[str, int, date], dict[str, int]] = defaultdict(
        lambda: {"humans": 0, "everyone": 0}
    )
    conn = await session.connection()
    for day, level, entity, scope, _ in (await conn.execute(stmt, params)).all():
        counts[(level, entity, day)][scope] += 1
    await _add(
        session,
        RollupDailyVisitors.__table__,
        VISITOR_KEYS,
        ({"level": k[0], "entity_id": k[1], "day": k[2], **v} for k, v in counts.items()),
    )


def _count_end_changes(
    deltas: dict[tuple[Any, ...], dict[str, Any]],
    before: Mapping[Any, Mapping[str, Any]],
    after: Mapping[Any, Mapping[str, Any]],
) -> None:
    """Adds what ends changed to the hour each session started in."""
    for sid, new in after.items():
        old = before[sid]
        key = (old["ar_content_id"], hour_of(old["created_at"]), bool(old["is_bot"]))
        acc = deltas.setdefault(key, _hourly_zero(old))
        d0, d1 = old["duration_seconds"], new["duration_seconds"]
        acc["duration_sum"] += (d1 or 0) - (d0 or 0)
        acc["duration_count"] += (d1 is not None) - (d0 is not None)
        acc["video_plays"] += bool(new["video_played"]) - bool(old["video_played"])
        q0, q1 = old["tracking_quality"], new["tracking_quality"]
        if q0 != q1:
            acc[QUALITY_COLUMN[q0]] -= 1
            acc[QUALITY_COLUMN[q1]] += 1
        _add_figures(acc, old, new)
