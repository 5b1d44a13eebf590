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
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.db import is_unavailable
from arv_analytics.errors import Overloaded, Unavailable
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.writes import EndWrite, Rules, StartWrite, Write, apply_batch

log = logging.getLogger(__name__)


class WriteBuffer:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        rules: Rules,
        *,
        max_batch: int = 500,
        max_wait: float = 0.002,
        max_queue: int = 20_000,
        answer_timeout: float = 30.0,
    ) -> None:
        self._maker = maker
        self._rules = rules
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._answer_timeout = answer_timeout
        self._queue: asyncio.Queue[Write] = asyncio.Queue(maxsize=max_queue)
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

    async def start_session(self, row: dict[str, Any]) -> bool:
        """True when the row was stored, False when its session_id already was."""
        return bool(await self._submit(StartWrite(row=row)))

    async def end_session(self, change: EndChange) -> dict[str, Any]:
        result: dict[str, Any] = await self._submit(EndWrite(change=change))
        return result

    async def _submit(self, write: Write) -> Any:
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

    def _take(self, batch: list[Write]) -> None:
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                return

    async def _write(self, batch: list[Write]) -> None:
        try:
            async with self._maker() as session:
                results = await apply_batch(session, batch, self._rules)
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
