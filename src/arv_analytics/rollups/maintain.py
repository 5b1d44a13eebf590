"""Keeping the rollups exact from the write path, inside the transaction that writes the views.

A session contributes the registry's accumulators (analytics/metrics.py) to one row per rollup
key it belongs to: its UTC day at every level (all, company, project, content), its UTC hour
and its day under every breakdown property down to its project (all, company, project; see
``dimensions.HOUR_LEVELS``). A start adds its contribution; an end adds
``contribution(after) - contribution(before)`` — which also moves a view between property
values when the end changes one (tracking quality, camera outcome). Everything is summed per
key in Python first and written with one "insert or add" statement per table, so a batch of
500 writes costs a handful of statements whatever it holds.

Rows are written in key order: two processes writing overlapping keys then lock them in the
same order and cannot deadlock each other.

A counter that is 0 is stored as NULL (PostgreSQL stores a NULL as one bit, a 0 as eight
bytes, and most of a row's ~100 counters are 0): new rows carry only the counters the batch
changed, an update adds to the stored value, and a sum that comes back to 0 becomes NULL
again, so the write path and the recount store identical rows.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from arv_analytics.analytics.dimensions import (
    BREAKDOWN_LEVELS,
    CONTENT,
    DAY_LEVELS,
    HOUR_LEVELS,
    LEVELS,
    PROPERTIES,
    VISITOR_PROPERTIES,
    property_value,
)
from arv_analytics.analytics.metrics import ACCUMULATOR_NAMES, HISTOGRAMS, contribution
from arv_analytics.db import dialect_insert, insert_for
from arv_analytics.models import (
    ROLLUP_KEYS,
    PropertyVisitorKey,
    RollupDailyVisitors,
    RollupDetail,
    RollupPropertyVisitors,
    VisitorKey,
    rollup_stats,
)
from arv_analytics.rollups import json_rows

Parents = tuple[int, int]  # company_id, project_id


async def _add(
    session: AsyncSession,
    table: Table | FromClause,
    keys: tuple[str, ...],
    rows: Iterable[dict[str, Any]],
    counters: Iterable[str],
    *,
    nullable: bool = False,
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter
    (``nullable``: NULL stands for 0 on both sides, and a 0 result is stored as NULL)."""
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    if not ordered:
        return
    dialect = session.get_bind().dialect.name
    conn = await session.connection()
    if dialect == "postgresql":
        mode: json_rows.OnConflict = "add_nullable" if nullable else "add"
        await json_rows.upsert(
            conn, table, ordered, keys=keys, counters=tuple(counters), on_conflict=mode
        )
        return
    # One cached statement, many parameter sets (see ingest.repository.insert_sessions).
    await conn.execute(_upsert(dialect, table, keys, tuple(counters), nullable), ordered)


async def _insert_new_keys(
    session: AsyncSession, table: Table | FromClause, rows: list[dict[str, Any]], returned: int
) -> list[Any]:
    """Inserts key rows (their own primary key) that are not stored yet; returns the first
    ``returned`` columns of each row that was new."""
    conn = await session.connection()
    names = tuple(rows[0])
    if session.get_bind().dialect.name == "postgresql":
        return await json_rows.upsert(
            conn, table, rows, keys=(), counters=(), on_conflict="nothing",
            returning=names[:returned],
        )  # fmt: skip
    stmt = (
        insert_for(session)(table)
        .on_conflict_do_nothing()
        .returning(*(table.c[n] for n in names[:returned]))
    )
    return list((await conn.execute(stmt, rows)).all())


@functools.lru_cache(maxsize=256)
def _upsert(
    dialect: str,
    table: Table | FromClause,
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    nullable: bool,
) -> Any:
    """The upsert statement of one shape, built once: building it (every ``excluded``
    column is a new proxy object) was a fifth of the tracking server's busy time."""
    stmt = dialect_insert(dialect)(table)
    excluded = stmt.excluded
    set_: dict[str, Any]
    if nullable:
        set_ = {
            c: func.nullif(func.coalesce(table.c[c] + excluded[c], table.c[c], excluded[c]), 0)
            for c in counters
        }
    else:
        set_ = {c: table.c[c] + excluded[c] for c in counters}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)


def _shape(row: Mapping[str, Any], detail: Mapping[int, date]) -> tuple[Any, ...]:
    """What a session's rollup keys depend on: the sessions of a batch share few shapes."""
    hour = row["created_at"].replace(minute=0, second=0, microsecond=0)
    content = int(row["ar_content_id"])
    since = detail.get(content)
    return (
        hour,
        int(row["company_id"]),
        int(row["project_id"]),
        content,
        bool(row.get("is_bot", False)),
        tuple(property_value(row, p) for p in PROPERTIES.values()),
        since is not None and hour.date() >= since,  # a busy content's detail rows too
    )


