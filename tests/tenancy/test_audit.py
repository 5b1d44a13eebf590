"""The audit log: who did which management action, and when; listed by API and CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from arv_analytics.audit import service as audit
from arv_analytics.cli.common import open_session
from arv_analytics.cli.main import app
from arv_analytics.config import Settings
from tests.support import Database, client, make_content, rows

runner = CliRunner()


def log(db: Engine) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM audit_log ORDER BY id")


def test_token_actions_name_who_did_them(api: httpx.Client, db: Engine) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    ops = api.post("/api/tokens", json={"name": "ops laptop", "role": "admin"}).json()
    with client(str(api.base_url), token=ops["token"]) as c:
        made = c.post("/api/tokens", json={"name": "kiosk", "role": "admin"}).json()
        assert c.delete(f"/api/tokens/{made['id']}").status_code == 200
        assert c.delete(f"/api/tokens/{made['id']}").status_code == 200  # no second record
    entries = log(db)
    assert [(e["action"], e["actor"], e["actor_token_id"], e["target_id"]) for e in entries] == [
        ("token.created", "bootstrap", None, ops["id"]),
        ("token.created", "token", ops["id"], made["id"]),
        ("token.revoked", "token", ops["id"], made["id"]),
    ]
    assert entries[1]["actor_name"] == "ops laptop"
    for entry in entries:
        # The log names tokens, never their values.
        assert ops["token"] not in str(entry)
        assert made["token"] not in str(entry)
    for item in api.get("/api/audit").json()["items"]:
        assert before <= datetime.fromisoformat(item["created_at"]) <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("kind", "path"), [("company", "companies"), ("project", "projects"), ("content", "ar-content")]
)
def test_deactivation_and_reactivation_are_recorded(
    api: httpx.Client, db: Engine, kind: str, path: str
) -> None:
    content = make_content(api)
    ident = {"company": content["company_id"], "project": content["project_id"]}.get(
        kind, content["id"]
    )
    assert api.delete(f"/api/{path}/{ident}").status_code == 200
    assert api.delete(f"/api/{path}/{ident}").status_code == 200  # already inactive: no record
    assert api.patch(f"/api/{path}/{ident}", json={"is_active": True}).status_code == 200
    assert api.patch(f"/api/{path}/{ident}", json={"is_active": True}).status_code == 200
    entries = [(e["action"], e["target_type"], e["target_id"], e["actor"]) for e in log(db)]
    assert entries == [
        (f"{kind}.deactivated", kind, ident, "bootstrap"),
        (f"{kind}.activated", kind, ident, "bootstrap"),
    ]


def test_failed_actions_record_nothing(api: httpx.Client, db: Engine) -> None:
    assert api.delete("/api/ar-content/4242").status_code == 404
    assert api.post("/api/tokens", json={"name": "x", "role": "company"}).status_code == 422
    assert log(db) == []


def test_the_audit_api_lists_newest_first_with_filters(api: httpx.Client) -> None:
    content = make_content(api)
    api.delete(f"/api/ar-content/{content['id']}")
    made = api.post("/api/tokens", json={"name": "t", "role": "admin"}).json()
    api.delete(f"/api/tokens/{made['id']}")

    page = api.get("/api/audit").json()
    assert [e["action"] for e in page["items"]] == [
        "token.revoked",
        "token.created",
        "content.deactivated",
    ]
    assert page["total"] == 3
    assert page["items"][0]["actor"] == "bootstrap"
    only = api.get("/api/audit", params={"action": "content.deactivated"}).json()
    assert [e["target_id"] for e in only["items"]] == [content["id"]]
    prefix = api.get("/api/audit", params={"action": "token.*"}).json()
    assert prefix["total"] == 2
    assert (
        api.get("/api/audit", params={"limit": 1}).json()["items"][0]["action"] == "token.revoked"
    )


def test_purge_has_a_function_to_record_it(database: Database, db: Engine) -> None:
    async def go() -> None:
        async with open_session(Settings(database_url=database.url)) as session:
            await audit.record_purge(session, audit.CLI, before="2026-01-01", sessions=1234)
            await session.commit()

    asyncio.run(go())
    [entry] = log(db)
    assert (entry["action"], entry["actor"]) == ("purge", "cli")
    details = entry["details"]
    # Through the raw driver SQLite hands JSON back as text, PostgreSQL as a dict.
    assert (json.loads(details) if isinstance(details, str) else details) == {
        "before": "2026-01-01",
        "sessions": 1234,
    }


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli_env(database: Database, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    monkeypatch.delenv("ARV_ADMIN_TOKEN", raising=False)
    return database


def run(*args: str) -> str:
    result = runner.invoke(app, ["--help"] if not args else list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_actions_are_recorded_as_cli_and_listed(
    cli_env: Database, api: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    run("content", "deactivate", str(content["id"]))
    run("project", "deactivate", str(content["project_id"]))
    made = api.post("/api/tokens", json={"name": "dash", "role": "admin"}).json()
    run("token", "revoke", str(made["id"]))

    assert [(e["action"], e["actor"]) for e in log(db)] == [
        ("content.deactivated", "cli"),
        ("project.deactivated", "cli"),
        ("token.created", "bootstrap"),
        ("token.revoked", "cli"),
    ]
    out = run("audit")
    assert "4 of 4" in out
    for text in ("content.deactivated", "project.deactivated", "token.revoked", "bootstrap"):
        assert text in out
    assert out.index("token.revoked") < out.index("content.deactivated")  # newest first
    assert made["token"] not in out
    filtered = run("audit", "--action", "token.*", "--limit", "1")
    assert "1 of 2" in filtered
    assert "token.revoked" in filtered
    assert "content.deactivated" not in filtered
