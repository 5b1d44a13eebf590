"""Catalog lists: filters (company, project, active, search), stable order, company scope."""

from __future__ import annotations

import httpx
import pytest

from arv_analytics.catalog import repository
from tests.catalog.statements import statements
from tests.support import client, make_content


def _ids(api: httpx.Client, path: str, **params: str | int | bool) -> list[int]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    return [row["id"] for row in r.json()["items"]]


def test_content_filters_and_stable_pages(api: httpx.Client) -> None:
    a = api.post("/api/companies", json={"name": "Alpha"}).json()
    b = api.post("/api/companies", json={"name": "Beta 100%"}).json()
    pa = api.post("/api/projects", json={"company_id": a["id"], "name": "Posters"}).json()
    pb = api.post("/api/projects", json={"company_id": b["id"], "name": "Flyers"}).json()
    titles = ["Summer Poster", "winter poster", "Menu", "Poster_100%", "Card"]
    made = [
        api.post("/api/ar-content", json={"project_id": p["id"], "title": t}).json()
        for p, t in zip([pa, pa, pa, pb, pb], titles, strict=True)
    ]
    api.delete(f"/api/ar-content/{made[1]['id']}")

    assert _ids(api, "/api/ar-content", q="POSTER") == [made[0]["id"], made[1]["id"], made[3]["id"]]
    # LIKE wildcards in the search are plain characters.
    assert _ids(api, "/api/ar-content", q="_100%") == [made[3]["id"]]
    assert _ids(api, "/api/ar-content", q="100%", company_id=a["id"]) == []
    assert _ids(api, "/api/ar-content", is_active=False) == [made[1]["id"]]
    active = _ids(api, "/api/ar-content", is_active=True, project_id=pa["id"])
    assert active == [made[0]["id"], made[2]["id"]]
    body = api.get("/api/ar-content", params={"q": "poster", "is_active": True}).json()
    assert body["total"] == 2
    # Pages in id order cover every row exactly once.
    paged = [i for off in range(0, 5, 2) for i in _ids(api, "/api/ar-content", limit=2, offset=off)]
    assert paged == sorted(m["id"] for m in made)
    # Keyset pages: after the last id seen; total still counts every matching row.
    keyset: list[int] = []
    while page := _ids(api, "/api/ar-content", limit=2, after_id=(keyset or [0])[-1]):
        keyset += page
    assert keyset == paged
    after = api.get("/api/ar-content", params={"after_id": made[3]["id"], "q": "poster"}).json()
    assert (after["items"], after["total"]) == ([], 3)
    assert _ids(api, "/api/companies", q="beta 1") == [b["id"]]
    api.delete(f"/api/projects/{pb['id']}")
    assert _ids(api, "/api/projects", is_active=True) == [pa["id"]]
    assert _ids(api, "/api/projects", q="fly", is_active=False) == [pb["id"]]
    assert api.get("/api/ar-content", params={"q": ""}).status_code == 422
    assert api.get("/api/ar-content", params={"is_active": "maybe"}).status_code == 422

    token = api.post(
        "/api/tokens", json={"name": "beta", "role": "company", "company_id": b["id"]}
    ).json()["token"]
    with client(str(api.base_url), token=token) as beta:
        assert _ids(beta, "/api/ar-content", q="poster") == [made[3]["id"]]
        assert _ids(beta, "/api/companies", q="alpha") == []


def test_counts_stop_at_the_cap(api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server runs in this process (a thread), so a smaller cap applies to it too.
    monkeypatch.setattr(repository, "COUNT_CAP", 2)
    made = [make_content(api, company=f"Cap {i}") for i in range(3)]
    capped = api.get("/api/ar-content", params={"limit": 1}).json()
    assert (capped["total"], capped["total_exact"]) == (2, False)
    assert [i["id"] for i in capped["items"]] == [made[0]["id"]]
    one = api.get("/api/ar-content", params={"company_id": made[1]["company_id"]}).json()
    assert (one["total"], one["total_exact"]) == (1, True)
    exact = api.get("/api/companies", params={"q": "cap 1"}).json()
    assert (exact["total"], exact["total_exact"]) == (1, True)


def test_search_text_is_data_not_sql(api: httpx.Client) -> None:
    # The pattern is rendered into the statement (see repository._substring): quotes,
    # backslashes and escape characters must stay plain text.
    name = "O'Brien \\ Sons / 50% _off"
    made = api.post("/api/companies", json={"name": name}).json()
    api.post("/api/companies", json={"name": "Other"})
    for q in ["o'brien \\ sons", "/ 50%", "_off", "' OR '1'='1", "\\'; --"]:
        found = _ids(api, "/api/companies", q=q)
        assert found == ([made["id"]] if q.lower() in name.lower() else []), q


def test_totals_of_pages_that_end_the_list_are_not_counted(api: httpx.Client) -> None:
    made = [make_content(api, company=f"Total {i}") for i in range(5)]
    ids = [m["id"] for m in made]

    def page(**params: int | str) -> tuple[list[int], int, list[str]]:
        with statements() as sent:
            body = api.get("/api/ar-content", params=params).json()
        counts = [s for s in sent if "count(" in s.lower()]
        return [i["id"] for i in body["items"]], body["total"], counts

    # A short page ends the list: its total is known without a count.
    assert page() == (ids, 5, [])
    assert page(limit=2, offset=4) == (ids[4:], 5, [])
    assert page(q="poster", limit=10) == (ids, 5, [])
    # A full page, a page past the end or a keyset page cannot tell: one capped count.
    got, total, counts = page(limit=2, offset=2)
    assert (got, total, len(counts)) == (ids[2:4], 5, 1)
    got, total, counts = page(limit=2, offset=9)
    assert (got, total, len(counts)) == ([], 5, 1)
    got, total, counts = page(after_id=ids[2])
    assert (got, total, len(counts)) == (ids[3:], 5, 1)
    got, total, counts = page(limit=5)
    assert (got, total, len(counts)) == (ids, 5, 1)
