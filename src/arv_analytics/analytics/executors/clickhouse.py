"""The ClickHouse executor: every question answered from the session versions in ClickHouse.

One statement per question: an inner query merges each session's versions (``GROUP BY
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
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.dimensions import HIERARCHY, MAX_VALUE, PROPERTIES
from arv_analytics.analytics.executors import Answer, GroupKey
from arv_analytics.analytics.metrics import ACCUMULATORS, HISTOGRAMS, Histogram, zero
from arv_analytics.analytics.periods import utc_offsets
from arv_analytics.analytics.query import Filter, Query
from arv_analytics.clickhouse.connection import ClickHouse, ShardUnavailable
from arv_analytics.clickhouse.schema import IMMUTABLE, MERGED, merged_columns
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


def _accumulator_sql() -> dict[str, str]:
    """The registry's scalar aggregates as ClickHouse SQL, by name. They are plain standard
    SQL (count, sum, CASE, coalesce, comparisons); SQLite's boolean test ``IS 1`` needs
    rewording, and a count of matching rows is said as ``countIf`` (18.16 analyses a query's
    expressions in time that grows quickly with their size: ~90 CASE sums cost ~0.4 s before
    reading a row)."""
    out = {}
    for a in ACCUMULATORS:
        if a.name in _HISTOGRAM_NAMES:
            continue
        text = str(
            a.sql().compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
        )
        text = text.replace("ar_view_sessions.", "")
        text = re.sub(r"\bIS 1\b", "= 1", text)
        text = re.sub(r"\bIS 0\b", "= 0", text)
        text = re.sub(r"^coalesce\(sum\(CASE WHEN \((.*)\) THEN 1 ELSE 0 END\), 0\)$",
                      r"countIf(\1)", text)  # fmt: skip
        # The view count is count(id): one per merged session.
        text = text.replace("count(id)", "count()")
        out[a.name] = f"{text} AS {a.name}"
    return out


def _histogram_sql(h: Histogram) -> str:
    """A histogram's bucket counts in one aggregate: each session's bucket index (the number
    of edges at or below its value, minus one: ``Histogram.index``) summed by ``sumMap``."""
    edges = ", ".join(str(e) for e in h.edges)
    value = f"coalesce({h.column}, 0)"
    index = f"greatest(0, arraySum(arrayMap(e -> {value} >= e, [{edges}])) - 1)"
    return (
        f"sumMap(if(isNull({h.column}), emptyArrayInt64(), [toInt64({index})]),"
        f" if(isNull({h.column}), emptyArrayUInt64(), [toUInt64(1)])) AS {h.prefix}"
    )


_HISTOGRAM_NAMES = {n for h in HISTOGRAMS for n in h.names}
_SCALAR_SQL = _accumulator_sql()
_HISTOGRAM_SQL = {h.prefix: _histogram_sql(h) for h in HISTOGRAMS}
# Each merged column's expression by column name (``<expression> AS <column>_m``).
_MERGED = {e.rsplit(" AS ", 1)[1].removesuffix("_m"): e for e in merged_columns()}
assert set(_MERGED) == set(MERGED)
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


class Statement:
    """SQL text and its parameters, built up as the question is read."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def value(self, v: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = v
        return f"%({name})s"


def _property(name: str) -> str:
    column = PROPERTIES[name].column
    return f"substringUTF8(coalesce({column}, ''), 1, {MAX_VALUE})"


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


def _time_expr(q: Query, ranges: Sequence[Range]) -> str:
    assert q.time is not None
    steps = utc_offsets(min(r[0] for r in ranges), max(r[1] for r in ranges), q.tz)
    seconds = "intDiv(created_us, 1000000)"
    if len(steps) == 1:
        shift = str(steps[0][1])
    else:
        arms = [
            f"created_us < {micros(steps[i + 1][0])}, {steps[i][1]}" for i in range(len(steps) - 1)
        ]
        shift = f"multiIf({', '.join(arms)}, {steps[-1][1]})"
    shifted = f"toDateTime({seconds} + {shift})"
    return _FORMATS[q.time].format(x=shifted)


