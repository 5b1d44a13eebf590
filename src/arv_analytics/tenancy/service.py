"""Who is calling: resolves a bearer token to a principal; creates, lists and revokes tokens."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.audit.service import Actor
from arv_analytics.catalog.service import get_or_404
from arv_analytics.errors import NotFound, Unauthorized
from arv_analytics.models import APIToken, Company, utcnow
from arv_analytics.tenancy import repository
from arv_analytics.tenancy.tokens import generate_token, hash_token, same_hash

# last_used_at is informational; writing it on every read would turn reads into writes.
_TOUCH_INTERVAL = timedelta(minutes=1)

Role = Literal["admin", "company"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a protected route: its role, its company scope and who to audit."""

    role: str  # "admin", "company" or "share" (a share link's visitor; analytics reads only)
    actor: Actor
    company_id: int | None = None  # set for company tokens: the only company they may see
    # Set for a project share link: the only project it may see (the engine folds it into
    # every question, see analytics/query.py).
    project_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


BOOTSTRAP_ADMIN = Principal(role="admin", actor=audit.BOOTSTRAP)


async def authenticate(
    session: AsyncSession, token: str | None, bootstrap_admin_token: str | None
) -> Principal:
    # The details never repeat the token: error bodies end up in logs and bug reports.
    if not token:
        raise Unauthorized("missing bearer token")
    if bootstrap_admin_token and hmac.compare_digest(
        token.encode("utf-8"), bootstrap_admin_token.encode("utf-8")
    ):
        return BOOTSTRAP_ADMIN
    digest = hash_token(token)
    # The lookup compares hashes, not tokens, so its timing tells nothing about a token;
    # the second comparison only makes the intent explicit.
    row = await repository.find_usable_by_hash(session, digest)
    if row is None or not same_hash(row.token_hash, digest):
        raise Unauthorized("invalid or revoked token")
    # A row that is neither a proper admin nor a proper company token (a company token
    # without a company would read as unscoped) grants nothing rather than too much.
    if not (
        (row.role == "admin" and row.company_id is None)
        or (row.role == "company" and row.company_id is not None)
    ):
        raise Unauthorized("invalid or revoked token")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_INTERVAL:
        await repository.touch(session, row.id, now)
        await session.commit()
    return Principal(
        role=row.role, actor=Actor("token", row.id, row.name), company_id=row.company_id
    )


async def create_token(
    session: AsyncSession,
    *,
    name: str,
    role: Role,
    company_id: int | None = None,
    actor: Actor,
) -> tuple[APIToken, str]:
    """Returns the stored row and the clear token, which is shown once and never stored."""
    if (role == "company") != (company_id is not None):
        raise ValueError("a company token needs a company_id; an admin token has none")
    if company_id is not None:
        await get_or_404(session, Company, company_id)
    value = generate_token()
    row = await repository.add(
        session,
        APIToken(name=name, token_hash=hash_token(value), role=role, company_id=company_id),
    )
    await audit.record(
        session,
        actor,
        audit.TOKEN_CREATED,
        target_type="token",
        target_id=row.id,
        details={"name": name, "role": role, "company_id": company_id},
    )
    return row, value


async def revoke_token(session: AsyncSession, token_id: int, *, actor: Actor) -> APIToken:
    """Revokes a token; revoking it again changes nothing and records nothing."""
    row = await repository.get(session, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            actor,
            audit.TOKEN_REVOKED,
            target_type="token",
            target_id=row.id,
            details={"name": row.name, "role": row.role, "company_id": row.company_id},
        )
    return row


async def get_token(session: AsyncSession, token_id: int) -> APIToken:
    row = await repository.get(session, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    return row


async def ensure_bootstrap_admin(session: AsyncSession) -> str | None:
    """On the first start without ARV_ADMIN_TOKEN, make an admin token; None if one exists."""
    if await repository.count_active_admins(session) > 0:
        return None
    _, value = await create_token(
        session, name="bootstrap admin", role="admin", actor=audit.Actor("cli", name="serve")
    )
    return value
