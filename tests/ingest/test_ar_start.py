"""How the AR start went: camera outcome and time, engine error, time to the first video play.

Start and end both carry them; an end merges them by ingest/merge.py's rules: the camera
outcome's latest report wins, the three others are set once. The same rules hold when several
ends of one session meet in one write-buffer batch (merged first, then one UPDATE).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.ingest.buffer import WriteBuffer
from arv_analytics.ingest.merge import EndChange, merge_ends
from arv_analytics.ingest.schemas import CameraOutcome
from arv_analytics.ingest.writes import Rules
from arv_analytics.models import CAMERA_OUTCOMES, utcnow
from tests.support import Database, make_content, rows, settings_for

START = "/api/analytics/ar-session"
AR_START = "camera_outcome, camera_ms, engine_error, video_start_ms"


def end_url(sid: str) -> str:
    return f"{START}/{sid}/end"


def stored(db: Engine) -> dict[str, Any]:
    [row] = rows(db, f"SELECT {AR_START} FROM ar_view_sessions")
    return row


def started(api: httpx.Client, public: httpx.Client, **extra: Any) -> str:
    content = make_content(api, company=f"C-{uuid.uuid4().hex[:8]}")
    r = public.post(START, json={"ar_content_unique_id": content["unique_id"], **extra})
    assert r.status_code == 200, r.text
    return str(r.json()["session_id"])


def test_the_payload_enum_is_the_model_one() -> None:
    assert CameraOutcome.__args__ == CAMERA_OUTCOMES  # type: ignore[attr-defined]


def test_start_stores_them_rounded(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    started(
        api,
        public,
        camera_outcome="error",
        camera_ms=812.6,
        engine_error="mindar-start",
        video_start_ms=0,
    )
    assert stored(db) == {
        "camera_outcome": "error",
        "camera_ms": 813,
        "engine_error": "mindar-start",
        "video_start_ms": 0,
    }


def test_outcome_last_times_and_error_first(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    assert set(stored(db).values()) == {None}
    reports = [
        # (sent, stored afterwards); an end that omits a value leaves it alone
        ({"duration_seconds": 2}, dict.fromkeys(("camera_outcome", "camera_ms"))),
        (
            {"duration_seconds": 3, "camera_outcome": "denied", "camera_ms": 2400},
            {"camera_outcome": "denied", "camera_ms": 2400, "engine_error": None},
        ),
        (
            # allowed after all (settings changed, page kept): the outcome moves on, its
            # time stays the first one
            {"duration_seconds": 9, "camera_outcome": "granted", "camera_ms": 8000},
            {"camera_outcome": "granted", "camera_ms": 2400},
        ),
        (
            {"duration_seconds": 10, "engine_error": "NotReadableError", "video_start_ms": 9100.4},
            {"camera_outcome": "granted", "engine_error": "NotReadableError",
             "video_start_ms": 9100},
        ),
        (
            {"duration_seconds": 12, "engine_error": "other", "video_start_ms": 11_000},
            {"camera_outcome": "granted", "camera_ms": 2400, "engine_error": "NotReadableError",
             "video_start_ms": 9100},
        ),
    ]  # fmt: skip
    for sent, after in reports:
        r = public.post(end_url(sid), json=sent)
        assert r.status_code == 200, r.text
        row = stored(db)
        assert {k: row[k] for k in after} == after, sent
        assert {k: r.json()[k] for k in after} == after


def test_times_are_clamped_to_the_session_maximum(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = started(api, public)
    r = public.post(
        end_url(sid), json={"duration_seconds": 1, "camera_ms": 6e8, "video_start_ms": 6e8}
    )
    assert r.status_code == 200, r.text
    assert (stored(db)["camera_ms"], stored(db)["video_start_ms"]) == (14_400_000, 14_400_000)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"camera_outcome": "allowed"}, "camera_outcome"),
        ({"camera_outcome": "GRANTED"}, "camera_outcome"),
        ({"camera_outcome": 1}, "camera_outcome"),
        ({"camera_ms": -1}, "camera_ms"),
        ({"camera_ms": "120"}, "camera_ms"),
        ({"camera_ms": True}, "camera_ms"),
        ({"camera_ms": 7 * 86_400_000 + 1}, "camera_ms"),
        ({"video_start_ms": -0.5}, "video_start_ms"),
        ({"video_start_ms": None, "camera_ms": [1]}, "camera_ms"),
        ({"video_start_ms": "soon"}, "video_start_ms"),
        ({"engine_error": "e" * 101}, "engine_error"),
        ({"engine_error": {"code": 1}}, "engine_error"),
        ({"engine_error": "line\nbreak"}, "engine_error"),
    ],
)
def test_invalid_values_are_422_and_store_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, extra: dict[str, Any], field: str
) -> None:
    sid = started(api, public, camera_outcome="granted", camera_ms=500)
    r = public.post(end_url(sid), json={"duration_seconds": 4, **extra})
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert [r["duration_seconds"] for r in rows(db, "SELECT * FROM ar_view_sessions")] == [None]
    # The same rules hold on a start: nothing is stored.
    content = make_content(api, company=f"C-{uuid.uuid4().hex[:6]}")
    r = public.post(START, json={"portrait_id": content["id"], **extra})
    assert r.status_code == 422
    assert field in r.json()["detail"]
    assert len(rows(db, "SELECT id FROM ar_view_sessions")) == 1


def test_merge_rules_in_one_batch_of_ends() -> None:
    sid = uuid.uuid4()
    merged = merge_ends(
        [
            EndChange(sid, {"camera_outcome": "dismissed", "camera_ms": 900}),
            EndChange(sid, {"camera_outcome": None, "engine_error": "e1"}),
            EndChange(sid, {"camera_outcome": "granted", "camera_ms": 3000, "engine_error": "e2"}),
            EndChange(sid, {"video_start_ms": 4000}),
            EndChange(sid, {"video_start_ms": 5000}),
        ]
    )
    assert {k: merged[sid][k] for k in ("camera_outcome", "camera_ms", "engine_error")} == {
        "camera_outcome": "granted",
        "camera_ms": 900,
        "engine_error": "e1",
    }
    assert merged[sid]["video_start_ms"] == 4000


def test_one_batch_of_ends_applies_the_same_rules_to_the_stored_row(
    database: Database, api: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    sid = uuid.uuid4()
    stored_before = {"camera_outcome": "denied", "camera_ms": 700, "engine_error": None}

    async def go() -> tuple[list[Any], int]:
        engine = create_engine(settings_for(database))
        rules = Rules(rollups=True, end_window_seconds=15_300)
        # Writes queued within 0.2 s of each other share one batch.
        buffer = WriteBuffer(create_sessionmaker(engine), rules, max_wait=0.2)
        buffer.start()
        try:
            now = utcnow()
            row = {
                "ar_content_id": content["id"],
                "project_id": content["project_id"],
                "company_id": content["company_id"],
                "session_id": sid,
                "created_at": now,
                "updated_at": now,
                **stored_before,
            }
            await buffer.start_session(row)
            ends: list[dict[str, Any]] = [
                {"duration_seconds": 5, "camera_outcome": "granted", "camera_ms": 3000},
                {"duration_seconds": 6, "engine_error": "mindar-start", "video_start_ms": 5200},
                {"duration_seconds": 4, "camera_outcome": "error", "engine_error": "other"},
                {"duration_seconds": 7, "video_start_ms": 6100},
            ]
            answers = await asyncio.gather(
                *(buffer.end_session(EndChange(sid, values)) for values in ends)
            )
            return answers, buffer.batches
        finally:
            await buffer.close()
            await engine.dispose()

    results, batches = asyncio.run(go())
    assert batches == 2  # the start, then all four ends together
    expected = {
        "camera_outcome": "error",
        "camera_ms": 700,
        "engine_error": "mindar-start",
        "video_start_ms": 5200,
    }
    assert stored(db) == expected
    assert all({k: r[k] for k in expected} == expected for r in results)
