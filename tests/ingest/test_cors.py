"""Cross-origin rules over HTTP: tracking is open to any origin, reads to none."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import make_content

ORIGIN = "https://poster-campaign.example"
START = "/api/analytics/ar-session"


def cors_headers(r: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("path", [START, f"{START}/{uuid.uuid4()}/end"])
def test_json_preflight_is_answered_for_tracking(public: httpx.Client, path: str) -> None:
    r = public.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert r.status_code == 204
    h = cors_headers(r)
    assert h["access-control-allow-origin"] == "*"
    assert "POST" in h["access-control-allow-methods"]
    assert "content-type" in h["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in h


def test_cross_origin_text_plain_start_and_end(public: httpx.Client, api: httpx.Client) -> None:
    content = make_content(api)
    sid = str(uuid.uuid4())
    body = f'{{"ar_content_unique_id": "{content["unique_id"]}", "session_id": "{sid}"}}'
    r = public.post(
        START, content=body, headers={"Origin": ORIGIN, "Content-Type": "text/plain;charset=UTF-8"}
    )
    assert r.status_code == 200
    assert cors_headers(r) == {"access-control-allow-origin": "*"}
    r = public.post(
        f"{START}/{sid}/end",
        content='{"duration_seconds": 4}',
        headers={"Origin": ORIGIN, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert r.status_code == 200
    assert cors_headers(r) == {"access-control-allow-origin": "*"}


def test_errors_on_tracking_are_readable_cross_origin(public: httpx.Client) -> None:
    r = public.post(
        f"{START}/{uuid.uuid4()}/end", json={"duration_seconds": 1}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 404
    assert cors_headers(r) == {"access-control-allow-origin": "*"}


def test_same_origin_requests_get_no_cors_headers(public: httpx.Client, api: httpx.Client) -> None:
    content = make_content(api)
    r = public.post(START, json={"portrait_id": content["id"]})
    assert r.status_code == 200
    assert cors_headers(r) == {}


@pytest.mark.parametrize(
    "path",
    [
        "/api/analytics/overview",
        "/api/analytics/companies/1",
        "/api/analytics/ar-content/1",
        "/api/companies",
        "/api/ar-content",
    ],
)
def test_reads_and_management_allow_no_cross_origin_use(api: httpx.Client, path: str) -> None:
    r = api.get(path, headers={"Origin": ORIGIN})
    assert r.status_code in (200, 404)
    assert cors_headers(r) == {}
    preflight = api.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    # No allow-origin on the answer: the browser refuses to send the token.
    assert preflight.status_code >= 400
    assert cors_headers(preflight) == {}
