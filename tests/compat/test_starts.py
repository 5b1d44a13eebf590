"""Starts as the original platform sends them: portrait_id as a unique_id, /mobile/sessions."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveFactory
from tests.support import client, make_content, rows

START = "/api/analytics/ar-session"
MOBILE_STARTS = ["/api/analytics/mobile/sessions", "/api/mobile/sessions"]
# What the original viewer (ar_viewer.html) and iOS app send.
VIEWER_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def sessions(db: Engine) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM ar_view_sessions ORDER BY id")


def same_uuid(stored: object, sent: str) -> bool:
    return uuid.UUID(str(stored)) == uuid.UUID(sent)


def test_portrait_id_as_the_unique_id(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    sid = str(uuid.uuid4())
    r = public.post(START, json={"portrait_id": content["unique_id"], "session_id": sid})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "tracked", "session_id": sid}
    [row] = sessions(db)
    assert row["ar_content_id"] == content["id"]
    assert (row["project_id"], row["company_id"]) == (content["project_id"], content["company_id"])


def test_portrait_id_as_the_integer_id_still_works(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    assert public.post(START, json={"portrait_id": content["id"]}).status_code == 200
    assert [r["ar_content_id"] for r in sessions(db)] == [content["id"]]


@pytest.mark.parametrize(
    ("extra", "key", "detail"),
    [
        (
            "ar_content_unique_id",
            "unique_id",
            "no ar content matches both portrait_id and ar_content_unique_id",
        ),
        ("ar_content_id", "id", "no ar content matches both the given id and unique id"),
    ],
)
def test_portrait_id_disagreeing_with_another_id_is_404(
    api: httpx.Client, public: httpx.Client, db: Engine, extra: str, key: str, detail: str
) -> None:
    content = make_content(api)
    other = make_content(api, company="Other")
    r = public.post(START, json={"portrait_id": content["unique_id"], extra: other[key]})
    assert r.status_code == 404, r.text
    assert r.json() == {"error": "not_found", "detail": detail}
    assert sessions(db) == []


def test_portrait_id_agreeing_with_the_other_ids_is_tracked(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    r = public.post(
        START,
        json={
            "portrait_id": content["unique_id"],
            "ar_content_unique_id": content["unique_id"],
            "ar_content_id": content["id"],
        },
    )
    assert r.status_code == 200, r.text
    assert len(sessions(db)) == 1


@pytest.mark.parametrize("value", ["not-a-uuid", str(7), True, -1, 1.5, "", 10**400, 2**53])
def test_portrait_id_neither_an_id_nor_a_uuid_is_422(
    api: httpx.Client, public: httpx.Client, db: Engine, value: object
) -> None:
    make_content(api)
    r = public.post(START, json={"portrait_id": value})
    assert r.status_code == 422, r.text
    assert r.json()["fields"][0]["field"].startswith("portrait_id")
    assert sessions(db) == []


def test_an_unknown_unique_id_as_portrait_id_is_404(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    make_content(api)
    r = public.post(START, json={"portrait_id": str(uuid.uuid4())})
    assert r.status_code == 404
    assert r.json()["detail"] == "ar content not found"


# --- /mobile/sessions ----------------------------------------------------------------------


def mobile_body(content: dict[str, Any], sid: str | None = None) -> dict[str, Any]:
    return {
        "session_id": sid or str(uuid.uuid4()),
        "ar_content_unique_id": content["unique_id"],
        "user_agent": VIEWER_UA,
        "device_type": "mobile",
        "device_model": "iPhone14,2",  # the iOS app's extra key: ignored
        "ip_address": "203.0.113.9",  # never trusted: the server reads the address itself
    }


@pytest.mark.parametrize("path", MOBILE_STARTS)
def test_mobile_session_created_then_exists(
    api: httpx.Client, public: httpx.Client, db: Engine, path: str
) -> None:
    content = make_content(api)
    body = mobile_body(content)
    first = public.post(path, json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "created", "session_id": body["session_id"]}
    [row] = sessions(db)
    assert same_uuid(row["session_id"], body["session_id"])
    assert row["ar_content_id"] == content["id"]
    assert row["device_type"] == "mobile"
    assert row["ip_address"] != "203.0.113.9"
    assert row["duration_seconds"] is None

    again = public.post(path, json={**body, "device_type": "desktop"})
    assert again.status_code == 200
    assert again.json() == {"status": "exists", "session_id": body["session_id"]}
    assert sessions(db) == [row]
    overview = api.get("/api/analytics/overview").json()
    assert overview["total_views"] == 1  # the rollups counted the view once


def test_mobile_session_as_text_plain(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    body = mobile_body(content)
    r = public.post(
        MOBILE_STARTS[1],
        content=json.dumps(body),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "created"
    assert len(sessions(db)) == 1


def test_concurrent_repeats_store_one_view_and_one_created(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    body = mobile_body(content)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: public.post(MOBILE_STARTS[0], json=body), range(16)))
    assert {a.status_code for a in answers} == {200}
    statuses = sorted(a.json()["status"] for a in answers)
    assert statuses == ["created"] + ["exists"] * 15
    assert len(sessions(db)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"session_id": None}, "session_id"),
        ({"session_id": "abc"}, "session_id"),
        ({"ar_content_unique_id": None}, "ar_content_unique_id"),
        ({"ar_content_unique_id": 5}, "ar_content_unique_id"),
        ({"video_played": "yes"}, "video_played"),
        ({"device_type": "x" * 51}, "device_type"),
    ],
)
def test_mobile_session_bad_input_is_422_and_stores_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, change: dict[str, Any], field: str
) -> None:
    content = make_content(api)
    body = {k: v for k, v in {**mobile_body(content), **change}.items() if v is not None}
    r = public.post(MOBILE_STARTS[0], json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert r.json()["fields"][0]["field"] == field
    assert sessions(db) == []


def test_mobile_session_for_unknown_or_inactive_content_is_404(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    body = mobile_body(content)
    unknown = public.post(
        MOBILE_STARTS[1], json={**body, "ar_content_unique_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "detail": "ar content not found"}
    assert api.delete(f"/api/ar-content/{content['id']}").status_code == 200
    inactive = public.post(MOBILE_STARTS[1], json=body)
    assert inactive.status_code == 404
    assert inactive.json()["detail"] == "ar content is not active"
    assert sessions(db) == []


def test_mobile_session_of_a_bot_is_flagged_or_ignored(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    with client(str(api.base_url), token=None, user_agent="Googlebot/2.1") as bot:
        assert bot.post(MOBILE_STARTS[0], json=mobile_body(content)).json()["status"] == "created"
    [row] = sessions(db)
    assert row["is_bot"] in (True, 1)
    dropping = live(store_bots=False)
    with client(dropping.url, token=None, user_agent="Googlebot/2.1") as bot:
        r = bot.post(MOBILE_STARTS[0], json=mobile_body(content))
    assert r.json()["status"] == "ignored"
    assert len(sessions(db)) == 1


def test_global_privacy_control_stores_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    body = mobile_body(content)
    r = public.post(MOBILE_STARTS[1], json=body, headers={"Sec-GPC": "1"})
    assert r.json() == {"status": "ignored", "session_id": body["session_id"]}
    assert sessions(db) == []
    # ARV_RESPECT_GPC=false tracks such browsers, as the tracker then does too.
    with client(live(respect_gpc=False).url, token=None) as c:
        assert c.post(MOBILE_STARTS[1], json=body, headers={"Sec-GPC": "1"}).status_code == 200
    assert len(sessions(db)) == 1


@pytest.mark.parametrize("path", [*MOBILE_STARTS, START])
def test_cross_origin_preflight_and_headers(
    api: httpx.Client, public: httpx.Client, db: Engine, path: str
) -> None:
    content = make_content(api)
    pre = public.options(
        path,
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "*"
    r = public.post(path, json=mobile_body(content), headers={"Origin": "https://viewer.example"})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers


def test_mobile_sessions_share_the_tracking_rate_limit(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    server = live(rate_limit_per_minute=1000, rate_limit_burst=3)
    with client(server.url, token=None) as c:
        answers = [c.post(MOBILE_STARTS[i % 2], json=mobile_body(content)) for i in range(6)]
    codes = [a.status_code for a in answers]
    assert codes.count(429) >= 2, codes
    limited = answers[codes.index(429)]
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert len(sessions(db)) == codes.count(200)


def test_a_body_over_the_limit_is_413(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    body = {**mobile_body(content), "padding": "x" * 20_000}
    r = public.post(MOBILE_STARTS[0], json=body)
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
    assert sessions(db) == []
