"""create_app(): settings, database, routers, error handlers, security headers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from arv_analytics import __version__, migrate
from arv_analytics.analytics.endpoints import router as analytics_router
from arv_analytics.analytics.query_endpoints import router as query_router
from arv_analytics.analytics.setup import choose_engine
from arv_analytics.audit.endpoints import router as audit_router
from arv_analytics.catalog.endpoints import router as catalog_router
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.store import SessionStore
from arv_analytics.compat.endpoints import reads as compat_reads
from arv_analytics.compat.endpoints import tracking as compat_tracking
from arv_analytics.config import Settings, get_settings
from arv_analytics.dashboard.endpoints import router as dashboard_router
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.errors import install_handlers, responses
from arv_analytics.ingest.buffer import WriteBuffer
from arv_analytics.ingest.catalog_cache import ContentCache
from arv_analytics.ingest.cors import TrackingCORS
from arv_analytics.ingest.endpoints import router as ingest_router
from arv_analytics.ingest.enrichment import Enricher
from arv_analytics.ingest.fastpath import TrackingFront
from arv_analytics.ingest.geo import GeoLocator
from arv_analytics.ingest.service import Ingest
from arv_analytics.ingest.writes import Rules
from arv_analytics.jobs.scheduler import Scheduler
from arv_analytics.observability import logs, metrics
from arv_analytics.observability.endpoints import router as operations_router
from arv_analytics.observability.requests import RequestObserver
from arv_analytics.params import strict_query
from arv_analytics.privacy.salts import SaltKeeper
from arv_analytics.tenancy.endpoints import router as tokens_router
from arv_analytics.tenancy.ratelimit import TrackingLimiter, limit_tracking
from arv_analytics.tenancy.share_endpoints import router as share_links_router
from arv_analytics.web import apidocs
from arv_analytics.web.endpoints import router as web_router
from arv_analytics.web.headers import SecurityHeaders
from arv_analytics.web.static_files import static_files

DESCRIPTION = """
Analytics for image-tracked web AR: views, unique sessions, viewing time, tracking quality and
video plays per company, project and AR content.

* **Tracking** (`/api/analytics/ar-session…`) is public, rate-limited per client, and accepts
  `application/json` or `text/plain` bodies.
