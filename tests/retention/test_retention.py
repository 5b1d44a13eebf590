"""Retention deletes exactly the sessions past the limit; purge deletes by each selector."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.models import ARViewSession
from arv_analytics.retention.service import apply_retention, delete_in_batches
from tests.support import Database, make_content, rows, settings_for

runner = CliRunner()


def _session(content: dict[str, Any], age: timedelta) -> dict[str, Any]:
    created = datetime.now(UTC) - age
    return {
        "ar_content_id": content["id"],
        "project_id": content["project_id"],
        "company_id": content["company_id"],
        "session_id": uuid.uuid4(),
        "created_at": created,
        "updated_at": created,
    }


def _write(db: Engine, sessions: list[dict[str, Any]]) -> None:
    with db.begin() as conn:
        conn.execute(insert(ARViewSession.__table__), sessions)


def _remaining(db: Engine) -> set[str]:
    return {
        str(uuid.UUID(str(r["session_id"])))
        for r in rows(db, "SELECT session_id FROM ar_view_sessions")
    }


def test_retention_deletes_exactly_the_rows_past_the_limit(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    keep = [_session(content, timedelta(days=d)) for d in (0, 1, 394, 394.9)]
    drop = [_session(content, timedelta(days=d)) for d in (395.1, 396, 500, 3000)]
    # More rows than one batch, so batching is exercised.
    drop += [_session(content, timedelta(days=400, minutes=i)) for i in range(23)]
    _write(db, keep + drop)

    async def go() -> int:
        engine = create_engine(settings_for(database))
        try:
            async with create_sessionmaker(engine)() as session:
                return await apply_retention(session, 395)
        finally:
            await engine.dispose()

    assert asyncio.run(go()) == len(drop)
    assert _remaining(db) == {str(s["session_id"]) for s in keep}


def test_batches_commit_one_by_one(database: Database, api: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    _write(db, [_session(content, timedelta(days=1)) for _ in range(10)])
    seen: list[int] = []

    async def go() -> int:
        engine = create_engine(settings_for(database))
        try:
            async with create_sessionmaker(engine)() as session:
                return await delete_in_batches(
                    session, ARViewSession.id > 0, batch=3, progress=seen.append
                )
        finally:
            await engine.dispose()

    assert asyncio.run(go()) == 10
    assert seen == [3, 3, 3, 1]


@pytest.fixture
def cli_db(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    return database


def _purge(*args: str) -> str:
    result = runner.invoke(app, ["purge", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_purge_by_each_selector(cli_db: Database, api: httpx.Client, db: Engine) -> None:
    a = make_content(api)
    b = make_content(api, company="B")
    a2 = api.post("/api/ar-content", json={"project_id": a["project_id"], "title": "A2"}).json()
    other_project = api.post(
        "/api/projects", json={"company_id": a["company_id"], "name": "Q"}
    ).json()
    a3 = api.post("/api/ar-content", json={"project_id": other_project["id"], "title": "A3"}).json()
    old = _session(a, timedelta(days=100))
    person = _session(a, timedelta(days=2))
    in_a2 = _session(a2, timedelta(days=1))
    in_a3 = _session(a3, timedelta(days=1))
    in_b = [_session(b, timedelta(days=1)) for _ in range(3)]
    fresh = _session(a, timedelta(hours=1))
    _write(db, [old, person, in_a2, in_a3, fresh, *in_b])

    assert "would delete 1 session(s)" in _purge("--older-than", "90", "--dry-run")
    assert len(_remaining(db)) == 8
    assert "deleted 1 session(s)" in _purge("--older-than", "90")
    assert str(old["session_id"]) not in _remaining(db)

    assert "deleted 1 session(s)" in _purge("--session", str(person["session_id"]))
    assert "deleted 1 session(s)" in _purge("--content", str(a2["id"]))
    assert "deleted 1 session(s)" in _purge("--project", str(other_project["id"]))
    assert "deleted 3 session(s)" in _purge("--company", str(b["company_id"]))
    assert _remaining(db) == {str(fresh["session_id"])}


def test_purge_needs_a_selector(cli_db: Database, db: Engine) -> None:
    result = runner.invoke(app, ["purge"])
    assert result.exit_code == 2
    assert "--older-than" in result.output
    assert runner.invoke(app, ["purge", "--session", "nope"]).exit_code == 2
