"""Who is calling: resolves a bearer token to a principal, and creates tokens."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.errors import Unauthorized
from arv_analytics.models import APIToken, utcnow
from arv_analytics.tenancy import repository
from arv_analytics.tenancy.tokens import generate_token, hash_token

# last_used_at is informational; writing it on every read would turn reads into writes.
_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    role: str  # "admin" or "company"
    company_id: int | None = None
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ADMIN = Principal(role="admin")


async def authenticate(
    session: AsyncSession, token: str | None, bootstrap_admin_token: str | None
) -> Principal:
    if not token:
        raise Unauthorized("missing bearer token")
    if bootstrap_admin_token and hmac.compare_digest(
        token.encode("utf-8"), bootstrap_admin_token.encode("utf-8")
    ):
        return ADMIN
    row = await repository.find_active_by_hash(session, hash_token(token))
    if row is None:
        raise Unauthorized("invalid or revoked token")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_INTERVAL:
        await repository.touch(session, row.id, now)
        await session.commit()
    return Principal(role=row.role, company_id=row.company_id, token_id=row.id)


async def create_token(
    session: AsyncSession, *, name: str, role: str, company_id: int | None = None
) -> tuple[APIToken, str]:
    """Returns the stored row and the clear token, which is shown once and never stored."""
    value = generate_token()
    row = await repository.add(
        session,
        APIToken(name=name, token_hash=hash_token(value), role=role, company_id=company_id),
    )
    return row, value


async def ensure_bootstrap_admin(session: AsyncSession) -> str | None:
    """On the first start without ARV_ADMIN_TOKEN, make an admin token; None if one exists."""
    if await repository.count_active_admins(session) > 0:
        return None
    _, value = await create_token(session, name="bootstrap admin", role="admin")
    return value
