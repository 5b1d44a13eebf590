"""Requests are read strictly: unknown or repeated query parameters, JSON types, 405s."""

from __future__ import annotations

import httpx
import pytest

from tests.support import make_content


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/analytics/overview", {"day": "7"}),  # a typo of days: never silently ignored
        ("/api/companies", {"company_id": "1"}),
        ("/api/projects", [("limit", "5"), ("limit", "500")]),
        ("/api/audit", {"": "x"}),
    ],
)
def test_unknown_or_repeated_query_parameters_are_422(
    api: httpx.Client, path: str, params: object
) -> None:
    r = api.get(path, params=params)  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert r.json()["fields"][0]["message"] in ("unknown query parameter", "given more than once")


def test_declared_query_parameters_still_work(api: httpx.Client) -> None:
    assert api.get("/api/analytics/overview", params={"days": 7}).status_code == 200
    assert api.get("/api/projects", params={"limit": 5, "offset": 0}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"company_id": "1", "name": "P"},  # a string is not an id
        {"company_id": True, "name": "P"},  # nor is a boolean
        {"company_id": 1.5, "name": "P"},
        {"company_id": 2**53, "name": "P"},  # ids stay below 2**53
        {"company_id": 1, "name": "   "},
        {"company_id": 1, "name": "\t" + "x" * 255},  # limits apply to the text as sent
    ],
)
def test_json_types_are_what_the_document_says(api: httpx.Client, body: dict[str, object]) -> None:
    make_content(api)
    r = api.post("/api/projects", json=body)
    assert r.status_code == 422, r.text


def test_an_integral_float_is_an_integer_and_names_are_trimmed(api: httpx.Client) -> None:
    content = make_content(api)
    r = api.post("/api/projects", json={"company_id": float(content["company_id"]), "name": " P "})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "P"


def test_is_active_must_be_a_boolean(api: httpx.Client) -> None:
    content = make_content(api)
    r = api.patch(f"/api/ar-content/{content['id']}", json={"is_active": 0})
    assert r.status_code == 422


def test_405_lists_every_method_of_the_path(api: httpx.Client) -> None:
    r = api.request("PUT", "/api/companies")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    r = api.request("POST", "/api/companies/1")
    assert set(r.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
