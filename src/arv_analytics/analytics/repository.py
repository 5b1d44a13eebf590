"""The engine's few reads outside the executors: the catalog around a question."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import ARContent, ARViewSession, Company, Project

MODELS: dict[str, Any] = {"company": Company, "project": Project, "content": ARContent}


async def entity(
    session: AsyncSession,
    level: str,
    ident: int,
    company_scope: int | None,
    project_scope: int | None = None,
) -> dict[str, int] | None:
    """The entity's id and parents' ids; None when unknown or outside the caller's company
    or project (another company's ids look exactly like unknown ones, and so does the
    company itself to a caller restricted to one of its projects)."""
    model = MODELS[level]
    if project_scope is not None and model is Company:
        return None
    company_col = model.id if model is Company else model.company_id
    columns = [model.id]
    if model is not Company:
        columns.append(model.company_id)
    if model is ARContent:
        columns.append(model.project_id)
    stmt = select(*columns).where(model.id == ident)
    if company_scope is not None:
        stmt = stmt.where(company_col == company_scope)
    if project_scope is not None:
        stmt = stmt.where((model.id if model is Project else model.project_id) == project_scope)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    names = ["id", "company_id", "project_id"][: len(columns)]
    return dict(zip(names, (int(v) for v in row), strict=True))


async def names(session: AsyncSession, level: str, ids: Iterable[int]) -> dict[int, str]:
    model = MODELS[level]
    label = model.title if model is ARContent else model.name
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(model.id, label).where(model.id.in_(wanted)))
    return {int(i): str(n) for i, n in rows}


async def first_seen(
    session: AsyncSession, company_scope: int | None, project_scope: int | None = None
) -> datetime | None:
    """When the first stored view in scope started (the start of the "all" period)."""
    stmt = select(func.min(ARViewSession.created_at))
    if company_scope is not None:
        stmt = stmt.where(ARViewSession.company_id == company_scope)
    if project_scope is not None:
        stmt = stmt.where(ARViewSession.project_id == project_scope)
    return (await session.execute(stmt)).scalar_one_or_none()


async def active_counts(
    session: AsyncSession, company_scope: int | None, project_scope: int | None = None
) -> dict[str, int]:
    """Active companies, projects and contents in scope (a content counts when it, its
    project and its company are all active: the rule tracking applies)."""
    content = (
        select(func.count())
        .select_from(ARContent)
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
        .where(ARContent.is_active, Project.is_active, Company.is_active)
    )
    projects = (
        select(func.count())
        .select_from(Project)
        .join(Company, Company.id == Project.company_id)
        .where(Project.is_active, Company.is_active)
    )
    companies = select(func.count()).select_from(Company).where(Company.is_active)
    if company_scope is not None:
        content = content.where(ARContent.company_id == company_scope)
        projects = projects.where(Project.company_id == company_scope)
        companies = companies.where(Company.id == company_scope)
    if project_scope is not None:
        content = content.where(ARContent.project_id == project_scope)
        projects = projects.where(Project.id == project_scope)
    row = (
        await session.execute(
            select(
                content.scalar_subquery(), projects.scalar_subquery(), companies.scalar_subquery()
            )
        )
    ).one()
    return {"content": int(row[0]), "projects": int(row[1]), "companies": int(row[2])}
