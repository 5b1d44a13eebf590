"""Audit log entries as the API and the CLI show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    actor: str = Field(description="`token`, `bootstrap` (ARV_ADMIN_TOKEN) or `cli`")
    actor_token_id: int | None = Field(description="The token's id when actor is `token`")
    actor_name: str | None
    action: str = Field(description="e.g. `token.created`, `content.deactivated`, `purge`")
    target_type: str | None
    target_id: int | None
    details: dict[str, Any] | None
