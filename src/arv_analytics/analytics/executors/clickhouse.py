"""The ClickHouse executor: every question answered from ClickHouse, exactly.

Days before the aggregate watermark (clickhouse/aggregates.py: settled days, counted once
per hour × hierarchy, and per day × property value) are read from the aggregate tables,
cut as the rollup executor cuts a period (``rollups.Plan``: UTC days that lie in one answer
bucket, UTC hours of whole-hour zones; a question with a property reads day rows only); the
rest, and questions involving two properties, from the session versions. Unique visitors are
the sum over UTC days and companies of distinct visitor hashes: a UTC day is read wholly
from the aggregates (whose visitor sets are merged across rows and shards) or wholly from the
versions, never split between them.

Versions: one statement per question: an inner query merges each session's versions (``GROUP BY
session_id`` with the write path's merge rules, ``clickhouse.schema.merged_columns``) after
the filters that cannot change over a session's life (time, hierarchy, bots, the start's
properties); an outer query applies the rest and aggregates with the metric registry's own
SQL aggregates (``metrics.ACCUMULATORS``, rendered once as ClickHouse SQL). Sessions are
sharded by session_id, so each shard merges its own sessions
(``distributed_group_by_no_merge``) and only per-session rows cross the network.

Local time buckets are computed as the raw executor does: each timestamp is shifted by the
zone's UTC offset in force at that instant (steps found in Python), then formatted as the
bucket key — 18.16 has no toStartOfInterval and no WITH FILL; the engine fills empty
buckets. Visitors are the sum over UTC days and companies of distinct visitor hashes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.dimensions import HIERARCHY, PROPERTIES
from arv_analytics.analytics.executors import Answer, GroupKey
from arv_analytics.analytics.executors.rollups import DAY, Plan, _complement, _merge
from arv_analytics.analytics.metrics import HISTOGRAMS, Histogram, zero
from arv_analytics.analytics.periods import utc_offsets
from arv_analytics.analytics.query import Filter, Query
from arv_analytics.clickhouse import aggregates
from arv_analytics.clickhouse.connection import ClickHouse, ShardUnavailable
from arv_analytics.clickhouse.schema import IMMUTABLE, MERGED
from arv_analytics.clickhouse.sql import (
    SCALAR_SQL,
    Statement,
    histogram_sum_map,
    merged_sessions,
    property_value,
)
from arv_analytics.clickhouse.store import micros

Range = tuple[datetime, datetime]
_IMMUTABLE = {name for name, _ in IMMUTABLE}
# "%%": every statement goes through the driver's %-style parameter substitution. Days of
# the week from a Date: current releases read toDayOfWeek's 2nd argument as a mode, not a zone.
_FORMATS = {
    "hour": "formatDateTime({x}, '%%Y-%%m-%%d %%H', 'UTC')",
    "day": "formatDateTime({x}, '%%Y-%%m-%%d 00', 'UTC')",
    "week": "concat(toString(toMonday(toDate({x}, 'UTC'))), ' 00')",
    "month": "formatDateTime({x}, '%%Y-%%m-01 00', 'UTC')",
    "weekday": "toString(toDayOfWeek(toDate({x}, 'UTC')))",
    "hour_of_day": "formatDateTime({x}, '%%H', 'UTC')",
    "weekday_hour": (
        "concat(toString(toDayOfWeek(toDate({x}, 'UTC'))), ' ', formatDateTime({x}, '%%H', 'UTC'))"
    ),
}


_SCALAR_SQL = {name: f"{text} AS {name}" for name, text in SCALAR_SQL.items()}
_HISTOGRAM_SQL = {h.prefix: f"{histogram_sum_map(h)} AS {h.prefix}" for h in HISTOGRAMS}
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


@lru_cache(maxsize=256)
def _selection(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[Histogram, ...], str]:
    """What a question with these accumulators reads: its scalar accumulators (registry
    order), the histograms any of its bucket accumulators belong to (one ``sumMap`` each),
    and their SQL. A column is read only if an aggregate needs it: ClickHouse stores each
    column apart, so a two-metric question reads two or three columns, not ~30."""
    wanted = set(names)
    scalars = tuple(n for n in _SCALAR_SQL if n in wanted)
    histograms = tuple(h for h in HISTOGRAMS if wanted.intersection(h.names))
    sql = ", ".join([*(_SCALAR_SQL[n] for n in scalars),
                     *(_HISTOGRAM_SQL[h.prefix] for h in histograms)])  # fmt: skip
    return scalars, histograms, sql


def _columns_in(*texts: str) -> list[str]:
    """The session columns named in these SQL texts, in storage order (an over-estimate is
    harmless: a column read needlessly costs time, never exactness)."""
    words = {w for text in texts for w in _WORD.findall(text)}
    return [name for name in MERGED if name in words]


_property = property_value


def _condition(st: Statement, expr: str, f: Filter, values: Sequence[Any]) -> str:
    if f.op == "is":
        return f"{expr} IN {st.value(tuple(values))}"
    if f.op == "is_not":
        return f"{expr} NOT IN {st.value(tuple(values))}"
    # The SQL path lower-cases both sides and matches a substring.
    parts = [f"positionUTF8(lowerUTF8({expr}), {st.value(v.lower())}) > 0" for v in values]
    return "(" + " OR ".join(parts) + ")"


def _filters(st: Statement, q: Query, *, immutable: bool) -> list[str]:
    out = []
    for f in q.filters:
        if f.dimension in HIERARCHY:
            if immutable:
                column = HIERARCHY[f.dimension].session_column
                out.append(_condition(st, str(column), f, [int(v) for v in f.values]))
        elif (PROPERTIES[f.dimension].column in _IMMUTABLE) == immutable:
            out.append(_condition(st, _property(f.dimension), f, f.values))
    return out


def _time_expr(q: Query, ranges: Sequence[Range], us: str = "created_us") -> str:
    """The question's time bucket of the instant ``us`` (microseconds since the epoch)."""
    assert q.time is not None
    steps = utc_offsets(min(r[0] for r in ranges), max(r[1] for r in ranges), q.tz)
    seconds = f"intDiv({us}, 1000000)"
    if len(steps) == 1:
        shift = str(steps[0][1])
    else:
        arms = [f"{us} < {micros(steps[i + 1][0])}, {steps[i][1]}" for i in range(len(steps) - 1)]
        shift = f"multiIf({', '.join(arms)}, {steps[-1][1]})"
    shifted = f"toDateTime({seconds} + {shift})"
    return _FORMATS[q.time].format(x=shifted)


