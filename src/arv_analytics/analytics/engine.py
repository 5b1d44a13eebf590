"""The analytics engine: runs a validated Query through the executor chosen at start-up and
shapes the answer (every time bucket, metrics from accumulators, comparison, order, page).

Scope is enforced here, once: the caller's company (and, for a project share link, project)
restriction is part of every Query, and a scope naming an entity outside it is answered as
unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics import repository
from arv_analytics.analytics.dimensions import HIERARCHY, TIME_PREFIX
from arv_analytics.analytics.executors import Answer, Executor, GroupKey
from arv_analytics.analytics.metrics import METRICS, add_into, finalize, zero
from arv_analytics.analytics.periods import Period, all_buckets, shift, utc_offsets
from arv_analytics.analytics.query import Query
from arv_analytics.errors import NotFound

LABELS = {"company": "company", "project": "project", "content": "ar content"}


@dataclass(slots=True)
class Row:
    dimensions: dict[str, Any]
    metrics: dict[str, Any]
    comparison: dict[str, Any] | None = None
    change: dict[str, float | None] | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Result:
    rows: list[Row]
    total_rows: int
    totals: dict[str, Any]
    comparison_totals: dict[str, Any] | None
    comparison_period: Period | None
    source: str
    warnings: list[str]
    time_labels: list[str]
    unavailable: list[str] = field(default_factory=list)


def time_label(key: str, granularity: str) -> Any:
    """The API's form of a bucket key: ISO text for calendar buckets, ints for cycles."""
    if granularity in ("weekday", "hour_of_day"):
        return int(key)
    if granularity == "weekday_hour":
        weekday, hour = key.split(" ")
        return f"{weekday}-{hour}"
    day, hour = key.split(" ")
    if granularity == "hour":
        return f"{day}T{hour}:00"
    if granularity == "month":
        return day[:7]
    return day


def change(now: Any, before: Any) -> float | None:
    """Percent change; null when there is nothing to compare with."""
    if now is None or before is None or before == 0:
        return None
    return float(round((now - before) / before * 100, 1))


class Engine:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    @property
    def source(self) -> str:
        return self.executor.name

    async def check_scope(self, session: AsyncSession, q: Query) -> None:
        for level, ident in q.scope:
            found = await repository.entity(session, level, ident, q.company_scope, q.project_scope)
            if found is None:
                raise NotFound(f"{LABELS[level]} {ident} not found")

    async def first_seen(
        self, session: AsyncSession, company_scope: int | None, project_scope: int | None = None
    ) -> datetime | None:
        return await repository.first_seen(session, company_scope, project_scope)

    async def totals(self, session: AsyncSession, q: Query) -> tuple[dict[str, int], Answer]:
        flat = replace(q, time=None, dimensions=(), order_by=(), limit=1, offset=0, comparison=None)
        answer = await self.executor.run(session, flat)
        acc = zero()
        for values in answer.groups.values():
            add_into(acc, values)
        return acc, answer

    async def run(self, session: AsyncSession, q: Query, *, with_totals: bool = True) -> Result:
        await self.check_scope(session, q)
        answer = await self.executor.run(session, q)
        warnings = list(answer.warnings)
        sources = {answer.source}
        unavailable = set(answer.unavailable)
        groups = answer.groups
        if q.time is None and not q.dimensions:
            # A question without dimensions has exactly one row, even over no views.
            single = zero()
            for values in groups.values():
                add_into(single, values)
            groups = {(None,): single}
        time_keys: list[str] = []
        if q.time is not None:
            time_keys = all_buckets(q.period, q.time, q.tz)
            if not q.dimensions:
                for key in time_keys:
                    groups.setdefault((key,), zero())
        totals_acc: dict[str, int] | None = None
        if with_totals:
            if q.time is None and not q.dimensions:
                totals_acc = next(iter(groups.values()), zero())
            elif _sums_to_totals(q):
                totals_acc = _sum(groups)
            else:
                totals_acc, t_answer = await self.totals(session, q)
                sources.add(t_answer.source)
                unavailable.update(t_answer.unavailable)
        compare_groups: dict[GroupKey, dict[str, int]] | None = None
        compare_totals: dict[str, int] | None = None
        compare_period: Period | None = None
        if q.comparison is not None:
            compare_period = shift(q.period, q.comparison, q.tz)
            previous = q.with_period(compare_period)
            c_answer = await self.executor.run(session, previous)
            sources.add(c_answer.source)
            unavailable.update(c_answer.unavailable)
            compare_groups = _align(q, previous, c_answer.groups)
            if with_totals and _sums_to_totals(previous):
                compare_totals = _sum(c_answer.groups)
            elif with_totals:
                compare_totals, ct_answer = await self.totals(session, previous)
                unavailable.update(ct_answer.unavailable)
        rows = [self._row(q, key, acc, compare_groups) for key, acc in groups.items()]
        # A fixed base order (by dimension values), so that ties and pages never depend on
        # which executor answered.
        rows.sort(key=lambda r: tuple((v is None, str(v)) for v in r.dimensions.values()))
        _order(q, rows)
        await self._labels(session, q, rows[q.offset : q.offset + q.limit])
        return Result(
            rows=rows[q.offset : q.offset + q.limit],
            total_rows=len(rows),
            totals=finalize(totals_acc, q.metrics) if totals_acc is not None else {},
            comparison_totals=(
                finalize(compare_totals, q.metrics) if compare_totals is not None else None
            ),
            comparison_period=compare_period,
            source=_source(sources),
            warnings=warnings,
            time_labels=[time_label(k, q.time) for k in time_keys] if q.time else [],
            unavailable=sorted(unavailable),
        )

    def _row(
        self,
        q: Query,
        key: GroupKey,
        acc: dict[str, int],
        compare: dict[GroupKey, dict[str, int]] | None,
    ) -> Row:
        dims: dict[str, Any] = {}
        if q.time is not None:
            dims[TIME_PREFIX + q.time] = time_label(key[0], q.time)
        for name, value in zip(q.dimensions, key[1:], strict=True):
            dims[name] = None if value == "" else value
        metrics = finalize(acc, q.metrics)
        row = Row(dims, metrics)
        if compare is not None:
            before = finalize(compare.get(key, zero()), q.metrics)
            row.comparison = before
            row.change = {m: change(metrics[m], before[m]) for m in q.metrics}
        return row

    async def _labels(self, session: AsyncSession, q: Query, rows: list[Row]) -> None:
        for name in q.dimensions:
            if name not in HIERARCHY:
                continue
            ids = [r.dimensions[name] for r in rows if r.dimensions[name] is not None]
            found = await repository.names(session, name, ids)
            for r in rows:
                label = found.get(r.dimensions[name])
                if label is not None:
                    r.labels[name] = label


