"""The write buffer: durable group commit for starts and ends.

Requests put their write on a bounded queue and wait. One writer task takes everything that
is queued (up to ``max_batch``, after waiting ``max_wait`` for company when the queue is
short), writes it in ONE transaction, commits, and only then answers every request in it. So
an answer of 200 always means "committed", a crash loses only writes nobody was told about,
and a busy server makes one commit per batch instead of one per request.

- Queue full → :class:`Overloaded` (503 with Retry-After) instead of unbounded memory.
- Database away → every write in the failed batch gets :class:`Unavailable` (503); the writer
  keeps going and the next batch tries again, so ingest recovers by itself.
- A constraint violation in a batch (content deleted between lookup and write, say) is retried
  write by write, so one bad row cannot fail its neighbours.
- Order: starts of a batch are written before its ends, and an end that was queued *before*
  the start of its own session answers 404 exactly as it would have without batching.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.db import is_unavailable
from arv_analytics.errors import AppError, NotFound
from arv_analytics.ingest import repository
from arv_analytics.ingest.merge import EndChange, merge_ends
from arv_analytics.models import utcnow
from arv_analytics.rollups import maintain

log = logging.getLogger(__name__)


class Overloaded(AppError):
    status_code = 503
    code = "overloaded"

    def __init__(self, detail: str = "ingest queue is full; retry shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class Unavailable(AppError):
    status_code = 503
    code = "database_unavailable"

    def __init__(self, detail: str = "the database is not answering; retry shortly") -> None:
        super().__init__(detail, headers={"Retry-After": "2"})


@dataclass(eq=False)
class _Write:
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
class StartWrite(_Write):
    row: dict[str, Any]


@dataclass(eq=False)
class EndWrite(_Write):
    change: EndChange


class WriteBuffer:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        *,
        rollups: bool = True,
        max_batch: int = 500,
        max_wait: float = 0.002,
        max_queue: int = 20_000,
        answer_timeout: float = 30.0,
    ) -> None:
        self._maker = maker
        self._rollups = rollups
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._answer_timeout = answer_timeout
        self._queue: asyncio.Queue[_Write] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0  # for tests and the benchmark's report
        self.writes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="arv-write-buffer")

    async def close(self) -> None:
        """Stops taking writes and waits until everything queued is committed (SIGTERM)."""
        self._closing = True
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def start_session(self, row: dict[str, Any]) -> None:
        await self._submit(StartWrite(row=row))

    async def end_session(self, change: EndChange) -> dict[str, Any]:
        result: dict[str, Any] = await self._submit(EndWrite(change=change))
        return result

    async def _submit(self, write: _Write) -> Any:
        if self._closing:
            raise Unavailable("the server is shutting down; retry shortly")
        try:
            self._queue.put_nowait(write)
        except asyncio.QueueFull:
            raise Overloaded() from None
        try:
            return await asyncio.wait_for(asyncio.shield(write.future), self._answer_timeout)
        except TimeoutError:
            raise Unavailable() from None

    # --- the writer ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            self._take(batch)
            if len(batch) < self._max_batch and self._max_wait > 0:
                await asyncio.sleep(self._max_wait)
                self._take(batch)
            try:
                await self._write(batch)
            except Exception as exc:  # the writer must outlive any failure
                if is_unavailable(exc):
                    # The database is away or overloaded: nothing was committed, say so (503).
                    log.warning("write batch of %d failed: %s", len(batch), exc)
                    exc = Unavailable()
                else:  # a bug: a 500 for these requests
                    log.exception("write batch of %d failed", len(batch))
                for w in batch:
                    w.fail(exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _take(self, batch: list[_Write]) -> None:
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                return

    async def _write(self, batch: list[_Write]) -> None:
        try:
            async with self._maker() as session:
                results = await _apply(session, batch, rollups=self._rollups)
                await session.commit()
        except IntegrityError:
            if len(batch) == 1:
                raise
            # Find the offending write without failing the others: one transaction each.
            for w in batch:
                await self._write([w])
            return
        self.batches += 1
        self.writes += len(batch)
        for w, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                w.fail(result)
            else:
                w.resolve(result)


async def _apply(session: AsyncSession, batch: list[_Write], *, rollups: bool) -> list[Any]:
    """Writes a batch in the caller's transaction; returns each write's result or error."""
    starts = [w for w in batch if isinstance(w, StartWrite)]
    ends = [w for w in batch if isinstance(w, EndWrite)]
    new_ids: set[uuid.UUID] = set()
    if starts:
        new_ids = await repository.insert_sessions(session, [w.row for w in starts])
        if rollups:
            # Only rows that were really inserted count: a repeated start adds nothing.
            fresh, seen = [], set()
            for w in starts:
                sid = w.row["session_id"]
                if sid in new_ids and sid not in seen:
                    seen.add(sid)
                    fresh.append(w.row)
            await maintain.add_starts(session, fresh)
    position = {id(w): i for i, w in enumerate(batch)}
    first_start: dict[uuid.UUID, int] = {}
    for w in starts:
        first_start.setdefault(w.row["session_id"], position[id(w)])
    valid: list[EndWrite] = []
    results: dict[int, Any] = {}
    for e in ends:
        sid = e.change.session_id
        if sid in new_ids and first_start[sid] > position[id(e)]:
            # The session did not exist when this end was sent.
            results[id(e)] = NotFound(f"session {sid} not found")
        else:
            valid.append(e)
    if valid:
        merged = merge_ends([e.change for e in valid])
        before = await repository.lock_states(session, list(merged)) if rollups else {}
        stored = await repository.apply_ends(session, merged, now=utcnow())
        if rollups:
            await maintain.add_end_changes(session, before, stored)
        for e in valid:
            sid = e.change.session_id
            results[id(e)] = stored.get(sid) or NotFound(f"session {sid} not found")
    return [results.get(id(w)) for w in batch]
