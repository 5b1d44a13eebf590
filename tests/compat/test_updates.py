"""/mobile/analytics: the original viewer's beacon, with the end route's rules."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import LiveFactory
from tests.support import client, make_content, rows

UPDATES = ["/api/analytics/mobile/analytics", "/api/mobile/analytics"]
BEACON = {"Content-Type": "text/plain;charset=UTF-8"}  # what sendBeacon(url, string) sends


def started(api: httpx.Client, public: httpx.Client) -> str:
    content = make_content(api)
    sid = str(uuid.uuid4())
    r = public.post(
        "/api/mobile/sessions",
        json={"session_id": sid, "ar_content_unique_id": content["unique_id"]},
    )
    assert r.json()["status"] == "created", r.text
    return sid


def stored(db: Engine) -> dict[str, Any]:
    [row] = rows(
        db, "SELECT duration_seconds, video_played, tracking_quality FROM ar_view_sessions"
    )
    row["video_played"] = bool(row["video_played"])
    return row


def beacon(public: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return public.post(path, content=json.dumps(body), headers=BEACON)


@pytest.mark.parametrize("path", UPDATES)
def test_the_viewers_beacon_ends_the_session(
    api: httpx.Client, public: httpx.Client, db: Engine, path: str
) -> None:
    sid = started(api, public)
    r = beacon(public, path, {"session_id": sid, "duration_seconds": 42, "video_played": True})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "updated"
    assert r.json()["session_id"] == sid
    assert r.json()["duration_seconds"] == 42
    assert stored(db) == {"duration_seconds": 42, "video_played": True, "tracking_quality": None}
    figures = api.get("/api/analytics/overview").json()
    assert (figures["avg_duration_seconds"], figures["video_plays"]) == (42, 1)


def test_as_json_too(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    sid = started(api, public)
    r = public.post(
        UPDATES[0], json={"session_id": sid, "duration_seconds": 7.4, "tracking_quality": "fair"}
    )
    assert r.status_code == 200, r.text
    assert stored(db) == {"duration_seconds": 7, "video_played": False, "tracking_quality": "fair"}


def test_the_duration_only_grows_and_video_played_stays(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    beacon(public, UPDATES[1], {"session_id": sid, "duration_seconds": 30, "video_played": True})
    r = beacon(
        public, UPDATES[1], {"session_id": sid, "duration_seconds": 5, "video_played": False}
    )
    assert r.status_code == 200
    assert (r.json()["duration_seconds"], r.json()["video_played"]) == (30, True)
    assert stored(db)["duration_seconds"] == 30
    assert stored(db)["video_played"] is True


def test_keys_left_out_leave_the_stored_values(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    assert beacon(public, UPDATES[0], {"session_id": sid, "video_played": True}).status_code == 200
    # The original's update without a duration: still no duration (not a 0-second view).
    assert stored(db) == {"duration_seconds": None, "video_played": True, "tracking_quality": None}
    assert api.get("/api/analytics/overview").json()["sessions_with_duration"] == 0
    beacon(public, UPDATES[0], {"session_id": sid, "duration_seconds": None})
    assert stored(db)["duration_seconds"] is None


def test_the_duration_is_clamped(
    api: httpx.Client, public: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    sid = started(api, public)
    r = beacon(public, UPDATES[1], {"session_id": sid, "duration_seconds": 500_000})
    assert r.status_code == 200, r.text
    assert stored(db)["duration_seconds"] == 14_400
    short = live(max_session_seconds=60)
    with client(short.url, token=None) as c:
        r = c.post(UPDATES[1], json={"session_id": sid, "duration_seconds": 90})
    assert r.status_code == 200  # within the window, and the stored 14,400 stays
    assert stored(db)["duration_seconds"] == 14_400


def test_an_unknown_session_is_404(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    started(api, public)
    other = str(uuid.uuid4())
    r = beacon(public, UPDATES[1], {"session_id": other, "duration_seconds": 3})
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": f"session {other} not found"}
    assert stored(db)["duration_seconds"] is None


def test_a_session_too_old_to_be_running_is_409(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    then = datetime.now(UTC) - timedelta(seconds=14_400 + 900 + 120)
    with db.begin() as conn:
        conn.execute(
            text("UPDATE ar_view_sessions SET created_at = :t, updated_at = :t"),
            {"t": then.replace(tzinfo=None) if db.dialect.name == "sqlite" else then},
        )
    r = beacon(public, UPDATES[0], {"session_id": sid, "duration_seconds": 60})
    assert r.status_code == 409
    assert r.json()["error"] == "session_closed"
    assert stored(db)["duration_seconds"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session_id": None, "duration_seconds": 3}, "session_id"),
        ({"session_id": "nope"}, "session_id"),
        ({"duration_seconds": "3"}, "duration_seconds"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"video_played": 1}, "video_played"),
        ({"tracking_quality": "great"}, "tracking_quality"),
    ],
)
def test_bad_input_is_422_and_changes_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, body: dict[str, Any], field: str
) -> None:
    sid = started(api, public)
    sent = {k: v for k, v in {"session_id": sid, **body}.items() if v is not None}
    r = beacon(public, UPDATES[1], sent)
    assert r.status_code == 422, r.text
    assert r.json()["fields"][0]["field"] == field
    assert stored(db) == {"duration_seconds": None, "video_played": False, "tracking_quality": None}


def test_not_json_and_wrong_media_type(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    started(api, public)
    assert public.post(UPDATES[0], content=b"{", headers=BEACON).status_code == 422
    form = public.post(UPDATES[0], data={"session_id": "x"})
    assert form.status_code == 415
    assert form.json()["error"] == "unsupported_media_type"


def test_global_privacy_control_changes_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    r = public.post(
        UPDATES[1], json={"session_id": sid, "duration_seconds": 9}, headers={"Sec-GPC": "1"}
    )
    assert r.json() == {"status": "ignored", "session_id": sid}
    assert stored(db)["duration_seconds"] is None
