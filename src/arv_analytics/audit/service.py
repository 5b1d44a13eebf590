"""Recording management actions. Called inside the transaction of the action itself, so an
action and its record commit together or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import repository
from arv_analytics.models import AuditLog

# The actions recorded. Other modules name them through these constants.
TOKEN_CREATED = "token.created"  # noqa: S105 - an action name, not a secret
TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an action name, not a secret
PURGE = "purge"
SHARE_LINK_CREATED = "share_link.created"
SHARE_LINK_REVOKED = "share_link.revoked"


def deactivated(target_type: str) -> str:
    return f"{target_type}.deactivated"


def activated(target_type: str) -> str:
    return f"{target_type}.activated"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a stored token, the ARV_ADMIN_TOKEN bootstrap value, the command line, or
    a share link's visitor (who reads only, so never appears in the log as an actor)."""

    kind: Literal["token", "bootstrap", "cli", "share_link"]
    token_id: int | None = None
    name: str | None = None

    def label(self) -> str:
        if self.kind == "token":
            return f"token {self.token_id} ({self.name})"
        if self.kind == "share_link":
            return f"share link {self.token_id}"
        return self.kind


CLI = Actor("cli", name="arv-analytics")
BOOTSTRAP = Actor("bootstrap", name="ARV_ADMIN_TOKEN")


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Adds one audit row to the caller's transaction (flushed, not committed).

    ``details`` must never hold a secret: it is shown to every admin.
    """
    row = AuditLog(
        actor=actor.kind,
        actor_token_id=actor.token_id,
        actor_name=actor.name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
    return await repository.add(session, row)


async def record_purge(session: AsyncSession, actor: Actor, **details: Any) -> AuditLog:
    """For the purge command: what was purged (counts, cut-off dates), never the data itself."""
    return await record(session, actor, PURGE, details=details)
