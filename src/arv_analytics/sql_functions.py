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
