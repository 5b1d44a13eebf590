"""SQL text shared by the ClickHouse executor and the aggregate fill: the metric registry's
accumulators, per-session merging of versions and property values, as ClickHouse SQL.

Every statement goes through clickhouse-driver's %-style parameter substitution, so a
literal % is written %%.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import sqlite

from arv_analytics.analytics.dimensions import MAX_VALUE, PROPERTIES
from arv_analytics.analytics.metrics import ACCUMULATORS, HISTOGRAMS, Histogram
from arv_analytics.clickhouse.schema import MERGED, merged_columns

HISTOGRAM_NAMES = {n for h in HISTOGRAMS for n in h.names}
SCALARS = tuple(a.name for a in ACCUMULATORS if a.name not in HISTOGRAM_NAMES)


def _accumulator_sql() -> dict[str, str]:
    """The registry's scalar aggregates as ClickHouse SQL, by name. They are plain standard
    SQL (count, sum, CASE, coalesce, comparisons); SQLite's boolean test ``IS 1`` needs
    rewording, and a count of matching rows is said as ``countIf`` (18.16 analyses a query's
    expressions in time that grows quickly with their size: ~90 CASE sums cost ~0.4 s before
    reading a row)."""
    out = {}
    for a in ACCUMULATORS:
        if a.name in HISTOGRAM_NAMES:
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
        out[a.name] = text
    return out


def histogram_index(h: Histogram) -> str:
    """A session's bucket index (the number of edges at or below its value, minus one:
    ``Histogram.index``); only meaningful where the column is not null."""
    edges = ", ".join(str(e) for e in h.edges)
    value = f"coalesce({h.column}, 0)"
    return f"greatest(0, arraySum(arrayMap(e -> {value} >= e, [{edges}])) - 1)"


def histogram_sum_map(h: Histogram) -> str:
    """A histogram's bucket counts in one aggregate: each session's bucket index summed by
    ``sumMap`` (indexes, counts)."""
    index = histogram_index(h)
    return (
        f"sumMap(if(isNull({h.column}), emptyArrayInt64(), [toInt64({index})]),"
        f" if(isNull({h.column}), emptyArrayUInt64(), [toUInt64(1)]))"
    )


def histogram_one_hot(h: Histogram) -> str:
    """A session's bucket as an array with a 1 in its bucket's slot (all 0 for no value),
    from its bucket index in a column ``<prefix>_i`` (``histogram_index``) of the rows below:
    summed by ``sumForEach``, the histogram an aggregate row stores. No lambda: 18.16 does
    not resolve columns in a lambda inside an aggregate's argument or another lambda."""
    n, i = len(h.edges), f"toUInt64({h.prefix}_i)"
    zeros = "emptyArrayUInt64()"
    return (
        f"if(isNull({h.column}), arrayResize({zeros}, {n}), arrayConcat(arrayResize({zeros},"
        f" {i}), [toUInt64(1)], arrayResize({zeros}, {n - 1} - {i})))"
    )


SCALAR_SQL = _accumulator_sql()
# Each merged column's expression by column name (``<expression> AS <column>_m``).
MERGED_SQL = {e.rsplit(" AS ", 1)[1].removesuffix("_m"): e for e in merged_columns()}
assert set(MERGED_SQL) == set(MERGED)
VISITORS_STATE = "uniqExactIfState(assumeNotNull(visitor_hash), isNotNull(visitor_hash))"
# 18.16 cannot store an ``-IfState`` in a plain ``uniqExact`` column (no conversion), and
# refuses Nullable arguments to ``-State``: the column keeps the ``uniqExactIf`` state itself.
VISITORS_TYPE = "AggregateFunction(uniqExactIf, Int64, UInt8)"


def property_value(name: str) -> str:
    """A property's value as questions group and filter it: "" for none, at most MAX_VALUE
    characters (what the SQL rollups store)."""
    column = PROPERTIES[name].column
    return f"substringUTF8(coalesce({column}, ''), 1, {MAX_VALUE})"


def merged_sessions(table: str, where: Sequence[str], columns: Sequence[str]) -> str:
    """Per-session rows (versions merged) of the sessions matching ``where`` (conditions on
    columns no version changes), with only the merged ``columns``."""
    merged = ", ".join(["session_id", *(MERGED_SQL[name] for name in columns)])
    grouped = (
        f"SELECT {merged} FROM {table}"  # noqa: S608
        f" WHERE {' AND '.join(where)} GROUP BY session_id"
    )
    renamed = ", ".join(["session_id", *(f"{name}_m AS {name}" for name in columns)])
    return f"SELECT {renamed} FROM ({grouped})"  # noqa: S608


class Statement:
    """SQL text and its parameters, built up as the question is read."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def value(self, v: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = v
        return f"%({name})s"
