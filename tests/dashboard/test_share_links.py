"""Share links over real HTTP, on SQLite and PostgreSQL: an admin creates, lists and revokes
them (audited, secrets stored only as hashes); a link opens its dashboard without a token, and
whatever its page sends, every analytics API answers it only within the link's scope."""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.analytics.test_endpoints import seed_catalog, write
from tests.dashboard.support import cookie_client
from tests.support import Database, LiveServer, client, rows

LINKS = "/api/share-links"


@dataclass
class World:
    contents: list[dict[str, Any]]
    views: dict[str, int]  # "content:<id>", "project:<id>", "company:<id>" → views in 30 days
    recent: dict[str, int]  # the same keys → views active in the last minutes


def key(level: str, ident: int) -> str:
    return f"{level}:{ident}"


@pytest.fixture
def world(api: httpx.Client, db: Engine, database: Database) -> World:
    """3 companies × 2 projects × 2 contents; content number i has i + 1 views over the last
    20 days and, for every other content, one view started a minute ago (viewing now)."""
    contents = seed_catalog(api)
    now = datetime.now(UTC)
    sessions: list[dict[str, Any]] = []
    views: dict[str, int] = {}
    recent: dict[str, int] = {}
    for i, c in enumerate(contents):
        for j in range(i + 1):
            created = now - timedelta(days=j % 20, hours=2, minutes=i)
            sessions.append(_session(c, created, j))
        if i % 2 == 0:
            sessions.append(_session(c, now - timedelta(minutes=1), 99))
        for level, ident in (
            ("content", c["id"]),
            ("project", c["project_id"]),
            ("company", c["company_id"]),
        ):
            views[key(level, ident)] = views.get(key(level, ident), 0) + i + 1 + (i % 2 == 0)
            recent[key(level, ident)] = recent.get(key(level, ident), 0) + (i % 2 == 0)
    write(db, sessions, database)
    return World(contents, views, recent)


def _session(c: dict[str, Any], created: datetime, j: int) -> dict[str, Any]:
    return {
        "ar_content_id": c["id"], "project_id": c["project_id"], "company_id": c["company_id"],
        "session_id": uuid.uuid4(), "country": ["DE", "AT", "US"][j % 3],
        "device_type": ["mobile", "desktop"][j % 2], "duration_seconds": 10 + j,
        "video_played": j % 2 == 0, "camera_outcome": "granted", "visitor_hash": j,
        "created_at": created, "updated_at": created,
    }  # fmt: skip


@dataclass
class Shared:
    web: httpx.Client
    link_id: int
    csrf: str
    page: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-ARV-Share": str(self.link_id), "X-ARV-CSRF": self.csrf}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.web.get(path, headers=self.headers, **kw)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.web.post(path, json=body, headers=self.headers)


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="arv-config">(.*?)</script>', html)
    assert found, html[:500]
    return dict(json.loads(found.group(1)))


