"""The query API: /api/v1/query (JSON body or query parameters), CSV, the funnel, realtime,
the schema of metrics and dimensions, and the ZIP export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from arv_analytics.analytics import export, funnel, service
from arv_analytics.analytics.dimensions import PROPERTIES, TIME_GRANULARITIES, TIME_PREFIX
from arv_analytics.analytics.engine import Engine
from arv_analytics.analytics.executors import raw
from arv_analytics.analytics.metrics import HISTOGRAMS, METRICS
from arv_analytics.analytics.periods import NAMED_PERIODS
from arv_analytics.analytics.query_schemas import FilterIn, QueryRequest, QueryResponse, Scope
from arv_analytics.db import SessionDep
from arv_analytics.errors import InvalidInput, responses
from arv_analytics.models import utcnow
from arv_analytics.params import MAX_ID
from arv_analytics.tenancy.dependencies import AnalyticsReaderDep
from arv_analytics.tenancy.service import Principal

router = APIRouter(prefix="/api/v1", tags=["query"])
_ERRORS = responses(
    400, 401, 404, 422, 503,
    descriptions={503: "The database, or a ClickHouse shard (clickhouse_unavailable: the "
                       "detail names it; ask with partial: true to skip it), is not answering"},
)  # fmt: skip
CSV = "text/csv; charset=utf-8"
Format = Annotated[
    Literal["json", "csv"] | None, Query(description="csv: the rows as CSV (or Accept: text/csv)")
]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.analytics
    return engine


def _wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


async def _answer(
    request: Request, session: SessionDep, principal: Principal, body: QueryRequest, fmt: str | None
) -> Any:
    q, result = await service.run(session, _engine(request), principal, body)
    if _wants_csv(request, fmt):
        return StreamingResponse(
            export.csv_chunks(export.lines(q, result)),
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="arv-query.csv"'},
        )
    return service.response(q, result)


_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The answer"}
}


@router.post(
    "/query",
    response_model=QueryResponse,
    responses={**_ERRORS, **_CSV_DOC},
    summary="Ask any question: metrics by dimensions over a period, with filters",
)
async def query_post(
    request: Request,
    body: QueryRequest,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    format: Format = None,
) -> Any:
    return await _answer(request, session, principal, body, format)


def _split(value: str | None) -> list[str] | None:
    return [v for v in value.split(",") if v] if value else None


def _filters(items: list[str] | None) -> list[FilterIn]:
    out = []
    for item in items or []:
        parts = item.split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise InvalidInput(
                f"filter: {item!r} is not dimension:op:value[|value…]",
                [{"field": "filter", "message": "expected dimension:op:value[|value…]"}],
            )
        dimension, op, values = parts
        if op not in ("is", "is_not", "contains"):
            raise InvalidInput(
                f"filter: unknown operator {op!r}",
                [{"field": "filter", "message": "op is one of is, is_not, contains"}],
            )
        out.append(FilterIn(dimension=dimension, op=op, values=values.split("|")))
    return out


IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get(
    "/query",
    response_model=QueryResponse,
    responses={**_ERRORS, **_CSV_DOC},
    summary="The same question as query parameters, for simple questions and links",
)
async def query_get(
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    metrics: Annotated[str | None, Query(description="Comma-separated metric names")] = None,
    dimensions: Annotated[str | None, Query(description="Comma-separated, up to 3")] = None,
    filter: Annotated[
        list[str] | None,
        Query(description="dimension:op:value[|value…], repeatable; e.g. country:is:DE|AT"),
    ] = None,
    period: Annotated[str | None, Query(description=", ".join(NAMED_PERIODS) + ", custom")] = None,
    from_: Annotated[str | None, Query(alias="from", description="Date or datetime")] = None,
    to: Annotated[str | None, Query(description="Date (included) or datetime")] = None,
    timezone: Annotated[str | None, Query(max_length=64)] = None,
    comparison: Annotated[Literal["previous_period", "year_over_year"] | None, Query()] = None,
    include_bots: bool = False,
    order_by: Annotated[str | None, Query(description="Comma-separated; -name descends")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    company_id: IdQuery = None,
    project_id: IdQuery = None,
    content_id: IdQuery = None,
    format: Format = None,
    partial: Annotated[
        bool, Query(description="Answer from the ClickHouse shards that are up (see POST)")
    ] = False,
) -> Any:
    scope = None
    if company_id or project_id or content_id:
        scope = Scope(company_id=company_id, project_id=project_id, content_id=content_id)
    try:
        body = QueryRequest.model_validate(
            {
                "scope": scope, "period": period, "from": from_, "to": to,
                "timezone": timezone, "metrics": _split(metrics),
                "dimensions": _split(dimensions) or [], "filters": _filters(filter),
                "comparison": comparison, "include_bots": include_bots,
                "order_by": _split(order_by), "limit": limit, "offset": offset,
                "partial": partial,
            }
        )  # fmt: skip
    except ValueError as exc:
        errors: list[Any] = getattr(exc, "errors", lambda: [])()
        raise InvalidInput.from_errors(errors) from exc
    return await _answer(request, session, principal, body, format)


@router.post("/funnel", responses=_ERRORS, summary="The AR funnel, optionally broken down")
async def funnel_post(
    request: Request, body: QueryRequest, session: SessionDep, principal: AnalyticsReaderDep
) -> dict[str, Any]:
    """Opened → camera granted → target found → video played: counts, conversion from the
    previous step and from the start, and the median visible time to each step. `metrics`
    is ignored; `dimensions` (e.g. browser, os, device_type) break it down."""
    body = body.model_copy(
        update={"metrics": list(funnel.FUNNEL_METRICS), "comparison": None, "totals": True}
    )
    q, result = await service.run(session, _engine(request), principal, body)
    return {
        "funnel": funnel.steps(result.totals),
        "results": [
            {"dimensions": r.dimensions, "labels": r.labels, "steps": funnel.steps(r.metrics)}
            for r in result.rows
        ],
        "meta": service.response(q, result).meta.model_dump(mode="json"),
    }


@router.get("/realtime", responses=_ERRORS, summary="Views active now and starts per minute")
async def realtime_get(
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    company_id: IdQuery = None,
    project_id: IdQuery = None,
    content_id: IdQuery = None,
    include_bots: bool = False,
) -> dict[str, Any]:
    """`active_now`: views with a start or heartbeat in the last 5 minutes; `per_minute`:
    starts in each of the last 30 UTC minutes (oldest first, zeros included)."""
    scope = None
    if company_id or project_id or content_id:
        scope = Scope(company_id=company_id, project_id=project_id, content_id=content_id)
    body = QueryRequest(scope=scope, period="realtime", include_bots=include_bots)
    engine = _engine(request)
    q = await service.parse(session, engine, principal, body)
    await engine.check_scope(session, q)
    now = utcnow()
    # An executor with its own store (ClickHouse) answers from there; the others from SQL.
    realtime = getattr(engine.executor, "realtime", raw.realtime)
    active, per_minute = await realtime(
        session, q, now, timedelta(minutes=5), timedelta(minutes=30)
    )
    minutes = []
    for i in range(29, -1, -1):
        label = (now - timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M")
        minutes.append({"minute": label.replace(" ", "T"), "views": per_minute.get(label, 0)})
    return {"active_now": active, "per_minute": minutes, "at": now.isoformat()}


@router.get(
    "/schema",
    responses=responses(401),
    summary="Every metric, dimension and period the engine knows",
)
async def schema(principal: AnalyticsReaderDep) -> dict[str, Any]:
    del principal  # any valid token
    return {
        "metrics": {
            m.name: {"type": m.type, "kind": m.kind, "description": m.description}
            for m in METRICS.values()
        },
        "dimensions": {
            **{TIME_PREFIX + g: "time bucket in the question's zone" for g in TIME_GRANULARITIES},
            "company": "company id", "project": "project id", "content": "ar content id",
            **{p.name: p.description for p in PROPERTIES.values()},
        },
        "periods": [*NAMED_PERIODS, "custom"],
        "histograms": {h.column: {"unit": h.unit, "edges": list(h.edges)} for h in HISTOGRAMS},
    }  # fmt: skip


EXPORT_DIMENSIONS = ("content", "project", "company", *PROPERTIES)


@router.get(
    "/export",
    responses={**_ERRORS, 200: {"content": {"application/zip": {}}, "description": "ZIP"}},
    summary="A ZIP of CSVs: the time series and one file per dimension, no row cap",
)
async def export_zip(
    request: Request,
    session: SessionDep,
    principal: AnalyticsReaderDep,
    period: Annotated[str | None, Query()] = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
    timezone: Annotated[str | None, Query(max_length=64)] = None,
    filter: Annotated[list[str] | None, Query()] = None,
    include_bots: bool = False,
    company_id: IdQuery = None,
    project_id: IdQuery = None,
    content_id: IdQuery = None,
) -> StreamingResponse:
    scope = None
    if company_id or project_id or content_id:
        scope = Scope(company_id=company_id, project_id=project_id, content_id=content_id)
    metrics = ["views", "unique_sessions", "unique_visitors", "avg_duration_seconds",
               "median_duration_seconds", "video_play_rate", "target_found_rate",
               "camera_granted_rate"]  # fmt: skip
    try:
        base = QueryRequest.model_validate(
            {"scope": scope, "period": period, "from": from_, "to": to, "timezone": timezone,
             "metrics": metrics, "filters": _filters(filter), "include_bots": include_bots,
             "limit": 10_000, "totals": False}
        )  # fmt: skip
    except ValueError as exc:
        raise InvalidInput.from_errors(getattr(exc, "errors", lambda: [])()) from exc
    engine = _engine(request)
    first = await service.parse(session, engine, principal, base)  # validates before streaming
    await engine.check_scope(session, first)
    maker = request.app.state.sessionmaker
    span = first.period.until - first.period.since
    granularity = "hour" if span <= timedelta(days=2) else "day"

    async def files() -> AsyncIterator[tuple[str, Iterable[list[Any]]]]:
        # Its own session: the request's closes when the endpoint returns, before streaming.
        async with maker() as own:
            for name in ("time", *EXPORT_DIMENSIONS):
                dims = [f"time:{granularity}"] if name == "time" else [name]
                offset = 0
                rows: list[list[Any]] = []
                while True:
                    body = base.model_copy(update={"dimensions": dims, "offset": offset})
                    q, result = await service.run(own, engine, principal, body)
                    chunk = list(export.lines(q, result))
                    rows.extend(chunk if offset == 0 else chunk[1:])
                    offset += len(result.rows)
                    if offset >= result.total_rows or not result.rows:
                        break
                yield f"{name}.csv", rows

    return StreamingResponse(
        export.zip_stream(files()),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="arv-export.zip"'},
    )
