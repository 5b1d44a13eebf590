"""POST /api/analytics/ar-session: content lookup, idempotency, validation, body formats."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveFactory
from tests.support import client, make_content, rows

START = "/api/analytics/ar-session"


def count_sessions(db: Engine) -> int:
    return int(rows(db, "SELECT count(*) AS n FROM ar_view_sessions")[0]["n"])


@pytest.mark.parametrize("key", ["portrait_id", "ar_content_id", "ar_content_unique_id"])
def test_start_by_each_content_reference(
    api: httpx.Client, public: httpx.Client, db: Engine, key: str
) -> None:
    content = make_content(api)
    ref = content["unique_id"] if key == "ar_content_unique_id" else content["id"]
    sid = str(uuid.uuid4())
    r = public.post(START, json={key: ref, "session_id": sid, "device_type": "mobile"})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "tracked", "session_id": sid}
    [row] = rows(db, "SELECT * FROM ar_view_sessions")
    assert row["ar_content_id"] == content["id"]
    assert row["project_id"] == content["project_id"]
    assert row["company_id"] == content["company_id"]
    assert str(row["session_id"]).replace("-", "") == sid.replace("-", "")
    assert row["device_type"] == "mobile"
    assert row["video_played"] in (False, 0)
    assert row["duration_seconds"] is None


def test_owner_ids_come_from_the_content_not_the_client(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    other = make_content(api, company="Other Co")
    r = public.post(
        START,
        json={
            "portrait_id": content["id"],
            "company_id": other["company_id"],
            "project_id": other["project_id"],
        },
    )
    assert r.status_code == 200
    [row] = rows(db, "SELECT company_id, project_id FROM ar_view_sessions")
    assert (row["company_id"], row["project_id"]) == (content["company_id"], content["project_id"])


def test_session_id_is_generated_when_absent(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    r = public.post(START, json={"portrait_id": content["id"]})
    assert r.status_code == 200
    sid = uuid.UUID(r.json()["session_id"])
    [row] = rows(db, "SELECT session_id, created_at FROM ar_view_sessions")
    assert uuid.UUID(str(row["session_id"])) == sid
    created = row["created_at"]
    if isinstance(created, str):  # SQLite hands back text through the plain driver
        created = datetime.fromisoformat(created).replace(tzinfo=UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


def test_repeated_start_stores_nothing_new(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    sid = str(uuid.uuid4())
    for _ in range(3):
        r = public.post(START, json={"portrait_id": content["id"], "session_id": sid})
        assert r.status_code == 200
        assert r.json()["session_id"] == sid
    assert count_sessions(db) == 1


def test_concurrent_duplicate_starts_store_one_row(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    sid = str(uuid.uuid4())
    body = {"portrait_id": content["id"], "session_id": sid}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(public.base_url), timeout=30) as c:
            return c.post(START, json=body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, range(32)))
    assert [a.status_code for a in answers] == [200] * 32
    assert {a.json()["session_id"] for a in answers} == {sid}
    assert count_sessions(db) == 1


def test_unknown_content_is_404_and_nothing_stored(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    make_content(api)
    for body in (
        {"portrait_id": 987654},
        {"ar_content_id": 987654},
        {"ar_content_unique_id": str(uuid.uuid4())},
    ):
        r = public.post(START, json=body)
        assert r.status_code == 404, body
        assert r.json()["error"] == "not_found"
    assert count_sessions(db) == 0


def test_references_that_disagree_are_refused(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    a = make_content(api)
    b = make_content(api, company="B")
    r = public.post(START, json={"portrait_id": a["id"], "ar_content_unique_id": b["unique_id"]})
    assert r.status_code == 404
    r = public.post(START, json={"portrait_id": a["id"], "ar_content_id": b["id"]})
    assert r.status_code == 404
    r = public.post(START, json={"portrait_id": a["id"], "ar_content_unique_id": a["unique_id"]})
    assert r.status_code == 200
    assert count_sessions(db) == 1


@pytest.mark.parametrize("level", ["ar-content", "projects", "companies"])
def test_inactive_content_project_or_company_is_not_trackable(
    api: httpx.Client, public: httpx.Client, db: Engine, level: str
) -> None:
    content = make_content(api)
    ident = {
        "ar-content": content["id"],
        "projects": content["project_id"],
        "companies": content["company_id"],
    }[level]
    assert api.delete(f"/api/{level}/{ident}").json()["is_active"] is False
    r = public.post(START, json={"portrait_id": content["id"]})
    assert r.status_code == 404
    assert "not active" in r.json()["detail"]
    assert count_sessions(db) == 0
    assert api.patch(f"/api/{level}/{ident}", json={"is_active": True}).status_code == 200
    assert public.post(START, json={"portrait_id": content["id"]}).status_code == 200
    assert count_sessions(db) == 1


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"video_played": "yes"}, "video_played"),
        ({"video_played": 1}, "video_played"),
        ({"session_id": "not-a-uuid"}, "session_id"),
        ({"tracking_quality": "excellent"}, "tracking_quality"),
        ({"user_agent": "x" * 2049}, "user_agent"),
        ({"device_type": "x" * 51}, "device_type"),
        ({"browser": "x" * 101}, "browser"),
        ({"os": "x" * 101}, "os"),
        ({"portrait_id": "12"}, "portrait_id"),
        ({"portrait_id": 0}, "portrait_id"),
        ({"ar_content_unique_id": "nope"}, "ar_content_unique_id"),
    ],
)
def test_wrong_types_are_422_naming_the_field(
    api: httpx.Client, public: httpx.Client, db: Engine, patch: dict[str, object], field: str
) -> None:
    content = make_content(api)
    body = {"portrait_id": content["id"], **patch}
    r = public.post(START, json=body)
    assert r.status_code == 422, r.text
    payload = r.json()
    assert payload["error"] == "validation_error"
    assert field in payload["detail"]
    assert field in [f["field"] for f in payload["fields"]]
    assert count_sessions(db) == 0


def test_limits_are_inclusive(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    body = {
        "portrait_id": content["id"],
        "user_agent": "u" * 2048,
        "device_type": "d" * 50,
        "browser": "b" * 100,
        "os": "o" * 100,
        "tracking_quality": "fair",
        "video_played": True,
    }
    # Without a User-Agent header the body's user agent is the one stored.
    assert public.post(START, json=body, headers={"User-Agent": ""}).status_code == 200
    [row] = rows(db, "SELECT user_agent, tracking_quality, video_played FROM ar_view_sessions")
    assert len(row["user_agent"]) == 2048
    assert row["tracking_quality"] == "fair"
    assert row["video_played"] in (True, 1)


def test_missing_content_reference_is_422(public: httpx.Client, db: Engine) -> None:
    r = public.post(START, json={"session_id": str(uuid.uuid4())})
    assert r.status_code == 422
    assert "portrait_id" in r.json()["detail"]
    assert count_sessions(db) == 0


def test_text_plain_body_as_sent_by_send_beacon(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    sid = str(uuid.uuid4())
    r = public.post(
        START,
        content=json.dumps({"ar_content_unique_id": content["unique_id"], "session_id": sid}),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert r.status_code == 200, r.text
    assert count_sessions(db) == 1


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b"{not json", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"", "text/plain", 422),
        (b"portrait_id=1", "application/x-www-form-urlencoded", 415),
    ],
)
def test_unreadable_bodies(
    api: httpx.Client, public: httpx.Client, db: Engine, content: bytes, ctype: str, status: int
) -> None:
    make_content(api)
    r = public.post(START, content=content, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text
    assert set(r.json()) >= {"error", "detail"}
    assert count_sessions(db) == 0


def test_body_over_16_kib_is_413(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    padding = "p" * (16 * 1024)
    body = json.dumps({"portrait_id": content["id"], "extra": padding}).encode()
    r = public.post(START, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"

    def chunks() -> object:  # no Content-Length: the limit holds while streaming too
        yield body[:8000]
        yield body[8000:]

    r = public.post(START, content=chunks(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413
    assert count_sessions(db) == 0


def test_the_user_agent_header_wins_over_the_body(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    ua = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    ua += "Chrome/126.0.6478.122 Mobile Safari/537.36"
    public.post(
        START,
        json={"portrait_id": content["id"], "user_agent": "from-body"},
        headers={"User-Agent": ua},
    )
    public.post(
        START,
        json={"portrait_id": content["id"], "user_agent": "from-body"},
        headers={"User-Agent": ""},
    )
    stored = sorted(r["user_agent"] for r in rows(db, "SELECT user_agent FROM ar_view_sessions"))
    assert stored == sorted([ua, "from-body"])


def test_deactivation_reaches_every_process_within_5_seconds(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    other = live()  # a second server process on the same database, with its own cache
    with client(other.url, token=None) as worker:
        body = {"portrait_id": content["id"]}
        assert worker.post(START, json=body).status_code == 200  # cached as trackable
        assert api.delete(f"/api/ar-content/{content['id']}").status_code == 200
        started = time.monotonic()
        while worker.post(START, json=body).status_code != 404:
            assert time.monotonic() - started < 5, "still trackable after 5 s"
            time.sleep(0.1)
        stored = count_sessions(db)
        assert worker.post(START, json=body).status_code == 404
        assert count_sessions(db) == stored
