"""SQL expressions that each database spells differently, written once.

Timestamps are UTC on both databases: PostgreSQL's sessions run with timezone=UTC, and SQLite
stores 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (see models.base.UTCDateTime).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Date, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from arv_analytics.models.base import UTCDateTime


class utc_day(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """The UTC calendar day of a timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(utc_day, "postgresql")
def _utc_day_pg(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


class utc_hour(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """The start of the UTC hour of a timestamp, in the column's own storage format."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utc_hour, "postgresql")
def _utc_hour_pg(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('hour', {compiler.process(element.clauses, **kw)})"


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(substr({compiler.process(element.clauses, **kw)}, 1, 13) || ':00:00.000000')"


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """How many rows match; 0 (not NULL) over no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class utc_day_start(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """The start of the UTC day of a timestamp, in the column's own storage format."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utc_day_start, "postgresql")
def _utc_day_start_pg(element: utc_day_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('day', {compiler.process(element.clauses, **kw)})"


@compiles(utc_day_start, "sqlite")
def _utc_day_start_sqlite(element: utc_day_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(substr({compiler.process(element.clauses, **kw)}, 1, 10) || ' 00:00:00.000000')"


class shift_seconds(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """A UTC timestamp moved by a whole number of seconds (a zone's offset), as a value the
    bucket functions below can format. The offset is an int rendered inline."""

    type = UTCDateTime()
    inherit_cache = False

    def __init__(self, column: Any, seconds: int) -> None:
        super().__init__(column)
        self.seconds = int(seconds)


@compiles(shift_seconds, "postgresql")
def _shift_pg(element: shift_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} + make_interval(secs => {element.seconds}))"


@compiles(shift_seconds, "sqlite")
def _shift_sqlite(element: shift_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"datetime({compiler.process(element.clauses, **kw)}, '{element.seconds:+d} seconds')"


class bucket_text(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """The text key of the time bucket a (zone-shifted) timestamp falls in, formatted exactly
    as ``analytics.periods.bucket_key`` formats it in Python."""

    inherit_cache = False

    def __init__(self, shifted: Any, granularity: str) -> None:
        super().__init__(shifted)
        self.granularity = granularity


_PG_BUCKET = {
    "hour": "to_char({x}, 'YYYY-MM-DD HH24')",
    "day": "to_char({x}, 'YYYY-MM-DD') || ' 00'",
    "week": "to_char(date_trunc('week', {x}), 'YYYY-MM-DD') || ' 00'",
    "month": "to_char({x}, 'YYYY-MM') || '-01 00'",
    "weekday": "to_char({x}, 'ID')",
    "hour_of_day": "to_char({x}, 'HH24')",
    "weekday_hour": "to_char({x}, 'ID') || ' ' || to_char({x}, 'HH24')",
}
_SQLITE_BUCKET = {
    "hour": "strftime('%Y-%m-%d %H', {x})",
    "day": "strftime('%Y-%m-%d 00', {x})",
    "week": "strftime('%Y-%m-%d 00', {x}, 'weekday 0', '-6 days')",
    "month": "strftime('%Y-%m-01 00', {x})",
    "weekday": "CAST((CAST(strftime('%w', {x}) AS INTEGER) + 6) % 7 + 1 AS TEXT)",
    "hour_of_day": "strftime('%H', {x})",
    "weekday_hour": (
        "CAST((CAST(strftime('%w', {x}) AS INTEGER) + 6) % 7 + 1 AS TEXT) || ' ' || "
        "strftime('%H', {x})"
    ),
}


@compiles(bucket_text, "postgresql")
def _bucket_pg(element: bucket_text, compiler: SQLCompiler, **kw: Any) -> str:
    return _PG_BUCKET[element.granularity].format(x=compiler.process(element.clauses, **kw))


@compiles(bucket_text, "sqlite")
def _bucket_sqlite(element: bucket_text, compiler: SQLCompiler, **kw: Any) -> str:
    return _SQLITE_BUCKET[element.granularity].format(x=compiler.process(element.clauses, **kw))


class utc_minute(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """'YYYY-MM-DD HH:MM' of a UTC timestamp: the realtime per-minute series."""

    inherit_cache = True


@compiles(utc_minute, "postgresql")
def _utc_minute_pg(element: utc_minute, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24:MI')"


@compiles(utc_minute, "sqlite")
def _utc_minute_sqlite(element: utc_minute, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 16)"
