"""Test helpers: real databases (SQLite file, fresh PostgreSQL database) and a live server.

Nothing here mocks the database: every test talks HTTP to uvicorn serving the app, and reads
the database afterwards through a separate synchronous engine.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
import uvicorn
from sqlalchemy import Engine, create_engine, text

from arv_analytics import migrate
from arv_analytics.app import create_app
from arv_analytics.config import Settings

ADMIN_TOKEN = "test-admin-token-" + uuid.uuid4().hex
PG_ADMIN_URL = os.environ.get(
    "ARV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ARV_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# What the tracker in a phone sends; python-httpx's own user agent would be flagged a bot.
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
TABLES = (
    "audit_log",
    "ar_diagnostics_daily",
    "rollup_stats",
    "rollup_daily_visitors",
    "visitor_keys",
    "rollup_property_visitors",
    "property_visitor_keys",
    "rollup_detail",
    "ar_view_sessions",
    "share_sessions",
    "share_links",
    "api_tokens",
    "ar_content",
    "projects",
    "companies",
)


@dataclass
class Database:
    backend: str
    url: str  # async URL the app uses
    sync_url: str  # the tests' own driver, independent of the code under test

    def engine(self) -> Engine:
        return create_engine(self.sync_url)


def _pg_conninfo() -> str:
    return PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")


def postgres_available() -> bool:
    try:
        with psycopg.connect(_pg_conninfo(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    message = f"PostgreSQL not reachable at {PG_ADMIN_URL} (set ARV_TEST_POSTGRES_URL)"
    if IN_CI:
        pytest.fail(message + "; CI=true requires it")
    pytest.skip(message)


def require_redis() -> str:
    """The test Redis URL; skips without a server (fails with CI=true, like PostgreSQL)."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3) as conn:
            conn.ping()
        return REDIS_URL
    except redis.RedisError:
        message = f"Redis not reachable at {REDIS_URL} (set ARV_TEST_REDIS_URL)"
        if IN_CI:
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)


@contextmanager
def new_database(backend: str, tmp_dir: Path, *, migrated: bool = True) -> Iterator[Database]:
    """A brand-new, empty database of the given backend, removed afterwards."""
    if backend == "sqlite":
        path = tmp_dir / f"arv-{uuid.uuid4().hex[:8]}.db"
        db = Database("sqlite", f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}")
        if migrated:
            migrate.upgrade(db.url)
        yield db
        return
    require_postgres()
    name = f"arv_test_{uuid.uuid4().hex[:12]}"
    # A migrated database is a copy of one migrated once per test run: CREATE DATABASE …
    # TEMPLATE copies files (~0.1 s) where running every migration takes 1–2 s, and the
    # suite asks for dozens.
    template = f' TEMPLATE "{_migrated_template()}"' if migrated else ""
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{template}')
    db = _pg_database(name)
    try:
        yield db
    finally:
        with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_database(name: str) -> Database:
    base = _pg_conninfo().rsplit("/", 1)[0].split("://", 1)[1]
    return Database(
        "postgresql", f"postgresql+asyncpg://{base}/{name}", f"postgresql+psycopg://{base}/{name}"
    )


_TEMPLATE: list[str] = []  # this test process's migrated template database, made on first use


def _migrated_template() -> str:
    if not _TEMPLATE:
        name = f"arv_template_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_database, name)
        migrate.upgrade(_pg_database(name).url)
        _TEMPLATE.append(name)
    return _TEMPLATE[0]


def _drop_database(name: str) -> None:
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real app on uvicorn in a background thread, on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            proxy_headers=False,  # client addresses are the app's business (trusted proxies)
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


# The shared test servers keep the rate limiter on (so every tracking test goes through it)
# but high enough that no test of something else is ever limited.
TEST_RATE_LIMITS = {"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000}


def settings_for(db: Database, **overrides: Any) -> Settings:
    # The scheduler is off unless a test asks for it, so no job changes rows under a test.
    values: dict[str, Any] = {"jobs_enabled": False, **TEST_RATE_LIMITS, **overrides}
    return Settings(database_url=db.url, admin_token=ADMIN_TOKEN, **values)


def client(
    base_url: str, token: str | None = ADMIN_TOKEN, user_agent: str = PHONE_UA
) -> httpx.Client:
    headers = {"User-Agent": user_agent}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def make_content(
    api: httpx.Client, company: str = "Acme", project: str = "Posters"
) -> dict[str, Any]:
    """Creates company → project → content through the API; returns the content body."""
    c = api.post("/api/companies", json={"name": company})
    assert c.status_code == 201, c.text
    p = api.post("/api/projects", json={"company_id": c.json()["id"], "name": project})
    assert p.status_code == 201, p.text
    a = api.post("/api/ar-content", json={"project_id": p.json()["id"], "title": "Poster"})
    assert a.status_code == 201, a.text
    return dict(a.json())


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def rollup_rows(engine: Engine, table: str = "rollup_stats") -> list[tuple[str, ...]]:
    """A rollup table's rows as sorted text tuples, to compare the write path with a
    recount. A ``rollup_stats`` row an end emptied (its view moved to another property
    value) stands for nothing and is left out: a recount does not make it."""
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f"SELECT * FROM {table}")
        names = list(result.keys())
        kept = [
            tuple(str(v) for v in r)
            for r in result
            if table != "rollup_stats" or dict(zip(names, r, strict=True))["views"]
        ]
    return sorted(kept)


def rebuild_rollups(db: Database) -> None:
    """After writing sessions straight into the table, bring the rollups up to date, as an
    import or `arv-analytics rollup` would."""
    import asyncio

    from arv_analytics.db import create_engine as create_async
    from arv_analytics.db import create_sessionmaker
    from arv_analytics.models import ARViewSession
    from arv_analytics.rollups.rebuild import rebuild, session_days

    async def go() -> None:
        engine = create_async(settings_for(db))
        try:
            async with create_sessionmaker(engine)() as session:
                span = await session_days(session, ARViewSession.id.is_not(None))
                if span:
                    await rebuild(session, *span)
        finally:
            await engine.dispose()

    asyncio.run(go())


async def recount_rollups(database: Database, content_ids: list[int] | None = None) -> None:
    """`arv-analytics rollup` in-process: every day holding sessions (optionally only the rows
    the given contents feed)."""
    from arv_analytics.db import create_engine as create_async_engine
    from arv_analytics.db import create_sessionmaker
    from arv_analytics.models import ARViewSession
    from arv_analytics.rollups.rebuild import rebuild, session_days

    engine = create_async_engine(settings_for(database))
    try:
        async with create_sessionmaker(engine)() as session:
            span = await session_days(session, ARViewSession.id.is_not(None))
            assert span is not None
            await rebuild(session, *span, content_ids=content_ids)
    finally:
        await engine.dispose()
