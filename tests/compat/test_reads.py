"""The original admin pages' read paths answer as the canonical ones, with the same tokens."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import client, make_content

WINDOW_EDGES = ("since", "until")


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    # The window's edges are "now" at each request; everything else must be identical.
    strip = lambda d: {k: v for k, v in d.items() if k not in WINDOW_EDGES}  # noqa: E731
    assert strip(a) == strip(b)


def world(api: httpx.Client, public: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    a = make_content(api, company="Alpha")
    b = make_content(api, company="Beta")
    for content, n in ((a, 2), (b, 1)):
        for _ in range(n):
            sid = str(uuid.uuid4())
            public.post(
                "/api/mobile/sessions",
                json={"session_id": sid, "ar_content_unique_id": content["unique_id"]},
            )
            public.post("/api/mobile/analytics", json={"session_id": sid, "duration_seconds": 10})
    return a, b


@pytest.mark.parametrize("query", [{}, {"days": 7, "include_bots": "true"}])
def test_aliases_answer_as_the_canonical_routes(
    api: httpx.Client, public: httpx.Client, db: Engine, query: dict[str, Any]
) -> None:
    a, _ = world(api, public)
    pairs = [
        ("/api/analytics/summary", "/api/analytics/overview"),
        (
            f"/api/analytics/company/{a['company_id']}",
            f"/api/analytics/companies/{a['company_id']}",
        ),
        (f"/api/analytics/content/{a['id']}", f"/api/analytics/ar-content/{a['id']}"),
    ]
    for alias, canonical in pairs:
        old, new = api.get(alias, params=query), api.get(canonical, params=query)
        assert old.status_code == new.status_code == 200, (alias, old.text)
        same(old.json(), new.json())
    assert api.get("/api/analytics/summary").json()["total_views"] == 3
    company = api.get(f"/api/analytics/company/{a['company_id']}").json()
    assert (company["views_30_days"], company["avg_duration_seconds"]) == (2, 10)


def test_same_tokens_and_scoping(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    a, b = world(api, public)
    token = api.post(
        "/api/tokens", json={"name": "b", "role": "company", "company_id": b["company_id"]}
    ).json()["token"]
    base = str(api.base_url)
    with client(base, token=None) as anonymous:
        for path in ("/api/analytics/summary", f"/api/analytics/content/{a['id']}"):
            r = anonymous.get(path)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
    with client(base, token=token) as reader:
        summary = reader.get("/api/analytics/summary").json()
        assert (summary["total_views"], summary["active_content"]) == (1, 1)
        assert (summary["active_companies"], summary["active_projects"]) == (1, 1)
        for path in (
            f"/api/analytics/company/{a['company_id']}",
            f"/api/analytics/content/{a['id']}",
        ):
            r = reader.get(path)
            assert r.status_code == 404
            assert r.json()["error"] == "not_found"
        assert reader.get(f"/api/analytics/content/{b['id']}").json()["views"] == 1


def test_overview_counts_active_companies_and_projects(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    a, b = world(api, public)
    extra = api.post("/api/projects", json={"company_id": a["company_id"], "name": "More"}).json()
    overview = api.get("/api/analytics/overview").json()
    assert (overview["active_companies"], overview["active_projects"]) == (2, 3)
    api.delete(f"/api/projects/{extra['id']}")
    # A deactivated company takes its projects with it, as it does its content.
    api.delete(f"/api/companies/{b['company_id']}")
    for path in ("/api/analytics/overview", "/api/analytics/summary"):
        figures = api.get(path).json()
        assert (figures["active_companies"], figures["active_projects"]) == (1, 1), path
        assert figures["active_content"] == 1


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/analytics/summary", {"days": 0}),
        ("/api/analytics/summary", {"day": 7}),
        ("/api/analytics/company/0", {}),
        ("/api/analytics/content/abc", {}),
    ],
)
def test_bad_queries_are_422(
    api: httpx.Client, db: Engine, path: str, query: dict[str, Any]
) -> None:
    r = api.get(path, params=query)
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"


def test_unknown_ids_are_404(api: httpx.Client, db: Engine) -> None:
    for path in ("/api/analytics/company/999999", "/api/analytics/content/999999"):
        r = api.get(path)
        assert r.status_code == 404
        assert r.json()["error"] == "not_found"


def test_openapi_marks_every_compat_route(api: httpx.Client, db: Engine) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    compat = {
        ("post", "/api/analytics/mobile/sessions"),
        ("post", "/api/analytics/mobile/analytics"),
        ("post", "/api/mobile/sessions"),
        ("post", "/api/mobile/analytics"),
        ("post", "/api/analytics/ar-diagnostic"),
        ("get", "/api/analytics/summary"),
        ("get", "/api/analytics/company/{company_id}"),
        ("get", "/api/analytics/content/{content_id}"),
    }
    tagged = {
        (method, path)
        for path, item in paths.items()
        for method, op in item.items()
        if "original platform" in op.get("tags", [])
    }
    assert tagged == compat
    for method, path in compat:
        assert "Kept for the original ARV platform" in paths[path][method]["description"]
