"""Rules of the write path: which content is trackable, idempotent starts, growing ends."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import InvalidInput, NotFound
from arv_analytics.ingest import repository
from arv_analytics.ingest.schemas import (
    MAX_USER_AGENT,
    EndEvent,
    EndResponse,
    StartEvent,
    TrackerFigures,
)
from arv_analytics.models import utcnow


async def record_start(
    session: AsyncSession,
    event: StartEvent,
    *,
    header_user_agent: str | None,
    max_seconds: int,
) -> uuid.UUID:
    """Stores one view and returns its session_id; a repeated session_id stores nothing."""
    ref = await repository.find_content(
        session, content_id=event.content_id, unique_id=event.ar_content_unique_id
    )
    if ref is None:
        if event.content_id is not None and event.ar_content_unique_id is not None:
            # Either id alone may exist; say which combination failed.
            raise NotFound("no ar content matches both the given id and unique id")
        raise NotFound("ar content not found")
    if not ref.trackable:
        raise NotFound("ar content is not active")
    session_id = event.session_id or uuid.uuid4()
    user_agent = event.user_agent or (header_user_agent or "")[:MAX_USER_AGENT] or None
    now = utcnow()
    await repository.insert_session_once(
        session,
        {
            "ar_content_id": ref.id,
            "project_id": ref.project_id,
            "company_id": ref.company_id,
            "session_id": session_id,
            "user_agent": user_agent,
            "device_type": event.device_type,
            "browser": event.browser,
            "os": event.os,
            "tracking_quality": event.tracking_quality,
            "video_played": event.video_played,
            **tracker_figures(event, duration=None, max_seconds=max_seconds),
            "created_at": now,
            "updated_at": now,
        },
    )
    return session_id


def whole_seconds(value: float, maximum: int) -> int:
    """Rounds to the nearest second and clamps to the configured maximum."""
    if value >= maximum:
        return maximum
    return int(value + 0.5)


def tracker_figures(
    event: TrackerFigures, *, duration: int | None, max_seconds: int
) -> dict[str, int | None]:
    """The tracker's figures as stored: whole units, clamped like the duration.

    Tracked time is part of visible time, so it never exceeds the duration of the same report.
    """
    tracked = None
    if event.tracked_seconds is not None:
        tracked = whole_seconds(event.tracked_seconds, max_seconds)
        if duration is not None:
            tracked = min(tracked, duration)
    first_found = None
    if event.time_to_first_found_ms is not None:
        first_found = min(int(event.time_to_first_found_ms + 0.5), max_seconds * 1000)
    return {
        "time_to_first_found_ms": first_found,
        "tracked_seconds": tracked,
        "target_losses": event.target_losses,
    }


async def record_end(
    session: AsyncSession, session_id: uuid.UUID, event: EndEvent, *, max_seconds: int
) -> EndResponse:
    if event.duration_seconds < 0:  # the schema already refuses this; kept as the rule's home
        raise InvalidInput("duration_seconds: must be >= 0")
    duration = whole_seconds(event.duration_seconds, max_seconds)
    stored = await repository.apply_end(
        session,
        session_id,
        duration=duration,
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
        figures=tracker_figures(event, duration=duration, max_seconds=max_seconds),
        now=utcnow(),
    )
    if stored is None:
        raise NotFound(f"session {session_id} not found")
    return EndResponse(session_id=session_id, **stored)
