"""The tracker's figures on start and end: validated, clamped, set once or only growing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import make_content, rows

START = "/api/analytics/ar-session"
FIGURES = "duration_seconds, tracked_seconds, target_losses, time_to_first_found_ms"


def end_url(sid: str) -> str:
    return f"/api/analytics/ar-session/{sid}/end"


def stored(db: Engine) -> dict[str, Any]:
    [row] = rows(db, f"SELECT {FIGURES} FROM ar_view_sessions")
    return row


def started(api: httpx.Client, public: httpx.Client, **extra: Any) -> str:
    content = make_content(api)
    r = public.post(START, json={"ar_content_unique_id": content["unique_id"], **extra})
    assert r.status_code == 200, r.text
    return str(r.json()["session_id"])


def test_start_stores_the_figures_it_carries(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    started(api, public, tracked_seconds=2.6, target_losses=1, time_to_first_found_ms=1234.4)
    assert stored(db) == {
        "duration_seconds": None,
        "tracked_seconds": 3,
        "target_losses": 1,
        "time_to_first_found_ms": 1234,
    }


def test_start_without_figures_leaves_them_null(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    started(api, public)
    assert set(stored(db).values()) == {None}


def test_tracked_and_losses_only_grow_first_found_is_set_once(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    reports = [
        # (sent, stored afterwards); an end that omits a figure leaves it alone
        (
            {"duration_seconds": 5, "tracked_seconds": 0, "target_losses": 0},
            {"duration_seconds": 5, "tracked_seconds": 0, "target_losses": 0},
        ),
        (
            {"duration_seconds": 10, "tracked_seconds": 4.4, "time_to_first_found_ms": 5200},
            {"tracked_seconds": 4, "target_losses": 0, "time_to_first_found_ms": 5200},
        ),
        (
            # a late heartbeat, overtaken by newer ones: nothing goes back
            {"duration_seconds": 6, "tracked_seconds": 1, "target_losses": 0},
            {"duration_seconds": 10, "tracked_seconds": 4, "target_losses": 0},
        ),
        (
            {"duration_seconds": 20, "tracked_seconds": 12, "target_losses": 3,
             "time_to_first_found_ms": 999},
            {"duration_seconds": 20, "tracked_seconds": 12, "target_losses": 3,
             "time_to_first_found_ms": 5200},
        ),
        (
            {"duration_seconds": 21},
            {"duration_seconds": 21, "tracked_seconds": 12, "target_losses": 3,
             "time_to_first_found_ms": 5200},
        ),
    ]  # fmt: skip
    for sent, after in reports:
        r = public.post(end_url(sid), json=sent)
        assert r.status_code == 200, r.text
        row = stored(db)
        assert {k: row[k] for k in after} == after, sent
        assert {k: r.json()[k] for k in after} == after


def test_tracked_time_never_exceeds_the_visible_time_reported_with_it(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    public.post(end_url(sid), json={"duration_seconds": 7, "tracked_seconds": 9})
    assert stored(db)["tracked_seconds"] == 7


def test_figures_are_clamped_to_the_session_maximum(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    r = public.post(
        end_url(sid),
        json={
            "duration_seconds": 1e9,
            "tracked_seconds": 600_000,
            "time_to_first_found_ms": 600_000_000,
        },
    )
    assert r.status_code == 200, r.text
    assert stored(db) == {
        "duration_seconds": 14_400,
        "tracked_seconds": 14_400,
        "target_losses": None,
        "time_to_first_found_ms": 14_400_000,
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"tracked_seconds": -1}, "tracked_seconds"),
        ({"tracked_seconds": "3"}, "tracked_seconds"),
        ({"tracked_seconds": True}, "tracked_seconds"),
        ({"tracked_seconds": 7 * 86_400 + 1}, "tracked_seconds"),
        ({"target_losses": 1.5}, "target_losses"),
        ({"target_losses": -1}, "target_losses"),
        ({"target_losses": "2"}, "target_losses"),
        ({"target_losses": 100_001}, "target_losses"),
        ({"time_to_first_found_ms": -5}, "time_to_first_found_ms"),
        ({"time_to_first_found_ms": False}, "time_to_first_found_ms"),
        ({"time_to_first_found_ms": 7 * 86_400_000 + 1}, "time_to_first_found_ms"),
    ],
)
def test_invalid_figures_are_422_and_store_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, extra: dict[str, Any], field: str
) -> None:
    sid = started(api, public)
    public.post(end_url(sid), json={"duration_seconds": 8, "tracked_seconds": 2})
    r = public.post(end_url(sid), json={"duration_seconds": 9, **extra})
    assert r.status_code == 422
    assert field in r.json()["detail"]
    assert stored(db) == {
        "duration_seconds": 8,
        "tracked_seconds": 2,
        "target_losses": None,
        "time_to_first_found_ms": None,
    }
    # The same rules hold on a start: nothing is stored.
    content = make_content(api, company=f"C-{uuid.uuid4().hex[:6]}")
    r = public.post(START, json={"portrait_id": content["id"], **extra})
    assert r.status_code == 422
    assert len(rows(db, "SELECT id FROM ar_view_sessions")) == 1


def test_nan_figures_are_refused(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    sid = started(api, public)
    raw = b'{"duration_seconds": 3, "tracked_seconds": NaN}'
    r = public.post(end_url(sid), content=raw, headers={"Content-Type": "text/plain"})
    assert r.status_code == 422
    assert stored(db)["duration_seconds"] is None
