"""Engine and session factories, with the per-dialect tuning each database needs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from arv_analytics.config import Settings
from arv_analytics.db_retry import is_own_fault, is_transient


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL makes every commit durable
    # before it is acknowledged (an acknowledged event must survive a crash); foreign keys are
    # off by default in SQLite; busy_timeout turns writer contention into waiting, not errors.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct with ``ON CONFLICT`` of a dialect (PostgreSQL's or SQLite's)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_for(session: AsyncSession) -> Any:
    """``dialect_insert`` for the database ``session`` is bound to."""
    return dialect_insert(session.get_bind().dialect.name)


def create_engine(settings: Settings, *, command_timeout: float | None = 30) -> AsyncEngine:
    """``command_timeout``: how long one statement may run on PostgreSQL. 30 s for the
    server (a hung query must become an error); commands that recount or load millions of
    rows pass None."""
    # hide_parameters: bound values (token hashes, visitors' IPs and user agents) never reach
    # a log line or an exception message, whatever the log level.
    if settings.is_sqlite:
        # aiosqlite logs every statement with its bound values at DEBUG; keep that quiet even
        # when someone turns the root logger up.
        driver_log = logging.getLogger("aiosqlite")
        if driver_log.getEffectiveLevel() < logging.INFO:
            driver_log.setLevel(logging.INFO)
        engine = create_async_engine(settings.database_url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        settings.database_url,
        hide_parameters=True,
        pool_size=10,
        max_overflow=10,
        # A lost database must turn into quick errors (503s), never into hung requests.
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={
            "timeout": 5,
            "command_timeout": command_timeout,
            "server_settings": {"timezone": "UTC", "application_name": "arv-analytics"},
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; endpoints commit explicitly, anything uncommitted rolls back."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def is_unavailable(exc: BaseException) -> bool:
    """True when an error means "the database is not answering", not "this query is wrong".

    Drivers differ in how they report a refused or dropped connection (asyncpg's refusals
    arrive as a bare DBAPIError), so everything that is not a statement's own fault counts.
    A deadlock or serialization failure does not count either: the database answered, and
    the writer retries (``db_retry``).
    """
    if is_transient(exc) or is_own_fault(exc):
        return False
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        own_fault = (IntegrityError, ProgrammingError, DataError, NotSupportedError)
        return exc.connection_invalidated or not isinstance(exc, own_fault)
    return False
