"""Rules of the write path: which content is trackable, idempotent starts, growing ends."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import InvalidInput, NotFound, SessionClosed
from arv_analytics.ingest import repository
from arv_analytics.ingest.schemas import MAX_USER_AGENT, EndEvent, EndResponse, StartEvent
from arv_analytics.models import utcnow


async def record_start(
    session: AsyncSession, event: StartEvent, *, header_user_agent: str | None
) -> uuid.UUID:
    """Stores one view and returns its session_id; a repeated session_id stores nothing."""
    if event.portrait_id is not None and event.ar_content_id not in (None, event.portrait_id):
        # Two ids that disagree name no content, as an id and a unique id that disagree do.
        raise NotFound("no ar content matches both portrait_id and ar_content_id")
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


async def record_end(
    session: AsyncSession,
    session_id: uuid.UUID,
    event: EndEvent,
    *,
    max_seconds: int,
    grace_seconds: int,
) -> EndResponse:
    """Raises the stored duration. A view can last at most ``max_seconds``; an end that
    arrives later than that (plus a grace for late beacons) after its start cannot be real,
    so it is refused rather than letting anyone rewrite old views."""
    if event.duration_seconds < 0:  # the schema already refuses this; kept as the rule's home
        raise InvalidInput("duration_seconds: must be >= 0")
    now = utcnow()
    open_after = now - timedelta(seconds=max_seconds + grace_seconds)
    result = await repository.apply_end(
        session,
        session_id,
        duration=whole_seconds(event.duration_seconds, max_seconds),
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
        now=now,
        started_after=open_after,
    )
    if result is None:
        if await repository.session_exists(session, session_id):
            raise SessionClosed(
                f"session {session_id} started more than {max_seconds + grace_seconds} s ago "
                "and no longer accepts ends or heartbeats"
            )
        raise NotFound(f"session {session_id} not found")
    duration, played = result
    return EndResponse(session_id=session_id, duration_seconds=duration, video_played=played)