@functools.lru_cache(maxsize=1024)  # ~6 MB at most
def _keys(shape: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """The keys of one shape, each followed by its row's parents (company_id, project_id):
    built once per shape (43 keys per session, 56 for a busy content's) instead of once
    per session."""
    hour, company, project, content, bot, values, detailed = shape
    day = hour.replace(hour=0)
    entities = {"company_id": company, "project_id": project, "ar_content_id": content}
    out: list[tuple[Any, ...]] = []
    for level in DAY_LEVELS:
        entity = entities[level.session_column] if level.session_column else 0
        parents = (company if level.depth >= 1 else 0, project if level.depth >= 2 else 0)
        out.append((level.name, entity, "d", "", day, "", bot, *parents))
        if level in HOUR_LEVELS or (detailed and level is CONTENT):
            out.append((level.name, entity, "h", "", hour, "", bot, *parents))
        if level in BREAKDOWN_LEVELS or (detailed and level is CONTENT):
            for name, value in zip(PROPERTIES, values, strict=True):
                out.append((level.name, entity, "d", name, day, value, bot, *parents))
    return tuple(out)


_HISTOGRAM_OF = {name: h.prefix for h in HISTOGRAMS for name in h.names}
_GROUP = {name: _HISTOGRAM_OF.get(name, "") for name in ACCUMULATOR_NAMES}


class Changes:
    """Accumulator changes per rollup key, summed before anything is written.

    A session adds the same contribution to ~43 keys, and the sessions of a batch have few
    distinct contributions (a start's is nearly always the same): so each key counts how
    many times it received each distinct contribution, one dictionary update per key and
    session, and the counters are summed per key only once, in ``rows``. Summing every
    counter into every key per session was a seventh of the tracking server's busy time."""

    def __init__(self, detail: Mapping[int, date] | None = None) -> None:
        self._detail = detail or {}  # busy contents → the first day of their detail rows
        self._times: dict[tuple[tuple[Any, ...], int], int] = {}  # (key+parents, kind) → n
        self._kinds: dict[tuple[tuple[str, int], ...], int] = {}  # contribution → kind

    def add(self, row: Mapping[str, Any], sign: int) -> None:
        values = tuple(contribution(row).items())
        kind = self._kinds.setdefault(values, len(self._kinds))
        times = self._times
        for key in _keys(_shape(row, self._detail)):
            slot = (key, kind)
            times[slot] = times.get(slot, 0) + sign

    def _sums(self) -> dict[tuple[Any, ...], dict[str, int]]:
        kinds = list(self._kinds)
        sums: dict[tuple[Any, ...], dict[str, int]] = {}
        for (key, kind), n in self._times.items():
            if not n:
                continue
            acc = sums.setdefault(key, {})
            for name, v in kinds[kind]:
                acc[name] = acc.get(name, 0) + n * v
        return sums

    def rows(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The rows to add and the columns to write: the column groups any of them changes
        (a batch of starts touches the scalar counters, not the histograms); the others keep
        their value, or NULL in a new row."""
        sums = self._sums()
        out = []
        changed = {name for acc in sums.values() for name, v in acc.items() if v}
        # Whole column groups (the scalar counters, each histogram): at most 16 statement
        # shapes, so the statement caches of SQLAlchemy and asyncpg keep hitting; a column
        # list per batch made thousands of shapes, each compiled and prepared anew.
        groups = {_GROUP[name] for name in changed}
        columns = [name for name in ACCUMULATOR_NAMES if _GROUP[name] in groups]
        names = (*ROLLUP_KEYS, "company_id", "project_id")
        for key, acc in sums.items():
            if not any(acc.values()):
                continue  # an end that changed nothing this row counts
            row = dict(zip(names, key, strict=True))
            for name in columns:
                row[name] = acc.get(name) or None  # NULL stands for 0 (see the module doc)
            out.append(row)
        return out, columns

    async def write(self, session: AsyncSession) -> None:
        rows, columns = self.rows()
        await _add(session, rollup_stats, ROLLUP_KEYS, rows, columns, nullable=True)


async def add_batch(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    before: Mapping[Any, Mapping[str, Any]],
    after: Mapping[Any, Mapping[str, Any]],
) -> None:
    """A write batch's starts (newly inserted rows only: never duplicates) and what its ends
    changed (to the rows of the hour and day each session started in), in the global lock
    order of ``ingest.writes``: called after every session row is written and locked, ONE
    ``rollup_stats`` statement for starts and ends together, then the visitor keys, the
    daily visitor counters, the property visitor keys and the property visitor counters. A
    second ``rollup_stats`` statement after the visitor tables would lock in an order
    another process reverses. Ends add no visitor: a session's visitor, day and
    VISITOR_PROPERTIES values are fixed at its start."""
    changes = Changes(await detail_days(session))
    for row in rows:
        changes.add(row, +1)
    for sid, new in after.items():
        old = before[sid]
        changes.add(old, -1)
        changes.add({**old, **new}, +1)
    await changes.write(session)
    await _count_visitors(session, rows)
    await _count_property_visitors(session, rows)


async def detail_days(session: AsyncSession) -> dict[int, date]:
    """The busy contents that get detail rows, and from which UTC day (models.RollupDetail).
    Read by every batch, after its session rows: a promotion committed before this read is
    seen, and the promotion's first day starts after it (rollups/detail.py)."""
    # A Core statement on the transaction's connection: the ORM's execution path cost more
    # than the read itself on every write batch.
    conn = await session.connection()
    found = await conn.execute(_DETAIL_DAYS)
    return {int(content): since for content, since in found}


_DETAIL_DAYS = select(RollupDetail.__table__.c.content_id, RollupDetail.__table__.c.detail_from)


async def _count_visitors(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # A visitor is counted once per day, level and entity: the key table says who already is.
    keys: set[tuple[date, str, int, str, int]] = set()
    parents: dict[tuple[str, int], Parents] = {}
    for row in rows:
        visitor = row.get("visitor_hash")
        if visitor is None:
            continue
        day = row["created_at"].date()
        scopes = ("everyone",) if row.get("is_bot") else ("everyone", "humans")
        for level in LEVELS:
            entity = int(row[level.session_column or ""])
            parents[(level.name, entity)] = (
                int(row["company_id"]),
                int(row["project_id"]) if level.depth >= 2 else 0,
            )
            for scope in scopes:
                keys.add((day, level.name, entity, scope, visitor))
    if not keys:
        return
    names = ("day", "level", "entity_id", "scope", "visitor_hash")
    params = [dict(zip(names, k, strict=True)) for k in sorted(keys)]
    counts: dict[tuple[str, int, date], dict[str, int]] = defaultdict(
        lambda: {"humans": 0, "everyone": 0}
    )
    new = await _insert_new_keys(session, VisitorKey.__table__, params, len(names))
    parents[("all", 0)] = (0, 0)
    for day, level, entity, scope, _ in new:
        counts[(level, entity, day)][scope] += 1
        if level == "company":
            # All companies' row: the sum of their daily uniques (a visitor key is per
            # company), so an overview reads one row per day whatever the catalog holds.
            counts[("all", 0, day)][scope] += 1
    await _add(
        session,
        RollupDailyVisitors.__table__,
        ("level", "entity_id", "day"),
        (
            {
                "level": k[0], "entity_id": k[1], "day": k[2],
                "company_id": parents[(k[0], k[1])][0], "project_id": parents[(k[0], k[1])][1],
                **v,
            }
            for k, v in counts.items()
        ),
        ("humans", "everyone"),
    )  # fmt: skip


async def _count_property_visitors(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Visitors per day, company and value of each VISITOR_PROPERTIES property: a key per
    (day, company, property, value, scope, visitor) says who is counted already; the
    counters of the company and of "all" (the sum of the companies) grow by the new keys."""
    keys: set[tuple[date, int, str, str, str, int]] = set()
    for row in rows:
        visitor = row.get("visitor_hash")
        if visitor is None:
            continue
        day, company = row["created_at"].date(), int(row["company_id"])
        scopes = ("everyone",) if row.get("is_bot") else ("everyone", "humans")
        for prop in VISITOR_PROPERTIES:
            value = property_value(row, prop)
            for scope in scopes:
                keys.add((day, company, prop.name, value, scope, visitor))
    if not keys:
        return
    names = ("day", "company_id", "property", "value", "scope", "visitor_hash")
    params = [dict(zip(names, k, strict=True)) for k in sorted(keys)]
    counts: dict[tuple[str, int, str, date, str], dict[str, int]] = defaultdict(
        lambda: {"humans": 0, "everyone": 0}
    )
    new = await _insert_new_keys(session, PropertyVisitorKey.__table__, params, 5)
    for day, company, prop, value, scope in new:
        counts[("company", company, prop, day, value)][scope] += 1
        counts[("all", 0, prop, day, value)][scope] += 1
    await _add(
        session,
        RollupPropertyVisitors.__table__,
        ("level", "entity_id", "property", "day", "value"),
        (
            {"level": k[0], "entity_id": k[1], "property": k[2], "day": k[3], "value": k[4], **v}
            for k, v in counts.items()
        ),
        ("humans", "everyone"),
    )
