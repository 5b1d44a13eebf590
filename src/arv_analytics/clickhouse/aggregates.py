"""Aggregate tables of settled days: what makes questions over months cheap on ClickHouse.

Reading versions means merging every session of a period before counting it (seconds at
10M sessions). But a session can change only until its end window closes
(``max_session_seconds`` + ``end_grace_seconds``); after that its merged figures are final,
and so are the counts of its day. Every server therefore keeps, per UTC day that is settled:

- ``hours_local``: per UTC hour × company × project × content × bot flag, every accumulator
  of the metric registry (scalars as sums, histograms as one array of bucket counts each) and
  the day's unique visitors as an exact set (``uniqExactIf`` state);
- ``props_local``: the same per UTC day × property × value, for every property.

A day is counted from its merged sessions with one ``INSERT … SELECT`` per table on each
server, from that server's own sessions (all versions of a session live on one shard, so
each server's count is exact for its sessions and the Distributed tables sum them; visitor
sets are merged across shards, so a visitor seen on two shards counts once). The rows go to a
staging table and replace the day's partition in one ``REPLACE PARTITION``: counting a day
again (after a purge, or a fill that stopped half-way) never shows a day twice or half.

Why not materialized views over the versions: a view sees each version as it is inserted,
and the counters are not idempotent over a session's versions (a heartbeat repeats the
figures of the start), so only figures like "distinct sessions" could be kept exactly; the
rest would need each version's difference from the previous one inserted exactly once, which
18.16 cannot deduplicate on a retried insert without replicated tables.

``filled_local`` holds the watermark: the last day counted on every server. The fill writes
it to every server only after every server has counted the day, so the server the service
reads from knows that all days up to it are counted everywhere. Readers use the aggregates
before the watermark and versions after it (executors/clickhouse.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from arv_analytics.analytics.dimensions import PROPERTIES
from arv_analytics.analytics.metrics import HISTOGRAMS
from arv_analytics.clickhouse.connection import ClickHouse, Target
from arv_analytics.clickhouse.schema import MERGED
from arv_analytics.clickhouse.sql import (
    SCALAR_SQL,
    SCALARS,
    VISITORS_STATE,
    VISITORS_TYPE,
    histogram_index,
    histogram_one_hot,
    merged_sessions,
    property_value,
)

DAY = timedelta(days=1)
KEYS = ("company_id", "project_id", "ar_content_id", "is_bot")
_KEY_TYPES = ("Int64", "Int64", "Int64", "UInt8")
# A settled day is counted this long after its last end could have been accepted: a write
# stamped just before the window closed may still be on its way to the shards.
MARGIN = timedelta(minutes=10)
CHUNK = 31  # days counted per statement by ``fill``


def table(target: Target, name: str, *, local: bool) -> str:
    """``hours``/``props``: the Distributed table over the cluster (or the local table
    without one); ``local=True``: each server's own table."""
    if local or not target.cluster:
        return f"{target.database}.{name}_local"
    return f"{target.database}.{name}"


def _figures() -> list[str]:
    return [
        *(f"{n} Int64" for n in SCALARS),
        *(f"{h.prefix} Array(UInt64)" for h in HISTOGRAMS),
        f"visitors {VISITORS_TYPE}",
    ]


def _ddl(name: str, time_column: str, extra: list[str], order: str) -> str:
    keys = [f"{k} {t}" for k, t in zip(KEYS, _KEY_TYPES, strict=True)]
    columns = ",\n  ".join([f"{time_column} DateTime", *keys, *extra, *_figures()])
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (\n  {columns}\n) ENGINE = MergeTree"
        # The UTC day number: a partition per day, whatever the server's time zone.
        f" PARTITION BY intDiv(toUInt32({time_column}), 86400) ORDER BY ({order})"
    )


