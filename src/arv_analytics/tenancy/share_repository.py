"""SQL for share_links and share_sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import Company, ShareLink, ShareSession


def _live(now: datetime) -> list[Any]:
    """A link works while it is not revoked, not expired and its company is active."""
    return [
        ShareLink.revoked_at.is_(None),
        or_(ShareLink.expires_at.is_(None), ShareLink.expires_at > now),
        Company.is_active,
    ]


async def find_live(session: AsyncSession, secret_hash: str, now: datetime) -> ShareLink | None:
    stmt = (
        select(ShareLink)
        .join(Company, Company.id == ShareLink.company_id)
        .where(ShareLink.secret_hash == secret_hash, *_live(now))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_live_session(
    session: AsyncSession, session_hash: str, link_id: int, now: datetime
) -> tuple[ShareSession, ShareLink] | None:
    """The session with this hash, made from this link, while both are live."""
    stmt = (
        select(ShareSession, ShareLink)
        .join(ShareLink, ShareLink.id == ShareSession.share_link_id)
        .join(Company, Company.id == ShareLink.company_id)
        .where(
            ShareSession.session_hash == session_hash,
            ShareSession.share_link_id == link_id,
            ShareSession.expires_at > now,
            *_live(now),
        )
    )
    found = (await session.execute(stmt)).one_or_none()
    return None if found is None else (found[0], found[1])


async def add(session: AsyncSession, row: ShareLink | ShareSession) -> None:
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, link_id: int) -> ShareLink | None:
    return await session.get(ShareLink, link_id)


async def page(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    include_revoked: bool,
    company_id: int | None,
    project_id: int | None,
) -> tuple[list[ShareLink], int]:
    stmt: Select[Any] = select(ShareLink)
    if not include_revoked:
        stmt = stmt.where(ShareLink.revoked_at.is_(None))
    if company_id is not None:
        stmt = stmt.where(ShareLink.company_id == company_id)
    if project_id is not None:
        stmt = stmt.where(ShareLink.project_id == project_id)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(ShareLink.id.desc()).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)


async def end_sessions(session: AsyncSession, link_id: int) -> None:
    await session.execute(delete(ShareSession).where(ShareSession.share_link_id == link_id))


async def prune_sessions(session: AsyncSession, now: datetime) -> None:
    """Forget sessions that can no longer be used, so the table stays small."""
    await session.execute(delete(ShareSession).where(ShareSession.expires_at <= now))
