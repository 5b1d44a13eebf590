"""The database's disk fills up under tracking traffic, then space comes back.

PostgreSQL gets a database in a tablespace on a small tmpfs; SQLite a database file on one.
A filler file takes the rest of the space; then starts are sent until the database refuses
to grow. Every refusal must be a 503 with Retry-After (never a 500, never a hang); once the
filler is gone, tracking must work again without a restart; every acknowledged start must be
stored; and nothing may be corrupted: SQLite's integrity check, PostgreSQL's amcheck on every
index, and rollups equal to their recount.

Mounting a tmpfs needs root (CAP_SYS_ADMIN); without it the test skips (fails in CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pwd
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from arv_analytics import migrate
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.models import ARViewSession
from arv_analytics.rollups.rebuild import rebuild, session_days
from tests.support import (
    IN_CI,
    Database,
    LiveServer,
    client,
    make_content,
    require_postgres,
    rows,
    settings_for,
)

START = "/api/analytics/ar-session"
ROLLUPS = ("rollup_stats", "rollup_daily_visitors")


@contextmanager
def small_disk(megabytes: int, owner: str | None = None) -> Iterator[Path]:
    path = Path(f"/tmp/arv-disk-full-{uuid.uuid4().hex[:8]}")
    path.mkdir()
    options = f"size={megabytes}m,mode=0700"
    if owner is not None:
        user = pwd.getpwnam(owner)
        options += f",uid={user.pw_uid},gid={user.pw_gid}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        path.rmdir()
        message = f"cannot mount a tmpfs (needs root): {done.stderr.strip()}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        with contextlib.suppress(OSError):
            path.rmdir()


def fill(disk: Path) -> Callable[[], None]:
    """Takes every free byte of the disk; returns what gives it back."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    chunk = b"\xff" * 65_536
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)
    return filler.unlink


def exercise(url: str, content: dict[str, Any], free: Callable[[], None]) -> list[str]:
    """Starts until the disk refuses several, then frees it; returns the acknowledged ids."""
    acked: list[str] = []
    refused = 0
    with client(url, token=None) as c:

        def start() -> httpx.Response:
            sid = str(uuid.uuid4())
            body = {"ar_content_id": content["id"], "session_id": sid, "browser": "x" * 90}
            r = c.post(START, json=body)
            if r.status_code == 200:
                acked.append(sid)
            return r

        for _ in range(5_000):
            r = start()
            if r.status_code == 503:
                assert r.json()["error"] == "database_unavailable", r.text
                assert int(r.headers["retry-after"]) >= 1
                refused += 1
                if refused == 5:
                    break
            else:
                assert r.status_code == 200, r.text
        assert refused == 5, f"the disk never filled up ({len(acked)} starts stored)"
        free()
        deadline = time.monotonic() + 30
        while start().status_code != 200:
            assert time.monotonic() < deadline, "tracking did not recover by itself"
            time.sleep(0.5)
        for _ in range(20):
            assert start().status_code == 200
    print(f"{len(acked)} starts acknowledged, {refused} refused while the disk was full")
    return acked


async def _recount(database: Database) -> None:
    engine = create_engine(settings_for(database))
    try:
        async with create_sessionmaker(engine)() as session:
            span = await session_days(session, ARViewSession.id.is_not(None))
            assert span is not None
            await rebuild(session, *span)
    finally:
        await engine.dispose()


def check_stored_and_exact(database: Database, acked: list[str]) -> None:
    engine = database.engine()
    try:
        found = rows(engine, "SELECT session_id FROM ar_view_sessions")
        stored = {str(uuid.UUID(str(r["session_id"]))) for r in found}
        assert set(acked) <= stored, "acknowledged starts lost"

        def snapshot() -> dict[str, list[tuple[Any, ...]]]:
            with engine.connect() as conn:
                return {
                    t: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t}"))
                    for t in ROLLUPS
                }

        kept = snapshot()
        asyncio.run(_recount(database))
        assert snapshot() == kept, "rollups differ from their recount"
    finally:
        engine.dispose()


def test_sqlite_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(3) as disk:
        path = disk / "arv.db"
        database = Database("sqlite", f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}")
        migrate.upgrade(database.url)
        with LiveServer(settings_for(database)) as server:
            with client(server.url) as api:
                content = make_content(api)
            acked = exercise(server.url, content, fill(disk))
        check_stored_and_exact(database, acked)
        engine = database.engine()
        try:
            assert rows(engine, "PRAGMA integrity_check") == [{"integrity_check": "ok"}]
        finally:
            engine.dispose()


def test_postgresql_on_a_full_tablespace() -> None:
    require_postgres()
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"arv_full_{uuid.uuid4().hex[:8]}"
    with small_disk(24, owner="postgres") as disk:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {name} LOCATION '{disk}'")
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name} TABLESPACE {name}")
            database = Database(
                "postgresql",
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            )
            migrate.upgrade(database.url)
            with LiveServer(settings_for(database)) as server:
                with client(server.url) as api:
                    content = make_content(api)
                acked = exercise(server.url, content, fill(disk))
            check_stored_and_exact(database, acked)
            with psycopg.connect(database.sync_url.replace("+psycopg", "")) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
                indexes = conn.execute(
                    "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' "
                    "AND c.relnamespace = 'public'::regnamespace"
                ).fetchall()
                assert indexes
                for (oid,) in indexes:
                    conn.execute("SELECT bt_index_check(%s, true)", (oid,))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"DROP TABLESPACE IF EXISTS {name}")
