"""SQL for dashboard sessions and the names the dashboard's pages show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import APIToken, ARContent, Company, DashboardSession, Project


async def add(session: AsyncSession, row: DashboardSession) -> DashboardSession:
    session.add(row)
    await session.flush()
    return row


async def find_live(
    session: AsyncSession, session_hash: str, now: datetime
) -> tuple[DashboardSession, APIToken | None] | None:
    """The session with this hash if it is neither ended nor expired, and the token it was
    made from is neither revoked nor of a deactivated company."""
    stmt = (
        select(DashboardSession, APIToken)
        .outerjoin(APIToken, APIToken.id == DashboardSession.api_token_id)
        .outerjoin(Company, Company.id == DashboardSession.company_id)
        .where(
            DashboardSession.session_hash == session_hash,
            DashboardSession.ended_at.is_(None),
            DashboardSession.expires_at > now,
            or_(DashboardSession.api_token_id.is_(None), APIToken.revoked_at.is_(None)),
            or_(DashboardSession.company_id.is_(None), Company.is_active),
        )
    )
    found = (await session.execute(stmt)).one_or_none()
    return None if found is None else (found[0], found[1])


async def end(session: AsyncSession, session_hash: str, now: datetime) -> None:
    await session.execute(
        update(DashboardSession)
        .where(DashboardSession.session_hash == session_hash, DashboardSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def prune(session: AsyncSession, now: datetime) -> None:
    """Forget sessions that can no longer be used, so the table stays small."""
    await session.execute(
        delete(DashboardSession).where(
            or_(DashboardSession.expires_at <= now, DashboardSession.ended_at.is_not(None))
        )
    )


async def companies(session: AsyncSession) -> list[tuple[int, str]]:
    stmt = select(Company.id, Company.name).order_by(Company.name, Company.id)
    return [(int(i), str(n)) for i, n in (await session.execute(stmt)).all()]


async def project_of(session: AsyncSession, project_id: int) -> tuple[Project, Company] | None:
    stmt = (
        select(Project, Company)
        .join(Company, Company.id == Project.company_id)
        .where(Project.id == project_id)
    )
    found = (await session.execute(stmt)).one_or_none()
    return None if found is None else (found[0], found[1])


async def content_of(
    session: AsyncSession, content_id: int
) -> tuple[ARContent, Project, Company] | None:
    stmt = (
        select(ARContent, Project, Company)
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
        .where(ARContent.id == content_id)
    )
    found = (await session.execute(stmt)).one_or_none()
    return None if found is None else (found[0], found[1], found[2])
