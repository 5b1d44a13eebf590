"""All SQL of the write path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, update
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


def _grown(column: Any, value: int) -> Any:
    """The larger of the stored and the sent value: the column never goes down."""
    return case((column.is_(None), value), (column < value, value), else_=column)


async def apply_end(
    session: AsyncSession,
    session_id: uuid.UUID,
    *,
    duration: int,
    tracking_quality: str | None,
    video_played: bool | None,
    figures: dict[str, int | None],
    now: datetime,
) -> dict[str, Any] | None:
    """Raises the stored duration and tracker figures; None for an unknown session.

    Returns the stored values after the update.
    """
    s = ARViewSession
    values: dict[str, Any] = {"duration_seconds": _grown(s.duration_seconds, duration)}
    if tracking_quality is not None:
        values["tracking_quality"] = tracking_quality
    if video_played:
        # video_played never goes back from true, so only a true is ever written.
        values["video_played"] = True
    if figures["tracked_seconds"] is not None:
        values["tracked_seconds"] = _grown(s.tracked_seconds, figures["tracked_seconds"])
    if figures["target_losses"] is not None:
        values["target_losses"] = _grown(s.target_losses, figures["target_losses"])
    if figures["time_to_first_found_ms"] is not None:
        # Set once: the first report of the first find wins.
        values["time_to_first_found_ms"] = func.coalesce(
            s.time_to_first_found_ms, figures["time_to_first_found_ms"]
        )
    values["updated_at"] = now
    returned = (
        s.duration_seconds,
        s.video_played,
        s.tracked_seconds,
        s.target_losses,
        s.time_to_first_found_ms,
    )
    stmt = update(s).where(s.session_id == session_id).values(**values).returning(*returned)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    stored = dict(zip((c.key for c in returned), row, strict=True))
    stored["video_played"] = bool(stored["video_played"])
    return stored
