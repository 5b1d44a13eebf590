"""Copies the sessions the SQL database holds into ClickHouse (``arv-analytics clickhouse
backfill``): in id order, in batches, each batch one synchronous insert.

Resumable: after each stored batch the last copied id is recorded in ClickHouse
(``backfill_state`` on the first server), and a new run starts after it. A batch stored
whose checkpoint was not (an interruption in between) is copied again: its versions are the
same rows with the same version number (the session's ``updated_at``), which the merge of a
session's versions — and ReplacingMergeTree's background merges — make count once.

Using ``updated_at`` as the version also orders a copied state correctly against versions
the live write path stores at the same time: a live end is newer than the state copied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.clickhouse import aggregates
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.store import SessionStore, micros, version_row
from arv_analytics.models import ARViewSession

S = ARViewSession.__table__


def state_table(ch: ClickHouse) -> str:
    return f"{ch.target.database}.backfill_state"


def create_state_table(ch: ClickHouse) -> None:
    ch.execute(
        f"CREATE TABLE IF NOT EXISTS {state_table(ch)} (last_id Int64, copied UInt64,"
        " at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY at"
    )


def checkpoint(ch: ClickHouse) -> int:
    rows = ch.execute(f"SELECT max(last_id) FROM {state_table(ch)}")  # noqa: S608
    return int(rows[0][0] or 0) if rows else 0


async def remaining(session: AsyncSession, after_id: int) -> int:
    stmt = select(func.count()).select_from(S).where(S.c.id > after_id)
    return int((await session.execute(stmt)).scalar_one())


async def backfill(
    session: AsyncSession,
    ch: ClickHouse,
    *,
    batch: int = 10_000,
    restart: bool = False,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copies every session after the checkpoint; returns how many were copied this run."""
    create_state_table(ch)
    if restart:
        ch.execute(f"TRUNCATE TABLE {state_table(ch)}")
    last = checkpoint(ch)
    store = SessionStore(ch)
    copied = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        stmt = select(S).where(S.c.id > last).order_by(S.c.id).limit(batch)
        rows: list[dict[str, Any]] = [dict(r) for r in (await session.execute(stmt)).mappings()]
        await session.rollback()  # no snapshot held open between batches
        if not rows:
            break
        if not batches:
            # Past days get sessions: every counted day is counted again by the next fill.
            aggregates.reset(ch)
        versions = [version_row(r, micros(r["updated_at"])) for r in rows if r["session_id"]]
        if versions:
            await ch.ainsert(store.insert_statement, versions)
        last = int(rows[-1]["id"])
        await ch.ainsert(
            f"INSERT INTO {state_table(ch)} (last_id, copied) VALUES",
            [{"last_id": last, "copied": len(rows)}],
        )
        copied += len(rows)
        batches += 1
        if progress:
            progress(len(rows))
    return copied
