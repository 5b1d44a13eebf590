from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow


class Company(Base):
    __tablename__ = "companies"
    # updated_at: the content cache's incremental refresh asks "changed since T".
    __table_args__ = (Index(None, "updated_at"), Index(None, "legacy_id", unique=True))

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The original platform's id, for rows `arv-analytics import --url` created.
    legacy_id: Mapped[int | None] = mapped_column(BigInteger)
