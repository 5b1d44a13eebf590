"""/healthz (liveness), /readyz (readiness) and /metrics (Prometheus)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from arv_analytics import __version__
from arv_analytics.config import Settings
from arv_analytics.db import SessionDep
from arv_analytics.errors import Unauthorized, responses
from arv_analytics.observability import metrics
from arv_analytics.observability.schemas import Health, Ready
from arv_analytics.observability.service import check_ready

router = APIRouter(tags=["operations"])
_bearer = HTTPBearer(auto_error=False, description="ARV_METRICS_TOKEN")


@router.get("/healthz", summary="Liveness: the process is up", response_model=Health)
async def healthz() -> Health:
    # Touches nothing: a database outage must not make an orchestrator restart healthy
    # processes (that is what /readyz is for).
    return Health(status="ok", version=__version__)


@router.get(
    "/readyz",
    summary="Readiness: database reachable, migrations current, write queue not full",
    response_model=Ready,
    responses=responses(
        503, descriptions={503: "Not ready; `detail` names the failing check (`not_ready`)"}
    ),
)
async def readyz(request: Request, session: SessionDep) -> Ready:
    state = request.app.state
    buffer = state.write_buffer
    depth = buffer.depth if buffer is not None else None
    capacity = buffer.capacity if buffer is not None else None
    ready = await check_ready(session, state.schema_head, state.schema_known, depth, capacity)
    return Ready(
        status="ready",
        version=__version__,
        schema_revision=ready.revision,
        write_queue_depth=ready.queue_depth,
        write_queue_capacity=ready.queue_capacity,
    )


async def _metrics_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    settings: Settings = request.app.state.settings
    expected = settings.metrics_token
    if expected is None:
        # No credential can open it, so the answer is the same as for a wrong one.
        where = f"; they are on port {settings.metrics_port}" if settings.metrics_port else ""
        raise Unauthorized(f"ARV_METRICS_TOKEN is not set: no metrics on this port{where}")
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("/metrics needs `Authorization: Bearer <ARV_METRICS_TOKEN>`")


@router.get(
    "/metrics",
    summary="Prometheus metrics (needs ARV_METRICS_TOKEN)",
    response_class=Response,
    dependencies=[Depends(_metrics_token)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **responses(
            401,
            descriptions={
                401: "Missing or wrong ARV_METRICS_TOKEN, or that setting is unset (metrics "
                "are then off on this port)"
            },
        ),
    },
)
async def metrics_endpoint(request: Request) -> Response:
    body = metrics.exposition(request.app.state.metrics_state)
    return Response(body, media_type=metrics.CONTENT_TYPE)
