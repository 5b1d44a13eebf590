"""Admin API for share links: create (the URL is shown once), list, get, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from arv_analytics.catalog.schemas import Page
from arv_analytics.db import SessionDep
from arv_analytics.errors import responses
from arv_analytics.models import ShareLink
from arv_analytics.params import MAX_ID, IdPath
from arv_analytics.tenancy import share_links as service
from arv_analytics.tenancy import share_repository as repository
from arv_analytics.tenancy.dependencies import AdminDep
from arv_analytics.tenancy.share_schemas import ShareLinkCreate, ShareLinkCreated, ShareLinkOut

router = APIRouter(prefix="/api/share-links", tags=["share links"])


def out(row: ShareLink) -> ShareLinkOut:
    return ShareLinkOut(
        id=row.id,
        name=row.name,
        company_id=row.company_id,
        project_id=row.project_id,
        has_password=row.password_hash is not None,
        expires_at=row.expires_at,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


@router.post(
    "",
    status_code=201,
    response_model=ShareLinkCreated,
    responses=responses(400, 401, 403, 404, 422, descriptions={404: "Unknown company or project"}),
    summary="Create a read-only dashboard link; the answer holds its URL, shown only once",
)
async def create_link(
    body: ShareLinkCreate, response: Response, session: SessionDep, admin: AdminDep
) -> ShareLinkCreated:
    response.headers["Cache-Control"] = "no-store"  # the answer carries a secret
    row, secret = await service.create(
        session,
        name=body.name,
        company_id=body.company_id,
        project_id=body.project_id,
        password=body.password,
        expires_at=body.expires_at,
        actor=admin.actor,
    )
    await session.commit()
    return ShareLinkCreated(**out(row).model_dump(), url=service.PATH_PREFIX + secret)


@router.get(
    "",
    response_model=Page[ShareLinkOut],
    responses=responses(401, 403, 422),
    summary="List share links (never their URLs)",
)
async def list_links(
    session: SessionDep,
    _: AdminDep,
    include_revoked: Annotated[bool, Query(description="Also list revoked links")] = False,
    company_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    project_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Page[ShareLinkOut]:
    rows, total = await repository.page(
        session,
        limit=limit,
        offset=offset,
        include_revoked=include_revoked,
        company_id=company_id,
        project_id=project_id,
    )
    return Page[ShareLinkOut](items=[out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{link_id}", response_model=ShareLinkOut, responses=responses(401, 403, 404, 422))
async def get_link(link_id: IdPath, session: SessionDep, _: AdminDep) -> ShareLinkOut:
    return out(await service.get(session, link_id))


@router.delete(
    "/{link_id}",
    response_model=ShareLinkOut,
    responses=responses(401, 403, 404, 422),
    summary="Revoke a share link (it answers 404 at once; revoking twice is harmless)",
)
async def revoke_link(link_id: IdPath, session: SessionDep, admin: AdminDep) -> ShareLinkOut:
    row = await service.revoke(session, link_id, actor=admin.actor)
    await session.commit()
    return out(row)