* **Reads** need `Authorization: Bearer <token>`: an admin token sees everything, a company
  token only its own company (other companies' ids answer 404).
* **Management** (writes, tokens, audit log) needs an admin token.
* Every error is `{"error": "<code>", "detail": "<text>"}`.

The AR viewer is served at `/ar/{unique_id}`; its tracker at `/static/arv-tracker.v1.js`.

Routes tagged **original platform** are kept for the original ARV platform's deployed viewers,
app and admin pages; each names the canonical route new clients should use.
"""


class Application(FastAPI):
    """The app, with the request observer and the tracking fast path in FRONT of FastAPI's
    own middleware stack (its error middleware, OpenTelemetry hook and body limit), not
    inside it: middleware added with ``add_middleware`` always runs under those layers,
    which cost a tracking request as much as the rest of its HTTP handling (a profile of
    the tracking server, docs/benchmarks.md). FastAPI's stack still wraps every other
    request; an error it answers passes the observer, which adds the request id."""

    def front(self, *, access_log: bool, fast_path: bool = True) -> None:
        """(Re)builds the front layers; without ``fast_path`` the FastAPI routes answer
        tracking (the fast path's tests compare the two)."""
        inner: ASGIApp = super().__call__
        self._front: ASGIApp = RequestObserver(
            TrackingFront(inner) if fast_path else inner, access_log_enabled=access_log
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # what FastAPI's stack sets; the fast path reads app.state
        await self._front(scope, receive, send)


def create_app(settings: Settings | None = None) -> Application:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        maker = create_sessionmaker(engine)
        geo = GeoLocator(settings.geoip_city_db)
        app.state.engine = engine
        app.state.sessionmaker = maker
        buffered = settings.ingest_mode == "buffered"
        clickhouse = (
            ClickHouse.from_settings(settings.clickhouse_url, settings.clickhouse_cluster)
            if settings.clickhouse_url
            else None
        )
        sink = SessionStore(clickhouse) if clickhouse else None
        cache = ContentCache(maker, settings.catalog_refresh_seconds) if buffered else None
        buffer = (
            WriteBuffer(
                maker,
                Rules(
                    rollups=settings.uses_rollups,
                    end_window_seconds=settings.max_session_seconds + settings.end_grace_seconds,
                    sink=sink,
                ),
                max_batch=settings.write_batch_max,
                max_wait=settings.write_batch_wait_ms / 1000,
                max_queue=settings.write_queue_max,
                # SQLite has one writer anyway. On PostgreSQL more than one batch in flight
                # was slower here: every batch adds to the same hour/day rollup rows, so a
                # second batch waits for the first one's row locks, and the batches that
                # overlap are smaller (docs/benchmarks.md, "Third pass").
                writers=1 if settings.is_sqlite else settings.write_batches_in_flight,
            )
            if buffered
            else None
        )
        app.state.ingest = Ingest(
            maker,
            Enricher(settings, SaltKeeper(maker), geo),
            cache=cache,
            buffer=buffer,
            store_bots=settings.store_bots,
            max_session_seconds=settings.max_session_seconds,
            end_grace_seconds=settings.end_grace_seconds,
            sink=sink,
        )
        app.state.write_buffer = buffer
        app.state.catalog_listeners = [cache.changed] if cache else []
        scheduler = Scheduler(maker, settings) if settings.jobs_enabled else None
        if cache:
            await cache.start()
        if buffer:
            buffer.start()
        if scheduler:
            scheduler.start()
        # Made here, not at import: its storage belongs to this process's event loop.
        app.state.tracking_limiter = TrackingLimiter(settings)
        app.state.analytics = await choose_engine(settings, maker, clickhouse)
        app.state.metrics_state = metrics.AppState(
            metrics.Gauges(
                queue_depth=(lambda: buffer.depth) if buffer else None,
                queue_capacity=buffer.capacity if buffer else None,
                rollup_lag=buffer.lag_seconds if buffer else None,
                catalog_cache_size=(lambda: cache.size[0]) if cache else None,
            )
        )
        # Everything loaded so far (geo database, user-agent rules, the catalog, the app)
        # lives as long as the process: moved out of the collector's generations, a full
        # collection no longer walks it, which cut the tracking routes' p99 (each full
        # collection paused every request in flight; docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        logs.lean_records()
        scrape_port = None
        if settings.metrics_port and not metrics.multiprocess():
            # One process: this app's gauges too. Several workers: `serve` runs the port.
            scrape_port = metrics.serve_port(
                settings.metrics_host, settings.metrics_port, app.state.metrics_state
            )
        try:
            yield
        finally:
            if scrape_port:
                scrape_port.close()
            await app.state.tracking_limiter.aclose()
            if scheduler:
                await scheduler.stop()
            if buffer:
                await buffer.close()  # commit everything already queued before exiting
            if cache:
                await cache.stop()
            geo.close()
            if clickhouse:
                clickhouse.close()
            await engine.dispose()

    app = Application(
        title="ARV Analytics",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(strict_query)],
    )
    app.state.settings = settings
    app.state.metrics_state = None
    # Read once: the code's newest revision cannot change while this process runs.
    app.state.schema_head = migrate.head_revision()
    app.state.schema_known = migrate.known_revisions()
    install_handlers(app)
    app.add_middleware(SecurityHeaders, assets_url=settings.viewer_assets_url)
    app.include_router(
        ingest_router, dependencies=[Depends(limit_tracking)], responses=responses(429)
    )
    app.include_router(
        compat_tracking, dependencies=[Depends(limit_tracking)], responses=responses(429)
    )
    app.include_router(analytics_router)
    app.include_router(compat_reads)
    app.include_router(query_router)
    app.include_router(catalog_router)
    app.include_router(web_router)
    app.include_router(dashboard_router)
    app.mount("/static", static_files(), name="static")
    app.add_middleware(TrackingCORS)
    app.include_router(tokens_router)
    app.include_router(share_links_router)
    app.include_router(audit_router)
    app.include_router(operations_router)
    apidocs.install(app)
    # Outermost the observer, so that its clock and request id cover every other layer; then
    # tracking, answered before the routing and the other middleware (ingest/fastpath.py):
    # what it cannot answer exactly as the routes would goes on to them.
    app.front(access_log=settings.access_log)
    return app
