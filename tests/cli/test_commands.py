"""The `arv-analytics` command against a real database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from arv_analytics import migrate
from arv_analytics.cli.main import app
from arv_analytics.rollups.state import CURRENT
from tests.support import Database, free_port, new_database, rows

runner = CliRunner()


@pytest.fixture
def cli_env(database: Database, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    monkeypatch.delenv("ARV_ADMIN_TOKEN", raising=False)
    return database


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_catalog_commands(cli_env: Database, db: Engine) -> None:
    run("company", "create", "Northwind", "--slug", "northwind")
    [company] = rows(db, "SELECT id, slug, is_active FROM companies")
    assert company["slug"] == "northwind"
    run("project", "create", "Posters", "--company", str(company["id"]))
    [project] = rows(db, "SELECT id, company_id FROM projects")
    assert project["company_id"] == company["id"]
    out = run(
        "content",
        "create",
        "Poster A",
        "--project",
        str(project["id"]),
        "--video-url",
        "https://cdn.example/a.mp4",
    )
    [content] = rows(db, "SELECT id, unique_id, company_id, video_url FROM ar_content")
    assert content["company_id"] == company["id"]
    assert content["video_url"] == "https://cdn.example/a.mp4"
    assert "Poster A" in out
    assert "1 of 1" in run("company", "list")
    run("company", "update", str(company["id"]), "--name", "Northwind Prints")
    assert rows(db, "SELECT name FROM companies")[0]["name"] == "Northwind Prints"
    run("content", "deactivate", str(content["id"]))
    assert not rows(db, "SELECT is_active FROM ar_content")[0]["is_active"]
    run("content", "activate", str(content["id"]))
    assert rows(db, "SELECT is_active FROM ar_content")[0]["is_active"]


def test_cli_errors_are_one_line(cli_env: Database, db: Engine) -> None:
    result = runner.invoke(app, ["project", "create", "P", "--company", "4242"])
    assert result.exit_code == 1
    assert "company 4242 not found" in result.output
    result = runner.invoke(app, ["company", "create", "X", "--slug", "Bad Slug"])
    assert result.exit_code == 2
    assert "--slug" in result.output
    assert rows(db, "SELECT count(*) AS n FROM companies")[0]["n"] == 0


def test_demo_loads_once(cli_env: Database, db: Engine) -> None:
    out = run("demo")
    assert "5000 sessions" in out
    counts = rows(
        db,
        "SELECT (SELECT count(*) FROM companies) AS companies, "
        "(SELECT count(*) FROM ar_view_sessions) AS sessions, "
        "(SELECT count(DISTINCT device_type) FROM ar_view_sessions) AS devices, "
        "(SELECT count(DISTINCT country) FROM ar_view_sessions) AS countries, "
        "(SELECT count(DISTINCT camera_outcome) FROM ar_view_sessions) AS outcomes, "
        "(SELECT count(DISTINCT placement) FROM ar_view_sessions) AS placements, "
        "(SELECT count(DISTINCT referrer_host) FROM ar_view_sessions) AS referrers, "
        "(SELECT count(*) FROM ar_view_sessions WHERE video_start_ms IS NOT NULL) AS played",
    )[0]
    assert counts["companies"] == 2
    assert counts["sessions"] == 5000
    assert counts["devices"] >= 3
    assert counts["countries"] >= 5
    # Sources and the AR funnel, written by COPY on PostgreSQL and inserts on SQLite.
    assert counts["outcomes"] == 5
    assert counts["placements"] >= 5
    assert counts["referrers"] >= 3
    assert counts["played"] > 2000
    assert "already present" in run("demo")
    assert rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"] == 5000


def test_token_create(cli_env: Database, db: Engine) -> None:
    run("company", "create", "Acme")
    cid = rows(db, "SELECT id FROM companies")[0]["id"]
    token = run("token", "create", "--company", str(cid), "--name", "acme dash").strip()
    assert token.startswith("arv_")
    [row] = rows(db, "SELECT role, company_id, token_hash FROM api_tokens")
    assert (row["role"], row["company_id"]) == ("company", cid)
    assert token not in row["token_hash"]
    assert runner.invoke(app, ["token", "create"]).exit_code == 2


def _start_server(db: Database, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "ARV_ADMIN_TOKEN"}
    env["ARV_DATABASE_URL"] = db.url
    proc = subprocess.Popen(
        [sys.executable, "-m", "arv_analytics.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "Uvicorn running" in line or proc.poll() is not None:
            break
    return proc, lines


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_makes_an_admin_token_once(backend: str, tmp_path: Path) -> None:
    with new_database(backend, tmp_path) as db:
        port = free_port()
        proc, lines = _start_server(db, port)
        try:
            text = "".join(lines)
            match = re.search(r"admin token \(shown once.*\): (arv_\S+)", text)
            assert match, text
            token = match.group(1)
            r = httpx.get(
                f"http://127.0.0.1:{port}/api/analytics/overview",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        stored = rows(db.engine(), "SELECT token_hash FROM api_tokens")
        assert len(stored) == 1
        assert token not in stored[0]["token_hash"]

        proc, lines = _start_server(db, port)
        try:
            text = "".join(lines)
            assert token not in text
            assert "made on first start" in text
            r = httpx.get(
                f"http://127.0.0.1:{port}/api/analytics/overview",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    with new_database("sqlite", tmp_path, migrated=False) as db:
        env = {**os.environ, "ARV_DATABASE_URL": db.url}
        proc = subprocess.run(
            [sys.executable, "-m", "arv_analytics.cli.main", "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 1
        assert "arv-analytics db upgrade" in proc.stderr


def test_db_upgrade_and_downgrade_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with new_database("sqlite", tmp_path, migrated=False) as db:
        monkeypatch.setenv("ARV_DATABASE_URL", db.url)
        run("db", "upgrade")
        head = migrate.head_revision()
        assert f"database: {head}  newest: {head}" in run("db", "current")
        run("db", "downgrade", "base")
        assert "database: None" in run("db", "current")


def test_upgrade_recounts_rollups_of_an_older_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    """A database with sessions from before migration 0007 (and so before 0011's layout 2):
    after `db upgrade` the rollups hold every view again and the engine answers from them."""
    with new_database(database.backend, tmp_path) as old:
        engine = old.engine()
        try:
            migrate.downgrade(old.url, "0006")
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO companies (id, name, slug, is_active, created_at, updated_at) "
                    "VALUES (1, 'A', 'a', true, '2026-01-01', '2026-01-01')"
                )
                conn.exec_driver_sql(
                    "INSERT INTO projects (id, company_id, name, slug, is_active, created_at, "
                    "updated_at) VALUES (1, 1, 'P', 'p', true, '2026-01-01', '2026-01-01')"
                )
                conn.exec_driver_sql(
                    "INSERT INTO ar_content (id, company_id, project_id, unique_id, title, "
                    "is_active, created_at, updated_at) VALUES (1, 1, 1, "
                    "'6b1f2d9a8f3e4a519c7d2e4b5a6c7d8e', 'T', true, '2026-01-01', '2026-01-01')"
                )
                for i in range(3):
                    conn.exec_driver_sql(
                        "INSERT INTO ar_view_sessions (ar_content_id, project_id, company_id, "
                        "session_id, video_played, created_at, updated_at, is_bot) VALUES "
                        f"(1, 1, 1, '0000000000004000800000000000000{i}', false, "
                        "'2026-01-02 10:00:00', '2026-01-02 10:00:00', false)"
                    )
            monkeypatch.setenv("ARV_DATABASE_URL", old.url)
            out = run("db", "upgrade")
            assert "rollups recounted" in out
            [state] = rows(engine, "SELECT version FROM rollup_state")
            assert state["version"] == CURRENT
            totals = rows(
                engine,
                "SELECT views FROM rollup_stats WHERE level = 'all' AND grain = 'd' "
                "AND dimension = ''",
            )
            assert [r["views"] for r in totals] == [3]
        finally:
            engine.dispose()
