"""Rules of the write path: which content is trackable, idempotent starts, growing ends.

Both writes go through the write buffer (group commit) unless ``ARV_INGEST_MODE=naive``,
which keeps the seed's one-INSERT-one-COMMIT-per-request path for benchmark comparisons.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arv_analytics.db_retry import retry_transient
from arv_analytics.errors import NotFound
from arv_analytics.ingest import repository
from arv_analytics.ingest.buffer import WriteBuffer
from arv_analytics.ingest.catalog_cache import ContentCache
from arv_analytics.ingest.enrichment import Enricher
from arv_analytics.ingest.merge import EndChange
from arv_analytics.ingest.rules import whole_seconds
from arv_analytics.ingest.schemas import EndReport, EndResponse, StartEvent, TrackerFigures
from arv_analytics.ingest.sources import source_columns
from arv_analytics.ingest.writes import (
    EndWrite,
    Rules,
    SessionSink,
    StartWrite,
    Write,
    apply_batch,
)
from arv_analytics.models import utcnow


@dataclass(frozen=True, slots=True)
class StartResult:
    session_id: uuid.UUID
    stored: bool  # False when a bot was dropped (ARV_STORE_BOTS=false)
    created: bool = False  # True when this start stored the row; False for a repeat


class Ingest:
    """The write path of one process: content lookup, enrichment, and the writes."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        enricher: Enricher,
        *,
        cache: ContentCache | None,
        buffer: WriteBuffer | None,
        store_bots: bool,
        max_session_seconds: int,
        end_grace_seconds: int,
        sink: SessionSink | None = None,
    ) -> None:
        self._maker = maker
        self._enricher = enricher
        self._cache = cache
        self._buffer = buffer
        self._store_bots = store_bots
        self._max_seconds = max_session_seconds
        # The naive path is the seed's design: no rollups, one transaction per request.
        self._naive_rules = Rules(
            rollups=False, end_window_seconds=max_session_seconds + end_grace_seconds, sink=sink
        )

    @property
    def enricher(self) -> Enricher:
        return self._enricher

    async def _content(self, event: StartEvent) -> repository.ContentRef:
        if isinstance(event.portrait_id, int) and event.ar_content_id not in (
            None,
            event.portrait_id,
        ):
            # Two ids that disagree name no content, as an id and a unique id that disagree do.
            raise NotFound("no ar content matches both portrait_id and ar_content_id")
        if isinstance(event.portrait_id, uuid.UUID) and event.ar_content_unique_id not in (
            None,
            event.portrait_id,
        ):
            raise NotFound("no ar content matches both portrait_id and ar_content_unique_id")
        return await self.find_content(event.content_id, event.unique_id)

    async def find_content(
        self, content_id: int | None, unique_id: uuid.UUID | None
    ) -> repository.ContentRef:
        """The trackable content with these ids (both must match when both are given)."""
        if self._cache is not None:
            ref = await self._cache.get(content_id, unique_id)
        else:
            async with self._maker() as session:
                ref = await repository.find_content(
                    session, content_id=content_id, unique_id=unique_id
                )
        if ref is None:
            if content_id is not None and unique_id is not None:
                # Either id alone may exist; say which combination failed.
                raise NotFound("no ar content matches both the given id and unique id")
            raise NotFound("ar content not found")
        if not ref.trackable:
            raise NotFound("ar content is not active")
        return ref

    async def start(
        self, event: StartEvent, *, ip: str | None, header_user_agent: str | None
    ) -> StartResult:
        """Stores one view; a repeated session_id stores nothing and answers the same."""
        ref = await self._content(event)
        session_id = event.session_id or uuid.uuid4()
        found = await self._enricher.enrich(
            event, ip=ip, header_user_agent=header_user_agent, company_id=ref.company_id
        )
        if found.is_bot and not self._store_bots:
            return StartResult(session_id, stored=False)
        now = utcnow()
        row = {
            "ar_content_id": ref.id,
            "project_id": ref.project_id,
            "company_id": ref.company_id,
            "session_id": session_id,
            **found.columns(),
            "tracking_quality": event.tracking_quality,
            "video_played": event.video_played,
            **tracker_figures(event, duration=None, max_seconds=self._max_seconds),
            **source_columns(event),
            "created_at": now,
            "updated_at": now,
        }
        if self._buffer is not None:
            created = await self._buffer.start_session(row)
        else:
            created = await self._naive(StartWrite(row=row))
        return StartResult(session_id, stored=True, created=created)

    async def end(self, session_id: uuid.UUID, event: EndReport) -> EndResponse:
        duration = (
            whole_seconds(event.duration_seconds, self._max_seconds)
            if event.duration_seconds is not None
            else None  # the original platform's update may leave the duration out
        )
        change = EndChange(
            session_id,
            {
                "duration_seconds": duration,
                "tracking_quality": event.tracking_quality,
                "video_played": event.video_played,
                **tracker_figures(event, duration=duration, max_seconds=self._max_seconds),
            },
        )
        if self._buffer is not None:
            stored = await self._buffer.end_session(change)
        else:
            stored = await self._naive(EndWrite(change=change))
        return EndResponse(session_id=session_id, **stored)

    async def _naive(self, write: Write) -> Any:
        """One write, one transaction, one commit: the seed's design, for comparisons."""

        async def transaction() -> Any:
            async with self._maker() as session:
                [result] = await apply_batch(session, [write], self._naive_rules)
                await session.commit()
            return result

        result = await retry_transient(transaction, what="naive write")
        if isinstance(result, BaseException):
            raise result
        return result


def whole_millis(value: float | None, max_seconds: int) -> int | None:
    """Rounds to the nearest millisecond and clamps to the configured maximum session."""
    if value is None:
        return None
    return min(int(value + 0.5), max_seconds * 1000)


def tracker_figures(
    event: TrackerFigures, *, duration: int | None, max_seconds: int
) -> dict[str, int | str | None]:
    """The tracker's figures as stored: whole units, clamped like the duration.

    Tracked time is part of visible time, so it never exceeds the duration of the same report.
    """
    tracked = None
    if event.tracked_seconds is not None:
        tracked = whole_seconds(event.tracked_seconds, max_seconds)
        if duration is not None:
            tracked = min(tracked, duration)
    return {
        "time_to_first_found_ms": whole_millis(event.time_to_first_found_ms, max_seconds),
        "tracked_seconds": tracked,
        "target_losses": event.target_losses,
        "camera_outcome": event.camera_outcome,
        "camera_ms": whole_millis(event.camera_ms, max_seconds),
        "engine_error": event.engine_error,
        "video_start_ms": whole_millis(event.video_start_ms, max_seconds),
    }