def _groups(
    q: Query, ranges: Sequence[Range], us: str = "created_us", prop: str | None = None
) -> list[str]:
    """The question's group expressions; on aggregate rows (``prop`` their property, or
    None for hour rows) a property is its ``value`` column."""
    exprs = [_time_expr(q, ranges, us)] if q.time is not None else []
    for name in q.dimensions:
        if name in HIERARCHY:
            exprs.append(str(HIERARCHY[name].session_column))
        else:
            exprs.append("value" if name == prop else _property(name))
    return exprs


def _sessions(
    ch: ClickHouse, st: Statement, q: Query, ranges: Sequence[Range], columns: Sequence[str]
) -> str:
    """Per-session rows (versions merged) of the question's scope and time, with only the
    merged ``columns`` the outer query reads."""
    in_time = " OR ".join(
        f"(created_us >= {st.value(micros(a))} AND created_us < {st.value(micros(b))})"
        for a, b in ranges
    )
    return merged_sessions(ch.target.sessions, [f"({in_time})", *_scope(st, q)], columns)


def _scope(st: Statement, q: Query) -> list[str]:
    parts = []
    if q.company_scope is not None:
        parts.append(f"company_id = {st.value(q.company_scope)}")
    if not q.include_bots:
        parts.append("is_bot = 0")
    return parts + _filters(st, q, immutable=True)


def _key(q: Query, row: Sequence[Any]) -> GroupKey:
    values = list(row)
    if q.time is None:
        values.insert(0, None)
    return tuple(values)


def _row_filters(st: Statement, q: Query, prop: str | None) -> list[str]:
    """The question's scope and filters on aggregate rows: the hierarchy columns are the
    sessions' own; a property filter is on the ``value`` of the rows of that property."""
    parts = []
    if q.company_scope is not None:
        parts.append(f"company_id = {st.value(q.company_scope)}")
    if not q.include_bots:
        parts.append("is_bot = 0")
    if prop is not None:
        parts.append(f"property = {st.value(prop)}")
    for f in q.filters:
        if f.dimension in HIERARCHY:
            column = str(HIERARCHY[f.dimension].session_column)
            parts.append(_condition(st, column, f, [int(v) for v in f.values]))
        else:
            assert f.dimension == prop, "a question with two properties reads versions"
            parts.append(_condition(st, "value", f, f.values))
    return parts


