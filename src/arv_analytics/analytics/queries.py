"""Every analytics number comes from here: one SQL statement per endpoint.

Each statement aggregates ``ar_view_sessions`` over ``created_at >= since`` and is shaped so
that an index on ``(<level>_id, created_at)`` (or ``created_at`` for the overview) serves it.
The entity row is joined in the same statement, so "unknown id" and "no views" are told
apart without a second query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from arv_analytics.models import TRACKING_QUALITIES, ARContent, ARViewSession, Company, Project

S = ARViewSession


@dataclass(frozen=True, slots=True)
class Totals:
    views: int
    unique_sessions: int
    duration_sum: int
    duration_count: int
    video_plays: int
    quality: dict[str, int]  # none/poor/fair/good/unknown
    # (sum, count of non-NULL) of each tracker figure, for averages over the views reporting it.
    figures: dict[str, tuple[int, int]]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


TRACKER_FIGURES = (S.time_to_first_found_ms, S.tracked_seconds, S.target_losses)


def _aggregates() -> list[ColumnElement[Any]]:
    return [
        func.count(S.id),
        func.count(func.distinct(S.session_id)),
        func.coalesce(func.sum(S.duration_seconds), 0),
        func.count(S.duration_seconds),
        _count_if(S.video_played.is_(True)),
        *(_count_if(S.tracking_quality == q) for q in TRACKING_QUALITIES),
        # S.id guards against the NULL row an outer join yields for an entity with no views.
        _count_if(and_(S.id.is_not(None), S.tracking_quality.is_(None))),
        *(
            agg
            for col in TRACKER_FIGURES
            for agg in (func.coalesce(func.sum(col), 0), func.count(col))
        ),
    ]


_N_QUALITY = len(TRACKING_QUALITIES) + 1
_N_AGG = 5 + _N_QUALITY + 2 * len(TRACKER_FIGURES)


def _totals(values: Any) -> Totals:
    v = [int(x or 0) for x in values]
    quality = dict(zip((*TRACKING_QUALITIES, "unknown"), v[5 : 5 + _N_QUALITY], strict=True))
    rest = v[5 + _N_QUALITY :]
    figures = {col.key: (rest[2 * i], rest[2 * i + 1]) for i, col in enumerate(TRACKER_FIGURES)}
    return Totals(v[0], v[1], v[2], v[3], v[4], quality, figures)


def _active_content(company_id: int | None) -> ColumnElement[Any]:
    stmt = (
        select(func.count())
        .select_from(ARContent)
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
        .where(ARContent.is_active, Project.is_active, Company.is_active)
    )
    if company_id is not None:
        stmt = stmt.where(ARContent.company_id == company_id)
    return stmt.scalar_subquery()


def overview_stmt(since: datetime, company_id: int | None) -> Select[Any]:
    window = S.created_at >= since
    if company_id is not None:
        window = and_(S.company_id == company_id, window)
    return select(*_aggregates(), _active_content(company_id)).where(window)


async def overview(
    session: AsyncSession, since: datetime, company_id: int | None = None
) -> tuple[Totals, int]:
    row = (await session.execute(overview_stmt(since, company_id))).one()
    return _totals(row[:_N_AGG]), int(row[_N_AGG])


@dataclass(frozen=True, slots=True)
class Level:
    """One level of the hierarchy: its table, its key in ar_view_sessions, its parents' keys."""

    model: type[Company] | type[Project] | type[ARContent]
    session_key: InstrumentedAttribute[int]
    parents: tuple[str, ...]


COMPANY = Level(Company, S.company_id, ())
PROJECT = Level(Project, S.project_id, ("company_id",))
CONTENT = Level(ARContent, S.ar_content_id, ("project_id", "company_id"))


def entity_stmt(
    level: Level, ident: int, since: datetime, scope_company_id: int | None
) -> Select[Any]:
    entity = level.model
    parents = [getattr(entity, p) for p in level.parents]
    stmt = (
        select(entity.id, *parents, *_aggregates())
        .select_from(entity)
        .outerjoin(S, and_(level.session_key == entity.id, S.created_at >= since))
        .where(entity.id == ident)
        .group_by(entity.id, *parents)
    )
    if scope_company_id is not None:
        # A company token sees its own ids only; others look exactly like unknown ids.
        company_col = entity.id if entity is Company else entity.company_id  # type: ignore[union-attr]
        stmt = stmt.where(company_col == scope_company_id)
    return stmt


async def entity(
    session: AsyncSession,
    level: Level,
    ident: int,
    since: datetime,
    scope_company_id: int | None = None,
) -> tuple[dict[str, int], Totals] | None:
    row = (await session.execute(entity_stmt(level, ident, since, scope_company_id))).first()
    if row is None:
        return None
    n_ids = 1 + len(level.parents)
    ids = dict(zip(("id", *level.parents), (int(x) for x in row[:n_ids]), strict=True))
    return ids, _totals(row[n_ids:])
