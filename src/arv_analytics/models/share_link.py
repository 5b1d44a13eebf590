from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow


class ShareLink(Base):
    """A read-only dashboard link for one company or one of its projects.

    The link's secret lives only in the URL handed out: this row keeps its SHA-256 (256 random
    bits need no slow hash) and, when the link has a password, a scrypt hash of that password
    (a person's password does). Revoking sets ``revoked_at``; the row stays for the record.
    """

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    # None: the whole company; set: only this project of that company.
    project_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("projects.id", ondelete="CASCADE")
    )
    password_hash: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShareSession(Base):
    """A browser that opened a share link (and gave its password, if it has one).

    The cookie holds a random value, this row its hash. Revoking or expiring the link ends
    every session made from it at once: a session is only live while its link is.
    """

    __tablename__ = "share_sessions"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    share_link_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("share_links.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