def _sums_to_totals(q: Query) -> bool:
    """Whether a series' rows add up to its totals, saving a second pass. Counts always do;
    unique visitors are a sum over UTC days, so they do when every UTC day lies in one bucket:
    day or coarser buckets in a zone at UTC+0 throughout the period."""
    return (
        not q.dimensions
        and q.time in ("day", "week", "month", "weekday")
        and all(offset == 0 for _, offset in utc_offsets(q.period.since, q.period.until, q.tz))
    )


def _sum(groups: dict[GroupKey, dict[str, int]]) -> dict[str, int]:
    out = zero()
    for values in groups.values():
        add_into(out, values)
    return out


def _align(
    q: Query, previous: Query, groups: dict[GroupKey, dict[str, int]]
) -> dict[GroupKey, dict[str, int]]:
    """Comparison rows keyed like the current period's: calendar buckets match by position
    (the 3rd day of this period with the 3rd day of the previous one)."""
    if q.time is None or q.time in ("weekday", "hour_of_day", "weekday_hour"):
        return groups
    now_keys = all_buckets(q.period, q.time, q.tz)
    before_keys = all_buckets(previous.period, q.time, q.tz)
    mapping = dict(zip(before_keys, now_keys, strict=False))
    out: dict[GroupKey, dict[str, int]] = {}
    for key, acc in groups.items():
        if key[0] in mapping:
            out[(mapping[key[0]], *key[1:])] = acc
    return out


def _order(q: Query, rows: list[Row]) -> None:
    order = list(q.order_by)
    if not order:
        first = (TIME_PREFIX + q.time, False) if q.time is not None else (q.metrics[0], True)
        order = [first]
    for name, desc in reversed(order):

        def key(r: Row, name: str = name) -> tuple[int, Any]:
            value = (
                r.metrics[name] if name in METRICS and name in r.metrics else r.dimensions.get(name)
            )
            return (0, value) if value is not None else (1, 0)

        # None last in either direction; ties keep the previous (dimension) order.
        present = [r for r in rows if key(r)[0] == 0]
        missing = [r for r in rows if key(r)[0] == 1]
        present.sort(key=lambda r: key(r)[1], reverse=desc)
        rows[:] = present + missing


def _source(sources: set[str]) -> str:
    if len(sources) == 1:  # one executor answered everything: rollups, raw or clickhouse
        return next(iter(sources))
    return "rollups+raw"
