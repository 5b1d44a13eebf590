"""The catalog as the write path sees it: content id / unique id → owners and trackability.

A start must not cost a database query just to find its content, so every process keeps the
whole mapping in memory. A background task checks a fingerprint of the three catalog tables
every ``refresh_seconds`` (2 s) and reloads when it changed, and reloads anyway every minute
(to catch edits made outside the API), so a deactivation stops tracking within seconds in
every worker. An id the cache does not know is looked up once in the database (it may be
seconds old) and, if unknown there too, remembered as unknown until the next reload, so
floods of made-up ids do not reach the database either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.ingest.repository import ContentRef, all_content, find_content
from arv_analytics.models import ARContent, Company, Project

log = logging.getLogger(__name__)
FULL_RELOAD_SECONDS = 60.0
_MISSING = object()


class ContentCache:
    def __init__(
        self, maker: async_sessionmaker[AsyncSession], refresh_seconds: float = 2.0
    ) -> None:
        self._maker = maker
        self._refresh = refresh_seconds
        self._by_id: dict[int, ContentRef | None] = {}
        self._by_uid: dict[uuid.UUID, ContentRef | None] = {}
        self._fingerprint: tuple[Any, ...] | None = None
        self._loaded_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.refresh(force=True)
        self._task = asyncio.create_task(self._loop(), name="arv-content-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def size(self) -> int:
        # A refresh fills both maps alike; a miss by one key adds to that map only.
        return max(len(self._by_id), len(self._by_uid))

    async def get(self, content_id: int | None, unique_id: uuid.UUID | None) -> ContentRef | None:
        # Look up by one key (the numeric id when given); the other, if any, must then agree.
        if content_id is not None:
            found = self._by_id.get(content_id, _MISSING)
        else:
            found = self._by_uid.get(unique_id, _MISSING) if unique_id is not None else None
        if found is _MISSING:
            async with self._maker() as session:
                if content_id is not None:
                    found = await find_content(session, content_id=content_id, unique_id=None)
                    self._by_id[content_id] = found
                else:
                    found = await find_content(session, content_id=None, unique_id=unique_id)
                    if unique_id is not None:
                        self._by_uid[unique_id] = found
        return _matching(found if isinstance(found, ContentRef) else None, content_id, unique_id)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            try:
                await self.refresh()
            except Exception as exc:  # the database is away: keep serving what we know
                log.warning("content cache refresh failed: %s", exc)

    async def refresh(self, force: bool = False) -> None:
        async with self._maker() as session:
            fingerprint = await _fingerprint(session)
            stale = time.monotonic() - self._loaded_at > FULL_RELOAD_SECONDS
            if not force and not stale and fingerprint == self._fingerprint:
                return
            refs = await all_content(session)
        self._by_id = {r.id: r for r in refs}
        self._by_uid = {r.unique_id: r for r in refs}
        self._fingerprint = fingerprint
        self._loaded_at = time.monotonic()


def _matching(
    ref: ContentRef | None, content_id: int | None, unique_id: uuid.UUID | None
) -> ContentRef | None:
    if ref is None:
        return None
    if content_id is not None and ref.id != content_id:
        return None
    if unique_id is not None and ref.unique_id != unique_id:
        return None
    return ref


async def _fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    stmt = select(
        *(
            select(func.count()).select_from(t).scalar_subquery()
            for t in (ARContent, Project, Company)
        ),
        *(select(func.max(t.updated_at)).scalar_subquery() for t in (ARContent, Project, Company)),
    )
    return tuple((await session.execute(stmt)).one())