def csrf_of(html: str) -> str:
    found = re.search(r'name="arv-csrf" content="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    r = api.post(LINKS, json={"name": "for the client", **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def open_link(server: LiveServer, url: str, password: str | None = None) -> Shared:
    web = cookie_client(server.url)
    page = web.get(url)
    if password is not None:
        assert page.status_code == 200
        assert 'name="password"' in page.text
        r = web.post(url, data={"csrf": form_csrf(page.text), "password": password})
        assert r.status_code == 303, r.text
        page = web.get(url)
    assert page.status_code == 200, page.text
    config = page_config(page.text)
    return Shared(web, int(config["share"]), csrf_of(page.text), page.text)


def views_of(answer: httpx.Response) -> int:
    assert answer.status_code == 200, answer.text
    return int(answer.json()["totals"]["views"])


def test_admin_creates_lists_and_revokes_links_audited_and_hashed(
    server: LiveServer, api: httpx.Client, db: Engine, world: World
) -> None:
    project = world.contents[0]["project_id"]
    company = world.contents[0]["company_id"]
    r = api.post(LINKS, json={"name": "Acme", "project_id": project, "password": "s3cret-pass"})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    made = r.json()
    assert made["company_id"] == company  # derived from the project
    assert made["has_password"] is True
    assert made["url"].startswith("/share/")
    secret = made["url"].removeprefix("/share/")
    assert len(secret) >= 40
    stored = rows(db, "SELECT * FROM share_links")
    assert len(stored) == 1
    assert stored[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert stored[0]["password_hash"].startswith("scrypt$16384$8$1$")
    dump = json.dumps(stored, default=str)
    assert secret not in dump
    assert "s3cret-pass" not in dump
    # The list never shows the URL again.
    listed = api.get(LINKS).json()
    assert [i["id"] for i in listed["items"]] == [made["id"]]
    assert "url" not in listed["items"][0]
    assert api.get(f"{LINKS}/{made['id']}").json()["name"] == "Acme"
    revoked = api.delete(f"{LINKS}/{made['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert api.delete(f"{LINKS}/{made['id']}").status_code == 200  # harmless, not re-audited
    assert api.get(LINKS).json()["items"] == []
    assert len(api.get(LINKS, params={"include_revoked": "true"}).json()["items"]) == 1
    entries = rows(db, "SELECT * FROM audit_log WHERE action LIKE 'share_link.%' ORDER BY id")
    assert [(e["action"], e["target_id"], e["actor"]) for e in entries] == [
        ("share_link.created", made["id"], "bootstrap"),
        ("share_link.revoked", made["id"], "bootstrap"),
    ]
    details = entries[0]["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details["password"] is True
    assert details["project_id"] == project
    assert secret not in json.dumps(entries, default=str)
    assert api.get(f"{LINKS}/999999").status_code == 404


def test_bad_requests_create_nothing(server: LiveServer, api: httpx.Client, world: World) -> None:
    a, b = world.contents[0], world.contents[-1]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"project_id": b["project_id"], "company_id": a["company_id"]}, 422, "project_id"),
        ({}, 422, "company_id"),
        ({"company_id": a["company_id"], "expires_at": past}, 422, "expires_at"),
        ({"company_id": a["company_id"], "expires_at": "2099-01-01T00:00:00"}, 422, "expires_at"),
        ({"company_id": a["company_id"], "password": "short"}, 422, "password"),
        ({"company_id": a["company_id"], "scope": "all"}, 422, "scope"),
        ({"company_id": 987654}, 404, "company"),
        ({"project_id": 987654}, 404, "project"),
    ]
    for body, status, named in cases:
        r = api.post(LINKS, json={"name": "x", **body})
        assert r.status_code == status, (body, r.text)
        assert named in r.text, (body, r.text)
    assert api.post(LINKS, json={"name": " ", "company_id": a["company_id"]}).status_code == 422
    assert api.get(LINKS, params={"include_revoked": "true"}).json()["total"] == 0
    # Only admins manage links; a company token is refused, whatever its company.
    token = api.post(
        "/api/tokens", json={"name": "c", "role": "company", "company_id": a["company_id"]}
    ).json()["token"]
    with client(server.url, token=token) as company:
        assert company.post(LINKS, json={"name": "x", "company_id": a["company_id"]}).status_code
        assert company.get(LINKS).status_code == 403
        r = company.post(LINKS, json={"name": "x", "company_id": a["company_id"]})
        assert r.status_code == 403


def test_a_project_link_sees_its_project_and_nothing_else(
    server: LiveServer, api: httpx.Client, world: World
) -> None:
    mine = world.contents[0]  # company A, project P
    sibling = next(c for c in world.contents if c["company_id"] == mine["company_id"]
                   and c["project_id"] != mine["project_id"])  # fmt: skip
    stranger = world.contents[-1]  # another company
    project, company = mine["project_id"], mine["company_id"]
    expected = world.views[key("project", project)]
    assert 0 < expected < world.views[key("company", company)]
    link = create(api, project_id=project)
    s = open_link(server, link["url"])
    config = page_config(s.page)
    assert config["scope"] == {"project_id": project}
    assert config["kind"] == "project"
    assert 'id="company-switch"' not in s.page
    assert 'id="sign-out"' not in s.page
    q = "/api/v1/query"

    # Whatever scope it names: its own project, or a 404 as for an unknown id.
    assert views_of(s.post(q, {})) == expected
    assert views_of(s.post(q, {"scope": {"project_id": project}})) == expected
    own_content = s.post(q, {"scope": {"content_id": mine["id"]}})
    assert views_of(own_content) == world.views[key("content", mine["id"])]
    for scope in (
        {"company_id": company},
        {"company_id": stranger["company_id"]},
        {"project_id": sibling["project_id"]},
        {"project_id": stranger["project_id"]},
        {"content_id": sibling["id"]},
        {"content_id": stranger["id"]},
    ):
        r = s.post(q, {"scope": scope})
        assert r.status_code == 404, (scope, r.text)

    # Filters only narrow: nothing of another project gets through them.
    for f in (
        {"dimension": "project", "op": "is", "values": [str(sibling["project_id"])]},
        {"dimension": "project", "op": "is_not", "values": [str(project)]},
        {"dimension": "content", "op": "is", "values": [str(sibling["id"]), str(stranger["id"])]},
        {"dimension": "company", "op": "is", "values": [str(stranger["company_id"])]},
    ):
        assert views_of(s.post(q, {"filters": [f]})) == 0, f
    widened = {
        "dimension": "project",
        "op": "is",
        "values": [str(project), str(sibling["project_id"])],
    }
    assert views_of(s.post(q, {"filters": [widened]})) == expected

    # Breakdowns list only its project's entities, whatever the dimension or period.
    for dims, allowed in (
        (["project"], {project}),
        (["company"], {company}),
        (["content"], {c["id"] for c in world.contents if c["project_id"] == project}),
    ):
        for period in ("30d", "all", "12mo"):
            answer = s.post(q, {"dimensions": dims, "period": period})
            assert answer.status_code == 200, answer.text
            got = {r["dimensions"][dims[0]] for r in answer.json()["results"]}
            assert got == allowed, (dims, period, got)
            assert answer.json()["totals"]["views"] == expected
    by_day = s.post(q, {"dimensions": ["time:day", "country"], "comparison": "previous_period"})
    assert sum(r["metrics"]["views"] for r in by_day.json()["results"]) == expected

    # GET /query, CSV.
    assert views_of(s.get(q, params={"project_id": project})) == expected
    assert s.get(q, params={"company_id": company}).status_code == 404
    assert views_of(s.get(q, params={"filter": f"project:is:{sibling['project_id']}"})) == 0
    csv_text = s.get(q, params={"dimensions": "project", "format": "csv"}).text
    assert csv_text.splitlines()[1].startswith(str(project))
    assert len(csv_text.strip().splitlines()) == 2

    # The funnel.
    funnel = s.post("/api/v1/funnel", {"dimensions": ["project"]})
    assert funnel.status_code == 200, funnel.text
    assert funnel.json()["funnel"][0]["views"] == expected
    assert [r["dimensions"]["project"] for r in funnel.json()["results"]] == [project]
    assert s.post("/api/v1/funnel", {"scope": {"company_id": company}}).status_code == 404

    # Realtime.
    live = s.get("/api/v1/realtime")
    assert live.status_code == 200, live.text
    assert live.json()["active_now"] == world.recent[key("project", project)]
    assert world.recent[key("company", company)] > world.recent[key("project", project)]
    for params in ({"company_id": company}, {"project_id": sibling["project_id"]},
                   {"content_id": stranger["id"]}):  # fmt: skip
        assert s.get("/api/v1/realtime", params=params).status_code == 404, params

    # The ZIP export.
    zipped = s.get("/api/v1/export", params={"period": "all"})
    assert zipped.status_code == 200, zipped.text
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        projects = archive.read("project.csv").decode().strip().splitlines()
        contents = archive.read("content.csv").decode().strip().splitlines()
        companies = archive.read("company.csv").decode().strip().splitlines()
    assert [line.split(",")[0] for line in projects[1:]] == [str(project)]
    assert {line.split(",")[0] for line in contents[1:]} == {
        str(c["id"]) for c in world.contents if c["project_id"] == project
    }
    assert len(companies) == 2
    assert s.get("/api/v1/export", params={"company_id": company}).status_code == 404
    assert s.get("/api/v1/export", params={"project_id": sibling["project_id"]}).status_code == 404

    # The original platform's endpoints and their aliases.
    overview = s.get("/api/analytics/overview")
    assert overview.status_code == 200, overview.text
    assert overview.json()["total_views"] == expected
    assert overview.json()["active_projects"] == 1
    assert overview.json()["active_content"] == 2
    assert s.get("/api/analytics/summary").json()["total_views"] == expected
    assert s.get(f"/api/analytics/projects/{project}").json()["views"] == expected
    assert s.get(f"/api/analytics/ar-content/{mine['id']}").status_code == 200
    for path in (
        f"/api/analytics/companies/{company}",
        f"/api/analytics/company/{company}",
        f"/api/analytics/projects/{sibling['project_id']}",
        f"/api/analytics/ar-content/{sibling['id']}",
        f"/api/analytics/content/{stranger['id']}",
        f"/api/analytics/companies/{stranger['company_id']}",
    ):
        assert s.get(path).status_code == 404, path

    # Every other route ignores the share session: no catalog, no tokens, no links.
    for path in ("/api/companies", "/api/projects", f"/api/projects/{project}",
                 "/api/ar-content", "/api/tokens", LINKS, "/api/audit"):  # fmt: skip
        assert s.get(path).status_code == 401, path
    assert s.web.get("/dashboard/overview").status_code == 303  # to the sign-in page
    s.web.close()


def test_a_company_link_sees_its_company(
    server: LiveServer, api: httpx.Client, world: World
) -> None:
    mine, stranger = world.contents[0], world.contents[-1]
    link = create(api, company_id=mine["company_id"])
    s = open_link(server, link["url"])
    assert page_config(s.page)["scope"] == {"company_id": mine["company_id"]}
    expected = world.views[key("company", mine["company_id"])]
    assert views_of(s.post("/api/v1/query", {})) == expected
    assert (
        views_of(s.post("/api/v1/query", {"scope": {"project_id": mine["project_id"]}}))
        == (world.views[key("project", mine["project_id"])])
    )
    for scope in ({"company_id": stranger["company_id"]}, {"project_id": stranger["project_id"]}):
        assert s.post("/api/v1/query", {"scope": scope}).status_code == 404
    assert s.get(f"/api/analytics/companies/{mine['company_id']}").json()["views"] == expected
    answer = s.post("/api/v1/query", {"dimensions": ["company"]}).json()
    assert [r["dimensions"]["company"] for r in answer["results"]] == [mine["company_id"]]
    s.web.close()


def test_password_csrf_revocation_and_expiry(
    server: LiveServer, api: httpx.Client, db: Engine, world: World
) -> None:
    project = world.contents[0]["project_id"]
    link = create(api, project_id=project, password="correct horse")
    url = link["url"]
    with cookie_client(server.url) as web:
        form = web.get(url)
        assert form.status_code == 200
        assert 'name="password"' in form.text
        assert 'id="arv-config"' not in form.text  # nothing of the dashboard before it
        assert form.headers["referrer-policy"] == "same-origin"
        assert not [c for c in web.cookies if c.startswith("arv_share_") and c != "arv_share_csrf"]
        wrong = web.post(url, data={"csrf": form_csrf(form.text), "password": "wrong horse"})
        assert wrong.status_code == 401
        forged = web.post(url, data={"csrf": "guess", "password": "correct horse"})
        assert forged.status_code == 403
        cross = web.post(
            url,
            data={"csrf": form_csrf(wrong.text), "password": "correct horse"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
    s = open_link(server, url, password="correct horse")
    cookie = next(c for c in s.web.cookies.jar if c.name == f"arv_share_{s.link_id}")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert views_of(s.post("/api/v1/query", {})) == world.views[key("project", project)]
    # The session needs the page's CSRF header and the right link id.
    assert s.web.post("/api/v1/query", json={}).status_code == 401  # no header at all
    no_csrf = s.web.post("/api/v1/query", json={}, headers={"X-ARV-Share": str(s.link_id)})
    assert no_csrf.status_code == 401
    other = {"X-ARV-Share": str(s.link_id + 1), "X-ARV-CSRF": s.csrf}
    assert s.web.post("/api/v1/query", json={}, headers=other).status_code == 401
    assert (
        s.web.post("/api/v1/query", json={}, headers={**s.headers, "X-ARV-Share": "x"}).status_code
        == 401
    )

    # Revoked: the page and every session made from it answer no more.
    assert api.delete(f"{LINKS}/{link['id']}").status_code == 200
    assert s.web.get(url).status_code == 404
    assert "not available" in s.web.get(url).text
    assert s.post("/api/v1/query", {}).status_code == 401
    s.web.close()

    # Expired: the same 404 as an unknown link.
    later = create(api, company_id=world.contents[0]["company_id"])
    e = open_link(server, later["url"])
    assert views_of(e.post("/api/v1/query", {})) > 0
    with db.begin() as conn:
        conn.execute(
            text("UPDATE share_links SET expires_at = :t WHERE id = :i"),
            {"t": datetime.now(UTC) - timedelta(seconds=1), "i": later["id"]},
        )
    assert e.web.get(later["url"]).status_code == 404
    assert e.post("/api/v1/query", {}).status_code == 401
    e.web.close()
    with cookie_client(server.url) as web:
        assert web.get("/share/" + "A" * 43).status_code == 404
        assert web.get("/share/x").status_code == 404


def test_password_guessing_is_capped(server: LiveServer, api: httpx.Client, world: World) -> None:
    link = create(api, company_id=world.contents[0]["company_id"], password="long enough pw")
    with cookie_client(server.url) as web:
        statuses = []
        for _ in range(12):
            form = web.get(link["url"])
            r = web.post(link["url"], data={"csrf": form_csrf(form.text), "password": "guess!!!"})
            statuses.append(r.status_code)
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
