"""SQL of the viewer pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import ARContent, Company, Project


@dataclass(frozen=True, slots=True)
class ViewerContent:
    id: int
    unique_id: uuid.UUID
    title: str
    marker_url: str | None
    video_url: str | None
    active: bool  # the content, its project and its company are all active


async def find_by_unique_id(session: AsyncSession, unique_id: uuid.UUID) -> ViewerContent | None:
    stmt = (
        select(
            ARContent.id,
            ARContent.unique_id,
            ARContent.title,
            ARContent.marker_url,
            ARContent.video_url,
            and_(ARContent.is_active, Project.is_active, Company.is_active),
        )
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
        .where(ARContent.unique_id == unique_id)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return ViewerContent(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


async def first_viewable(session: AsyncSession) -> uuid.UUID | None:
    """The unique_id of the oldest content the viewer can show, for the start-up banner."""
    stmt = (
        select(ARContent.unique_id)
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
        .where(
            ARContent.is_active,
            Project.is_active,
            Company.is_active,
            ARContent.marker_url.is_not(None),
            ARContent.video_url.is_not(None),
        )
        .order_by(ARContent.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
