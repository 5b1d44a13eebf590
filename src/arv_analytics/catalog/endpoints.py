"""REST endpoints for companies, projects and AR content.

Writes need an admin token. Reads also accept a company token and then show only that
company's rows: another company's id answers 404, as an unknown one does.
DELETE deactivates (soft): the rows and their analytics stay, tracking stops.
PATCH with ``"is_active": true`` reactivates.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from arv_analytics.catalog import bulk, repository, service
from arv_analytics.catalog.schemas import (
    BulkReport,
    BulkRequest,
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    ContentCreate,
    ContentOut,
    ContentUpdate,
    Page,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
)
from arv_analytics.db import SessionDep
from arv_analytics.errors import error_body, responses
from arv_analytics.ingest.repository import ContentRef
from arv_analytics.models import ARContent, Company, Project
from arv_analytics.params import MAX_ID, STORABLE_PATTERN, IdPath
from arv_analytics.tenancy.dependencies import AdminDep, ReaderDep

router = APIRouter(prefix="/api", tags=["catalog"])
P = TypeVar("P", bound=Page[Any])


async def _changed(request: Request, refs: list[ContentRef] | None = None) -> None:
    """Tells this process's listeners (the write path's content cache) right away: ``refs``
    are the content changed, as committed, or None when the listener must read what changed
    (projects, companies, bulk). Other processes notice within ARV_CATALOG_REFRESH_SECONDS."""
    for listener in getattr(request.app.state, "catalog_listeners", ()):
        await listener(refs)


Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Active = Annotated[bool | None, Query(description="Only active (true) or inactive (false) rows")]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        pattern=STORABLE_PATTERN,
        description="Part of the name (title for content), any case",
    ),
]
# Bounded so that no offset overflows a database integer.
Offset = Annotated[int, Query(ge=0, le=2**31, description="Rows to skip")]
After = Annotated[
    int | None,
    Query(ge=0, le=MAX_ID, description="Start after this id (the last of the previous page)"),
]
READ = responses(401, 404, 422)
LIST = responses(401, 422)
WRITE = responses(400, 401, 403, 404, 409, 422)


def _page(kind: type[P], items: list[Any], total: int, limit: int, offset: int) -> P:
    """Counts beyond COUNT_CAP rows stop there: ``total`` is then a lower bound."""
    exact = total <= repository.COUNT_CAP
    return kind(
        items=items,
        total=total if exact else repository.COUNT_CAP,
        limit=limit,
        offset=offset,
        total_exact=exact,
    )


# --- companies -------------------------------------------------------------------------


@router.post("/companies", status_code=201, response_model=CompanyOut, responses=WRITE)
async def create_company(
    request: Request, body: CompanyCreate, session: SessionDep, _: AdminDep
) -> Company:
    row = await service.create_company(session, body)
    await session.commit()
    await _changed(request)
    return row


@router.get("/companies", response_model=Page[CompanyOut], responses=LIST)
async def list_companies(
    session: SessionDep,
    reader: ReaderDep,
    is_active: Active = None,
    q: Search = None,
    after_id: After = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CompanyOut]:
    rows, total = await repository.page(
        session,
        Company,
        limit=limit,
        offset=offset,
        scope=reader.company_id,
        active=is_active,
        search=q,
        after=after_id,
    )
    items = [CompanyOut.model_validate(r) for r in rows]
    return _page(Page[CompanyOut], items, total, limit, offset)


@router.get("/companies/{company_id}", response_model=CompanyOut, responses=READ)
async def get_company(company_id: IdPath, session: SessionDep, reader: ReaderDep) -> Company:
    return await service.get_visible(session, Company, company_id, reader.company_id)


@router.patch("/companies/{company_id}", response_model=CompanyOut, responses=WRITE)
async def update_company(
    request: Request, company_id: IdPath, body: CompanyUpdate, session: SessionDep, admin: AdminDep
) -> Company:
    row = await service.update_company(session, company_id, body, actor=admin.actor)
    await session.commit()
    await _changed(request)
    return row


@router.delete("/companies/{company_id}", response_model=CompanyOut, responses=WRITE)
async def deactivate_company(
    request: Request, company_id: IdPath, session: SessionDep, admin: AdminDep
) -> Company:
    row = await service.deactivate(session, Company, company_id, actor=admin.actor)
    await session.commit()
    await _changed(request)
    return row


# --- projects --------------------------------------------------------------------------


@router.post("/projects", status_code=201, response_model=ProjectOut, responses=WRITE)
async def create_project(
    request: Request, body: ProjectCreate, session: SessionDep, _: AdminDep
) -> Project:
    row = await service.create_project(session, body)
    await session.commit()
    await _changed(request)
    return row


@router.get("/projects", response_model=Page[ProjectOut], responses=LIST)
async def list_projects(
    session: SessionDep,
    reader: ReaderDep,
    company_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this company's")
    ] = None,
    is_active: Active = None,
    q: Search = None,
    after_id: After = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ProjectOut]:
    rows, total = await repository.page(
        session,
        Project,
        limit=limit,
        offset=offset,
        company_id=company_id,
        scope=reader.company_id,
        active=is_active,
        search=q,
        after=after_id,
    )
    items = [ProjectOut.model_validate(r) for r in rows]
    return _page(Page[ProjectOut], items, total, limit, offset)


@router.get("/projects/{project_id}", response_model=ProjectOut, responses=READ)
async def get_project(project_id: IdPath, session: SessionDep, reader: ReaderDep) -> Project:
    return await service.get_visible(session, Project, project_id, reader.company_id)


@router.patch("/projects/{project_id}", response_model=ProjectOut, responses=WRITE)
async def update_project(
    request: Request, project_id: IdPath, body: ProjectUpdate, session: SessionDep, admin: AdminDep
) -> Project:
    row = await service.update_project(session, project_id, body, actor=admin.actor)
    await session.commit()
    await _changed(request)
    return row


@router.delete("/projects/{project_id}", response_model=ProjectOut, responses=WRITE)
async def deactivate_project(
    request: Request, project_id: IdPath, session: SessionDep, admin: AdminDep
) -> Project:
    row = await service.deactivate(session, Project, project_id, actor=admin.actor)
    await session.commit()
    await _changed(request)
    return row


# --- AR content ------------------------------------------------------------------------


@router.post("/ar-content", status_code=201, response_model=ContentOut, responses=WRITE)
async def create_content(
    request: Request, body: ContentCreate, session: SessionDep, _: AdminDep
) -> ARContent:
    row = await service.create_content(session, body)
    ref = await service.tracking_ref(session, row)
    await session.commit()
    await _changed(request, [ref])
    return row


@router.post("/ar-content/bulk", response_model=BulkReport, responses=WRITE)
async def bulk_content(
    request: Request, body: BulkRequest, session: SessionDep, admin: AdminDep
) -> BulkReport:
    """Creates or updates up to 1,000 contents with their projects and companies in one
    transaction. Rows are matched (company by slug, project by company and slug, content by
    unique_id or else by project and title), so sending the same rows twice changes nothing;
    each row is reported as created, updated, unchanged or rejected (with its reason)."""
    report = await bulk.apply_rows(
        session, list(enumerate(body.rows, start=1)), actor=admin.actor, source="api"
    )
    await session.commit()
    await _changed(request)
    return report


@router.api_route(
    "/ar-content/bulk",
    methods=["GET", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
async def bulk_other_methods() -> JSONResponse:
    # Without this, "/ar-content/{content_id}" would take "bulk" for an id and answer 422,
    # and the app's 405 would list that route's methods as allowed here.
    body = error_body("method_not_allowed", "only POST is allowed here")
    return JSONResponse(body, status_code=405, headers={"Allow": "POST"})


@router.get("/ar-content", response_model=Page[ContentOut], responses=LIST)
async def list_content(
    session: SessionDep,
    reader: ReaderDep,
    project_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this project's")
    ] = None,
    company_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this company's")
    ] = None,
    is_active: Active = None,
    q: Search = None,
    after_id: After = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ContentOut]:
    rows, total = await repository.page(
        session,
        ARContent,
        limit=limit,
        offset=offset,
        project_id=project_id,
        company_id=company_id,
        scope=reader.company_id,
        active=is_active,
        search=q,
        after=after_id,
    )
    items = [ContentOut.model_validate(r) for r in rows]
    return _page(Page[ContentOut], items, total, limit, offset)


@router.get("/ar-content/{content_id}", response_model=ContentOut, responses=READ)
async def get_content(content_id: IdPath, session: SessionDep, reader: ReaderDep) -> ARContent:
    return await service.get_visible(session, ARContent, content_id, reader.company_id)


@router.patch("/ar-content/{content_id}", response_model=ContentOut, responses=WRITE)
async def update_content(
    request: Request, content_id: IdPath, body: ContentUpdate, session: SessionDep, admin: AdminDep
) -> ARContent:
    row = await service.update_content(session, content_id, body, actor=admin.actor)
    ref = await service.tracking_ref(session, row)
    await session.commit()
    await _changed(request, [ref])
    return row


@router.delete("/ar-content/{content_id}", response_model=ContentOut, responses=WRITE)
async def deactivate_content(
    request: Request, content_id: IdPath, session: SessionDep, admin: AdminDep
) -> ARContent:
    row = await service.deactivate(session, ARContent, content_id, actor=admin.actor)
    ref = await service.tracking_ref(session, row)
    await session.commit()
    await _changed(request, [ref])
    return row
