"""Bulk catalog changes: POST /api/ar-content/bulk and `arv-analytics catalog import`."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from tests.support import Database, make_content, rows

runner = CliRunner()
BULK = "/api/ar-content/bulk"


def _row(**values: Any) -> dict[str, Any]:
    base = {"company_slug": "acme", "company_name": "Acme", "project_name": "Spring posters"}
    return {**base, **values}


def _counts(body: dict[str, Any]) -> tuple[int, int, int, int]:
    return body["created"], body["updated"], body["unchanged"], body["rejected"]


def test_bulk_creates_matches_updates_and_rejects(api: httpx.Client, db: Engine) -> None:
    keep = uuid.uuid4()
    other = make_content(api, company="Other")
    batch = [
        _row(title="Poster A", unique_id=str(keep), video_url="https://cdn.example/a.mp4"),
        _row(title="Poster B"),  # no unique_id: matched by project and title next time
        _row(title="Poster C", project_name="Autumn", project_active=False),
        _row(company_slug="beta", company_name="Beta", title="B1"),
        # Its unique_id is another project's content: never moved silently.
        _row(title="Stolen", unique_id=other["unique_id"]),
        {"company_slug": "acme", "title": "No project"},
    ]
    first = api.post(BULK, json={"rows": batch})
    assert first.status_code == 200, first.text
    body = first.json()
    assert _counts(body) == (4, 0, 0, 2)
    assert (body["companies_created"], body["projects_created"]) == (2, 3)
    assert [r["status"] for r in body["rows"]] == ["created"] * 4 + ["rejected"] * 2
    assert "belongs to another project" in body["rows"][4]["reason"]
    assert body["rows"][5]["reason"] == "project_slug or project_name is required"
    assert body["rows"][0]["unique_id"] == str(keep)

    again = api.post(BULK, json={"rows": batch}).json()
    assert _counts(again) == (0, 0, 4, 2)
    assert len(rows(db, "SELECT id FROM ar_content")) == 5  # 4 + the other company's

    batch[0] = _row(title="Poster A v2", unique_id=str(keep), video_url=None)
    batch[1] = _row(title="Poster B", is_active=False)
    batch[3] = _row(company_slug="beta", company_name="Beta Ltd", title="B1")
    changed = api.post(BULK, json={"rows": batch}).json()
    assert [r["status"] for r in changed["rows"]] == [
        "updated", "updated", "unchanged", "updated", "rejected", "rejected",
    ]  # fmt: skip
    [a] = rows(db, "SELECT title, video_url FROM ar_content WHERE unique_id = :u",
               u=keep.hex if db.dialect.name == "sqlite" else keep)  # fmt: skip
    assert (a["title"], a["video_url"]) == ("Poster A v2", None)
    [beta] = rows(db, "SELECT name FROM companies WHERE slug = 'beta'")
    assert beta["name"] == "Beta Ltd"
    autumn = api.get("/api/projects", params={"q": "autumn"}).json()["items"]
    assert [p["is_active"] for p in autumn] == [False]

    audit = api.get("/api/audit", params={"action": "catalog.bulk"}).json()["items"]
    assert len(audit) == 3
    assert audit[0]["details"]["updated"] == 3
    assert audit[0]["details"]["source"] == "api"


def test_bulk_stops_tracking_at_once_in_this_process(
    api: httpx.Client, public: httpx.Client
) -> None:
    body = api.post(BULK, json={"rows": [_row(title="Live")]}).json()
    uid = body["rows"][0]["unique_id"]
    start = {"ar_content_unique_id": uid}
    assert public.post("/api/analytics/ar-session", json=start).status_code == 200
    api.post(BULK, json={"rows": [_row(title="Live", is_active=False)]})
    assert public.post("/api/analytics/ar-session", json=start).status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"rows": []},
        {"rows": [_row(title="x")] * 1001},
        {"rows": [_row(title="x", company_slug="Not A Slug")]},
        {"rows": [_row(title="x", surprise=1)]},
        {"rows": [_row(title="x", is_active="yes")]},
    ],
)
def test_invalid_bulk_requests_store_nothing(
    api: httpx.Client, db: Engine, payload: dict[str, Any]
) -> None:
    r = api.post(BULK, json=payload)
    assert r.status_code == 422, r.text
    assert {"error", "detail"} <= set(r.json())
    assert rows(db, "SELECT id FROM companies") == []


def test_bulk_needs_an_admin_token(api: httpx.Client) -> None:
    content = make_content(api)
    token = api.post(
        "/api/tokens", json={"name": "c", "role": "company", "company_id": content["company_id"]}
    ).json()["token"]
    r = httpx.post(
        str(api.base_url) + BULK,
        json={"rows": [_row(title="x")]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403


@pytest.fixture
def cli_db(database: Database, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    return db


def _write(path: Path, header: list[str], lines: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(lines)
    return path


def test_catalog_import_csv_in_batches_twice(cli_db: Engine, tmp_path: Path) -> None:
    header = ["company_slug", "company_name", "project_name", "unique_id", "title", "is_active"]
    lines = [
        ["studio", "Studio", f"Client {i % 3}", str(uuid.uuid4()), f"Poster {i}", "true"]
        for i in range(7)
    ]
    lines.append(["studio", "Studio", "Client 0", "not-a-uuid", "Broken", ""])
    lines.append(["studio", "Studio", "Client 0", "", "Flag", "maybe"])
    path = _write(tmp_path / "catalog.csv", header, lines)

    first = runner.invoke(app, ["catalog", "import", str(path), "--batch", "3"])
    assert first.exit_code == 1, first.output  # rejected rows: exit 1, the rest applied
    assert "created 7, updated 0, unchanged 0, rejected 2" in first.output
    assert "projects created 3" in first.output
    assert "line 9: unique_id" in first.output
    assert "line 10: is_active" in first.output
    stored = rows(cli_db, "SELECT title FROM ar_content ORDER BY id")
    assert [r["title"] for r in stored] == [f"Poster {i}" for i in range(7)]
    # One audit entry per batch (transaction): 3 + 3 + 1 rows.
    audit = rows(cli_db, "SELECT details FROM audit_log WHERE action = 'catalog.bulk'")
    assert len(audit) == 3
    details = [d if isinstance(d, dict) else json.loads(d) for d in (a["details"] for a in audit)]
    assert {d["source"] for d in details} == {"csv:catalog.csv"}

    lines[2][4] = "Poster 2 (reprint)"
    second = runner.invoke(app, ["catalog", "import", str(_write(path, header, lines))])
    assert "created 0, updated 1, unchanged 6, rejected 2" in second.output
    assert len(rows(cli_db, "SELECT id FROM ar_content")) == 7


def test_catalog_import_refuses_unknown_columns(cli_db: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv", ["company", "title"], [["a", "b"]])
    result = runner.invoke(app, ["catalog", "import", str(path)])
    assert result.exit_code == 2
    assert "unknown columns: company" in result.output
    assert rows(cli_db, "SELECT id FROM companies") == []


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "PUT", "OPTIONS"])
def test_bulk_path_is_not_a_content_id(api: httpx.Client, method: str) -> None:
    r = api.request(method, BULK)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert r.json()["error"] == "method_not_allowed"
