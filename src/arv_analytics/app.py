"""create_app(): settings, database, routers, error handlers, security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import text

from arv_analytics import __version__
from arv_analytics.analytics.endpoints import router as analytics_router
from arv_analytics.audit.endpoints import router as audit_router
from arv_analytics.catalog.endpoints import router as catalog_router
from arv_analytics.config import Settings, get_settings
from arv_analytics.db import SessionDep, create_engine, create_sessionmaker
from arv_analytics.errors import install_handlers, responses
from arv_analytics.ingest.endpoints import router as ingest_router
from arv_analytics.params import strict_query
from arv_analytics.tenancy.endpoints import router as tokens_router
from arv_analytics.tenancy.ratelimit import TrackingLimiter, limit_tracking
from arv_analytics.web import apidocs
from arv_analytics.web.headers import SecurityHeaders

DESCRIPTION = """
Analytics for image-tracked web AR: views, unique sessions, viewing time, tracking quality and
video plays per company, project and AR content.

* **Tracking** (`/api/analytics/ar-session…`) is public, rate-limited per client, and accepts
  `application/json` or `text/plain` bodies.
* **Reads** need `Authorization: Bearer <token>`: an admin token sees everything, a company
  token only its own company (other companies' ids answer 404).
* **Management** (writes, tokens, audit log) needs an admin token.
* Every error is `{"error": "<code>", "detail": "<text>"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # Made here, not at import: its storage belongs to this process's event loop.
        app.state.tracking_limiter = TrackingLimiter(settings)
        try:
            yield
        finally:
            await app.state.tracking_limiter.aclose()
            await engine.dispose()

    app = FastAPI(
        title="ARV Analytics",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(strict_query)],
    )
    app.state.settings = settings
    install_handlers(app)
    app.add_middleware(SecurityHeaders, assets_url=settings.viewer_assets_url)
    app.include_router(
        ingest_router, dependencies=[Depends(limit_tracking)], responses=responses(429)
    )
    app.include_router(analytics_router)
    app.include_router(catalog_router)
    app.include_router(tokens_router)
    app.include_router(audit_router)
    apidocs.install(app)

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    async def healthz(session: SessionDep) -> dict[str, str]:
        await session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
