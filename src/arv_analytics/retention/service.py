"""Deleting sessions: by age (the retention job) or by selector (`arv-analytics purge`).

Deletes go in batches of primary keys, each its own short transaction, so that a purge of
millions of rows never holds a long lock on the table the tracker writes to.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import InvalidInput
from arv_analytics.models import ARViewSession, utcnow
from arv_analytics.rollups import rebuild

S = ARViewSession
BATCH = 5_000


@dataclass(frozen=True)
class Selector:
    older_than_days: int | None = None
    company_id: int | None = None
    project_id: int | None = None
    content_id: int | None = None
    session_ids: tuple[uuid.UUID, ...] = field(default_factory=tuple)

    def is_empty(self) -> bool:
        return (
            self.older_than_days is None
            and self.company_id is None
            and self.project_id is None
            and self.content_id is None
            and not self.session_ids
        )

    def describe(self) -> dict[str, object]:
        """The selectors given, for the audit log (session ids as strings)."""
        given = {
            "older_than_days": self.older_than_days,
            "company_id": self.company_id,
            "project_id": self.project_id,
            "content_id": self.content_id,
            "session_ids": [str(s) for s in self.session_ids] or None,
        }
        return {k: v for k, v in given.items() if v is not None}

    def condition(self, now: datetime) -> ColumnElement[bool]:
        """All given selectors must hold (AND)."""
        if self.is_empty():
            raise InvalidInput(
                "name at least one selector: age, company, project, content or session"
            )
        parts: list[ColumnElement[bool]] = []
        if self.older_than_days is not None:
            parts.append(S.created_at < now - timedelta(days=self.older_than_days))
        if self.company_id is not None:
            parts.append(S.company_id == self.company_id)
        if self.project_id is not None:
            parts.append(S.project_id == self.project_id)
        if self.content_id is not None:
            parts.append(S.ar_content_id == self.content_id)
        if self.session_ids:
            parts.append(S.session_id.in_(self.session_ids))
        return and_(*parts)


async def count(session: AsyncSession, condition: ColumnElement[bool]) -> int:
    return int((await session.execute(select(func.count()).where(condition))).scalar_one())


async def delete_in_batches(
    session: AsyncSession,
    condition: ColumnElement[bool],
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Deletes every matching session, committing after each batch; returns how many."""
    total = 0
    while True:
        found = select(S.id).where(condition).limit(batch).scalar_subquery()
        # Lock them in session_id order first, the order the write path locks the sessions
        # that ends change (ingest.writes): deleting in storage order could deadlock with it.
        locked = select(S.id).where(S.id.in_(found)).order_by(S.session_id).with_for_update()
        ids = list((await session.execute(locked)).scalars())
        n = 0
        if ids:
            result = await session.execute(delete(S).where(S.id.in_(ids)))
            n = int(result.rowcount or 0)  # type: ignore[attr-defined]
        await session.commit()
        total += n
        if progress and n:
            progress(n)
        if n < batch:
            return total
        await asyncio.sleep(0)  # let the server's other tasks in between batches


async def purge(
    session: AsyncSession,
    selector: Selector,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Deletes the selected sessions, then recounts the rollups of the days and content they
    were in, so that every analytics number agrees with what is left."""
    condition = selector.condition(utcnow())
    if dry_run:
        return await count(session, condition)
    span = await rebuild.session_days(session, condition)
    contents = list(
        (await session.execute(select(S.ar_content_id).where(condition).distinct())).scalars()
    )
    removed = await delete_in_batches(session, condition, progress=progress)
    if span is not None and contents:
        await rebuild.rebuild(session, *span, content_ids=contents)
    return removed


async def apply_retention(session: AsyncSession, retention_days: int) -> int:
    """Deletes sessions past the limit and the rollups of the hours and days they filled."""
    cutoff = utcnow() - timedelta(days=retention_days)
    removed = await delete_in_batches(session, S.created_at < cutoff)
    await rebuild.forget_before(session, cutoff)
    return removed