def create(server: ClickHouse) -> None:
    """The aggregate tables on one server (and the Distributed ones over the cluster)."""
    t = server.target
    for suffix in ("_local", "_stage"):
        hours = f"{t.database}.hours{suffix}"
        props = f"{t.database}.props{suffix}"
        server.execute(_ddl(hours, "hour", [], "company_id, hour, project_id, ar_content_id"))
        server.execute(
            _ddl(props, "day", ["property String", "value String"],
                 "property, company_id, day, project_id, ar_content_id, value")
        )  # fmt: skip
    server.execute(
        f"CREATE TABLE IF NOT EXISTS {t.database}.filled_local"
        " (day Date, at DateTime DEFAULT now())"
        " ENGINE = MergeTree ORDER BY day"
    )
    if t.cluster:
        for name in ("hours", "props"):
            server.execute(
                f"CREATE TABLE IF NOT EXISTS {t.database}.{name} AS {t.database}.{name}_local"
                f" ENGINE = Distributed({t.cluster}, {t.database}, {name}_local)"
            )


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _aggregates() -> str:
    return ", ".join(
        [
            *(f"toInt64(ifNull({SCALAR_SQL[n]}, 0))" for n in SCALARS),
            *(f"sumForEach({h.prefix}_a)" for h in HISTOGRAMS),
            VISITORS_STATE,
        ]
    )


