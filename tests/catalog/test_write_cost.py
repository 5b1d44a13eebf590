"""What one content change costs: the statements it sends, and that it reaches this
process's content cache at once without a refresh of the cache (issue 17)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from tests.catalog.statements import statements
from tests.conftest import LiveFactory
from tests.support import client, make_content

START = "/api/analytics/ar-session"


def _kinds(sent: list[str]) -> list[str]:
    """First word and table of each statement: "SELECT projects", "UPDATE ar_content"."""
    out = []
    for s in sent:
        if ".updated_at >=" in s:  # the cache's own periodic refresh, running beside
            continue
        words = s.split()
        table = words[2] if words[0] in ("INSERT", "UPDATE") and words[1] == "INTO" else None
        if words[0] == "UPDATE":
            table = words[1]
        if words[0] == "SELECT":
            table = s.split(" FROM ", 1)[1].split()[0]
        out.append(f"{words[0]} {table}")
    return out


def test_a_content_change_costs_its_own_statements_only(db: Engine, live: LiveFactory) -> None:
    # A cache that refreshes by itself rarely (5 s, the most allowed): what reaches it within
    # a few milliseconds comes from the change.
    server = live(catalog_refresh_seconds=5)
    with client(server.url) as api, client(server.url, token=None) as public:
        made = make_content(api)
        with statements() as sent:
            r = api.post("/api/ar-content", json={"project_id": made["project_id"], "title": "T"})
        assert r.status_code == 201, r.text
        # The project with its company's flag, then the row (its values come back with the
        # INSERT): no re-read of the row, no refresh of the cache, no slug search.
        assert _kinds(sent) == ["SELECT projects", "INSERT ar_content"], sent
        content = r.json()
        assert public.post(START, json={"portrait_id": content["id"]}).status_code == 200

        with statements() as sent:
            r = api.patch(f"/api/ar-content/{content['id']}", json={"title": "U"})
        assert (r.status_code, r.json()["title"]) == (200, "U")
        assert _kinds(sent) == ["SELECT ar_content", "UPDATE ar_content"], sent

        with statements() as sent:
            r = api.delete(f"/api/ar-content/{content['id']}")
        assert (r.status_code, r.json()["is_active"]) == (200, False)
        assert _kinds(sent) == ["SELECT ar_content", "UPDATE ar_content", "INSERT audit_log"]
        # Tracking stops in this process at once, though its cache did not refresh.
        assert public.post(START, json={"portrait_id": content["id"]}).status_code == 404
        assert api.patch(f"/api/ar-content/{content['id']}", json={"is_active": True}).is_success
        assert public.post(START, json={"portrait_id": content["id"]}).status_code == 200


def test_content_of_an_inactive_project_is_created_untrackable(
    db: Engine, live: LiveFactory
) -> None:
    server = live(catalog_refresh_seconds=5)
    with client(server.url) as api, client(server.url, token=None) as public:
        made = make_content(api)
        assert api.delete(f"/api/companies/{made['company_id']}").is_success
        r = api.post("/api/ar-content", json={"project_id": made["project_id"], "title": "T"})
        assert r.status_code == 201, r.text
        assert r.json()["is_active"] is True
        start = public.post(START, json={"portrait_id": r.json()["id"]})
        assert start.status_code == 404
        assert "not active" in start.json()["detail"]


def test_unchanged_api_answers(api: httpx.Client) -> None:
    # Rows come back whole after a change although the row is no longer read back.
    made = make_content(api)
    body = {"project_id": made["project_id"], "title": "Full", "video_url": "/v.mp4"}
    created = api.post("/api/ar-content", json=body).json()
    got = api.get(f"/api/ar-content/{created['id']}").json()
    assert created == got
    assert created["marker_url"] is None
    assert created["is_active"] is True
    updated = api.patch(f"/api/ar-content/{created['id']}", json={"video_url": None}).json()
    assert updated == api.get(f"/api/ar-content/{created['id']}").json()
    assert updated["updated_at"] >= created["updated_at"]
    company = api.post("/api/companies", json={"name": "Whole"}).json()
    assert company == api.get(f"/api/companies/{company['id']}").json()
