"""Tokens through the admin API and the CLI: shown once, stored as hashes, revocable."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from tests.support import Database, client, make_content, rows

runner = CliRunner()


def create(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post("/api/tokens", json=body)


def test_a_token_is_shown_once_and_stored_as_a_hash(api: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    r = create(api, name="acme dashboard", role="company", company_id=content["company_id"])
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    created = r.json()
    value = created["token"]
    assert re.fullmatch(r"arv_[A-Za-z0-9_-]{43}", value)
    assert (created["role"], created["company_id"]) == ("company", content["company_id"])
    assert created["last_used_at"] is None
    assert created["revoked_at"] is None

    [stored] = rows(db, "SELECT * FROM api_tokens WHERE id = :id", id=created["id"])
    assert stored["token_hash"] == hashlib.sha256(value.encode()).hexdigest()
    assert value not in str(stored)

    # No later answer carries the value again.
    listed = api.get("/api/tokens")
    one = api.get(f"/api/tokens/{created['id']}")
    for answer in (listed, one):
        assert answer.status_code == 200
        assert value not in answer.text
        assert "token" not in (answer.json().get("items") or [answer.json()])[0]


def test_last_used_at_is_kept(api: httpx.Client, db: Engine) -> None:
    created = create(api, name="ops", role="admin").json()
    before = datetime.now(UTC)
    with client(str(api.base_url), token=created["token"]) as c:
        assert c.get("/api/analytics/overview").status_code == 200
    used = api.get(f"/api/tokens/{created['id']}").json()["last_used_at"]
    assert used is not None
    assert datetime.fromisoformat(used) >= before.replace(microsecond=0)


def test_revoked_tokens_stop_working_at_once(api: httpx.Client) -> None:
    created = create(api, name="laptop", role="admin").json()
    with client(str(api.base_url), token=created["token"]) as c:
        assert c.get("/api/companies").status_code == 200
        r = api.delete(f"/api/tokens/{created['id']}")
        assert r.status_code == 200
        assert r.json()["revoked_at"] is not None
        denied = c.get("/api/companies")
        assert denied.status_code == 401
        assert created["token"] not in denied.text
    # Revoking again is harmless and keeps the first time.
    again = api.delete(f"/api/tokens/{created['id']}")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == r.json()["revoked_at"]
    # Revoked tokens are listed only when asked for.
    assert created["id"] not in [t["id"] for t in api.get("/api/tokens").json()["items"]]
    with_revoked = api.get("/api/tokens", params={"include_revoked": True}).json()["items"]
    assert created["id"] in [t["id"] for t in with_revoked]


def test_a_company_token_works_only_while_its_company_is_active(api: httpx.Client) -> None:
    content = make_content(api)
    cid = content["company_id"]
    value = create(api, name="d", role="company", company_id=cid).json()["token"]
    with client(str(api.base_url), token=value) as c:
        assert c.get(f"/api/analytics/companies/{cid}").status_code == 200
        api.delete(f"/api/companies/{cid}")
        assert c.get(f"/api/analytics/companies/{cid}").status_code == 401
        api.patch(f"/api/companies/{cid}", json={"is_active": True})
        assert c.get(f"/api/analytics/companies/{cid}").status_code == 200


def test_company_tokens_cannot_manage_tokens(api: httpx.Client) -> None:
    content = make_content(api)
    value = create(api, name="d", role="company", company_id=content["company_id"]).json()["token"]
    with client(str(api.base_url), token=value) as c:
        assert c.post("/api/tokens", json={"name": "x", "role": "admin"}).status_code == 403
        assert c.get("/api/tokens").status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "role": "company"},
        {"name": "x", "role": "admin", "company_id": 1},
        {"name": "x", "role": "root"},
        {"name": "", "role": "admin"},
        {"name": "x" * 101, "role": "admin"},
        {"role": "admin"},
        {"name": "x", "role": "admin", "token": "arv_choose-my-own"},
    ],
)
def test_invalid_token_bodies(api: httpx.Client, db: Engine, body: dict[str, object]) -> None:
    r = create(api, **body)
    assert r.status_code == 422, r.text
    assert rows(db, "SELECT count(*) AS n FROM api_tokens")[0]["n"] == 0


def test_unknown_ids(api: httpx.Client, db: Engine) -> None:
    assert create(api, name="x", role="company", company_id=4242).status_code == 404
    assert api.get("/api/tokens/4242").status_code == 404
    assert api.delete("/api/tokens/4242").status_code == 404
    assert rows(db, "SELECT count(*) AS n FROM audit_log")[0]["n"] == 0


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli_env(database: Database, db: Engine, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    monkeypatch.delenv("ARV_ADMIN_TOKEN", raising=False)
    return database


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_create_list_revoke(cli_env: Database, api: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    value = run("token", "create", "--company", str(content["company_id"]), "--name", "kiosk")
    value = value.strip()
    assert value.startswith("arv_")
    [row] = rows(db, "SELECT id, name, role, company_id FROM api_tokens")
    assert (row["name"], row["role"], row["company_id"]) == (
        "kiosk",
        "company",
        content["company_id"],
    )

    listed = run("token", "list")
    assert "kiosk" in listed
    assert "1 of 1" in listed
    assert value not in listed
    with client(str(api.base_url), token=value) as c:
        assert c.get("/api/analytics/overview").status_code == 200
        out = run("token", "revoke", str(row["id"]))
        assert f"token {row['id']} (kiosk) revoked" in out
        assert c.get("/api/analytics/overview").status_code == 401
    assert "0 of 0" in run("token", "list")
    assert "1 of 1" in run("token", "list", "--all")


def test_cli_errors(cli_env: Database, db: Engine) -> None:
    assert runner.invoke(app, ["token", "create"]).exit_code == 2
    assert runner.invoke(app, ["token", "create", "--admin", "--company", "1"]).exit_code == 2
    result = runner.invoke(app, ["token", "create", "--company", "4242"])
    assert result.exit_code == 1
    assert "company 4242 not found" in result.output
    result = runner.invoke(app, ["token", "revoke", "4242"])
    assert result.exit_code == 1
    assert "token 4242 not found" in result.output


@pytest.mark.parametrize(
    ("role", "with_company"), [("company", False), ("admin", True), ("superuser", False)]
)
def test_malformed_token_rows_grant_nothing(
    api: httpx.Client, db: Engine, role: str, with_company: bool
) -> None:
    content = make_content(api)
    value = "arv_malformed_" + role
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_tokens (name, token_hash, role, company_id, created_at) "
                "VALUES ('m', :h, :r, :c, CURRENT_TIMESTAMP)"
            ),
            {
                "h": hashlib.sha256(value.encode()).hexdigest(),
                "r": role,
                "c": content["company_id"] if with_company else None,
            },
        )
    with client(str(api.base_url), token=value) as c:
        assert c.get("/api/analytics/overview").status_code == 401
