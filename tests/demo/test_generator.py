"""The demo data: every dashboard panel gets something, and the AR funnel is consistent."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from arv_analytics.demo.generator import COLUMNS, ContentTarget, chunks
from arv_analytics.demo.shapes import offset_hours
from arv_analytics.models import CAMERA_OUTCOMES, ARViewSession

NOW = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions() -> list[dict[str, Any]]:
    targets = [ContentTarget(i, 1 + i // 3, 1, 1.0 + i) for i in range(1, 7)]
    found = []
    for chunk in chunks(targets, 40_000, days=56, now=NOW, chunk_size=15_000):
        assert set(chunk) == set(COLUMNS)
        columns = [chunk[c] for c in COLUMNS]
        found += [dict(zip(COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]
    return found


def test_every_column_is_a_session_column() -> None:
    assert set(COLUMNS) <= {c.name for c in ARViewSession.__table__.columns}


def share(rows: list[dict[str, Any]], test: Any) -> float:
    return sum(1 for r in rows if test(r)) / len(rows)


def test_sources_mostly_none_with_placements_campaigns_and_referrers(
    sessions: list[dict[str, Any]],
) -> None:
    assert share(sessions, lambda r: r["placement"] is None and r["utm_source"] is None) > 0.45
    placements = Counter(r["placement"] for r in sessions if r["placement"])
    assert {"metro-12", "magazine-p4"} <= set(placements)
    assert len(placements) >= 5
    assert len({r["utm_source"] for r in sessions if r["utm_source"]}) >= 4
    assert len({r["utm_campaign"] for r in sessions if r["utm_campaign"]}) >= 3
    assert "instagram.com" in {r["referrer_host"] for r in sessions}


def test_camera_outcomes_mostly_granted_worse_in_app_and_on_desktops(
    sessions: list[dict[str, Any]],
) -> None:
    reported = [r for r in sessions if r["camera_outcome"] is not None]
    assert set(Counter(r["camera_outcome"] for r in reported)) == set(CAMERA_OUTCOMES)
    granted = {
        group: share([r for r in reported if pick(r)], lambda r: r["camera_outcome"] == "granted")
        for group, pick in (
            ("all", lambda r: True),
            ("safari", lambda r: r["browser"] == "Mobile Safari" and r["device_type"] == "mobile"),
            ("instagram", lambda r: r["browser"] == "Instagram"),
            ("desktop", lambda r: r["device_type"] == "desktop"),
        )
    }
    assert 0.7 < granted["all"] < 0.9
    assert granted["instagram"] < granted["safari"] - 0.15
    assert granted["desktop"] < granted["safari"] - 0.15
    assert not any(r["camera_outcome"] for r in sessions if r["is_bot"])
    for r in reported:
        failed = r["camera_outcome"] in ("error", "unsupported")
        assert bool(r["engine_error"]) == failed, r


def test_the_funnel_steps_follow_each_other(sessions: list[dict[str, Any]]) -> None:
    for r in sessions:
        found, played_ms = r["time_to_first_found_ms"], r["video_start_ms"]
        if r["duration_seconds"] is None:  # nothing reported after the start
            assert (r["camera_outcome"], r["tracking_quality"], found) == (None, None, None)
            continue
        visible_ms = r["duration_seconds"] * 1000
        if r["camera_outcome"] is not None:
            assert 0 < r["camera_ms"] <= visible_ms
        assert (found is not None) == (r["tracking_quality"] not in (None, "none"))
        if found is not None:
            assert r["camera_outcome"] == "granted"
            assert r["camera_ms"] <= found <= visible_ms
        assert r["video_played"] == (played_ms is not None)
        if played_ms is not None:
            assert found is not None
            assert found <= played_ms <= visible_ms
    granted = [r for r in sessions if r["camera_outcome"] == "granted"]
    assert 0.85 < share(granted, lambda r: r["time_to_first_found_ms"] is not None) < 0.97
    assert 0.6 < share(granted, lambda r: r["video_played"]) < 0.9


def test_a_daily_rhythm_in_local_time_and_busier_weekends(
    sessions: list[dict[str, Any]],
) -> None:
    local = Counter(
        (r["created_at"].hour + offset_hours(r["country"], r["city"])) % 24 for r in sessions
    )
    evening = sum(local[h] for h in (18, 19, 20, 21)) / 4
    night = sum(local[h] for h in (2, 3, 4, 5)) / 4
    assert evening > 8 * night
    per_day = Counter(r["created_at"].date() for r in sessions)
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    assert sum(weekend) / len(weekend) > 1.15 * sum(weekday) / len(weekday)
    assert max(r["created_at"] for r in sessions) <= NOW
