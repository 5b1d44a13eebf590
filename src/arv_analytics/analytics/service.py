"""From requests to answers: a QueryRequest (or a legacy endpoint's arguments) becomes one
validated Query for the engine; the legacy endpoints are thin views over the same engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics import query as qm
from arv_analytics.analytics import repository
from arv_analytics.analytics.engine import Engine, Result
from arv_analytics.analytics.metrics import METRICS, finalize
from arv_analytics.analytics.periods import Period
from arv_analytics.analytics.query_schemas import (
    PeriodOut,
    QueryMeta,
    QueryRequest,
    QueryResponse,
    ResultRow,
)
from arv_analytics.analytics.schemas import (
    CompanyAnalytics,
    ContentAnalytics,
    Overview,
    ProjectAnalytics,
)
from arv_analytics.errors import InvalidInput
from arv_analytics.models import utcnow
from arv_analytics.tenancy.service import Principal

SCOPE_LEVELS = (("company_id", "company"), ("project_id", "project"), ("content_id", "content"))


async def parse(
    session: AsyncSession, engine: Engine, principal: Principal, body: QueryRequest
) -> qm.Query:
    """Validates a request once into a Query (422 naming the field for anything wrong)."""
    now = utcnow()
    tz = qm.zone(body.timezone)
    metrics = qm.check_metrics(body.metrics)
    time_dim, dims = qm.split_dimensions(body.dimensions)
    filters = [qm.check_filter(f.dimension, f.op, f.values) for f in body.filters]
    scope: list[tuple[str, int]] = []
    if body.scope is not None:
        for field, level in SCOPE_LEVELS:
            ident = getattr(body.scope, field)
            if ident is not None:
                scope.append((level, ident))
                filters.append(qm.Filter(level, "is", (str(ident),)))
    first_seen = None
    if body.period == "all":
        first_seen = await engine.first_seen(session, principal.company_id, principal.project_id)
    period = qm.period_of(body.period, body.from_, body.to, tz, now, first_seen)
    order = qm.check_order(body.order_by, metrics, time_dim, dims)
    if body.comparison is not None and period.name in ("all", "realtime"):
        raise InvalidInput(
            f"comparison: not available for the period {period.name!r}",
            [{"field": "comparison", "message": f"not available for {period.name!r}"}],
        )
    return qm.Query(
        period=period, tz=tz, now=now, metrics=metrics, time=time_dim, dimensions=dims,
        filters=tuple(filters), include_bots=body.include_bots,
        company_scope=principal.company_id, order_by=order, limit=body.limit,
        offset=body.offset, comparison=body.comparison, scope=tuple(scope),
        project_scope=principal.project_id, partial=body.partial,
    )  # fmt: skip


def _period_out(period: Period, tz: str) -> PeriodOut:
    return PeriodOut(name=period.name, since=period.since, until=period.until, timezone=tz)


def response(q: qm.Query, result: Result) -> QueryResponse:
    tz = q.tz.key
    return QueryResponse(
        results=[
            ResultRow(
                dimensions=r.dimensions, metrics=r.metrics, comparison=r.comparison,
                change=r.change, labels=r.labels,
            )
            for r in result.rows
        ],
        totals=result.totals,
        comparison_totals=result.comparison_totals,
        meta=QueryMeta(
            period=_period_out(q.period, tz),
            comparison=(
                _period_out(result.comparison_period, tz) if result.comparison_period else None
            ),
            source=result.source,
            total_rows=result.total_rows,
            limit=q.limit,
            offset=q.offset,
            time_labels=result.time_labels,
            warnings=result.warnings,
            metrics={m: METRICS[m].description for m in q.metrics},
            partial=bool(result.unavailable), unavailable_shards=result.unavailable,
        ),
    )  # fmt: skip


async def run(
    session: AsyncSession, engine: Engine, principal: Principal, body: QueryRequest
) -> tuple[qm.Query, Result]:
    q = await parse(session, engine, principal, body)
    return q, await engine.run(session, q, with_totals=body.totals)


# --- The original platform's four endpoints, as views over the engine ----------------------

LEGACY_METRICS = ("views", "unique_visitors")


def _window_query(
    principal: Principal, days: int, include_bots: bool, scope: tuple[tuple[str, int], ...]
) -> qm.Query:
    until = utcnow()
    period = Period("days", until - timedelta(days=days), until)
    filters = tuple(qm.Filter(level, "is", (str(ident),)) for level, ident in scope)
    return qm.Query(
        period=period, tz=qm.zone("UTC"), now=until, metrics=LEGACY_METRICS, time=None,
        dimensions=(), filters=filters, include_bots=include_bots,
        company_scope=principal.company_id, scope=scope, all_accumulators=True,
        project_scope=principal.project_id,
    )  # fmt: skip


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def _legacy_figures(q: qm.Query, acc: dict[str, int], days: int) -> dict[str, Any]:
    new = finalize(acc, tuple(METRICS))
    return {
        "window_days": days,
        "include_bots": q.include_bots,
        "since": q.period.since,
        "until": q.period.until,
        "unique_sessions": acc["sessions"],
        "unique_visitors": acc["visitors"],
        "avg_duration_seconds": new["avg_duration_seconds"],
        "sessions_with_duration": acc["duration_n"],
        "video_plays": acc["plays"],
        "video_play_rate": new["video_play_rate"],
        "tracking_quality": {k: acc[f"q_{k}"] for k in ("none", "poor", "fair", "good", "unknown")},
        "avg_time_to_first_found_ms": _mean(acc["found_ms_sum"], acc["found"]),
        "sessions_with_target_found": acc["found"],
        "avg_tracked_seconds": new["avg_tracked_seconds"],
        "avg_target_losses": new["target_losses_per_session"],
        "sessions_with_tracking_figures": acc["tracked_n"],
        **{name: new[name] for name in METRICS if name not in ("unique_visitors",)},
    }


async def _totals(session: AsyncSession, engine: Engine, q: qm.Query) -> dict[str, int]:
    await engine.check_scope(session, q)
    acc, _ = await engine.totals(session, q)
    return acc


async def overview(
    session: AsyncSession, engine: Engine, principal: Principal, days: int,
    include_bots: bool = False,
) -> Overview:  # fmt: skip
    q = _window_query(principal, days, include_bots, ())
    acc = await _totals(session, engine, q)
    active = await repository.active_counts(session, principal.company_id, principal.project_id)
    figures = _legacy_figures(q, acc, days)
    return Overview(
        total_views=acc["views"],
        active_content=active["content"],
        active_projects=active["projects"],
        active_companies=active["companies"],
        **figures,
    )


async def _entity(
    session: AsyncSession, engine: Engine, principal: Principal, level: str, ident: int,
    days: int, include_bots: bool,
) -> tuple[dict[str, int], dict[str, Any]]:  # fmt: skip
    q = _window_query(principal, days, include_bots, ((level, ident),))
    acc = await _totals(session, engine, q)
    ids = await repository.entity(session, level, ident, principal.company_id, principal.project_id)
    assert ids is not None  # check_scope passed
    figures = _legacy_figures(q, acc, days)
    figures["views"] = figures["views_30_days"] = acc["views"]
    return ids, figures


async def company(
    session: AsyncSession, engine: Engine, principal: Principal, ident: int, days: int,
    include_bots: bool = False,
) -> CompanyAnalytics:  # fmt: skip
    ids, figures = await _entity(session, engine, principal, "company", ident, days, include_bots)
    return CompanyAnalytics(company_id=ids["id"], **figures)


async def project(
    session: AsyncSession, engine: Engine, principal: Principal, ident: int, days: int,
    include_bots: bool = False,
) -> ProjectAnalytics:  # fmt: skip
    ids, figures = await _entity(session, engine, principal, "project", ident, days, include_bots)
    return ProjectAnalytics(project_id=ids["id"], company_id=ids["company_id"], **figures)


async def content(
    session: AsyncSession, engine: Engine, principal: Principal, ident: int, days: int,
    include_bots: bool = False,
) -> ContentAnalytics:  # fmt: skip
    ids, figures = await _entity(session, engine, principal, "content", ident, days, include_bots)
    return ContentAnalytics(
        ar_content_id=ids["id"], project_id=ids["project_id"], company_id=ids["company_id"],
        **figures,
    )  # fmt: skip