def _groups(q: Query, ranges: Sequence[Range]) -> list[str]:
    exprs = [_time_expr(q, ranges)] if q.time is not None else []
    for name in q.dimensions:
        exprs.append(str(HIERARCHY[name].session_column) if name in HIERARCHY else _property(name))
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
    where = [f"({in_time})", *_scope(st, q)]
    merged = ", ".join(["session_id", *(_MERGED[name] for name in columns)])
    grouped = (
        f"SELECT {merged} FROM {ch.target.sessions}"  # noqa: S608
        f" WHERE {' AND '.join(where)} GROUP BY session_id"
    )
    renamed = ", ".join(["session_id", *(f"{name}_m AS {name}" for name in columns)])
    return f"SELECT {renamed} FROM ({grouped})"  # noqa: S608


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
        ranges = [(q.period.since, q.period.until)]
        if not (q.partial and self.ch.target.cluster):
            try:
                groups = await self.aggregate(q, ranges, visitors=q.needs_visitors)
            except ShardUnavailable as exc:
                raise await self._unavailable() from exc
            return Answer(groups, "clickhouse")
        # Asked for what the shards that are up can say: the shards down are found first
        # (so the answer can name them), then ClickHouse skips the ones it cannot reach.
        down = await self.unavailable_shards()
        settings = {**self._settings, "skip_unavailable_shards": 1}
        groups = await self.aggregate(q, ranges, visitors=q.needs_visitors, settings=settings)
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

    async def aggregate(
        self,
        q: Query,
        ranges: Sequence[Range],
        *,
        visitors: bool,
        settings: dict[str, Any] | None = None,
    ) -> dict[GroupKey, dict[str, int]]:
        settings = self._settings if settings is None else settings
        out: dict[GroupKey, dict[str, int]] = {}
        groups = _groups(q, ranges)
        width = len(groups)
        scalars, histograms, aggregates = _selection(q.accumulators)
        keys = [f"{g} AS g{i}" for i, g in enumerate(groups)]
        group_by = f" GROUP BY {', '.join(f'g{i}' for i in range(width))}" if width else ""
        st = Statement()
        # The outer filters first: the inner query merges only the columns read outside it.
        outer_where = _filters(st, q, immutable=False)
        visitor_columns = "company_id visitor_hash created_us" if visitors else ""
        columns = _columns_in(*keys, *outer_where, aggregates, visitor_columns)
        inner = _sessions(self.ch, st, q, ranges, columns)
        where = f" WHERE {' AND '.join(outer_where)}" if outer_where else ""
        select = ", ".join([*keys, aggregates])
        sql = f"SELECT {select} FROM ({inner}){where}{group_by}"  # noqa: S608
        for row in await self.ch.aexecute(sql, st.params, settings=settings):
            acc = out.setdefault(_key(q, row[:width]), zero())
            values = row[width:]
            for name, v in zip(scalars, values, strict=False):
                acc[name] += int(v or 0)
            for h, (indexes, counts) in zip(histograms, values[len(scalars) :], strict=True):
                for i, n in zip(indexes, counts, strict=True):
                    acc[h.names[i]] += int(n)
        if visitors:
            # Distinct visitor hashes per group, UTC day and company (uniqExact: a set of
            # 8-byte hashes per day, where a DISTINCT over whole rows kept every key with each
            # hash; it ran out of memory at 100M sessions), then summed per group.
            day = "toDate(toDateTime(intDiv(created_us, 1000000)), 'UTC')"
            cols = [f"g{i}" for i in range(width)]
            per_day = ", ".join([*keys, f"{day} AS d", "company_id"])
            known = f"{where}{' AND ' if where else ' WHERE '}isNotNull(visitor_hash)"
            daily = (
                f"SELECT {per_day}, uniqExact(visitor_hash) AS u FROM ({inner}){known}"  # noqa: S608
                f" GROUP BY {', '.join([*cols, 'd', 'company_id'])}"
            )
            sql = f"SELECT {', '.join([*cols, 'sum(u)'])} FROM ({daily})" + (  # noqa: S608
                f" GROUP BY {', '.join(cols)}" if cols else ""
            )
            for row in await self.ch.aexecute(sql, st.params, settings=settings):
                acc = out.setdefault(_key(q, row[:width]), zero())
                acc["visitors"] += int(row[width] or 0)
        # Without dimensions an aggregate over nothing is still one row of zeros: drop it,
        # as the SQL executors return no group then.
        return {k: v for k, v in out.items() if v["views"] or v["visitors"]}

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
