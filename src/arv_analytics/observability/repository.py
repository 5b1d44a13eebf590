"""The SQL that readiness needs."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def schema_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    row = (await session.execute(text("SELECT version_num FROM alembic_version"))).first()
    return None if row is None else str(row[0])
