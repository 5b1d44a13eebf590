"""SQL for api_tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import APIToken


async def find_active_by_hash(session: AsyncSession, token_hash: str) -> APIToken | None:
    stmt = select(APIToken).where(APIToken.token_hash == token_hash, APIToken.revoked_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_active_admins(session: AsyncSession) -> int:
    stmt = select(func.count()).where(APIToken.role == "admin", APIToken.revoked_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def touch(session: AsyncSession, token_id: int, now: datetime) -> None:
    await session.execute(update(APIToken).where(APIToken.id == token_id).values(last_used_at=now))


async def add(session: AsyncSession, token: APIToken) -> APIToken:
    session.add(token)
    await session.flush()
    return token
