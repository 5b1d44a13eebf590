"""The SQL behind every analytics number, from the raw table or from the rollups.

Both sources compute the same figures over the same window; a property test holds them
equal. The raw source is the seed's design (aggregate ``ar_view_sessions``); the rollup source
reads whole UTC hours from ``rollup_hourly`` and whole UTC days of visitors from
``rollup_daily_visitors``, and asks the raw table only for what those cannot answer: the
partial hour at the window's start and everything from the start of the current hour on,
plus the visitors of the window's first, partial day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute

from arv_analytics.models import (
    ARContent,
    ARViewSession,
    Company,
    Project,
    RollupDailyVisitors,
    RollupHourly,
)
from arv_analytics.rollups.figures import FIGURES, session_aggregates
from arv_analytics.sql_functions import utc_day

S = ARViewSession
R = RollupHourly
V = RollupDailyVisitors


@dataclass(frozen=True, slots=True)
class Level:
    """One level of the hierarchy: its table, its key in sessions and rollups, its parents."""

    name: str  # as in rollup_daily_visitors.level
    model: type[Company] | type[Project] | type[ARContent]
    session_key: InstrumentedAttribute[int]
    rollup_key: InstrumentedAttribute[int]
    parents: tuple[str, ...]


COMPANY = Level("company", Company, S.company_id, R.company_id, ())
PROJECT = Level("project", Project, S.project_id, R.project_id, ("company_id",))
CONTENT = Level(
    "content", ARContent, S.ar_content_id, R.ar_content_id, ("project_id", "company_id")
)


@dataclass(frozen=True, slots=True)
class Query:
    """What to count: a level's entity (or everything, for the overview) in a window."""

    level: Level | None
    ident: int | None
    company_id: int | None  # a company token's scope, or None for everything
    include_bots: bool
    since: datetime
    until: datetime


def _session_filter(q: Query, start: datetime, end: datetime | None) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [S.created_at >= start]
    if end is not None:
        parts.append(S.created_at < end)
    if q.level is not None:
        parts.append(q.level.session_key == q.ident)
    if q.company_id is not None:
        parts.append(S.company_id == q.company_id)
    if not q.include_bots:
        parts.append(S.is_bot.is_(False))
    return and_(*parts)


def raw_figures(where: ColumnElement[bool], *, distinct_sessions: bool = False) -> Select[Any]:
    return select(*session_aggregates(distinct_sessions=distinct_sessions)).where(where)


def rollup_figures(q: Query, start_hour: datetime, end_hour: datetime) -> Select[Any]:
    parts: list[ColumnElement[bool]] = [R.hour >= start_hour, R.hour < end_hour]
    if q.level is not None:
        parts.append(q.level.rollup_key == q.ident)
    if q.company_id is not None:
        parts.append(R.company_id == q.company_id)
    if not q.include_bots:
        parts.append(R.is_bot.is_(False))
    columns = [func.coalesce(func.sum(getattr(R, n)), 0).label(n) for n in FIGURES]
    return select(*columns).where(and_(*parts))


def raw_visitors(where: ColumnElement[bool]) -> ColumnElement[Any]:
    """Sum over UTC days (and companies) of distinct visitor hashes: the documented figure."""
    daily = (
        select(utc_day(S.created_at), S.company_id, S.visitor_hash)
        .where(where, S.visitor_hash.is_not(None))
        .distinct()
        .subquery()
    )
    return select(func.count()).select_from(daily).scalar_subquery()


def counted_visitors(q: Query, from_day: Any) -> ColumnElement[Any]:
    column = V.everyone if q.include_bots else V.humans
    level = q.level.name if q.level is not None else "company"
    parts: list[ColumnElement[bool]] = [V.level == level, V.day >= from_day]
    if q.level is not None:
        parts.append(V.entity_id == q.ident)
    elif q.company_id is not None:
        parts.append(V.entity_id == q.company_id)
    return select(func.coalesce(func.sum(column), 0)).where(and_(*parts)).scalar_subquery()


def _next_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def _next_day(moment: datetime) -> datetime:
    floor = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(days=1)


def totals(q: Query, *, rollups: bool) -> Select[Any]:
    """One row: the figures of FIGURES, then unique visitors."""
    if not rollups:
        figures = raw_figures(_session_filter(q, q.since, None), distinct_sessions=True)
        visitors = raw_visitors(_session_filter(q, q.since, None))
        return figures.add_columns(visitors.label("visitors"))
    h0 = _next_hour(q.since)
    h1 = q.until.replace(minute=0, second=0, microsecond=0)
    if h1 <= h0:
        parts = [raw_figures(_session_filter(q, q.since, None))]
    else:
        parts = [
            rollup_figures(q, h0, h1),
            raw_figures(_session_filter(q, q.since, h0)),
            raw_figures(_session_filter(q, h1, None)),
        ]
    u = union_all(*parts).subquery()
    d1 = _next_day(q.since)
    visitors = raw_visitors(_session_filter(q, q.since, d1)) + counted_visitors(q, d1.date())
    return select(
        *(func.coalesce(func.sum(u.c[n]), 0).label(n) for n in FIGURES),
        visitors.label("visitors"),
    )


def active_content(company_id: int | None) -> ColumnElement[Any]:
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


def overview_statement(q: Query, *, rollups: bool) -> Select[Any]:
    t = totals(q, rollups=rollups).subquery()
    return select(t, active_content(q.company_id).label("active_content"))


def entity_statement(q: Query, *, rollups: bool) -> Select[Any]:
    """The entity's ids and its totals; no row when the id is unknown (or out of scope)."""
    assert q.level is not None
    entity = q.level.model
    t = totals(q, rollups=rollups).subquery()
    stmt = (
        select(entity.id, *(getattr(entity, p) for p in q.level.parents), t)
        .select_from(entity)
        .join(t, true())  # one row of totals beside the one entity row
        .where(entity.id == q.ident)
    )
    if q.company_id is not None:
        # A company token sees its own ids only; others look exactly like unknown ids.
        company_col = entity.id if entity is Company else entity.company_id  # type: ignore[union-attr]
        stmt = stmt.where(company_col == q.company_id)
    return stmt
