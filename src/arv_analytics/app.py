"""create_app(): settings, database, routers, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from arv_analytics import __version__
from arv_analytics.analytics.endpoints import router as analytics_router
from arv_analytics.catalog.endpoints import router as catalog_router
from arv_analytics.config import Settings, get_settings
from arv_analytics.db import SessionDep, create_engine, create_sessionmaker
from arv_analytics.errors import install_handlers
from arv_analytics.ingest.cors import TrackingCORS
from arv_analytics.ingest.endpoints import router as ingest_router
from arv_analytics.web.endpoints import router as web_router
from arv_analytics.web.static_files import static_files

DESCRIPTION = """
Analytics for image-tracked web AR: views, unique sessions, viewing time, tracking quality and
video plays per company, project and AR content.

* **Tracking** (`/api/analytics/ar-session…`) is public and accepts `application/json` or
  `text/plain` bodies.
* **Reads and management** need `Authorization: Bearer <token>`.
* Every error is `{"error": "<code>", "detail": "<text>"}`.

The AR viewer is served at `/ar/{unique_id}`; its tracker at `/static/arv-tracker.v1.js`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="ARV Analytics",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_handlers(app)
    app.include_router(ingest_router)
    app.include_router(analytics_router)
    app.include_router(catalog_router)
    app.include_router(web_router)
    app.mount("/static", static_files(), name="static")
    app.add_middleware(TrackingCORS)

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    async def healthz(session: SessionDep) -> dict[str, str]:
        await session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    return app
