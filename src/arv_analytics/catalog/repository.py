"""All SQL of the catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.ingest.repository import ContentRef, as_refs, content_refs, find_content
from arv_analytics.models import ARContent, Base, Company, Project

M = TypeVar("M", bound=Base)
# Lists count matching rows up to this many and no further: an exact count costs time in
# proportion to the rows counted, and a page of a studio's catalog must not.
COUNT_CAP = 1_000


async def get(session: AsyncSession, model: type[M], ident: int) -> M | None:
    return await session.get(model, ident)


async def content_with_owners(session: AsyncSession, ident: int) -> tuple[ARContent, bool] | None:
    """The content and whether its project and company are both active (one statement)."""
    stmt = (
        select(ARContent, and_(Project.is_active, Company.is_active))
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
        .where(ARContent.id == ident)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], bool(row[1]))


async def project_with_owner(session: AsyncSession, ident: int) -> tuple[Project, bool] | None:
    """The project and whether it and its company are both active (one statement)."""
    stmt = (
        select(Project, and_(Project.is_active, Company.is_active))
        .join(Company, Company.id == Project.company_id)
        .where(Project.id == ident)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], bool(row[1]))


async def page(
    session: AsyncSession,
    model: type[M],
    *,
    limit: int,
    offset: int,
    scope: int | None = None,
    active: bool | None = None,
    search: str | None = None,
    after: int | None = None,
    **filters: Any,
) -> tuple[list[dict[str, Any]], int]:
    """A page of rows (as dicts of the table's columns) in id order (stable: ids never
    change); ``scope`` (a company id) restricts it to one company's rows, ``search`` matches a
    part of the name or title, ignoring case. ``after`` (an id) starts the page after that
    row: unlike a large offset, it costs the same on every page. The count returned stops at
    ``COUNT_CAP + 1``.

    What a page costs, and why: rows are read as plain column values, not ORM objects
    (loading and validating 50 ORM objects cost more than reading them); the count is asked
    for only when the page cannot tell it (a page shorter than ``limit``, without ``after``,
    ends the list), and stops at the cap."""
    table: Any = model.__table__
    key = table.c.id
    if scope is not None:
        filters = {**filters, "scoped": scope}
    if active is not None:
        filters = {**filters, "is_active": active}
    where: list[ColumnElement[bool]] = []
    for column, value in filters.items():
        if value is None:
            continue
        if column == "scoped":
            column = "id" if model is Company else "company_id"
        where.append(table.c[column] == value)
    if search:
        label = table.c.title if model is ARContent else table.c.name
        where.append(func.lower(label).like(_substring(search), escape="/"))
    keyset = [*where, key > after] if after is not None else where
    stmt: Select[Any] = select(*table.c).where(*keyset).order_by(key).limit(limit).offset(offset)
    rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    if after is None and len(rows) < limit and (rows or not offset):
        return rows, offset + len(rows)
    counted = select(func.count()).select_from(
        select(key).where(*where).limit(COUNT_CAP + 1).subquery()
    )
    total = (await session.execute(counted)).scalar_one()
    return rows, int(total)


def _substring(text: str) -> BindParameter[str]:
    """``%text%`` with LIKE's wildcards escaped, sent as a literal rather than a parameter:
    with a parameter, PostgreSQL's plan for a prepared statement cannot know the pattern and
    does not use the title's trigram index (a scan of the whole catalog instead)."""
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return bindparam(None, f"%{escaped}%", type_=String(), literal_execute=True)


async def slug_taken(
    session: AsyncSession, model: type[Company | Project], slug: str, **scope: Any
) -> bool:
    stmt = select(model.id).where(model.slug == slug)
    for column, value in scope.items():
        stmt = stmt.where(getattr(model, column) == value)
    return (await session.execute(stmt.limit(1))).first() is not None


async def add(session: AsyncSession, row: M) -> M:
    """Inserts or updates ``row``. Values come back with the INSERT's RETURNING and from
    the model's Python-side defaults; a column still unloaded after the flush (none today:
    the services set every nullable column) is read back, rather than the whole row."""
    session.add(row)
    await session.flush()
    unloaded = inspect(row).unloaded
    if unloaded:
        await session.refresh(row, attribute_names=sorted(unloaded))
    return row


async def unique_id_taken(session: AsyncSession, unique_id: uuid.UUID) -> bool:
    stmt = select(ARContent.id).where(ARContent.unique_id == unique_id).limit(1)
    return (await session.execute(stmt)).first() is not None


# --- the write path's content cache ------------------------------------------------------


async def content_changed_since(session: AsyncSession, since: datetime) -> list[ContentRef]:
    """Content whose own row, project or company changed at or after ``since``: a project's
    or company's (de)activation changes the trackability of all its content."""
    stmts = (
        content_refs().where(ARContent.updated_at >= since),
        content_refs().where(
            ARContent.project_id.in_(select(Project.id).where(Project.updated_at >= since))
        ),
        content_refs().where(
            ARContent.company_id.in_(select(Company.id).where(Company.updated_at >= since))
        ),
    )
    found: dict[int, ContentRef] = {}
    for stmt in stmts:
        found.update((r.id, r) for r in as_refs(await session.execute(stmt)))
    return list(found.values())


async def content_ref(session: AsyncSession, content_id: int) -> ContentRef | None:
    return await find_content(session, content_id=content_id, unique_id=None)


async def content_page(session: AsyncSession, *, after: int, limit: int) -> list[ContentRef]:
    """One page of all content in id order (keyset: each page costs the same)."""
    stmt = content_refs().where(ARContent.id > after).order_by(ARContent.id).limit(limit)
    return as_refs(await session.execute(stmt))


# --- bulk changes: everything a batch may match, in a few queries -----------------------


async def companies_matching(
    session: AsyncSession, slugs: set[str], legacy_ids: set[int]
) -> list[Company]:
    stmt = select(Company).where(
        or_(Company.slug.in_(slugs or [""]), Company.legacy_id.in_(legacy_ids or [-1]))
    )
    return list((await session.execute(stmt)).scalars())


async def projects_matching(
    session: AsyncSession, company_ids: set[int], slugs: set[str], legacy_ids: set[int]
) -> list[Project]:
    by_slug = and_(Project.company_id.in_(company_ids or [-1]), Project.slug.in_(slugs or [""]))
    stmt = select(Project).where(or_(by_slug, Project.legacy_id.in_(legacy_ids or [-1])))
    return list((await session.execute(stmt)).scalars())


async def contents_matching(
    session: AsyncSession, unique_ids: set[uuid.UUID], project_ids: set[int], titles: set[str]
) -> list[ARContent]:
    by_title = and_(
        ARContent.project_id.in_(project_ids or [-1]), ARContent.title.in_(titles or [""])
    )
    stmt = (
        select(ARContent)
        .where(or_(ARContent.unique_id.in_(unique_ids or [uuid.UUID(int=0)]), by_title))
        .order_by(ARContent.id)
    )
    return list((await session.execute(stmt)).scalars())


async def add_all(session: AsyncSession, rows: list[Any]) -> None:
    session.add_all(rows)
    await session.flush()
