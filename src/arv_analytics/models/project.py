from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        # Slugs are per company; the index also serves "projects of company X".
        UniqueConstraint("company_id", "slug"),
        # Target of ar_content's composite foreign key, which pins content to its
        # project's company inside the database, not only in code.
        UniqueConstraint("id", "company_id"),
        Index(None, "updated_at"),
        Index(None, "legacy_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The original platform's id, for rows `arv-analytics import --url` created.
    legacy_id: Mapped[int | None] = mapped_column(BigInteger)
