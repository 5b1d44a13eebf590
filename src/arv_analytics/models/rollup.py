"""Pre-aggregated tables that answer the analytics endpoints.

They are kept exact by the write path itself: the transaction that stores a start or applies
an end also adds its change to these rows, so a rollup never lags behind, or disagrees with,
the raw table. `arv-analytics rollup` recomputes any range from the raw rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, UTCDateTime


class RollupHourly(Base):
    """Additive figures per UTC hour × content × bot flag."""

    __tablename__ = "rollup_hourly"
    __table_args__ = (
        Index(None, "company_id", "hour"),
        Index(None, "project_id", "hour"),
        Index(None, "hour"),
    )

    ar_content_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    is_bot: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger)
    company_id: Mapped[int] = mapped_column(BigInteger)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    sessions: Mapped[int] = mapped_column(BigInteger, default=0)  # views with a session_id
    duration_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_count: Mapped[int] = mapped_column(BigInteger, default=0)
    video_plays: Mapped[int] = mapped_column(BigInteger, default=0)
    q_none: Mapped[int] = mapped_column(BigInteger, default=0)
    q_poor: Mapped[int] = mapped_column(BigInteger, default=0)
    q_fair: Mapped[int] = mapped_column(BigInteger, default=0)
    q_good: Mapped[int] = mapped_column(BigInteger, default=0)
    q_unknown: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sum and count of each tracker figure over the views that reported it, for averages.
    first_found_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    first_found_count: Mapped[int] = mapped_column(BigInteger, default=0)
    tracked_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    tracked_count: Mapped[int] = mapped_column(BigInteger, default=0)
    losses_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    losses_count: Mapped[int] = mapped_column(BigInteger, default=0)


# Session column → prefix of its sum/count pair in rollup_hourly.
TRACKER_FIGURES = {
    "time_to_first_found_ms": "first_found",
    "tracked_seconds": "tracked",
    "target_losses": "losses",
}


class RollupHourlyDimension(Base):
    """Views per UTC hour × content × bot flag × (device_type | browser | os | country) value."""

    __tablename__ = "rollup_hourly_dims"

    ar_content_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    is_bot: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupDailyVisitors(Base):
    """Unique visitors per UTC day × level (company, project, content) × entity.

    ``humans`` counts visitors among non-bot views, ``everyone`` among all views.
    """

    __tablename__ = "rollup_daily_visitors"

    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    humans: Mapped[int] = mapped_column(Integer, default=0)
    everyone: Mapped[int] = mapped_column(Integer, default=0)


class VisitorKey(Base):
    """Which visitors today's (and yesterday's) counters have already counted.

    Only needed while a day can still receive views; the salts job deletes older keys, so the
    table holds about two days of visitors, not the whole history.
    """

    __tablename__ = "visitor_keys"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "humans" or "everyone"
    visitor_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
