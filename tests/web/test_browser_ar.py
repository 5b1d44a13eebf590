"""Real MindAR, in real Chromium, looking at the demo target through a fake camera.

Chromium plays a .y4m file as the camera: the printed target held still, or the target for
three seconds and a bare wall for three (looped), so MindAR finds and loses it by itself and
the viewer's tracker reports what happened. Nothing here calls the tracker's hooks directly.

Each test also reads the AR funnel's steps from the row: the camera outcome and when it was
known, the first find, and when the video first played.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright

from tests.web.browser import Chromium, chromium
from tests.web.conftest import Service
from tests.web.helpers import (
    new_content,
    qualities_consistent_with,
    the_session,
    wait_for,
)

FIND_WITHIN = 30  # seconds; MindAR loads TensorFlow.js and warms up on a software GPU first


def view(browser: Chromium, url: str) -> tuple[Page, list[str]]:
    page = browser.browser.new_context(viewport={"width": 640, "height": 480}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def snapshot(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("ARVTracker.snapshot()"))


def close_and_read(service: Service, page: Page, content_id: int) -> dict[str, Any]:
    closed_at = datetime.now(UTC)
    page.close()
    return wait_for(
        lambda: (
            (r := the_session(service.engine, content_id)) and r["updated_at"] > closed_at and r
        ),
        5,
        "the final report",
    )


def test_target_held_in_view(
    service: Service, playwright: Playwright, cameras: dict[str, Path]
) -> None:
    content = new_content(service.fast.url, "target held")
    with chromium(playwright, f"--use-file-for-fake-video-capture={cameras['target']}") as b:
        page, errors = view(b, f"{service.fast.url}/ar/{content['unique_id']}")
        wait_for(lambda: snapshot(page).get("time_to_first_found_ms"), FIND_WITHIN, "a find")
        # The viewer plays the video on the target, and the tracker sees it really play.
        # A selector, not a JS string: the page's CSP forbids eval, which string predicates need.
        page.wait_for_selector("#arv-viewer[data-tracking='found']", state="attached")
        wait_for(lambda: snapshot(page).get("video_played"), 5, "the video playing")
        time.sleep(2)
        row = close_and_read(service, page, content["id"])
        assert errors == []
    duration, tracked = row["duration_seconds"], row["tracked_seconds"]
    found_after = row["time_to_first_found_ms"] / 1000
    assert 0 < found_after < duration
    assert row["target_losses"] == 0
    # Tracked from the find to the close: everything but the search.
    assert abs(tracked - (duration - found_after)) <= 1.5, row
    assert row["tracking_quality"] in qualities_consistent_with(tracked, duration)
    assert row["tracking_quality"] != "none"
    assert row["video_played"] is True
    # The funnel, in order: camera granted, target found, video playing.
    assert row["camera_outcome"] == "granted"
    assert row["engine_error"] is None
    assert 0 < row["camera_ms"] <= row["time_to_first_found_ms"]
    assert row["time_to_first_found_ms"] <= row["video_start_ms"] <= duration * 1000


def test_target_coming_and_going(
    service: Service, playwright: Playwright, cameras: dict[str, Path]
) -> None:
    content = new_content(service.fast.url, "target cycling")
    with chromium(playwright, f"--use-file-for-fake-video-capture={cameras['cycle']}") as b:
        page, errors = view(b, f"{service.fast.url}/ar/{content['unique_id']}")
        wait_for(lambda: snapshot(page).get("target_losses"), FIND_WITHIN, "a loss")
        # Lost means paused: the viewer stops the video with the target.
        assert page.evaluate("document.querySelector('#arv-viewer').dataset.tracking") == "lost"
        wait_for(lambda: snapshot(page).get("tracked_seconds", 0) > 0, 1, "tracked time")
        during = the_session(service.engine, content["id"])
        assert during is not None
        row = close_and_read(service, page, content["id"])
        assert errors == []
    assert row["target_losses"] >= 1
    assert row["target_losses"] >= (during["target_losses"] or 0)
    assert 0 < row["tracked_seconds"] < row["duration_seconds"]
    assert row["time_to_first_found_ms"] is not None
    assert row["tracking_quality"] in qualities_consistent_with(
        row["tracked_seconds"], row["duration_seconds"]
    )
    assert row["video_played"] is True


def test_camera_denied_shows_a_message_and_still_counts_the_view(
    service: Service, playwright: Playwright
) -> None:
    content = new_content(service.slow.url, "camera denied")
    # Without the flag that accepts camera prompts, the prompt is answered "block".
    with chromium(
        playwright, "--deny-permission-prompts", without=("--use-fake-ui-for-media-stream",)
    ) as b:
        page, errors = view(b, f"{service.slow.url}/ar/{content['unique_id']}")
        page.wait_for_selector("#arv-viewer[data-state='denied']", state="attached")
        assert "Camera access is blocked" in page.inner_text("#arv-status")
        assert page.is_visible("#arv-status")
        row = close_and_read(service, page, content["id"])
        assert errors == []
    assert row["tracking_quality"] == "none"
    assert row["duration_seconds"] is not None
    assert row["camera_outcome"] == "denied"
    assert 0 <= row["camera_ms"] <= row["duration_seconds"] * 1000 + 500
    assert row["engine_error"] is None
    assert row["time_to_first_found_ms"] is None
    assert row["video_played"] is False
    assert row["video_start_ms"] is None


def test_camera_granted_but_the_target_never_shown(
    service: Service, playwright: Playwright, cameras: dict[str, Path]
) -> None:
    content = new_content(service.slow.url, "not found")
    # The camera shows another picture of the same kind: MindAR runs and never matches it.
    with chromium(playwright, f"--use-file-for-fake-video-capture={cameras['other']}") as b:
        page, errors = view(b, f"{service.slow.url}/ar/{content['unique_id']}")
        page.wait_for_selector(
            "#arv-viewer[data-state='running']", state="attached", timeout=FIND_WITHIN * 1000
        )
        time.sleep(4)  # MindAR searching frame after frame
        assert snapshot(page).get("time_to_first_found_ms") is None
        row = close_and_read(service, page, content["id"])
        assert errors == []
    assert row["camera_outcome"] == "granted"
    assert row["camera_ms"] is not None
    assert row["engine_error"] is None
    assert row["time_to_first_found_ms"] is None
    assert row["tracking_quality"] == "none"
    assert (row["tracked_seconds"], row["target_losses"]) == (0, 0)
    assert row["video_played"] is False
    assert row["video_start_ms"] is None


def test_browser_without_camera_api_is_told_so(
    service: Service, playwright: Playwright, cameras: dict[str, Path]
) -> None:
    content = new_content(service.slow.url, "unsupported")
    with chromium(playwright, f"--use-file-for-fake-video-capture={cameras['wall']}") as b:
        context = b.browser.new_context()
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'mediaDevices', {get: () => undefined})"
        )
        page = context.new_page()
        page.goto(f"{service.slow.url}/ar/{content['unique_id']}")
        page.wait_for_selector("#arv-viewer[data-state='unsupported']", state="attached")
        assert "can't run AR" in page.inner_text("#arv-status")
        # The view still counts: the tracker does not need a camera.
        assert wait_for(lambda: the_session(service.engine, content["id"]), 5, "the start")
        row = wait_for(
            lambda: (r := the_session(service.engine, content["id"])) and r["camera_outcome"] and r,
            5,
            "the camera outcome",
        )
        context.close()
    assert (row["camera_outcome"], row["engine_error"]) == ("unsupported", "no-camera-api")
