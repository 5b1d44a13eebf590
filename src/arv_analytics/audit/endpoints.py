"""The audit log, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from arv_analytics.audit import repository
from arv_analytics.audit.schemas import AuditOut
from arv_analytics.catalog.schemas import Page
from arv_analytics.db import SessionDep
from arv_analytics.errors import responses
from arv_analytics.params import STORABLE_PATTERN
from arv_analytics.tenancy.dependencies import AdminDep

router = APIRouter(prefix="/api", tags=["audit"])


@router.get(
    "/audit",
    response_model=Page[AuditOut],
    responses=responses(401, 403, 422),
    summary="Management actions, newest first",
)
async def list_audit(
    session: SessionDep,
    _: AdminDep,
    action: Annotated[
        str | None,
        Query(
            max_length=50,
            pattern=STORABLE_PATTERN,
            description="Only this action, e.g. `token.revoked`; `token.*` for a prefix",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Page[AuditOut]:
    rows, total = await repository.page(session, limit=limit, offset=offset, action=action)
    items = [AuditOut.model_validate(r) for r in rows]
    return Page[AuditOut](items=items, total=total, limit=limit, offset=offset)
