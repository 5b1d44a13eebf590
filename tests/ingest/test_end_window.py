"""Ends and heartbeats are accepted only while a view can still be running:
up to ARV_MAX_SESSION_SECONDS plus ARV_END_GRACE_SECONDS after its start."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.support import make_content, rows

START = "/api/analytics/ar-session"
OPEN_FOR = 14_400 + 900  # the defaults the shared test server runs with


def started_ago(api: httpx.Client, public: httpx.Client, db: Engine, seconds: int) -> str:
    content = make_content(api)
    sid = str(uuid.uuid4())
    assert (
        public.post(START, json={"portrait_id": content["id"], "session_id": sid}).status_code
        == 200
    )
    then = datetime.now(UTC) - timedelta(seconds=seconds)
    with db.begin() as conn:
        # The tests' own driver writes the past start time; naive UTC suits both backends.
        conn.execute(
            text("UPDATE ar_view_sessions SET created_at = :t, updated_at = :t"),
            {"t": then.replace(tzinfo=None) if db.dialect.name == "sqlite" else then},
        )
    return sid


def stored(db: Engine) -> dict[str, object]:
    [row] = rows(
        db, "SELECT duration_seconds, video_played, tracking_quality FROM ar_view_sessions"
    )
    return row


def test_a_late_but_possible_end_is_accepted(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started_ago(api, public, db, OPEN_FOR - 120)
    r = public.post(f"{START}/{sid}/end", json={"duration_seconds": 600})
    assert r.status_code == 200, r.text
    assert stored(db)["duration_seconds"] == 600


@pytest.mark.parametrize("age", [OPEN_FOR + 120, 30 * 86_400])
def test_an_end_for_a_view_too_old_to_be_running_is_refused(
    api: httpx.Client, public: httpx.Client, db: Engine, age: int
) -> None:
    sid = started_ago(api, public, db, age)
    before = stored(db)
    r = public.post(
        f"{START}/{sid}/end",
        json={"duration_seconds": 600, "video_played": True, "tracking_quality": "good"},
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "session_closed"
    assert str(OPEN_FOR) in r.json()["detail"]
    assert stored(db) == before  # nothing changed


def test_unknown_sessions_are_still_404(public: httpx.Client, db: Engine) -> None:
    r = public.post(f"{START}/{uuid.uuid4()}/end", json={"duration_seconds": 1})
    assert r.status_code == 404
