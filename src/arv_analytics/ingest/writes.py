"""Applying starts and ends to the database, one batch in one transaction.

The write buffer calls this with everything it has queued; the naive path calls it with a
batch of one. Starts go first, then ends; each write gets its own result or error back.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import NotFound, SessionClosed
from arv_analytics.ingest import repository
from arv_analytics.ingest.merge import EndChange, merge_ends
from arv_analytics.models import utcnow
from arv_analytics.rollups import maintain


@dataclass(eq=False)
class Write:
    future: asyncio.Future[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()

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


@dataclass(frozen=True, slots=True)
class Rules:
    rollups: bool  # keep the rollup tables exact in the same transaction
    end_window_seconds: int  # an end later than this after its start is refused (409)


async def apply_batch(session: AsyncSession, batch: list[Write], rules: Rules) -> list[Any]:
    """Writes a batch in the caller's transaction; returns each write's result or error."""
    starts = [w for w in batch if isinstance(w, StartWrite)]
    ends = [w for w in batch if isinstance(w, EndWrite)]
    new_ids: set[uuid.UUID] = set()
    results: dict[int, Any] = {}
    if starts:
        new_ids = await repository.insert_sessions(session, [w.row for w in starts])
        # Only rows that were really inserted count: a repeated start adds nothing, and
        # answers that it found its session already there.
        fresh, seen = [], set()
        for w in starts:
            sid = w.row["session_id"]
            created = sid in new_ids and sid not in seen
            if created:
                seen.add(sid)
                fresh.append(w.row)
            results[id(w)] = created
        if rules.rollups:
            await maintain.add_starts(session, fresh)
    if ends:
        await _apply_ends(session, batch, starts, ends, new_ids, rules, results)
    return [results.get(id(w)) for w in batch]


async def _apply_ends(
    session: AsyncSession,
    batch: list[Write],
    starts: list[StartWrite],
    ends: list[EndWrite],
    new_ids: set[uuid.UUID],
    rules: Rules,
    results: dict[int, Any],
) -> None:
    position = {id(w): i for i, w in enumerate(batch)}
    first_start: dict[uuid.UUID, int] = {}
    for s in starts:
        first_start.setdefault(s.row["session_id"], position[id(s)])
    now = utcnow()
    opened_after = now - timedelta(seconds=rules.end_window_seconds)
    states = await repository.lock_states(session, list({e.change.session_id for e in ends}))
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
        return
    merged = merge_ends([e.change for e in valid])
    stored = await repository.apply_ends(session, merged, now=now)
    if rules.rollups:
        await maintain.add_end_changes(session, states, stored)
    for e in valid:
        results[id(e)] = stored[e.change.session_id]
