"""Readiness: may this process take traffic? Liveness needs no service (the process answers)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.db import is_unavailable
from arv_analytics.errors import NotReady
from arv_analytics.observability import repository


@dataclass(frozen=True, slots=True)
class Readiness:
    revision: str
    queue_depth: int | None
    queue_capacity: int | None


async def check_ready(
    session: AsyncSession,
    head: str | None,
    known: frozenset[str],
    queue_depth: int | None,
    queue_capacity: int | None,
) -> Readiness:
    try:
        revision = await repository.schema_revision(session)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        if is_unavailable(exc) and "no such table" not in str(exc):
            raise NotReady("database: not answering") from None
        # No alembic_version table: a database that was never migrated.
        raise NotReady("migrations: the database has no schema; run `db upgrade`") from None
    # Behind the code: this process would fail on what it cannot find. Ahead of it (a revision
    # this code does not know): a newer version migrated during a rolling upgrade; migrations
    # add, so the old processes keep serving until they are replaced.
    if revision is None or (revision != head and revision in known):
        raise NotReady(
            f"migrations: the database is at {revision}, this version needs {head}; "
            "run `arv-analytics db upgrade`"
        )
    if queue_depth is not None and queue_capacity is not None and queue_depth >= queue_capacity:
        raise NotReady(f"write queue: full ({queue_depth} of {queue_capacity})")
    return Readiness(revision, queue_depth, queue_capacity)