def _visitors_sql(keys: Sequence[str], day: str, distinct: str, source: str) -> str:
    """Visitors per group: ``distinct`` hashes per group, UTC ``day`` and company over
    ``source`` (``FROM … WHERE …``), summed per group (a visitor counts once a day and
    company)."""
    cols = [f"g{i}" for i in range(len(keys))]
    per_day = ", ".join([*keys, f"{day} AS d", "company_id"])
    daily = (
        f"SELECT {per_day}, {distinct} AS u {source}"
        f" GROUP BY {', '.join([*cols, 'd', 'company_id'])}"
    )
    group_by = f" GROUP BY {', '.join(cols)}" if cols else ""
    return f"SELECT {', '.join([*cols, 'sum(u)'])} FROM ({daily}){group_by}"  # noqa: S608


def _add(out: dict[GroupKey, dict[str, int]], more: dict[GroupKey, dict[str, int]]) -> None:
    for key, values in more.items():
        acc = out.setdefault(key, zero())
        for name, n in values.items():
            acc[name] += n


def _days(ranges: Sequence[Range]) -> set[datetime]:
    """The UTC days (their midnights) these ranges touch."""
    out = set()
    for a, b in ranges:
        day = a.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < b:
            out.add(day)
            day += DAY
    return out


def _without_days(ranges: Sequence[Range], days: set[datetime]) -> list[Range]:
    out = []
    for a, b in ranges:
        cursor = a
        while cursor < b:
            day = cursor.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            end = min(b, day + DAY)
            if day not in days:
                out.append((cursor, end))
            cursor = end
    return _merge(out)


class Cut:
    """Which ranges of a question are read from aggregate rows (before ``until``, the day
    after the watermark) and which from versions, for counts and for visitors."""

    def __init__(self, q: Query, until: datetime | None) -> None:
        props = q.properties_used
        period = (q.period.since, q.period.until)
        self.prop = next(iter(props)) if len(props) == 1 else None
        self.rows: list[Range] = []
        self.versions: list[Range] = [period]
        self.visitor_rows: list[Range] = []
        self.visitor_versions: list[Range] = [period]
        if until is None or len(props) > 1 or until <= q.period.since:
            return
        plan = Plan(q, hours_allowed=not props)
        counted = plan.days + ([] if props else plan.hours)
        self.rows = _merge([(a, min(b, until)) for a, b in counted])
        later = [(max(a, until), b) for a, b in counted if b > until]
        versions = plan.raw + (plan.hours if props else []) + later
        self.versions = [(max(a, period[0]), min(b, period[1])) for a, b in _merge(versions)]
        self.versions = [(a, b) for a, b in self.versions if a < b]
        # A UTC day's visitors come from one source: the days versions are read for are
        # read wholly from versions.
        self.visitor_rows = _without_days(self.rows, _days(self.versions))
        self.visitor_versions = _complement(period, self.visitor_rows)


