from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.models.base import Base, BigIntKey, UTCDateTime, utcnow


class DashboardSession(Base):
    """A signed-in dashboard browser: the cookie holds a random value, this row its hash.

    The session keeps the role and company of the token it was made from, and the token's id,
    so revoking that token (or deactivating its company) also ends its sessions. Signing out
    sets ``ended_at``; the row stays until the retention job or a later sign-in prunes it.
    """

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Sent back by the page in a header on every API call and in every form: a cross-site
    # page cannot read it, so it cannot make the browser act with this session.
    csrf_token: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    company_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE")
    )
    # None for the bootstrap admin (ARV_ADMIN_TOKEN), which has no row.
    api_token_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
