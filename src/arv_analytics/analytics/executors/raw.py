"""The raw executor: every question answered by aggregating ``ar_view_sessions``.

It is the reference the rollups are tested against, and the fallback for what rollups
cannot answer exactly. Local time buckets are computed in SQL by shifting each timestamp by
the zone's offset in force at that instant (steps found in Python from the IANA database),
so both databases bucket exactly as Python does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.dimensions import HIERARCHY, MAX_VALUE, PROPERTIES
from arv_analytics.analytics.executors import Answer, GroupKey
from arv_analytics.analytics.metrics import ACCUMULATORS, zero
from arv_analytics.analytics.periods import utc_offsets
from arv_analytics.analytics.query import Filter, Query
from arv_analytics.models import ARViewSession
from arv_analytics.sql_functions import bucket_text, shift_seconds, utc_day, utc_minute

S = ARViewSession
BY_NAME = {a.name: a for a in ACCUMULATORS}
Range = tuple[datetime, datetime]


def property_expr(name: str) -> ColumnElement[Any]:
    """A property's value as rollups store it: cut to the stored width, '' for none."""
    column = PROPERTIES[name].session_column
    return func.coalesce(func.substr(column, 1, MAX_VALUE), "")


def _like(expr: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(expr).like(f"%{escaped}%", escape="\\")


def filter_condition(expr: ColumnElement[Any], f: Filter, values: Sequence[Any]) -> Any:
    """One filter over an expression; shared with the rollup executor (same semantics)."""
    if f.op == "is":
        return expr.in_(values)
    if f.op == "is_not":
        return expr.not_in(values)
    return or_(*(_like(expr, v) for v in values))


def time_expr(q: Query, ranges: Sequence[Range], column: Any = S.created_at) -> ColumnElement[Any]:
    """The local bucket key of a UTC timestamp column, in SQL. Also used by the rollup
    executor on its bucket starts (each rollup bucket lies wholly in one local bucket)."""
    assert q.time is not None
    since = min(r[0] for r in ranges)
    until = max(r[1] for r in ranges)
    steps = utc_offsets(since, until, q.tz)
    shifted: ColumnElement[Any]
    if len(steps) == 1:
        shifted = shift_seconds(column, steps[0][1])
    else:
        whens = [
            (column < steps[i + 1][0], shift_seconds(column, steps[i][1]))
            for i in range(len(steps) - 1)
        ]
        shifted = case(*whens, else_=shift_seconds(column, steps[-1][1]))
    return bucket_text(shifted, q.time)


def group_exprs(q: Query, ranges: Sequence[Range]) -> list[ColumnElement[Any]]:
    exprs: list[ColumnElement[Any]] = []
    if q.time is not None:
        exprs.append(time_expr(q, ranges))
    for name in q.dimensions:
        exprs.append(HIERARCHY[name].column if name in HIERARCHY else property_expr(name))
    return exprs


def where(q: Query, ranges: Sequence[Range]) -> ColumnElement[bool]:
    in_time = (
        or_(*(and_(S.created_at >= a, S.created_at < b) for a, b in ranges)) if ranges else false()
    )
    return and_(in_time, *_scope_only(q))


def filter_conditions(q: Query) -> list[Any]:
    out = []
    for f in q.filters:
        if f.dimension in HIERARCHY:
            ids = [int(v) for v in f.values]
            out.append(filter_condition(HIERARCHY[f.dimension].column, f, ids))
        else:
            out.append(filter_condition(property_expr(f.dimension), f, f.values))
    return out


def _key(q: Query, row: Sequence[Any]) -> GroupKey:
    values = list(row)
    if q.time is None:
        values.insert(0, None)
    return tuple(int(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values)


def figures_statement(q: Query, ranges: Sequence[Range]) -> Select[Any]:
    groups = group_exprs(q, ranges)
    return (
        select(*groups, *(BY_NAME[n].sql().label(n) for n in q.accumulators))
        .where(where(q, ranges))
        .group_by(*groups)
    )


def visitors_statement(q: Query, ranges: Sequence[Range]) -> Select[Any]:
    """Sum over UTC days (and companies) of distinct visitor hashes, per group."""
    groups = group_exprs(q, ranges)
    labelled = [g.label(f"g{i}") for i, g in enumerate(groups)]
    daily = (
        select(*labelled, utc_day(S.created_at), S.company_id, S.visitor_hash)
        .where(where(q, ranges), S.visitor_hash.is_not(None))
        .distinct()
        .subquery()
    )
    outer = [daily.c[f"g{i}"] for i in range(len(groups))]
    return select(*outer, func.count()).select_from(daily).group_by(*outer)


async def aggregate(
    session: AsyncSession,
    q: Query,
    ranges: Sequence[Range],
    *,
    figures: bool = True,
    visitors: bool = True,
) -> dict[GroupKey, dict[str, int]]:
    """Accumulators (and visitors) per group over the given time ranges."""
    out: dict[GroupKey, dict[str, int]] = {}
    width = (1 if q.time is not None else 0) + len(q.dimensions)
    if figures and ranges:
        for row in await session.execute(figures_statement(q, ranges)):
            acc = out.setdefault(_key(q, row[:width]), zero())
            for name, v in zip(q.accumulators, row[width:], strict=True):
                acc[name] += int(v or 0)
    if visitors and ranges:
        for row in await session.execute(visitors_statement(q, ranges)):
            acc = out.setdefault(_key(q, row[:width]), zero())
            acc["visitors"] += int(row[width] or 0)
    return out


class RawExecutor:
    name = "raw"

    async def run(self, session: AsyncSession, q: Query) -> Answer:
        ranges = [(q.period.since, q.period.until)]
        groups = await aggregate(session, q, ranges, visitors=q.needs_visitors)
        return Answer(groups, "raw")


async def realtime(
    session: AsyncSession, q: Query, now: datetime, active_window: Any, series_window: Any
) -> tuple[int, dict[str, int]]:
    """Views active now (a start or heartbeat within ``active_window``) and starts per UTC
    minute over ``series_window``, in the question's scope and filters."""
    scope = where(q, [(now - series_window, now + active_window)])
    active = select(func.count()).where(S.updated_at >= now - active_window, *_scope_only(q))
    minute = utc_minute(S.created_at)
    series = select(minute, func.count()).where(scope).group_by(minute)
    count = int((await session.execute(active)).scalar_one())
    per_minute = {str(m): int(n) for m, n in await session.execute(series)}
    return count, per_minute


def _scope_only(q: Query) -> list[Any]:
    parts: list[Any] = []
    if q.company_scope is not None:
        parts.append(S.company_id == q.company_scope)
    if not q.include_bots:
        parts.append(S.is_bot.is_(False))
    return parts + filter_conditions(q)
