"""Many rows in one PostgreSQL statement: each column sent as one array, ``unnest`` rebuilds
the rows (``INSERT … SELECT * FROM unnest($1::t[], $2::t[], …)``).

The write path adds a batch's changes to a few hundred rollup rows per transaction. Sent as
an executemany, every row is a parameter set that SQLAlchemy processes column by column (a
rollup row has ~100 counters) and PostgreSQL executes as its own statement: together a
tenth of the tracking server's busy time. As arrays, the driver encodes each column once,
in C, and PostgreSQL plans one statement. The rows keep their order (the lock order of
``ingest.writes``).

The SQL is raw (``exec_driver_sql``) but still runs through SQLAlchemy's connection, in the
caller's transaction, so that errors arrive wrapped as everywhere else (``db_retry``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_QUOTE = _DIALECT.identifier_preparer.quote

OnConflict = Literal["add", "add_nullable", "nothing"]


@functools.lru_cache(maxsize=256)
def upsert_sql(
    table: Table | FromClause,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    on_conflict: OnConflict,
    returning: tuple[str, ...] = (),
) -> str:
    """``INSERT … SELECT * FROM unnest(…) ON CONFLICT (keys) …``; "add": each counter is
    added to the stored one; "add_nullable": NULL stands for 0 on both sides and a sum of 0
    is stored as NULL (rollups/maintain.py); "nothing": existing rows are left alone."""
    name = _QUOTE(table.name)  # type: ignore[union-attr]
    arrays = ", ".join(
        f"${i}::{table.c[c].type.compile(_DIALECT)}[]" for i, c in enumerate(columns, 1)
    )
    target = f"({', '.join(map(_QUOTE, keys))}) " if keys else ""
    # Identifiers come from the table's own definition (quoted); every value is a parameter.
    sql = (
        f"INSERT INTO {name} ({', '.join(map(_QUOTE, columns))}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) ON CONFLICT {target}"
    )
    if on_conflict == "nothing" or not counters:
        sql += "DO NOTHING"
    else:
        sets = []
        for c in map(_QUOTE, counters):
            stored, new = f"{name}.{c}", f"excluded.{c}"
            value = (
                f"nullif(coalesce({stored} + {new}, {stored}, {new}), 0)"
                if on_conflict == "add_nullable"
                else f"{stored} + {new}"
            )
            sets.append(f"{c} = {value}")
        sql += "DO UPDATE SET " + ", ".join(sets)
    if returning:
        sql += " RETURNING " + ", ".join(map(_QUOTE, returning))
    return sql


async def upsert(
    conn: AsyncConnection,
    table: Table | FromClause,
    rows: Sequence[dict[str, Any]],
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    on_conflict: OnConflict,
    returning: tuple[str, ...] = (),
) -> list[Any]:
    """Writes ``rows`` (dicts with the same keys, in the order to write them) in one
    statement; returns the RETURNING rows (none without ``returning``)."""
    if not rows:
        return []
    columns = tuple(rows[0])
    sql = upsert_sql(table, columns, keys, counters, on_conflict, returning)
    params = tuple([r[c] for r in rows] for c in columns)
    result = await conn.exec_driver_sql(sql, params)
    return list(result.all()) if returning else []
