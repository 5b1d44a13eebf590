"""What the original platform's viewer reports with ``?diagnose=1``, kept as daily counts.

The original only logged these events. Here they are counted per UTC day × content × stage ×
error × browser × OS, with the engine start time (``duration_ms``) as a sum, a count and a
coarse histogram, so the AR funnel can show how long the engine takes to start and which
errors stop it on which browsers. Raw events are never stored: the table's size is bounded by
its keys, and the service bounds the number of distinct stages and errors per day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base

# Upper edges (ms) of the start-time histogram; one more bucket holds everything slower.
DURATION_BUCKETS_MS = (1_000, 3_000, 10_000, 30_000)


class ARDiagnosticDaily(Base):
    __tablename__ = "ar_diagnostics_daily"
    __table_args__ = (Index(None, "company_id", "day"),)

    ar_content_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    error: Mapped[str] = mapped_column(String(100), primary_key=True)  # "" without an error
    browser: Mapped[str] = mapped_column(String(50), primary_key=True)  # "" when unknown
    os: Mapped[str] = mapped_column(String(50), primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger)
    company_id: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_count: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    ms_le_1000: Mapped[int] = mapped_column(BigInteger, default=0)
    ms_le_3000: Mapped[int] = mapped_column(BigInteger, default=0)
    ms_le_10000: Mapped[int] = mapped_column(BigInteger, default=0)
    ms_le_30000: Mapped[int] = mapped_column(BigInteger, default=0)
    ms_gt_30000: Mapped[int] = mapped_column(BigInteger, default=0)
