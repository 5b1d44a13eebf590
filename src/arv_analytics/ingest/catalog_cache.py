"""The catalog as the write path sees it: content id / unique id → owners and trackability.

A start must not cost a database query just to find its content, so every process keeps the
whole mapping in memory. Keeping it current costs what changed, not what exists: every
``refresh_seconds`` (2 s) the cache reads the rows whose ``updated_at`` (indexed) is recent,
plus the content of recently changed projects and companies, so a deactivation stops tracking
within seconds in every worker. A content change made through this process is put into the
cache directly (``changed``, with the row as its transaction committed it), so that the API
call that made it costs no refresh; a project, company or bulk change refreshes at once.

Why the window reaches back ``LAG`` before the previous read started: ``updated_at`` is
stamped when a row is written, not when its transaction commits, so a row can become visible
after a read with a stamp from before it (this assumes commits follow their stamps, and the
hosts' clocks agree, within ``LAG``). The window is anchored on the clock at the previous
read, not on the newest stamp seen: after a bulk import, a window anchored on its stamps
would read the whole import again at every refresh until the next change. Edits made outside
the application (plain SQL that leaves ``updated_at`` alone, deleted rows) are caught by a
full reload every ``FULL_RELOAD_SECONDS``, read in pages so that it never holds the event loop
for long.

An id the cache does not know is looked up once in the database (it may be seconds old) and,
if unknown there too, remembered as unknown, so floods of made-up ids do not reach the
database either; at most ``unknown_max`` of them are remembered (the oldest are forgotten).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.catalog import repository as catalog
from arv_analytics.ingest.repository import ContentRef, find_content

log = logging.getLogger(__name__)
FULL_RELOAD_SECONDS = 600.0
LAG = timedelta(seconds=10)
PAGE = 1_000
UNKNOWN_MAX = 10_000


class ContentCache:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        refresh_seconds: float = 2.0,
        *,
        unknown_max: int = UNKNOWN_MAX,
    ) -> None:
        self._maker = maker
        self._refresh = refresh_seconds
        self._unknown_max = unknown_max
        self._by_id: dict[int, ContentRef] = {}
        self._by_uid: dict[uuid.UUID, ContentRef] = {}
        # Ids (numeric or public) known to be unknown, oldest first.
        self._unknown: OrderedDict[int | uuid.UUID, None] = OrderedDict()
        # Start of the previous read (this host's clock): the next one reads from LAG before it.
        self._read_from: datetime | None = None
        self._loaded_at = 0.0
        # Direct puts (``changed``) by content id, numbered, so that a refresh whose reading
        # began before a put does not overwrite it with the row as it was before.
        self._puts = 0
        self._put_at: dict[int, int] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(contents known, ids remembered as unknown)."""
        return len(self._by_id), len(self._unknown)

    async def start(self) -> None:
        await self.refresh(force=True)
        self._task = asyncio.create_task(self._loop(), name="arv-content-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def get(self, content_id: int | None, unique_id: uuid.UUID | None) -> ContentRef | None:
        # Look up by one key (the numeric id when given); the other, if any, must then agree.
        key: int | uuid.UUID | None = content_id if content_id is not None else unique_id
        if key is None:
            return None
        found = self._by_id.get(key) if isinstance(key, int) else self._by_uid.get(key)
        if found is None and key not in self._unknown:
            async with self._maker() as session:
                if isinstance(key, int):
                    found = await find_content(session, content_id=key, unique_id=None)
                else:
                    found = await find_content(session, content_id=None, unique_id=key)
            if found is None:
                self._remember_unknown(key)
            else:
                self._put(found)
        return _matching(found, content_id, unique_id)

    def _remember_unknown(self, key: int | uuid.UUID) -> None:
        self._unknown[key] = None
        while len(self._unknown) > self._unknown_max:
            self._unknown.popitem(last=False)

    async def changed(self, refs: list[ContentRef] | None) -> None:
        """A catalog change committed through this process: ``refs`` are the content it
        changed, as committed; None (a project, a company, many rows) reads what changed."""
        if refs is None:
            await self.refresh()
            return
        for ref in refs:
            self._puts += 1
            self._put_at[ref.id] = self._puts
            self._put(ref)

    def _put(self, ref: ContentRef) -> None:
        self._by_id[ref.id] = ref
        self._by_uid[ref.unique_id] = ref
        self._unknown.pop(ref.id, None)
        self._unknown.pop(ref.unique_id, None)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh)
            try:
                await self.refresh()
            except Exception as exc:  # the database is away: keep serving what we know
                log.warning("content cache refresh failed: %s", exc)

    async def refresh(self, force: bool = False) -> None:
        """What changed since the last refresh; everything when forced or when the last full
        reload is older than FULL_RELOAD_SECONDS."""
        async with self._lock:
            stale = time.monotonic() - self._loaded_at > FULL_RELOAD_SECONDS
            puts = self._puts
            if force or stale or self._read_from is None:
                await self._reload_all(puts)
            else:
                await self._reload_changed(self._read_from, puts)
            # Puts made before this read began are in what it read.
            self._put_at = {k: n for k, n in self._put_at.items() if n > puts}

    def _newer_put(self, content_id: int, puts: int) -> bool:
        return self._put_at.get(content_id, 0) > puts

    async def _reload_changed(self, read_from: datetime, puts: int) -> None:
        started = datetime.now(UTC)
        async with self._maker() as session:
            refs = await catalog.content_changed_since(session, read_from - LAG)
        for ref in refs:
            if not self._newer_put(ref.id, puts):
                self._put(ref)
        self._read_from = started

    async def _reload_all(self, puts: int) -> None:
        by_id: dict[int, ContentRef] = {}
        by_uid: dict[uuid.UUID, ContentRef] = {}
        started = datetime.now(UTC)
        async with self._maker() as session:
            after = 0
            while True:
                page = await catalog.content_page(session, after=after, limit=PAGE)
                by_id.update((r.id, r) for r in page)
                by_uid.update((r.unique_id, r) for r in page)
                if len(page) < PAGE:
                    break
                after = page[-1].id
                await asyncio.sleep(0)  # let requests run between pages
        for content_id, n in self._put_at.items():
            if n > puts and content_id in self._by_id:
                ref = self._by_id[content_id]
                by_id[content_id] = ref
                by_uid[ref.unique_id] = ref
        self._by_id = by_id
        self._by_uid = by_uid
        self._unknown.clear()
        self._read_from = started
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
