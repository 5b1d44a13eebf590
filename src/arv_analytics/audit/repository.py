"""SQL for audit_log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import AuditLog


async def add(session: AsyncSession, row: AuditLog) -> AuditLog:
    session.add(row)
    await session.flush()
    return row


async def page(
    session: AsyncSession, *, limit: int, offset: int = 0, action: str | None = None
) -> tuple[list[AuditLog], int]:
    """Newest first. ``action`` matches exactly, or a prefix when it ends with '.' or '*'."""
    stmt = select(AuditLog)
    if action:
        if action.endswith(("*", ".")):
            stmt = stmt.where(AuditLog.action.startswith(action.rstrip("*"), autoescape=True))
        else:
            stmt = stmt.where(AuditLog.action == action)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(stmt.order_by(AuditLog.id.desc()).limit(limit).offset(offset))
    return list(rows.scalars()), int(total)
