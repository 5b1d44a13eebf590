"""The rollup executor: answers from ``rollup_stats``, ``rollup_daily_visitors`` and
``rollup_property_visitors``, exactly.

A period is cut into UTC days that lie wholly inside one answer bucket (read at day grain),
UTC hours that do (hour grain: totals only), and the rest — the minutes at the period's
edges, days of zones whose offset is not a whole hour — which the raw executor answers over
just those ranges. Visitors come from the daily visitor rows for whole UTC days and from raw
sessions for partial days (a visitor is counted once per UTC day, so days cannot be split).
Visitors of a question with a breakdown property come from the per-value daily visitor rows
when the property is one a session keeps from its start (dimensions.VISITOR_PROPERTIES) and
each answer group is one value (the property is a dimension, or its filters pin one value:
a visitor seen with two values counts once in their union, not once per value); otherwise
from raw sessions over the whole period, and the answer's meta says so.

The rollup rows hold one breakdown property each, so a question involving two different
properties (in dimensions or filters) is answered by the raw executor, and the answer's
meta says so. Hour rows and property rows exist down to projects (dimensions.HOUR_LEVELS,
BREAKDOWN_LEVELS): a content-level question reads its hours from raw sessions, and a
content-level breakdown by property reads them wholly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.dimensions import (
    BREAKDOWN_LEVELS,
    HIERARCHY,
    HOUR_LEVELS,
    PROPERTIES,
    VISITOR_LEVELS,
    VISITOR_PROPERTIES,
)
from arv_analytics.analytics.executors import Answer, GroupKey, raw
from arv_analytics.analytics.metrics import zero
from arv_analytics.analytics.periods import bucket_key
from arv_analytics.analytics.query import Query
from arv_analytics.models import (
    RollupDailyVisitors,
    RollupDetail,
    RollupPropertyVisitors,
    rollup_stats,
)

R = rollup_stats
V = RollupDailyVisitors
P = RollupPropertyVisitors
Range = tuple[datetime, datetime]
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def _floor(moment: datetime, step: timedelta) -> datetime:
    base = moment.replace(minute=0, second=0, microsecond=0)
    return base.replace(hour=0) if step == DAY else base


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floor = _floor(moment, step)
    return floor if floor == moment else floor + step


def _merge(ranges: list[Range]) -> list[Range]:
    out: list[Range] = []
    for a, b in sorted(ranges):
        if a >= b:
            continue
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _whole_hours(q: Query, a: datetime, b: datetime) -> bool:
    """Each UTC hour of [a, b) falls in one local hour: the offset is a whole number of hours."""
    return all(
        int(m.astimezone(q.tz).utcoffset().total_seconds()) % 3600 == 0  # type: ignore[union-attr]
        for m in (a, b - timedelta(microseconds=1))
    )


def _one_bucket(q: Query, day: datetime) -> bool:
    if q.time is None:
        return True
    if q.time in ("hour", "hour_of_day", "weekday_hour"):
        return False
    last = day + DAY - timedelta(microseconds=1)
    return bucket_key(day, q.time, q.tz) == bucket_key(last, q.time, q.tz)


class Plan:
    """Which ranges are read from day rows, hour rows and raw sessions."""

    def __init__(self, q: Query, *, hours_allowed: bool) -> None:
        since, until = q.period.since, q.period.until
        # No view is stored after "now", so a period ending at or after now may read whole
        # rollup days and hours that reach beyond it: they hold nothing later anyway.
        end = _ceil(until, DAY) if until >= q.now else until
        self.days: list[Range] = []
        self.hours: list[Range] = []
        self.raw: list[Range] = []
        self.visitor_days: list[Range] = []
        d0, d1 = _ceil(since, DAY), _floor(end, DAY)
        if d0 >= d1:
            self._hours_or_raw(q, since, end, hours_allowed)
        else:
            self._hours_or_raw(q, since, d0, hours_allowed)
            day = d0
            while day < d1:
                if _one_bucket(q, day):
                    self.days.append((day, day + DAY))
                    self.visitor_days.append((day, day + DAY))
                elif hours_allowed and _whole_hours(q, day, day + DAY):
                    self.hours.append((day, day + DAY))
                else:
                    self.raw.append((day, day + DAY))
                day += DAY
            self._hours_or_raw(q, d1, end, hours_allowed)
        self.days, self.hours = _merge(self.days), _merge(self.hours)
        self.visitor_days = _merge(self.visitor_days)
        self.raw = [(max(a, since), min(b, until)) for a, b in _merge(self.raw)]
        self.raw = [(a, b) for a, b in self.raw if a < b]
        # Visitors of every moment outside whole days come from raw sessions.
        self.visitor_raw = _complement((since, until), self.visitor_days)

    def _hours_or_raw(self, q: Query, a: datetime, b: datetime, hours_allowed: bool) -> None:
        if a >= b:
            return
        h0, h1 = _ceil(a, HOUR), _floor(b, HOUR)
        if hours_allowed and h0 < h1 and _whole_hours(q, h0, h1):
            self.raw.append((a, h0))
            self.hours.append((h0, h1))
            self.raw.append((h1, b))
        else:
            self.raw.append((a, b))


def _complement(span: Range, covered: Sequence[Range]) -> list[Range]:
    out, cursor = [], span[0]
    for a, b in covered:
        if a > cursor:
            out.append((cursor, min(a, span[1])))
        cursor = max(cursor, b)
    if cursor < span[1]:
        out.append((cursor, span[1]))
    return [(a, b) for a, b in out if a < b]


def _level(q: Query) -> str:
    used = {d for d in q.dimensions if d in HIERARCHY} | {
        f.dimension for f in q.filters if f.dimension in HIERARCHY
    }
    if not used:
        return "company" if q.company_scope is not None else "all"
    return max(used, key=lambda name: HIERARCHY[name].depth)


def _hierarchy_column(table: Any, level: str, dimension: str) -> ColumnElement[Any]:
    if dimension == level:
        return table.c.entity_id if hasattr(table, "c") else table.entity_id  # type: ignore[no-any-return]
    name = "company_id" if dimension == "company" else "project_id"
    return table.c[name] if hasattr(table, "c") else getattr(table, name)  # type: ignore[no-any-return]


def _scope(q: Query, table: Any, level: str) -> list[Any]:
    parts: list[Any] = []
    if level == "all":
        # The one "all" entity: keeps the primary key's range tight (level, entity, …).
        parts.append(_hierarchy_column(table, level, level) == 0)
    if q.company_scope is not None:
        parts.append(_hierarchy_column(table, level, "company") == q.company_scope)
    for f in q.filters:
        if f.dimension in HIERARCHY:
            column = _hierarchy_column(table, level, f.dimension)
            parts.append(raw.filter_condition(column, f, [int(v) for v in f.values]))
    return parts


def _in(column: Any, ranges: Sequence[Range]) -> Any:
    return or_(*(and_(column >= a, column < b) for a, b in ranges)) if ranges else false()


_HOUR_LEVELS = {lv.name for lv in HOUR_LEVELS}
_BREAKDOWN_LEVELS = {lv.name for lv in BREAKDOWN_LEVELS}
_VISITOR_PROPERTIES = {p.name for p in VISITOR_PROPERTIES}
_VISITOR_LEVELS = {lv.name for lv in VISITOR_LEVELS}


def _why_visitors_raw(q: Query, prop: str, level: str) -> str | None:
    """Why the per-value visitor rows cannot answer this question's visitors (None: they
    can). Sums of per-value daily uniques equal the raw count only when each answer group
    holds one value: a visitor seen with two values is one visitor of their union."""
    if prop not in _VISITOR_PROPERTIES:
        return f"{prop} can change after a view starts, so its visitors are not rolled up"
    if level not in _VISITOR_LEVELS:
        return f"visitors per value are rolled up per company, and this question is by {level}"
    if prop in q.dimensions:
        return None
    pins = [f for f in q.filters if f.dimension == prop]
    if all(f.op == "is" and len(f.values) == 1 for f in pins):
        return None
    return f"the filter on {prop} spans several values, and a visitor may have more than one"


async def _all_detailed(session: AsyncSession, q: Query) -> bool:
    """Whether the question is pinned to contents that all have ready detail rows."""
    pins = [f for f in q.filters if f.dimension == "content"]
    if not pins or any(f.op != "is" for f in pins):
        return False
    ids = set.intersection(*({int(v) for v in f.values} for f in pins))
    if not ids:
        return False
    ready = select(func.count()).where(
        RollupDetail.content_id.in_(sorted(ids)), RollupDetail.ready.is_(True)
    )
    return (await session.execute(ready)).scalar_one() == len(ids)


class RollupExecutor:
    name = "rollups"

    def __init__(self) -> None:
        self._raw = raw.RawExecutor()

    async def run(self, session: AsyncSession, q: Query) -> Answer:
        props = q.properties_used
        if len(props) > 1:
            answer = await self._raw.run(session, q)
            answer.warnings.append(
                "answered from raw sessions: rollups hold one breakdown property at a time "
                f"and this question uses {len(props)} ({', '.join(sorted(props))})"
            )
            return answer
        prop = next(iter(props), None)
        level = _level(q)
        # Busy contents have their own hour and property rows (rollups/detail.py).
        detailed = level == "content" and (prop is not None or q.time is not None)
        detailed = detailed and await _all_detailed(session, q)
        if prop is not None and level not in _BREAKDOWN_LEVELS and not detailed:
            answer = await self._raw.run(session, q)
            answer.warnings.append(
                f"answered from raw sessions: breakdowns by property are rolled up for all "
                f"contents, per company and per project, and this question is scoped by "
                f"{level} (a content gets its own once it passes ARV_ROLLUP_DETAIL_VIEWS)"
            )
            return answer
        hours = level in _HOUR_LEVELS or detailed
        plan = Plan(q, hours_allowed=prop is None and hours)
        groups: dict[GroupKey, dict[str, int]] = {}
        used_raw = False
        if plan.days or plan.hours:
            await self._rollup_figures(session, q, level, prop, plan, groups)
        if plan.raw:
            used_raw = True
            _add_all(groups, await raw.aggregate(session, q, plan.raw, visitors=False))
        warnings: list[str] = []
        if q.needs_visitors:
            why = None if prop is None else _why_visitors_raw(q, prop, level)
            if why is None:
                if plan.visitor_days:
                    await self._rollup_visitors(session, q, level, prop, plan.visitor_days, groups)
                visitor_raw = plan.visitor_raw
            else:
                visitor_raw = [(q.period.since, q.period.until)]
                warnings.append(f"unique visitors answered from raw sessions: {why}")
            if visitor_raw:
                used_raw = True
                _add_all(groups, await raw.aggregate(session, q, visitor_raw, figures=False))
        # An end that moved a view to another property value leaves the old value's row at
        # zero views: such a row stands for no view at all, as in the raw table.
        groups = {k: v for k, v in groups.items() if v["views"] or v["visitors"]}
        rolled = bool(plan.days or plan.hours)
        source = "rollups+raw" if rolled and used_raw else ("rollups" if rolled else "raw")
        answer = Answer(groups, source)
        answer.warnings.extend(warnings)
        return answer

    async def _rollup_figures(
        self,
        session: AsyncSession,
        q: Query,
        level: str,
        prop: str | None,
        plan: Plan,
        groups: dict[GroupKey, dict[str, int]],
    ) -> None:
        value_col = R.c.value
        conditions = [
            R.c.level == level,
            R.c.dimension == (prop or ""),
            or_(
                and_(R.c.grain == "d", _in(R.c.bucket, plan.days)),
                and_(R.c.grain == "h", _in(R.c.bucket, plan.hours)),
            ),
            *_scope(q, R, level),
        ]
        if not q.include_bots:
            conditions.append(R.c.is_bot.is_(False))
        for f in q.filters:
            if f.dimension in PROPERTIES:
                conditions.append(raw.filter_condition(value_col, f, f.values))
        keys: list[ColumnElement[Any]] = []
        if q.time is not None:
            # Local buckets in SQL: a year by month is 12 rows to read, not 365.
            keys.append(raw.time_expr(q, [*plan.days, *plan.hours], R.c.bucket))
        for name in q.dimensions:
            keys.append(value_col if name in PROPERTIES else _hierarchy_column(R, level, name))
        stmt = (
            select(*keys, *(func.sum(R.c[n]) for n in q.accumulators))
            .where(and_(*conditions))
            .group_by(*keys)
        )
        width = len(keys)
        for row in await session.execute(stmt):
            key = _group_key(q, row[:width], local=True)
            acc = groups.setdefault(key, zero())
            for name, value in zip(q.accumulators, row[width:], strict=True):
                acc[name] += int(value or 0)

    async def _rollup_visitors(
        self,
        session: AsyncSession,
        q: Query,
        level: str,
        prop: str | None,
        days: Sequence[Range],
        groups: dict[GroupKey, dict[str, int]],
    ) -> None:
        """Daily visitors of whole UTC days: per entity, or per property value (``prop``)."""
        table = (V if prop is None else P).__table__
        column = table.c.everyone if q.include_bots else table.c.humans
        day_ranges = [(a.date(), b.date()) for a, b in days]
        conditions = [
            table.c.level == level,
            or_(*(and_(table.c.day >= a, table.c.day < b) for a, b in day_ranges)),
            *_scope(q, table, level),
        ]
        if prop is not None:
            conditions.append(table.c.property == prop)
            for f in q.filters:
                if f.dimension == prop:
                    conditions.append(raw.filter_condition(table.c.value, f, f.values))
        keys: list[ColumnElement[Any]] = [table.c.day] if q.time is not None else []
        for name in q.dimensions:
            keys.append(
                table.c.value if name in PROPERTIES else _hierarchy_column(table, level, name)
            )
        stmt = select(*keys, func.sum(column)).where(and_(*conditions)).group_by(*keys)
        width = len(keys)
        for row in await session.execute(stmt):
            values = list(row[:width])
            if q.time is not None:
                day = values[0]
                values[0] = datetime(day.year, day.month, day.day, tzinfo=UTC)
            acc = groups.setdefault(_group_key(q, values), zero())
            acc["visitors"] += int(row[width] or 0)


def _group_key(q: Query, values: Sequence[Any], *, local: bool = False) -> GroupKey:
    """``values``: the time bucket (a UTC instant, or with ``local`` its key already) and
    the dimension values."""
    out: list[Any] = list(values)
    if q.time is not None and local:
        pass
    elif q.time is not None:
        moment = out[0]
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        out[0] = bucket_key(moment, q.time, q.tz)
    else:
        out.insert(0, None)
    return tuple(int(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in out)


def _add_all(
    target: dict[GroupKey, dict[str, int]], source: dict[GroupKey, dict[str, int]]
) -> None:
    for key, acc in source.items():
        into = target.setdefault(key, zero())
        for name, value in acc.items():
            into[name] += value
