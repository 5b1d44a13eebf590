"""The write buffer: durable group commit for starts and ends.

Requests put their write on a bounded queue and wait. The writer takes everything that is
queued (up to ``max_batch``, after waiting ``max_wait`` for company when the queue is short),
writes it in ONE transaction, commits, and only then answers every request in it. So an
answer of 200 always means "committed", a crash loses only writes nobody was told about, and
a busy server makes one commit per batch instead of one per request.

Up to ``writers`` batches are in flight at once (ARV_WRITE_BATCHES_IN_FLIGHT on PostgreSQL,
1 by default; always 1 on SQLite, which has one writer anyway): with more than one, while
one waits for its commit the next is built and sent. A batch that names a session an
earlier batch still in flight also names waits for that batch to finish first, so the
writes of one session are applied in the order they were queued; batches of different
sessions commute (rollups add, visitor keys are "insert if absent"), and the global lock
order (``ingest.writes``) keeps concurrent batches from deadlocking each other.

- Queue full → :class:`Overloaded` (503 with Retry-After) instead of unbounded memory.
- Database away → every write in the failed batch gets :class:`Unavailable` (503); the writer
  keeps going and the next batch tries again, so ingest recovers by itself.
- A deadlock or serialization failure (several processes writing at once) is retried, the
  whole batch again, a few times with jitter (``db_retry``); never a 503
  ``database_unavailable``, since the database is fine.
- An error caused by one write's data (a constraint: content deleted between lookup and write;
  a value the database refuses) fails that write only: the batch is split in halves and
  retried until the offending write stands alone. It answers 422 for a refused value (500 for
  a constraint) and is logged once with its cause; its neighbours are committed.
- Order: starts of a batch are written before its ends, and an end that was queued *before*
  the start of its own session answers 404 exactly as it would have without batching.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.db import is_unavailable
from arv_analytics.db_retry import (
    describe,
    is_data_fault,
    is_foreign_key,
    is_own_fault,
    retry_transient,
)
from arv_analytics.errors import AppError, InvalidInput, NotFound, Overloaded, Unavailable
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.writes import EndWrite, Rules, StartWrite, Write, apply_batch
from arv_analytics.observability import metrics

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
        writers: int = 1,
    ) -> None:
        self._maker = maker
        self._rules = rules
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._answer_timeout = answer_timeout
        self._queue: asyncio.Queue[Write] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._slots = asyncio.Semaphore(max(1, writers))
        # Batches being written: their sessions, and the oldest queued_at (the lag metric).
        self._inflight: dict[asyncio.Task[None], tuple[set[Any], float]] = {}
        self.batches = 0  # for tests and the benchmark's report
        self.writes = 0
        self.refused = 0  # writes whose own data the database refused
        self.retries = 0  # transactions retried after a deadlock or serialization failure
        self.overlapped = 0  # batches sent while another was in flight
        self.waited = 0  # batches that waited for an earlier one naming the same session

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

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    @property
    def capacity(self) -> int:
        return self._queue.maxsize

    def lag_seconds(self) -> float:
        """Age of the oldest accepted write not yet committed (0 when all is committed)."""
        since = min((queued for _, queued in list(self._inflight.values())), default=None)
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

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
            await self._slots.acquire()
            try:
                batch = [await self._queue.get()]
            except BaseException:
                self._slots.release()
                raise
            self._take(batch)
            if len(batch) < self._max_batch and self._max_wait > 0:
                await asyncio.sleep(self._max_wait)
                self._take(batch)
            sessions = {_session_of(w) for w in batch}
            earlier = [t for t, (names, _) in self._inflight.items() if names & sessions]
            self.overlapped += bool(self._inflight)
            self.waited += bool(earlier)
            task = asyncio.create_task(self._run_batch(batch, earlier))
            self._inflight[task] = (sessions, min(w.queued_at for w in batch))
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        del self._inflight[task]
        self._slots.release()

    async def _run_batch(self, batch: list[Write], earlier: list[asyncio.Task[None]]) -> None:
        try:
            if earlier:  # the same sessions' earlier writes first (see the module doc)
                await asyncio.wait(earlier)
            await self._write(batch)
        except AppError as exc:  # an answer already (write conflicts: overloaded)
            for w in batch:
                w.fail(exc)
        except Exception as exc:  # the writer must outlive any failure
            cause = "unavailable" if is_unavailable(exc) else "error"
            metrics.BATCH_FAILURES.labels(cause).inc()
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
        started = time.perf_counter()
        try:
            results = await retry_transient(
                lambda: self._transaction(batch),
                what=f"write batch of {len(batch)}",
                on_retry=self._count_retry,
            )
        except Exception as exc:
            if not is_own_fault(exc):
                raise
            if len(batch) > 1:
                # Find the offending write without failing the others: halve until it is
                # alone (log2(n) extra transactions per bad write, not n).
                half = len(batch) // 2
                await self._write(batch[:half])
                await self._write(batch[half:])
                return
            self.refused += 1
            log.warning("a write was refused by the database: %s", describe(exc))
            if is_data_fault(exc):
                batch[0].fail(InvalidInput("the database refused a value of this request"))
                return
            if is_foreign_key(exc):  # its content was deleted after the lookup
                batch[0].fail(NotFound("ar content not found"))
                return
            raise
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(batch))
        self.batches += 1
        self.writes += len(batch)
        for w, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                w.fail(result)
            else:
                w.resolve(result)

    def _count_retry(self) -> None:
        self.retries += 1

    async def _transaction(self, batch: list[Write]) -> list[Any]:
        async with self._maker() as session:
            results = await apply_batch(session, batch, self._rules)
            await session.commit()
        return results


def _session_of(write: Write) -> Any:
    if isinstance(write, StartWrite):
        return write.row["session_id"]
    assert isinstance(write, EndWrite)
    return write.change.session_id
