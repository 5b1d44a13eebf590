from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Uuid,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow


class ARContent(Base):
    """A printed target plus its video; ``unique_id`` is the public id used in viewer URLs."""

    __tablename__ = "ar_content"
    __table_args__ = (
        ForeignKeyConstraint(
            ["project_id", "company_id"],
            ["projects.id", "projects.company_id"],
            name="fk_ar_content_project_company",
            ondelete="RESTRICT",
        ),
        # A project's or company's content in id order (list pages), and the foreign keys.
        Index(None, "project_id", "id"),
        Index(None, "company_id", "id"),
        Index(None, "updated_at"),
        # Lists filtered on the active flag, in id order: inactive content is rare, and
        # without this a page of it walks the whole primary key.
        Index(None, "is_active", "id"),
        # ?q= title searches on PostgreSQL (pg_trgm; created by migration 0007 when the
        # extension can be), so that they and their counts need no scan.
        Index(
            "ix_ar_content_title_trgm",
            text("lower(title)"),
            postgresql_using="gin",
            postgresql_ops={"lower(title)": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    unique_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    project_id: Mapped[int] = mapped_column(BigInteger)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="RESTRICT")
    )
    title: Mapped[str] = mapped_column(String(255))
    video_url: Mapped[str | None] = mapped_column(String(2048))
    marker_url: Mapped[str | None] = mapped_column(String(2048))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
