from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow
from arv_analytics.vocabulary import CAMERA_OUTCOMES, TRACKING_QUALITIES

__all__ = ["CAMERA_OUTCOMES", "TRACKING_QUALITIES", "ARViewSession"]


class ARViewSession(Base):
    """One view: a viewer page load that sent a start event (the seed's table, kept whole).

    Every seed column keeps its type, length and nullability. Added: ``updated_at`` (when an
    end or heartbeat last changed the row), the tracker's figures (migration 0002), ``is_bot``
    (crawler or automation, excluded from analytics by default) and ``visitor_hash`` (64 bits
    of a keyed hash of daily salt, IP, user agent and company; the salt changes daily, so it
    only ever identifies a visitor within one UTC day). ``video_played`` and ``created_at``
    carry the seed's defaults and are NOT NULL because nothing ever writes NULL into them.
    """

    __tablename__ = "ar_view_sessions"
    __table_args__ = (
        # The seed's (company_id, created_at) and the per-project/per-content windows.
        # (ar_content_id, created_at) also covers the seed's ar_content_id index as its prefix.
        Index(None, "company_id", "created_at"),
        Index(None, "project_id", "created_at"),
        Index(None, "ar_content_id", "created_at"),
        # The all-companies overview window (and, later, retention by age).
        Index(None, "created_at"),
        # Realtime: sessions with a start or heartbeat in the last minutes.
        Index(None, "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    ar_content_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ar_content.id", ondelete="RESTRICT")
    )
    project_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("projects.id", ondelete="RESTRICT")
    )
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="RESTRICT")
    )
    # Nullable as in the seed, but always set by this service and unique: it is the
    # idempotency key of a start, enforced by the database.
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    user_agent: Mapped[str | None] = mapped_column(String)
    device_type: Mapped[str | None] = mapped_column(String(50))
    browser: Mapped[str | None] = mapped_column(String(100))
    os: Mapped[str | None] = mapped_column(String(100))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    tracking_quality: Mapped[str | None] = mapped_column(String(50))
    video_played: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The tracker's figures, all over visible time only, NULL when the viewer never reported
    # them (older trackers, pages without AR). The first is set once; the other two only grow,
    # like duration_seconds, so heartbeats and a late beacon can arrive in any order.
    time_to_first_found_ms: Mapped[int | None] = mapped_column(Integer)
    tracked_seconds: Mapped[int | None] = mapped_column(Integer)
    target_losses: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_bot: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    visitor_hash: Mapped[int | None] = mapped_column(BigInteger)
    # Where the view came from (migration 0006): the viewer URL's utm_* parameters, its short
    # ``src`` parameter naming the printed placement, and the referrer's host. Set by the start.
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    placement: Mapped[str | None] = mapped_column(String(100))
    referrer_host: Mapped[str | None] = mapped_column(String(100))
    # How the AR start went: the camera permission's outcome (CAMERA_OUTCOMES; the latest
    # report wins), visible ms from opening until it was known (set once), the AR engine's
    # start failure if any (set once), and visible ms until the video first played (set once).
    camera_outcome: Mapped[str | None] = mapped_column(String(16))
    camera_ms: Mapped[int | None] = mapped_column(Integer)
    engine_error: Mapped[str | None] = mapped_column(String(100))
    video_start_ms: Mapped[int | None] = mapped_column(Integer)
