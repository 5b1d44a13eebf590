"""SQL for api_tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import APIToken, Company


async def find_usable_by_hash(session: AsyncSession, token_hash: str) -> APIToken | None:
    """The token with this hash unless it is revoked or its company is deactivated."""
    stmt = (
        select(APIToken)
        .outerjoin(Company, Company.id == APIToken.company_id)
        .where(
            APIToken.token_hash == token_hash,
            APIToken.revoked_at.is_(None),
            or_(APIToken.company_id.is_(None), Company.is_active),
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_active_admins(session: AsyncSession) -> int:
    stmt = select(func.count()).where(APIToken.role == "admin", APIToken.revoked_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def touch(session: AsyncSession, token_id: int, now: datetime) -> None:
    await session.execute(update(APIToken).where(APIToken.id == token_id).values(last_used_at=now))


async def add(session: AsyncSession, token: APIToken) -> APIToken:
    session.add(token)
    await session.flush()
    await session.refresh(token)
    return token


async def get(session: AsyncSession, token_id: int) -> APIToken | None:
    return await session.get(APIToken, token_id)


async def page(
    session: AsyncSession,
    *,
    limit: int,
    offset: int = 0,
    include_revoked: bool = False,
    company_id: int | None = None,
) -> tuple[list[APIToken], int]:
    stmt: Select[Any] = select(APIToken)
    if not include_revoked:
        stmt = stmt.where(APIToken.revoked_at.is_(None))
    if company_id is not None:
        stmt = stmt.where(APIToken.company_id == company_id)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(APIToken.id).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)
