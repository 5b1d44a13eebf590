from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, UTCDateTime, utcnow


class DailySalt(Base):
    """The secret of one UTC day for IP and visitor hashes.

    Only today's and yesterday's exist: the retention of salts is what makes yesterday's
    hashes impossible to link to an address once the salt is gone.
    """

    __tablename__ = "daily_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
