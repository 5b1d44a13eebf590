"""Read endpoints: the original platform's paths and keys, behind a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from arv_analytics.analytics import service
from arv_analytics.analytics.engine import Engine
from arv_analytics.analytics.schemas import (
    CompanyAnalytics,
    ContentAnalytics,
    Overview,
    ProjectAnalytics,
)
from arv_analytics.config import Settings
from arv_analytics.db import SessionDep
from arv_analytics.errors import responses
from arv_analytics.params import IdPath
from arv_analytics.tenancy.dependencies import AnalyticsReaderDep

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

Days = Annotated[
    int | None,
    Query(ge=1, le=366, description="Window length in days (default ARV_WINDOW_DAYS)"),
]
IncludeBots = Annotated[
    bool, Query(description="Count sessions flagged as bots (excluded by default)")
]
_ERRORS = responses(401, 404, 422)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.analytics
    return engine


def _days(request: Request, days: int | None) -> int:
    settings: Settings = request.app.state.settings
    return days if days is not None else settings.window_days


@router.get("/overview", response_model=Overview, responses=responses(401, 422))
async def overview(
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    days: Days = None,
    include_bots: IncludeBots = False,
) -> Overview:
    return await service.overview(
        session, _engine(request), principal, _days(request, days), include_bots
    )


@router.get("/companies/{company_id}", response_model=CompanyAnalytics, responses=_ERRORS)
async def company(
    company_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    days: Days = None,
    include_bots: IncludeBots = False,
) -> CompanyAnalytics:
    return await service.company(
        session, _engine(request), principal, company_id, _days(request, days), include_bots
    )


@router.get("/projects/{project_id}", response_model=ProjectAnalytics, responses=_ERRORS)
async def project(
    project_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    days: Days = None,
    include_bots: IncludeBots = False,
) -> ProjectAnalytics:
    return await service.project(
        session, _engine(request), principal, project_id, _days(request, days), include_bots
    )


@router.get("/ar-content/{content_id}", response_model=ContentAnalytics, responses=_ERRORS)
async def content(
    content_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    days: Days = None,
    include_bots: IncludeBots = False,
) -> ContentAnalytics:
    return await service.content(
        session, _engine(request), principal, content_id, _days(request, days), include_bots
    )