class ClickHouseExecutor:
    name = "clickhouse"

    def __init__(self, ch: ClickHouse) -> None:
        self.ch = ch
        # Sharded by session, each shard merges its own sessions' versions.
        self._settings: dict[str, Any] = (
            {"distributed_group_by_no_merge": 1} if ch.target.cluster else {}
        )
        self._shards: list[list[ClickHouse]] | None = None

    async def run(self, session: AsyncSession, q: Query) -> Answer:
        if not (q.partial and self.ch.target.cluster):
            try:
                groups = await self.answer(q)
            except ShardUnavailable as exc:
                raise await self._unavailable() from exc
            return Answer(groups, "clickhouse")
        # Asked for what the shards that are up can say: the shards down are found first
        # (so the answer can name them), then ClickHouse skips the ones it cannot reach.
        down = await self.unavailable_shards()
        settings = {**self._settings, "skip_unavailable_shards": 1}
        groups = await self.answer(q, settings=settings)
        if not down:  # one that went away during the query was skipped too
            down = await self.unavailable_shards()
        warnings = [
            f"partial answer: ClickHouse shards {', '.join(down)} did not answer; "
            "the sessions stored on them are not counted"
        ] if down else []  # fmt: skip
        return Answer(groups, "clickhouse", warnings, down)

    async def unavailable_shards(self) -> list[str]:
        """The shards of the cluster that cannot answer now (none of their replicas
        does), each named by its replicas' host:port joined with "|"."""
        if self._shards is None:
            self._shards = await asyncio.to_thread(self.ch.replica_sets)
        servers = [server for replicas in self._shards for server in replicas]
        up = await asyncio.gather(*(asyncio.to_thread(s.answers) for s in servers))
        answering = {s.address for s, ok in zip(servers, up, strict=True) if ok}
        return [
            "|".join(s.address for s in replicas)
            for replicas in self._shards
            if not any(s.address in answering for s in replicas)
        ]

    async def _unavailable(self) -> ShardUnavailable:
        """The 503 of a read that needed every shard, naming the ones that are down."""
        try:
            down = await self.unavailable_shards()
        except ShardUnavailable:  # the server the service connects to is itself down
            down = [self.ch.address]
        named = f"ClickHouse shards {', '.join(down)} are" if down else "a ClickHouse shard is"
        return ShardUnavailable(
            f"{named} not answering, so this answer would leave out their sessions; retry "
            'shortly, or ask with "partial": true for the figures of the shards that are up'
        )

    async def answer(
        self, q: Query, *, settings: dict[str, Any] | None = None
    ) -> dict[GroupKey, dict[str, int]]:
        """Every group of the question: the aggregate rows where they are counted, the
        versions elsewhere (see the module's docstring)."""
        settings = self._settings if settings is None else settings
        mark = await asyncio.to_thread(aggregates.watermark, self.ch)
        cut = Cut(q, None if mark is None else datetime(*mark.timetuple()[:3], tzinfo=UTC) + DAY)
        # The aggregate rows are summed (and visitor sets merged) across shards.
        merging = {k: v for k, v in settings.items() if k != "distributed_group_by_no_merge"}
        parts = []  # independent statements, sent at once
        if cut.versions:
            parts.append(self.aggregate(q, cut.versions, visitors=False, settings=settings))
        if cut.rows:
            parts.append(self._rows(q, cut.rows, cut.prop, visitors=False, settings=merging))
        if q.needs_visitors and cut.visitor_rows:
            parts.append(self._rows(q, cut.visitor_rows, cut.prop, visitors=True,
                                    settings=merging))  # fmt: skip
        if q.needs_visitors and cut.visitor_versions:
            parts.append(self.aggregate(q, cut.visitor_versions, visitors=True, counts=False,
                                        settings=settings))  # fmt: skip
        out: dict[GroupKey, dict[str, int]] = {}
        for part in await asyncio.gather(*parts):
            _add(out, part)
        # Without dimensions an aggregate over nothing is still one row of zeros: drop it,
        # as the SQL executors return no group then.
        return {k: v for k, v in out.items() if v["views"] or v["visitors"]}

    async def _rows(
        self,
        q: Query,
        ranges: Sequence[Range],
        prop: str | None,
        *,
        visitors: bool,
        settings: dict[str, Any],
    ) -> dict[GroupKey, dict[str, int]]:
        """The question's counts (or its visitors) over aggregate rows: hour rows, or the
        day rows of property ``prop``."""
        t = self.ch.target
        name, column = ("props", "day") if prop else ("hours", "hour")
        table = aggregates.table(t, name, local=False)
        st = Statement()
        seconds = f"toUInt32({column})"
        in_time = " OR ".join(
            f"({seconds} >= {st.value(int(a.timestamp()))} AND {seconds} < "
            f"{st.value(int(b.timestamp()))})"
            for a, b in ranges
        )
        where = [f"({in_time})", *_row_filters(st, q, prop)]
        groups = _groups(q, ranges, f"(toInt64({seconds}) * 1000000)", prop)
        width = len(groups)
        keys = [f"{g} AS g{i}" for i, g in enumerate(groups)]
        cols = [f"g{i}" for i in range(width)]
        out: dict[GroupKey, dict[str, int]] = {}
        if visitors:
            source = f"FROM {table} WHERE {' AND '.join(where)}"
            day = f"intDiv({seconds}, 86400)"
            sql = _visitors_sql(keys, day, "uniqExactIfMerge(visitors)", source)
            await self._add_visitors(q, sql, st.params, settings, width, out)
            return out
        wanted = set(q.accumulators)
        scalars = [n for n in SCALAR_SQL if n in wanted]
        histograms = [h for h in HISTOGRAMS if wanted.intersection(h.names)]
        figures = [f"sum({n})" for n in scalars]
        figures += [f"sumForEach({h.prefix})" for h in histograms]
        group_by = f" GROUP BY {', '.join(cols)}" if cols else ""
        sql = (
            f"SELECT {', '.join([*keys, *figures])} FROM {table}"  # noqa: S608
            f" WHERE {' AND '.join(where)}{group_by}"
        )
        for row in await self.ch.aexecute(sql, st.params, settings=settings):
            acc = out.setdefault(_key(q, row[:width]), zero())
            values = row[width:]
            for n, v in zip(scalars, values, strict=False):
                acc[n] += int(v or 0)
            for h, counts in zip(histograms, values[len(scalars) :], strict=True):
                for bucket, n in zip(h.names, counts, strict=False):
                    acc[bucket] += int(n)
        return out

    async def aggregate(
        self,
        q: Query,
        ranges: Sequence[Range],
        *,
        visitors: bool,
        counts: bool = True,
        settings: dict[str, Any] | None = None,
    ) -> dict[GroupKey, dict[str, int]]:
        """The question's counts and/or visitors over ``ranges``, from the versions."""
        settings = self._settings if settings is None else settings
        out: dict[GroupKey, dict[str, int]] = {}
        groups = _groups(q, ranges)
        width = len(groups)
        scalars, histograms, aggregates_sql = _selection(q.accumulators)
        keys = [f"{g} AS g{i}" for i, g in enumerate(groups)]
        group_by = f" GROUP BY {', '.join(f'g{i}' for i in range(width))}" if width else ""
        st = Statement()
        # The outer filters first: the inner query merges only the columns read outside it.
        outer_where = _filters(st, q, immutable=False)
        visitor_columns = "company_id visitor_hash created_us" if visitors else ""
        columns = _columns_in(*keys, *outer_where, aggregates_sql if counts else "",
                              visitor_columns)  # fmt: skip
        inner = _sessions(self.ch, st, q, ranges, columns)
        where = f" WHERE {' AND '.join(outer_where)}" if outer_where else ""
        if counts:
            select = ", ".join([*keys, aggregates_sql])
            sql = f"SELECT {select} FROM ({inner}){where}{group_by}"  # noqa: S608
            for row in await self.ch.aexecute(sql, st.params, settings=settings):
                acc = out.setdefault(_key(q, row[:width]), zero())
                values = row[width:]
                for name, v in zip(scalars, values, strict=False):
                    acc[name] += int(v or 0)
                for h, (indexes, n) in zip(histograms, values[len(scalars) :], strict=True):
                    for i, c in zip(indexes, n, strict=True):
                        acc[h.names[i]] += int(c)
        if visitors:
            # Distinct visitor hashes per group, UTC day and company (uniqExact: a set of
            # 8-byte hashes per day, where a DISTINCT over whole rows kept every key with each
            # hash; it ran out of memory at 100M sessions), then summed per group.
            day = "toDate(toDateTime(intDiv(created_us, 1000000)), 'UTC')"
            known = f"{where}{' AND ' if where else ' WHERE '}isNotNull(visitor_hash)"
            sql = _visitors_sql(keys, day, "uniqExact(visitor_hash)", f"FROM ({inner}){known}")
            await self._add_visitors(q, sql, st.params, settings, width, out)
        return out

    async def _add_visitors(
        self,
        q: Query,
        sql: str,
        params: dict[str, Any],
        settings: dict[str, Any],
        width: int,
        out: dict[GroupKey, dict[str, int]],
    ) -> None:
        for row in await self.ch.aexecute(sql, params, settings=settings):
            out.setdefault(_key(q, row[:width]), zero())["visitors"] += int(row[width] or 0)

    async def realtime(
        self, session: AsyncSession, q: Query, now: datetime, active_window: Any,
        series_window: Any,
    ) -> tuple[int, dict[str, int]]:  # fmt: skip
        """As ``raw.realtime``: views with a start or heartbeat within ``active_window``, and
        starts per UTC minute over ``series_window``."""
        filtered = " ".join(_filters(Statement(), q, immutable=False))  # only for its columns
        # A view active now started at most the longest session before (later ends are
        # refused), so a week and a day of versions covers every one.
        st = Statement()
        columns = _columns_in(filtered, "updated_us")
        inner = _sessions(self.ch, st, q, [(now - timedelta(days=8), now + active_window)], columns)
        outer = _filters(st, q, immutable=False)
        where = f" WHERE {' AND '.join(outer)}" if outer else ""
        since = st.value(micros(now - active_window))
        sql = f"SELECT countIf(updated_us >= {since}) FROM ({inner}){where}"  # noqa: S608
        [(active,)] = await self.ch.aexecute(sql, st.params, settings=self._settings)
        st = Statement()
        columns = _columns_in(filtered, "created_us")
        inner = _sessions(self.ch, st, q, [(now - series_window, now + active_window)], columns)
        outer = _filters(st, q, immutable=False)
        where = f" WHERE {' AND '.join(outer)}" if outer else ""
        # Not formatDateTime's %M: minutes in 18.16, the month's name in current releases.
        minute = "substring(toString(toDateTime(intDiv(created_us, 1000000)), 'UTC'), 1, 16)"
        sql = f"SELECT {minute} AS m, count() FROM ({inner}){where} GROUP BY m"  # noqa: S608
        rows = await self.ch.aexecute(sql, st.params, settings=self._settings)
        return int(active), {str(m): int(n) for m, n in rows}
