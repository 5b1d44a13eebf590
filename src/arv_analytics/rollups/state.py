"""Whether the stored rollups were counted with the current layout (rollup_state.version).

A migration that changes what the rollups hold sets the version to 0 when sessions exist;
a full recount sets it back to CURRENT. Until then the engine answers from raw sessions.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import RollupState

# 2: migration 0011 (NULL counters; hours and breakdowns at shared levels)
# 3: migration 0014 (hour and per-property day rows for projects too)
CURRENT = 3


async def is_current(session: AsyncSession) -> bool:
    version = (
        await session.execute(select(RollupState.version).where(RollupState.id == 1))
    ).scalar_one_or_none()
    return version is not None and version >= CURRENT


async def mark_current(session: AsyncSession) -> None:
    await session.execute(update(RollupState).where(RollupState.id == 1).values(version=CURRENT))