def _count_span(server: ClickHouse, first: date, days: int) -> None:
    """Counts ``days`` UTC days from ``first`` of this server's own sessions into its
    aggregate tables, one ``INSERT … SELECT`` per table. Days this server has rows of already
    (counted again, or a fill that stopped half-way) go through staging, and each day's
    partition is replaced (a day with no sessions is replaced by nothing); days it has no
    rows of are inserted directly (the common case: ~20 ms of ``ALTER`` per day and table
    saved, which was most of a first fill's time)."""
    t = server.target
    start = _epoch(first)
    end = start + days * 86_400
    merged = merged_sessions(
        t.local, [f"created_us >= {start * 1_000_000}", f"created_us < {end * 1_000_000}"], MERGED
    )
    indexes = ", ".join(f"{histogram_index(h)} AS {h.prefix}_i" for h in HISTOGRAMS)
    one_hot = ", ".join(f"{histogram_one_hot(h)} AS {h.prefix}_a" for h in HISTOGRAMS)
    sessions = f"SELECT *, {one_hot} FROM (SELECT *, {indexes} FROM ({merged}))"  # noqa: S608
    keys = ", ".join(KEYS)
    hour = "toDateTime(intDiv(created_us, 3600000000) * 3600)"
    day = "toDateTime(intDiv(created_us, 86400000000) * 86400)"
    figures = _aggregates()
    pairs = ", ".join(f"('{name}', {property_value(name)})" for name in PROPERTIES)
    partitions = range(start // 86_400, end // 86_400)
    present = _partitions(server, ("hours_local", "props_local"))
    direct = not any(p in present for p in partitions)
    into = "local" if direct else "stage"
    if not direct:
        _clear_stage(server)  # nothing left over from a fill that stopped
    server.execute(
        f"INSERT INTO {t.database}.hours_{into} SELECT {hour} AS h, {keys}, {figures}"  # noqa: S608
        f" FROM ({sessions}) GROUP BY h, {keys}"
    )
    server.execute(
        f"INSERT INTO {t.database}.props_{into} SELECT {day} AS d, {keys},"  # noqa: S608
        f" tupleElement(pv, 1) AS property, tupleElement(pv, 2) AS value, {figures}"
        f" FROM (SELECT *, arrayJoin([{pairs}]) AS pv FROM ({sessions}))"
        f" GROUP BY d, {keys}, property, value"
    )
    if direct:
        return
    for name in ("hours", "props"):
        for partition in partitions:
            server.execute(
                f"ALTER TABLE {t.database}.{name}_local REPLACE PARTITION {partition}"
                f" FROM {t.database}.{name}_stage"
            )
            server.execute(f"ALTER TABLE {t.database}.{name}_stage DROP PARTITION {partition}")


def _partitions(server: ClickHouse, tables: tuple[str, ...]) -> set[int]:
    """The day numbers these tables of the server hold rows of."""
    rows = server.execute(
        "SELECT DISTINCT partition FROM system.parts WHERE database = %(d)s"
        " AND table IN %(t)s AND active",
        {"d": server.target.database, "t": tables},
    )
    return {int(p) for (p,) in rows}


def _clear_stage(server: ClickHouse) -> None:
    database = server.target.database
    for name in ("hours_stage", "props_stage"):
        for partition in _partitions(server, (name,)):
            server.execute(f"ALTER TABLE {database}.{name} DROP PARTITION {partition}")


def _spans(days: Iterable[date]) -> list[tuple[date, int]]:
    """Runs of consecutive days, as (first, length)."""
    out: list[tuple[date, int]] = []
    for day in sorted(set(days)):
        if out and out[-1][0] + timedelta(days=out[-1][1]) == day:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((day, 1))
    return out


def count_days(ch: ClickHouse, days: Iterable[date]) -> int:
    """Counts (again) these days on every server; returns how many days."""
    spans = _spans(days)
    servers = ch.shards()
    try:
        for first, length in spans:
            for server in servers:
                _count_span(server, first, length)
    finally:
        for server in servers:
            if server is not ch:
                server.close()
    return sum(length for _, length in spans)


# ClickHouse's "table doesn't exist": a database made by `clickhouse init` of a version
# without aggregate tables, before `init` was run again (docs/scale-out.md, upgrading).
_UNKNOWN_TABLE = 60


def watermark(ch: ClickHouse) -> date | None:
    """The last day counted on every server, as the server ``ch`` connects to knows it; None
    when nothing is counted (or the tables do not exist yet: questions read versions)."""
    try:
        rows = ch.execute(
            f"SELECT max(day), count() FROM {ch.target.database}.filled_local"  # noqa: S608
        )
    except Exception as exc:
        if getattr(exc, "code", None) == _UNKNOWN_TABLE:
            return None
        raise
    if not rows or not rows[0][1]:
        return None
    value = rows[0][0]
    return value if isinstance(value, date) else None


def _set_watermark(ch: ClickHouse, day: date) -> None:
    for server in ch.shards():
        try:
            server.execute(
                f"INSERT INTO {server.target.database}.filled_local (day) VALUES", [{"day": day}]
            )
        finally:
            if server is not ch:
                server.close()


def reset(ch: ClickHouse) -> None:
    """Forgets every counted day on every server (readers go back to the versions), before
    sessions are written into past days (backfill); the next fill counts every day again."""
    for server in ch.shards():
        try:
            for name in ("filled_local", "hours_local", "props_local"):
                server.execute(f"TRUNCATE TABLE {server.target.database}.{name}")
        finally:
            if server is not ch:
                server.close()


def settled_through(now: datetime, window: timedelta) -> date:
    """The last UTC day whose every session is final at ``now``: no end can reach it."""
    return (now - window - MARGIN).date() - DAY


def _first_day(ch: ClickHouse) -> date | None:
    rows = ch.execute(f"SELECT min(created_us), count() FROM {ch.target.sessions}")  # noqa: S608
    if not rows or not rows[0][1]:
        return None
    return datetime.fromtimestamp(rows[0][0] // 1_000_000, UTC).date()


def fill(
    ch: ClickHouse,
    through: date,
    *,
    max_days: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, date | None]:
    """Counts every day after the watermark up to ``through`` (oldest first, the watermark
    moved after each), at most ``max_days`` of them. Returns (days counted, watermark)."""
    mark = watermark(ch)
    first = mark + DAY if mark is not None else _first_day(ch)
    if mark is None and (first is None or first > through):
        # No session on or before ``through``, and none can come: nothing to count.
        _set_watermark(ch, through)
        return 0, through
    assert first is not None
    done = 0
    day = first
    while day <= through and (max_days is None or done < max_days):
        # A month at a time: one statement per table and server counts all its days.
        n = min((through - day).days + 1, CHUNK, *([max_days - done] if max_days else []))
        count_days(ch, [day + timedelta(days=i) for i in range(n)])
        mark = day + timedelta(days=n - 1)
        _set_watermark(ch, mark)
        done += n
        day = mark + DAY
        if progress is not None:
            progress(n)
    return done, mark
