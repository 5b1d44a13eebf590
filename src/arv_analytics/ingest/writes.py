"""Applying starts and ends to the database, one batch in one transaction.

The write buffer calls this with everything it has queued; the naive path calls it with a
batch of one. Starts go first, then ends; each write gets its own result or error back.

Lock order. Several server processes (``serve --workers N``) write batches at the same time,
and so do the rollup recount, retention and purge. Two transactions that lock the same rows
in opposite orders deadlock, so every writer takes its locks in ONE global order:

1. ``ar_view_sessions``: new rows inserted in ``session_id`` order, then the rows that ends
   change locked (``SELECT … FOR UPDATE … ORDER BY session_id``) and updated;
2. then the rollup tables, each touched by ONE statement per transaction, its rows sorted by
   their key: ``rollup_stats`` (starts and ends together) → ``visitor_keys`` →
   ``rollup_daily_visitors`` → ``property_visitor_keys`` → ``rollup_property_visitors``
   (``rollups.maintain.add_batch``).

No rollup row is locked before the last session row, and no table is revisited after a later
one. Recounts and retention lock the same rollup tables in the same order (``LOCK TABLE``);
purge locks the sessions it deletes in ``session_id`` order. A deadlock that happens anyway
(an order this list forgot) is retried by the write buffer (``db_retry``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import NotFound, SessionClosed
from arv_analytics.ingest import repository
from arv_analytics.ingest.merge import EndChange, merge_ends
from arv_analytics.models import utcnow
from arv_analytics.rollups import maintain


@dataclass(eq=False)
class Write:
    future: asyncio.Future[Any] = field(init=False)
    queued_at: float = field(init=False)  # monotonic; the rollup-lag metric reads it

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()
        self.queued_at = time.monotonic()

    def resolve(self, value: Any) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


@dataclass(eq=False)
class StartWrite(Write):
    row: dict[str, Any]


@dataclass(eq=False)
class EndWrite(Write):
    change: EndChange


class SessionSink(Protocol):
    """Another store of sessions (ClickHouse) that must hold what a batch stored before the
    batch commits: ``store`` gets each new or changed session as it is after the batch and
    raises when it could not store them (the batch then fails and commits nothing)."""

    async def store(self, rows: list[dict[str, Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Rules:
    rollups: bool  # keep the rollup tables exact in the same transaction
    end_window_seconds: int  # an end later than this after its start is refused (409)
    sink: SessionSink | None = None


async def apply_batch(session: AsyncSession, batch: list[Write], rules: Rules) -> list[Any]:
    """Writes a batch in the caller's transaction; returns each write's result or error."""
    starts = [w for w in batch if isinstance(w, StartWrite)]
    ends = [w for w in batch if isinstance(w, EndWrite)]
    new_ids: set[uuid.UUID] = set()
    results: dict[int, Any] = {}
    fresh: list[dict[str, Any]] = []
    if starts:
        rows = sorted((w.row for w in starts), key=lambda r: r["session_id"])  # lock order
        new_ids = await repository.insert_sessions(session, rows)
        # Only rows that were really inserted count: a repeated start adds nothing, and
        # answers that it found its session already there.
        seen: set[uuid.UUID] = set()
        for w in starts:
            sid = w.row["session_id"]
            created = sid in new_ids and sid not in seen
            if created:
                seen.add(sid)
                fresh.append(w.row)
            results[id(w)] = created
    before: dict[uuid.UUID, dict[str, Any]] = {}
    after: dict[uuid.UUID, dict[str, Any]] = {}
    changed_at = utcnow()
    if ends:
        before, after, changed_at = await _apply_ends(
            session, batch, starts, ends, new_ids, rules, results
        )
    if rules.rollups and (fresh or after):
        # After every session row: the rollup rows come last in the lock order.
        await maintain.add_batch(session, fresh, before, after)
    if rules.sink is not None and (fresh or after):
        # A new session whose end came in the same batch is stored once, as it ends up.
        states = {r["session_id"]: r for r in fresh}
        for sid, values in after.items():
            states[sid] = {**states.get(sid, before[sid]), **values, "updated_at": changed_at}
        await rules.sink.store(list(states.values()))
    return [results.get(id(w)) for w in batch]


async def _apply_ends(
    session: AsyncSession,
    batch: list[Write],
    starts: list[StartWrite],
    ends: list[EndWrite],
    new_ids: set[uuid.UUID],
    rules: Rules,
    results: dict[int, Any],
) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[uuid.UUID, dict[str, Any]], datetime]:
    """Applies the valid ends; returns the sessions' states before and after them, and the
    time they were changed at."""
    position = {id(w): i for i, w in enumerate(batch)}
    first_start: dict[uuid.UUID, int] = {}
    for s in starts:
        first_start.setdefault(s.row["session_id"], position[id(s)])
    now = utcnow()
    opened_after = now - timedelta(seconds=rules.end_window_seconds)
    states = await repository.lock_states(session, sorted({e.change.session_id for e in ends}))
    valid: list[EndWrite] = []
    for e in ends:
        sid = e.change.session_id
        state = states.get(sid)
        if state is None or (sid in new_ids and first_start[sid] > position[id(e)]):
            # Unknown, or its start came after this end: it did not exist when it was sent.
            results[id(e)] = NotFound(f"session {sid} not found")
        elif state["created_at"] <= opened_after:
            # No view lasts that long: refuse rather than let anyone rewrite old views.
            results[id(e)] = SessionClosed(
                f"session {sid} started more than {rules.end_window_seconds} s ago "
                "and no longer accepts ends or heartbeats"
            )
        else:
            valid.append(e)
    if not valid:
        return states, {}, now
    merged = merge_ends([e.change for e in valid])
    stored = await repository.apply_ends(session, merged, now=now)
    for e in valid:
        results[id(e)] = stored[e.change.session_id]
    return states, stored, now
