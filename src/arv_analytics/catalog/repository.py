"""All SQL of the catalog."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.models import ARContent, Base, Company, Project

M = TypeVar("M", bound=Base)


async def get(session: AsyncSession, model: type[M], ident: int) -> M | None:
    return await session.get(model, ident)


async def page(
    session: AsyncSession,
    model: type[M],
    *,
    limit: int,
    offset: int,
    scope: int | None = None,
    **filters: Any,
) -> tuple[list[M], int]:
    """A page of rows; ``scope`` (a company id) restricts it to one company's rows."""
    stmt: Select[Any] = select(model)
    if scope is not None:
        filters = {**filters, "scoped": scope}
    for column, value in filters.items():
        if value is None:
            continue
        if column == "scoped":
            column = "id" if model is Company else "company_id"
        stmt = stmt.where(getattr(model, column) == value)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(
        stmt.order_by(model.id).limit(limit).offset(offset)  # type: ignore[attr-defined]
    )
    items: list[M] = list(rows.scalars())
    return items, int(total)


async def slug_taken(
    session: AsyncSession, model: type[Company | Project], slug: str, **scope: Any
) -> bool:
    stmt = select(model.id).where(model.slug == slug)
    for column, value in scope.items():
        stmt = stmt.where(getattr(model, column) == value)
    return (await session.execute(stmt.limit(1))).first() is not None


async def add(session: AsyncSession, row: M) -> M:
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def unique_id_taken(session: AsyncSession, unique_id: uuid.UUID) -> bool:
    stmt = select(ARContent.id).where(ARContent.unique_id == unique_id).limit(1)
    return (await session.execute(stmt)).first() is not None
