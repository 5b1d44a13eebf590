"""`arv-analytics import` of the original platform's sessions, from a CSV and from PostgreSQL."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from tests.support import PHONE_UA, Database, make_content, new_database, rows

runner = CliRunner()
SEED = ["id", "ar_content_id", "project_id", "company_id", "session_id", "user_agent",
        "device_type", "browser", "os", "ip_address", "country", "city", "duration_seconds",
        "tracking_quality", "video_played", "created_at"]  # fmt: skip


def old_row(i: int, content: int, **extra: Any) -> dict[str, Any]:
    base = {c: "" for c in SEED}
    base.update({
        "id": str(i), "ar_content_id": str(content), "project_id": "900", "company_id": "800",
        "session_id": str(uuid.uuid4()), "user_agent": PHONE_UA, "device_type": "mobile",
        "browser": "Safari", "os": "iOS", "ip_address": "81.2.69.142", "country": "GB",
        "duration_seconds": "42",
        "tracking_quality": "good", "video_played": "true",
        "created_at": "2026-11-20T10:00:00",  # naive, as the old platform stored it
    })  # fmt: skip
    base.update(extra)
    return base


def run(*args: str) -> str:
    result = runner.invoke(app, ["import", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def cli_db(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    return database


def test_csv_import_maps_rejects_and_is_safe_twice(
    cli_db: Database, api: httpx.Client, db: Engine, tmp_path: Path
) -> None:
    a = make_content(api)
    b = make_content(api, company="B")
    repeated = str(uuid.uuid4())
    old = [
        old_row(1, 11, session_id=repeated),
        old_row(2, 12, session_id=""),  # no session id: one is derived from the row id
        old_row(3, 0),  # the platform's "unknown content" rows
        old_row(4, 99),  # no mapping
        old_row(5, 11, session_id=repeated),  # duplicate
        old_row(6, 11, created_at="yesterday"),
        old_row(7, 12, tracking_quality="excellent", duration_seconds="-3"),
    ]
    sessions = tmp_path / "sessions.csv"
    with sessions.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SEED)
        writer.writeheader()
        writer.writerows(old)
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"old_id,new_id\n11,{a['id']}\n12,{b['id']}\n")

    out = run("--csv", str(sessions), "--content-map", str(mapping))
    assert "read 7, loaded 3, skipped 1 already present, rejected 3" in out
    assert "rejected 1: ar_content_id is 0; rows 3" in out
    assert "rejected 1: unknown content; rows 4" in out
    assert "rejected 1: unreadable created_at; rows 6" in out
    assert "skipped 1: duplicate session_id: another row of it was kept; rows 5" in out
    assert "changed 1: duration_seconds negative or not a number: stored as unknown; rows 7" in out
    stored = rows(db, "SELECT ar_content_id, project_id, company_id, tracking_quality, "
                      "duration_seconds, ip_address, visitor_hash FROM ar_view_sessions "
                      "ORDER BY id")  # fmt: skip
    assert [(r["ar_content_id"], r["project_id"], r["company_id"]) for r in stored] == [
        (a["id"], a["project_id"], a["company_id"]),
        (b["id"], b["project_id"], b["company_id"]),
        (b["id"], b["project_id"], b["company_id"]),
    ]
    assert stored[2]["tracking_quality"] is None  # not one of ours: dropped, row kept
    assert stored[2]["duration_seconds"] is None
    assert all(r["ip_address"] is None for r in stored)  # hash mode: old addresses dropped
    assert all(r["visitor_hash"] is None for r in stored)

    again = run("--csv", str(sessions), "--content-map", str(mapping))
    assert "loaded 0, skipped 4 already present" in again
    assert len(rows(db, "SELECT id FROM ar_view_sessions")) == 3
    # The rollups know the imported views.
    body = api.get(f"/api/analytics/ar-content/{b['id']}", params={"days": 30}).json()
    assert body["views"] == 2


def test_postgres_import_maps_by_unique_id(
    cli_db: Database, api: httpx.Client, db: Engine, tmp_path: Path
) -> None:
    public_id = uuid.uuid4()
    company = api.post("/api/companies", json={"name": "Old"}).json()
    project = api.post("/api/projects", json={"company_id": company["id"], "name": "P"}).json()
    ours = api.post("/api/ar-content", json={"project_id": project["id"], "title": "Poster",
                                             "unique_id": str(public_id)}).json()  # fmt: skip
    assert ours["unique_id"] == str(public_id)
    taken = api.post("/api/ar-content", json={"project_id": project["id"], "title": "Again",
                                              "unique_id": str(public_id)})  # fmt: skip
    assert taken.status_code == 409
    with new_database("postgresql", tmp_path, migrated=False) as source:
        conninfo = source.sync_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE ar_content (id integer primary key, unique_id uuid)")
            conn.execute(
                "CREATE TABLE ar_view_sessions (id serial primary key, ar_content_id integer, "
                "project_id integer, company_id integer, session_id uuid, user_agent varchar, "
                "device_type varchar(50), browser varchar(100), os varchar(100), "
                "ip_address varchar(64), country varchar(100), city varchar(100), "
                "duration_seconds integer, tracking_quality varchar(50), video_played boolean, "
                "created_at timestamp)"
            )
            conn.execute("INSERT INTO ar_content VALUES (5, %s), (6, %s)",
                         (public_id, uuid.uuid4()))  # fmt: skip
            conn.execute(
                "INSERT INTO ar_view_sessions (ar_content_id, project_id, company_id, session_id,"
                " duration_seconds, video_played, created_at, user_agent) VALUES "
                "(5, 1, 1, gen_random_uuid(), 10, true, now() - interval '2 days', %(ua)s),"
                "(5, 1, 1, NULL, NULL, false, now() - interval '3 days', %(ua)s),"
                "(6, 1, 1, gen_random_uuid(), 5, false, now() - interval '1 day', %(ua)s),"
                "(0, 0, 0, gen_random_uuid(), 5, false, now(), %(ua)s)",
                {"ua": PHONE_UA},
            )
        out = run("--url", conninfo)
        assert "read 4, loaded 2, skipped 0 already present, rejected 2" in out
        assert "loaded 0, skipped 2" in run("--url", conninfo)
    body = api.get(f"/api/analytics/ar-content/{ours['id']}").json()
    assert (body["views"], body["video_plays"]) == (2, 1)


def test_import_needs_one_source(cli_db: Database, db: Engine) -> None:
    assert runner.invoke(app, ["import"]).exit_code == 2
    assert runner.invoke(app, ["import", "--url", "mysql://x"]).exit_code == 2
