"""Turns query totals into the figures the API reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics import queries
from arv_analytics.analytics.schemas import (
    CompanyAnalytics,
    ContentAnalytics,
    Overview,
    ProjectAnalytics,
)
from arv_analytics.catalog import repository as catalog
from arv_analytics.errors import NotFound
from arv_analytics.models import utcnow
from arv_analytics.tenancy.service import Principal


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    until = now or utcnow()
    return until - timedelta(days=days), until


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def _metrics(
    t: queries.Totals, days: int, since: datetime, until: datetime, include_bots: bool
) -> dict[str, Any]:
    return {
        "window_days": days,
        "include_bots": include_bots,
        "since": since,
        "until": until,
        "unique_sessions": t.unique_sessions,
        "unique_visitors": t.unique_visitors,
        "avg_duration_seconds": (
            round(t.duration_sum / t.duration_count, 2) if t.duration_count else None
        ),
        "sessions_with_duration": t.duration_count,
        "video_plays": t.video_plays,
        "video_play_rate": round(t.video_plays / t.views, 4) if t.views else None,
        "tracking_quality": t.quality,
        "avg_time_to_first_found_ms": _mean(*t.figures["time_to_first_found_ms"]),
        "sessions_with_target_found": t.figures["time_to_first_found_ms"][1],
        "avg_tracked_seconds": _mean(*t.figures["tracked_seconds"]),
        "avg_target_losses": _mean(*t.figures["target_losses"]),
        "sessions_with_tracking_figures": t.figures["tracked_seconds"][1],
    }


async def overview(
    session: AsyncSession,
    principal: Principal,
    days: int,
    include_bots: bool = False,
    *,
    rollups: bool = True,
) -> Overview:
    since, until = window(days)
    q = queries.Query(None, None, principal.company_id, include_bots, since, until)
    totals, active = await queries.overview(session, q, rollups=rollups)
    companies, projects = await catalog.active_counts(session, principal.company_id)
    return Overview(
        total_views=totals.views,
        active_content=active,
        active_companies=companies,
        active_projects=projects,
        **_metrics(totals, days, since, until, include_bots),
    )


_LABEL = {queries.COMPANY: "company", queries.PROJECT: "project", queries.CONTENT: "ar content"}


async def _entity(
    session: AsyncSession,
    principal: Principal,
    level: queries.Level,
    ident: int,
    days: int,
    include_bots: bool,
    rollups: bool,
) -> tuple[dict[str, int], dict[str, Any]]:
    since, until = window(days)
    q = queries.Query(level, ident, principal.company_id, include_bots, since, until)
    found = await queries.entity(session, q, rollups=rollups)
    if found is None:
        raise NotFound(f"{_LABEL[level]} {ident} not found")
    ids, totals = found
    figures = _metrics(totals, days, since, until, include_bots)
    figures["views"] = figures["views_30_days"] = totals.views
    return ids, figures


async def company(
    session: AsyncSession,
    principal: Principal,
    ident: int,
    days: int,
    include_bots: bool = False,
    *,
    rollups: bool = True,
) -> CompanyAnalytics:
    ids, figures = await _entity(
        session, principal, queries.COMPANY, ident, days, include_bots, rollups
    )
    return CompanyAnalytics(company_id=ids["id"], **figures)


async def project(
    session: AsyncSession,
    principal: Principal,
    ident: int,
    days: int,
    include_bots: bool = False,
    *,
    rollups: bool = True,
) -> ProjectAnalytics:
    ids, figures = await _entity(
        session, principal, queries.PROJECT, ident, days, include_bots, rollups
    )
    return ProjectAnalytics(project_id=ids["id"], company_id=ids["company_id"], **figures)


async def content(
    session: AsyncSession,
    principal: Principal,
    ident: int,
    days: int,
    include_bots: bool = False,
    *,
    rollups: bool = True,
) -> ContentAnalytics:
    ids, figures = await _entity(
        session, principal, queries.CONTENT, ident, days, include_bots, rollups
    )
    return ContentAnalytics(
        ar_content_id=ids["id"],
        project_id=ids["project_id"],
        company_id=ids["company_id"],
        **figures,
    )
