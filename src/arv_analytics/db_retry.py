"""Whose fault a database error is, and retrying the ones that are nobody's.

Three kinds of failure reach a writer, and each gets a different answer:

- **Transient**: PostgreSQL chose this transaction as a deadlock victim (40P01) or could not
  serialize it (40001). The database is healthy and the same transaction will very likely
  succeed a moment later, so it is retried here, a bounded number of times with jittered
  back-off, and never shown to a client as ``database_unavailable``.
- **The statement's own data**: a value the database refuses (class 22: NUL in text, a
  string too long, a number out of range; the driver's own encoding errors) or a constraint
  (class 23). Only the write that carries it should fail; its batch neighbours are retried
  without it (see ``ingest.buffer``).
- Everything else (connection refused or lost, timeouts, disk full, too many connections)
  means the database is not answering: ``database_unavailable`` (see ``db.is_unavailable``).

Every write path takes its locks in one global order so that deadlocks do not happen in the
first place (``ingest.writes`` states the order); the retry is the safety net, not the plan.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from arv_analytics.errors import Overloaded

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
ATTEMPTS = 8
BASE_DELAY = 0.005  # seconds; doubled per attempt, then a random part of it ("full jitter")
MAX_DELAY = 0.25


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (asyncpg and psycopg), else None."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def is_transient(exc: BaseException) -> bool:
    return sqlstate(exc) in TRANSIENT_SQLSTATES


def is_data_fault(exc: BaseException) -> bool:
    """A value of the statement was refused (class 22, or the driver could not encode it)."""
    code = sqlstate(exc)
    if code is not None:
        return code.startswith("22")
    # SQLite's driver raises UnicodeEncodeError itself for a lone surrogate, unwrapped.
    return isinstance(exc, DataError | UnicodeError)


def is_own_fault(exc: BaseException) -> bool:
    """The batch's data is to blame (a value or a constraint), not the database."""
    if is_data_fault(exc):
        return True
    code = sqlstate(exc)
    return isinstance(exc, IntegrityError) or (code is not None and code.startswith("23"))


def is_foreign_key(exc: BaseException) -> bool:
    """A foreign key refused the row: what it points to is gone (23503; SQLite's message)."""
    return sqlstate(exc) == "23503" or (
        isinstance(exc, IntegrityError) and "FOREIGN KEY" in str(exc.orig)
    )


def describe(exc: BaseException) -> str:
    """A log line's worth about a database error without any bound value or row data."""
    orig = getattr(exc, "orig", None) or exc
    code = sqlstate(exc)
    # Driver messages can quote the refused value (asyncpg's DataError does): name the class.
    return f"{type(orig).__name__}" + (f" (SQLSTATE {code})" if code else "")


async def retry_transient(
    work: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int = ATTEMPTS,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Runs ``work`` (one whole transaction) again after a deadlock or serialization failure.

    ``work`` must open and finish its own transaction, so that a retry starts from scratch.
    When every attempt lost, the caller gets :class:`Overloaded` (503 ``overloaded`` with
    Retry-After): the database is reachable, it is the contention that is too high.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                log.warning("%s: gave up after %d %s", what, attempts, describe(exc))
                raise Overloaded("write conflicts in the database; retry shortly") from exc
            delay = random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2**attempt))  # noqa: S311
            log.info("%s: %s, retry %d in %.3f s", what, describe(exc), attempt, delay)
            if on_retry is not None:
                on_retry()
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
