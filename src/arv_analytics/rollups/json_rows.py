"""Many rows in one PostgreSQL statement: the rows sent as one JSON text that
``json_populate_recordset`` turns back into rows of the table
(``INSERT … SELECT … FROM json_populate_recordset(NULL::table, $1)``).

The write path adds each batch to a few hundred rollup rows and inserts its new sessions.
Sent as an executemany, every row is a parameter set that SQLAlchemy processes column by
column and PostgreSQL executes as a statement of its own; sent as one array per column,
asyncpg's array encoder still spends ~0.2 µs per value (2 ms of the tracking server's CPU
for 300 rollup rows). As JSON (msgspec) the same rows cost ~0.15 ms to encode and
PostgreSQL parses them in about the time asyncpg took to encode the arrays, in its own
process. A counter a row does not name is NULL, which the rollup tables read as 0, so a row
carries only what it changes. The rows keep their order (the lock order of
``ingest.writes``).

The SQL is raw (``exec_driver_sql``) but runs through SQLAlchemy's connection, in the
caller's transaction, so that errors arrive wrapped as everywhere else (``db_retry``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

_QUOTE = postgresql.dialect().identifier_preparer.quote  # type: ignore[no-untyped-call]
_encode = msgspec.json.Encoder().encode

OnConflict = Literal["add", "add_nullable", "nothing"]


@functools.lru_cache(maxsize=64)
def upsert_sql(
    table: Table | FromClause,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    on_conflict: OnConflict,
    returning: tuple[str, ...] = (),
) -> str:
    """``INSERT … SELECT … FROM json_populate_recordset(…) ON CONFLICT (keys) …``; "add":
    each counter is added to the stored one; "add_nullable": NULL stands for 0 on both
    sides and a sum of 0 is stored as NULL (rollups/maintain.py); "nothing": existing rows
    are left alone (no ``keys``: any unique constraint)."""
    name = _QUOTE(table.name)  # type: ignore[union-attr]
    listed = ", ".join(map(_QUOTE, columns))
    target = f"({', '.join(map(_QUOTE, keys))}) " if keys else ""
    # Identifiers come from the table's own definition (quoted); the rows are a parameter.
    sql = (
        f"INSERT INTO {name} ({listed}) SELECT {listed} "  # noqa: S608
        f"FROM json_populate_recordset(NULL::{name}, $1::json) ON CONFLICT {target}"
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
    *,
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    on_conflict: OnConflict,
    returning: tuple[str, ...] = (),
) -> list[Any]:
    """Writes ``rows`` (in the order to write them, each naming the columns the first one
    names) in one statement. Returns the RETURNING rows (none without ``returning``)."""
    if not rows:
        return []
    sql = upsert_sql(table, tuple(rows[0]), keys, counters, on_conflict, returning)
    result = await conn.exec_driver_sql(sql, (_encode(rows).decode(),))
    return list(result.all()) if returning else []
