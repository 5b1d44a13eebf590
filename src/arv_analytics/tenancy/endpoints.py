"""Admin API for tokens: create (the value is shown once), list, get, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from arv_analytics.catalog.schemas import Page
from arv_analytics.db import SessionDep
from arv_analytics.errors import responses
from arv_analytics.models import APIToken
from arv_analytics.params import MAX_ID, IdPath
from arv_analytics.tenancy import repository, service
from arv_analytics.tenancy.dependencies import AdminDep
from arv_analytics.tenancy.schemas import (
    CompanyTokenCreate,
    TokenCreate,
    TokenCreated,
    TokenOut,
)

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.post(
    "",
    status_code=201,
    response_model=TokenCreated,
    responses=responses(400, 401, 403, 404, 422, descriptions={404: "Unknown company_id"}),
    summary="Create a token; the answer holds its value, shown only this once",
)
async def create_token(
    body: TokenCreate, response: Response, session: SessionDep, admin: AdminDep
) -> TokenCreated:
    # The answer carries a secret: no cache, proxy or browser history may keep it.
    response.headers["Cache-Control"] = "no-store"
    company_id = body.company_id if isinstance(body, CompanyTokenCreate) else None
    row, value = await service.create_token(
        session, name=body.name, role=body.role, company_id=company_id, actor=admin.actor
    )
    await session.commit()
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=value)


@router.get(
    "",
    response_model=Page[TokenOut],
    responses=responses(401, 403, 422),
    summary="List tokens (never their values)",
)
async def list_tokens(
    session: SessionDep,
    _: AdminDep,
    include_revoked: Annotated[bool, Query(description="Also list revoked tokens")] = False,
    company_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this company's")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Page[TokenOut]:
    rows, total = await repository.page(
        session, limit=limit, offset=offset, include_revoked=include_revoked, company_id=company_id
    )
    items = [TokenOut.model_validate(r) for r in rows]
    return Page[TokenOut](items=items, total=total, limit=limit, offset=offset)


@router.get("/{token_id}", response_model=TokenOut, responses=responses(401, 403, 404, 422))
async def get_token(token_id: IdPath, session: SessionDep, _: AdminDep) -> APIToken:
    return await service.get_token(session, token_id)


@router.delete(
    "/{token_id}",
    response_model=TokenOut,
    responses=responses(401, 403, 404, 422),
    summary="Revoke a token (it stops working at once; revoking twice is harmless)",
)
async def revoke_token(token_id: IdPath, session: SessionDep, admin: AdminDep) -> APIToken:
    row = await service.revoke_token(session, token_id, actor=admin.actor)
    await session.commit()
    return row
