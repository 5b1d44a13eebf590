"""All SQL of the write path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import ARContent, ARViewSession, Company, Project


@dataclass(frozen=True, slots=True)
class ContentRef:
    id: int
    unique_id: uuid.UUID
    project_id: int
    company_id: int
    trackable: bool


async def find_content(
    session: AsyncSession, *, content_id: int | None, unique_id: uuid.UUID | None
) -> ContentRef | None:
    """The content with its owners' ids, and whether it, its project and company are active."""
    stmt = (
        select(
            ARContent.id,
            ARContent.unique_id,
            ARContent.project_id,
            ARContent.company_id,
            and_(ARContent.is_active, Project.is_active, Company.is_active),
        )
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
    )
    if content_id is not None:
        stmt = stmt.where(ARContent.id == content_id)
    if unique_id is not None:
        stmt = stmt.where(ARContent.unique_id == unique_id)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return ContentRef(row[0], row[1], row[2], row[3], bool(row[4]))


async def insert_session_once(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Inserts a view unless its session_id exists; True when a row was written.

    ON CONFLICT DO NOTHING makes the unique index, not a prior SELECT, decide between
    concurrent duplicates.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(ARViewSession).values(**values).on_conflict_do_nothing(index_elements=["session_id"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def apply_end(
    session: AsyncSession,
    session_id: uuid.UUID,
    *,
    duration: int,
    tracking_quality: str | None,
    video_played: bool | None,
    now: datetime,
    started_after: datetime,
) -> tuple[int | None, bool] | None:
    """Raises the stored duration to ``duration`` (never lowers it) of a view that started
    after ``started_after``; None when there is no such view."""
    stored = ARViewSession.duration_seconds
    values: dict[str, Any] = {
        "duration_seconds": case(
            (stored.is_(None), duration), (stored < duration, duration), else_=stored
        ),
        "updated_at": now,
    }
    if tracking_quality is not None:
        values["tracking_quality"] = tracking_quality
    if video_played:
        # video_played never goes back from true, so only a true is ever written.
        values["video_played"] = True
    stmt = (
        update(ARViewSession)
        .where(ARViewSession.session_id == session_id, ARViewSession.created_at > started_after)
        .values(**values)
        .returning(ARViewSession.duration_seconds, ARViewSession.video_played)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], bool(row[1]))


async def session_exists(session: AsyncSession, session_id: uuid.UUID) -> bool:
    stmt = select(ARViewSession.id).where(ARViewSession.session_id == session_id)
    return (await session.execute(stmt)).first() is not None
