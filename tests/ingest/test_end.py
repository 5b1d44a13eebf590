"""POST /api/analytics/ar-session/{session_id}/end: heartbeats and ends, idempotent, growing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import make_content, rows

START = "/api/analytics/ar-session"


def end_url(sid: str) -> str:
    return f"/api/analytics/ar-session/{sid}/end"


def started(api: httpx.Client, public: httpx.Client, **extra: Any) -> str:
    content = make_content(api)
    r = public.post(START, json={"portrait_id": content["id"], **extra})
    assert r.status_code == 200
    return str(r.json()["session_id"])


def stored(db: Engine) -> dict[str, Any]:
    [row] = rows(
        db, "SELECT duration_seconds, video_played, tracking_quality FROM ar_view_sessions"
    )
    row["video_played"] = bool(row["video_played"])
    return row


def test_duration_only_grows(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    sid = started(api, public)
    for sent, expected in [(15, 15), (30.4, 30), (12, 30), (45.5, 46), (0, 46)]:
        r = public.post(end_url(sid), json={"duration_seconds": sent})
        assert r.status_code == 200, r.text
        assert r.json()["duration_seconds"] == expected
        assert stored(db)["duration_seconds"] == expected


def test_duration_is_clamped_to_the_maximum(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    r = public.post(end_url(sid), json={"duration_seconds": 1e12})
    assert r.status_code == 200
    assert stored(db)["duration_seconds"] == 14_400


def test_video_played_never_goes_back(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    sid = started(api, public)
    public.post(end_url(sid), json={"duration_seconds": 3, "video_played": False})
    assert stored(db)["video_played"] is False
    public.post(end_url(sid), json={"duration_seconds": 5, "video_played": True})
    public.post(end_url(sid), json={"duration_seconds": 6, "video_played": False})
    public.post(end_url(sid), json={"duration_seconds": 7})
    assert stored(db) == {"duration_seconds": 7, "video_played": True, "tracking_quality": None}


def test_tracking_quality_follows_the_latest_report(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public, tracking_quality="none")
    public.post(end_url(sid), json={"duration_seconds": 4, "tracking_quality": "poor"})
    public.post(end_url(sid), json={"duration_seconds": 9, "tracking_quality": "good"})
    public.post(end_url(sid), json={"duration_seconds": 10})
    assert stored(db)["tracking_quality"] == "good"


def test_text_plain_end_as_sent_by_send_beacon(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    r = public.post(
        end_url(sid), content=b'{"duration_seconds": 21}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 200
    assert stored(db)["duration_seconds"] == 21


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"duration_seconds": "10"}, "duration_seconds"),
        ({"duration_seconds": True}, "duration_seconds"),
        ({}, "duration_seconds"),
        ({"duration_seconds": 5, "video_played": "yes"}, "video_played"),
        ({"duration_seconds": 5, "tracking_quality": "great"}, "tracking_quality"),
    ],
)
def test_invalid_end_is_422_and_changes_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, body: dict[str, Any], field: str
) -> None:
    sid = started(api, public)
    public.post(end_url(sid), json={"duration_seconds": 8})
    r = public.post(end_url(sid), json=body)
    assert r.status_code == 422
    assert field in r.json()["detail"]
    assert stored(db) == {"duration_seconds": 8, "video_played": False, "tracking_quality": None}


def test_unknown_session_is_404(public: httpx.Client, db: Engine) -> None:
    r = public.post(end_url(str(uuid.uuid4())), json={"duration_seconds": 3})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_non_uuid_session_in_path_is_422(public: httpx.Client, db: Engine) -> None:
    r = public.post(end_url("12345"), json={"duration_seconds": 3})
    assert r.status_code == 422
    assert "session_id" in r.json()["detail"]


def test_nan_and_infinity_are_refused(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    sid = started(api, public)
    for raw in (b'{"duration_seconds": NaN}', b'{"duration_seconds": Infinity}'):
        r = public.post(end_url(sid), content=raw, headers={"Content-Type": "text/plain"})
        assert r.status_code == 422
    assert stored(db)["duration_seconds"] is None
