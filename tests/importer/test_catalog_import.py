"""`arv-analytics import --url`: the original platform's catalog comes first, then its sessions.

The source database has the original platform's current schema for the catalog tables (as
its Alembic head leaves them: fegerV/ARV app/models/{company,project,ar_content,video}.py);
the target is SQLite or PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from tests.support import PHONE_UA, Database, new_database, rows

runner = CliRunner()

ORIGINAL_SCHEMA = [
    """CREATE TABLE companies (
        id serial PRIMARY KEY, name varchar(255) NOT NULL, slug varchar(255) NOT NULL,
        contact_email varchar(255), status varchar(50) NOT NULL,
        storage_provider varchar(50) NOT NULL DEFAULT 'local', yandex_disk_token text,
        created_at timestamp NOT NULL DEFAULT now(),
        updated_at timestamp NOT NULL DEFAULT now())""",
    "CREATE UNIQUE INDEX ix_companies_slug ON companies (slug)",
    """CREATE TABLE projects (
        id serial PRIMARY KEY, name varchar(255) NOT NULL, status varchar(50) NOT NULL,
        company_id integer NOT NULL REFERENCES companies (id),
        created_at timestamp NOT NULL DEFAULT now(),
        updated_at timestamp NOT NULL DEFAULT now())""",
    """CREATE TABLE ar_content (
        id serial PRIMARY KEY, project_id integer NOT NULL REFERENCES projects (id),
        company_id integer NOT NULL REFERENCES companies (id), active_video_id integer,
        unique_id uuid NOT NULL UNIQUE, order_number varchar(50) NOT NULL,
        customer_name varchar(255), customer_phone varchar(50), customer_email varchar(255),
        duration_years integer NOT NULL DEFAULT 30, views_count integer NOT NULL DEFAULT 0,
        rotation_state integer DEFAULT 0, status varchar(50) NOT NULL, content_metadata jsonb,
        photo_path varchar(500), photo_url varchar(500), thumbnail_url varchar(500),
        video_path varchar(500), video_url varchar(500), qr_code_path varchar(500),
        qr_code_url varchar(500), marker_path varchar(500), marker_url varchar(500),
        marker_status varchar(50), marker_metadata jsonb,
        created_at timestamp NOT NULL DEFAULT now(),
        updated_at timestamp NOT NULL DEFAULT now())""",
    "CREATE UNIQUE INDEX ix_ar_content_project_order ON ar_content (project_id, order_number)",
    """CREATE TABLE videos (
        id serial PRIMARY KEY, ar_content_id integer NOT NULL REFERENCES ar_content (id),
        filename varchar(255) NOT NULL, video_path varchar(500), video_url varchar(500),
        status varchar(50) NOT NULL DEFAULT 'ready', is_active boolean NOT NULL DEFAULT false,
        created_at timestamp NOT NULL DEFAULT now(),
        updated_at timestamp NOT NULL DEFAULT now())""",
    "ALTER TABLE ar_content ADD FOREIGN KEY (active_video_id) REFERENCES videos (id)",
    """CREATE TABLE ar_view_sessions (
        id serial PRIMARY KEY, ar_content_id integer, project_id integer, company_id integer,
        session_id uuid, user_agent varchar, device_type varchar(50), browser varchar(100),
        os varchar(100), ip_address varchar(64), country varchar(100), city varchar(100),
        duration_seconds integer, tracking_quality varchar(50), video_played boolean,
        created_at timestamp)""",
]
U1, U2, U3, U4 = (uuid.uuid4() for _ in range(4))


@pytest.fixture
def source(tmp_path: Path) -> Iterator[str]:
    with new_database("postgresql", tmp_path, migrated=False) as db:
        conninfo = db.sync_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for ddl in ORIGINAL_SCHEMA:
                conn.execute(ddl)
            conn.execute(
                "INSERT INTO companies (id, name, slug, status) VALUES "
                "(1, 'Print Shop', 'print-shop', 'active'), (2, 'Old Co', 'Old Co!', 'inactive'),"
                "(3, 'Empty', 'empty', 'active')"
            )
            conn.execute(
                "INSERT INTO projects (id, name, status, company_id) VALUES "
                "(10, 'Weddings', 'active', 1), (11, 'Weddings', 'archived', 1),"
                "(12, 'Legacy', 'active', 2), (13, 'No content yet', 'active', 1)"
            )
            conn.execute(
                "INSERT INTO ar_content (id, project_id, company_id, unique_id, order_number,"
                " customer_name, status, video_url, marker_url) VALUES "
                "(100, 10, 1, %s, 'ORD-1', 'Jane Doe', 'ready', '/storage/v1.mp4',"
                " 'https://cdn.example/m1.mind'),"
                "(101, 10, 1, %s, 'ORD-2', NULL, 'pending', NULL, NULL),"
                "(102, 11, 1, %s, 'ORD-1', NULL, 'active', 'javascript:alert(1)', NULL),"
                "(103, 12, 2, %s, 'ORD-9', NULL, 'archived', NULL, NULL)",
                (U1, U2, U3, U4),
            )
            conn.execute(
                "INSERT INTO videos (id, ar_content_id, filename, video_url, is_active) "
                "VALUES (7, 101, 'v.mp4', 'https://cdn.example/v2.mp4', true)"
            )
            conn.execute("UPDATE ar_content SET active_video_id = 7 WHERE id = 101")
            conn.execute(
                "INSERT INTO ar_view_sessions (ar_content_id, project_id, company_id, "
                "session_id, duration_seconds, video_played, created_at, user_agent) VALUES "
                "(100, 10, 1, gen_random_uuid(), 12, true, now() - interval '1 day', %(ua)s),"
                "(102, 11, 1, gen_random_uuid(), 3, false, now() - interval '2 days', %(ua)s)",
                # A phone: rows without a user agent are bots, as live (docs/import.md).
                {"ua": PHONE_UA},
            )
        yield conninfo


@pytest.fixture
def cli_db(database: Database, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    return db


def run(*args: str) -> str:
    result = runner.invoke(app, ["import", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_import_brings_the_catalog_then_the_sessions(
    cli_db: Engine, source: str, api: httpx.Client
) -> None:
    out = run("--url", source, "--media-base", "https://old.example")
    assert "contents created 4, updated 0, unchanged 0, rejected 0" in out
    assert "companies created 3, projects created 4" in out
    assert "read 2, loaded 2" in out

    companies = rows(
        cli_db, "SELECT slug, name, is_active, legacy_id FROM companies ORDER BY legacy_id"
    )
    assert [(c["slug"], c["is_active"], c["legacy_id"]) for c in companies] == [
        ("print-shop", True, 1), ("old-co", False, 2), ("empty", True, 3),
    ]  # fmt: skip
    projects = rows(cli_db, "SELECT slug, is_active, legacy_id FROM projects ORDER BY legacy_id")
    assert [(p["slug"], p["is_active"]) for p in projects] == [
        ("weddings", True), ("weddings-2", False), ("legacy", True), ("no-content-yet", True),
    ]  # fmt: skip
    content = {
        str(c["unique_id"]): c
        for c in api.get("/api/ar-content", params={"limit": 10}).json()["items"]
    }
    assert set(content) == {str(u) for u in (U1, U2, U3, U4)}
    first = content[str(U1)]
    assert (first["title"], first["is_active"]) == ("ORD-1", True)
    assert first["video_url"] == "https://old.example/storage/v1.mp4"
    assert first["marker_url"] == "https://cdn.example/m1.mind"
    assert content[str(U2)]["video_url"] == "https://cdn.example/v2.mp4"  # its active video
    assert content[str(U2)]["is_active"] is False  # pending: the old viewer did not serve it
    assert content[str(U3)]["video_url"] is None  # not a URL a viewer may load
    assert "Jane" not in str(rows(cli_db, "SELECT * FROM ar_content"))
    # The sessions landed on the imported content, found by unique_id.
    views = api.get(f"/api/analytics/ar-content/{first['id']}").json()["views"]
    assert views == 1

    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("UPDATE projects SET name = 'Weddings 2027' WHERE id = 10")
        conn.execute("UPDATE ar_content SET status = 'archived' WHERE id = 100")
        conn.execute("UPDATE companies SET status = 'active' WHERE id = 2")
        conn.execute(
            "INSERT INTO ar_content (id, project_id, company_id, unique_id, order_number, status)"
            " VALUES (104, 13, 1, gen_random_uuid(), 'ORD-5', 'active')"
        )
    again = run("--url", source, "--media-base", "https://old.example")
    assert "contents created 1, updated" in again
    assert "companies created 0, projects created 0" in again
    assert "loaded 0, skipped 2" in again
    assert len(rows(cli_db, "SELECT id FROM ar_content")) == 5
    assert len(rows(cli_db, "SELECT id FROM projects")) == 4
    [renamed] = rows(cli_db, "SELECT name, slug FROM projects WHERE legacy_id = 10")
    assert (renamed["name"], renamed["slug"]) == ("Weddings 2027", "weddings")
    assert api.get(f"/api/ar-content/{first['id']}").json()["is_active"] is False
    [old_co] = rows(cli_db, "SELECT is_active FROM companies WHERE legacy_id = 2")
    assert old_co["is_active"]
    third = run("--url", source, "--media-base", "https://old.example")
    assert "contents created 0, updated 0, unchanged 5, rejected 0" in third


def test_sessions_only_skips_the_catalog(cli_db: Engine, source: str) -> None:
    out = run("--url", source, "--sessions-only")
    assert "catalog:" not in out
    assert "rejected 2" in out  # no content here to map them onto
    assert rows(cli_db, "SELECT id FROM companies") == []


def test_a_company_made_by_hand_is_adopted(cli_db: Engine, source: str, api: httpx.Client) -> None:
    made = api.post("/api/companies", json={"name": "Print shop (ours)", "slug": "print-shop"})
    out = run("--url", source)
    assert "companies created 2" in out
    [company] = rows(cli_db, "SELECT id, name, legacy_id FROM companies WHERE slug = 'print-shop'")
    assert (company["id"], company["legacy_id"]) == (made.json()["id"], 1)
    assert company["name"] == "Print Shop"
