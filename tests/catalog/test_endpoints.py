"""Admin catalog API: companies, projects, AR content."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import client, make_content, rows


def test_company_lifecycle(api: httpx.Client) -> None:
    r = api.post("/api/companies", json={"name": "Café Über Prints"})
    assert r.status_code == 201
    company = r.json()
    assert company["slug"] == "cafe-uber-prints"
    assert company["is_active"] is True
    cid = company["id"]
    assert api.get(f"/api/companies/{cid}").json() == company

    r = api.patch(f"/api/companies/{cid}", json={"name": "Renamed", "slug": "renamed"})
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["slug"]) == ("Renamed", "renamed")

    r = api.delete(f"/api/companies/{cid}")
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    assert api.get(f"/api/companies/{cid}").json()["is_active"] is False


def test_slugs_are_unique_and_derived_ones_get_a_suffix(api: httpx.Client) -> None:
    assert api.post("/api/companies", json={"name": "Acme"}).json()["slug"] == "acme"
    assert api.post("/api/companies", json={"name": "ACME"}).json()["slug"] == "acme-2"
    r = api.post("/api/companies", json={"name": "Other", "slug": "acme"})
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    b = api.post("/api/companies", json={"name": "B"}).json()
    assert api.patch(f"/api/companies/{b['id']}", json={"slug": "acme"}).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 256},
        {"name": "A", "slug": "Not A Slug"},
        {"name": "A", "unknown": 1},
    ],
)
def test_invalid_company_bodies(api: httpx.Client, db: Engine, body: dict[str, object]) -> None:
    r = api.post("/api/companies", json=body)
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"
    assert rows(db, "SELECT count(*) AS n FROM companies")[0]["n"] == 0


def test_pagination(api: httpx.Client) -> None:
    ids = [api.post("/api/companies", json={"name": f"C{i}"}).json()["id"] for i in range(7)]
    page = api.get("/api/companies", params={"limit": 3, "offset": 2}).json()
    assert page["total"] == 7
    assert (page["limit"], page["offset"]) == (3, 2)
    assert [c["id"] for c in page["items"]] == ids[2:5]
    assert api.get("/api/companies", params={"limit": 0}).status_code == 422
    assert api.get("/api/companies", params={"limit": 201}).status_code == 422


def test_project_slugs_are_per_company(api: httpx.Client) -> None:
    a = api.post("/api/companies", json={"name": "A"}).json()["id"]
    b = api.post("/api/companies", json={"name": "B"}).json()["id"]
    pa = api.post("/api/projects", json={"company_id": a, "name": "Launch"})
    pb = api.post("/api/projects", json={"company_id": b, "name": "Launch"})
    assert pa.json()["slug"] == pb.json()["slug"] == "launch"
    dup = api.post("/api/projects", json={"company_id": a, "name": "X", "slug": "launch"})
    assert dup.status_code == 409
    listed = api.get("/api/projects", params={"company_id": b}).json()
    assert [p["id"] for p in listed["items"]] == [pb.json()["id"]]


def test_project_needs_an_existing_company(api: httpx.Client) -> None:
    r = api.post("/api/projects", json={"company_id": 424242, "name": "P"})
    assert r.status_code == 404
    assert "company 424242" in r.json()["detail"]


def test_content_takes_its_company_from_its_project(api: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    assert uuid.UUID(content["unique_id"]).version == 4
    [row] = rows(db, "SELECT project_id, company_id FROM ar_content")
    [project] = rows(db, "SELECT id, company_id FROM projects")
    assert row == {"project_id": project["id"], "company_id": project["company_id"]}
    assert content["company_id"] == project["company_id"]
    # A client-chosen company is refused outright, not silently used.
    r = api.post(
        "/api/ar-content", json={"project_id": project["id"], "title": "T", "company_id": 99}
    )
    assert r.status_code == 422


def test_content_update_and_filters(api: httpx.Client) -> None:
    content = make_content(api)
    other = make_content(api, company="Other")
    r = api.patch(
        f"/api/ar-content/{content['id']}",
        json={"title": "New", "video_url": "https://cdn.example/v.mp4", "marker_url": "/t.mind"},
    )
    assert r.status_code == 200
    assert (r.json()["title"], r.json()["video_url"]) == ("New", "https://cdn.example/v.mp4")
    r = api.patch(f"/api/ar-content/{content['id']}", json={"video_url": None})
    assert r.json()["video_url"] is None
    assert r.json()["title"] == "New"
    bad = api.patch(f"/api/ar-content/{content['id']}", json={"video_url": "javascript:x"})
    assert bad.status_code == 422
    by_project = api.get("/api/ar-content", params={"project_id": other["project_id"]}).json()
    assert [c["id"] for c in by_project["items"]] == [other["id"]]
    by_company = api.get("/api/ar-content", params={"company_id": content["company_id"]}).json()
    assert [c["id"] for c in by_company["items"]] == [content["id"]]


@pytest.mark.parametrize(
    "path", ["/api/companies/999999", "/api/projects/999999", "/api/ar-content/999999"]
)
def test_unknown_ids_are_404(api: httpx.Client, path: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        r = api.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["error"] == "not_found"


def test_ids_beyond_64_bits_are_422(api: httpx.Client) -> None:
    assert api.get(f"/api/companies/{2**63}").status_code == 422
    assert api.get("/api/companies/0").status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/companies"),
        ("GET", "/api/companies"),
        ("GET", "/api/companies/1"),
        ("PATCH", "/api/companies/1"),
        ("DELETE", "/api/companies/1"),
        ("POST", "/api/projects"),
        ("GET", "/api/projects"),
        ("POST", "/api/ar-content"),
        ("GET", "/api/ar-content"),
        ("DELETE", "/api/ar-content/1"),
    ],
)
def test_catalog_needs_an_admin_token(api: httpx.Client, method: str, path: str) -> None:
    for token in (None, "wrong-token"):
        with client(str(api.base_url), token=token) as anon:
            r = anon.request(method, path, json={})
        assert r.status_code == 401
        assert r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
