"""Small helpers of the browser tests: content to view, rows to read, time to wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from playwright.sync_api import Page
from sqlalchemy import Engine

from tests.support import client, rows

T = TypeVar("T")
DEMO_MARKER = "/static/demo/target.mind"
DEMO_VIDEO = "/static/demo/video.mp4"
COLUMNS = (
    "ar_content_id, session_id, created_at, updated_at, duration_seconds, tracking_quality, "
    "video_played, tracked_seconds, target_losses, time_to_first_found_ms, device_type, "
    "camera_outcome, camera_ms, engine_error, video_start_ms, "
    "utm_source, utm_medium, utm_campaign, placement, referrer_host"
)


def new_content(base_url: str, name: str) -> dict[str, Any]:
    """Company → project → content with the demo marker and video, through the API."""
    with client(base_url) as api:
        company = api.post("/api/companies", json={"name": name}).json()
        project = api.post("/api/projects", json={"company_id": company["id"], "name": "P"})
        content = api.post(
            "/api/ar-content",
            json={
                "project_id": project.json()["id"],
                "title": name,
                "marker_url": DEMO_MARKER,
                "video_url": DEMO_VIDEO,
            },
        )
        assert content.status_code == 201, content.text
        return dict(content.json())


def sessions_of(engine: Engine, content_id: int) -> list[dict[str, Any]]:
    found = rows(
        engine,
        f"SELECT {COLUMNS} FROM ar_view_sessions WHERE ar_content_id = :c ORDER BY id",
        c=content_id,
    )
    for row in found:
        row["session_id"] = str(row["session_id"]).replace("-", "")
        row["created_at"] = _aware(row["created_at"])
        row["updated_at"] = _aware(row["updated_at"])
        row["video_played"] = bool(row["video_played"])
    return found


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def the_session(engine: Engine, content_id: int) -> dict[str, Any] | None:
    found = sessions_of(engine, content_id)
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_for(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def seconds_since(moment: datetime) -> float:
    return (datetime.now(UTC) - moment).total_seconds()


def set_hidden(page: Page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background or comes back.

    Headless Chromium keeps every page "visible" (it has no window to cover or minimise), so
    the page's view of visibility is switched here and the same event is dispatched.
    """
    page.evaluate(
        """(hidden) => {
            Object.defineProperty(document, "visibilityState", {
                configurable: true, get: () => (hidden ? "hidden" : "visible") });
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def qualities_consistent_with(tracked: int, duration: int) -> set[str]:
    """The qualities a tracker may have reported, given the stored (rounded) figures."""
    low = max(0.0, tracked - 0.5) / (duration + 0.5)
    high = (tracked + 0.5) / max(0.5, duration - 0.5)

    def quality(share: float) -> str:
        return "good" if share >= 0.75 else "fair" if share >= 0.25 else "poor"

    return {quality(low), quality(min(high, 1.0))} | (
        {"fair"} if low < 0.25 and high >= 0.75 else set()
    )
