from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow


class APIToken(Base):
    """A bearer token, stored only as the SHA-256 of its value.

    Tokens are 256-bit random strings, so a fast hash is enough: there is nothing to
    brute-force, and a lookup by hash never compares secrets byte by byte.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # "admin" or "company"
    company_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
