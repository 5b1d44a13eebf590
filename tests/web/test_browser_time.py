"""The viewer in real Chromium: a start on open, visible time only, and what survives leaving.

The expected visible time is measured here, from the moment the server stored the start
(its created_at) to the moment the test closed, left or hid the page: independent of the
tracker's own clock. The server stores whole seconds, rounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Playwright

from tests.web.browser import Chromium, chromium
from tests.web.conftest import Service
from tests.web.helpers import new_content, seconds_since, set_hidden, the_session, wait_for


@pytest.fixture(scope="module")
def browser(playwright: Playwright, cameras: dict[str, Path]) -> Iterator[Chromium]:
    with chromium(playwright, f"--use-file-for-fake-video-capture={cameras['wall']}") as b:
        yield b


PAGE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_page_errors() -> Iterator[None]:
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == []


def open_viewer(browser: Chromium, base_url: str, content: dict[str, Any]) -> Page:
    page = browser.browser.new_context().new_page()
    page.on("pageerror", lambda e: PAGE_ERRORS.append(str(e)))
    page.goto(f"{base_url}/ar/{content['unique_id']}")
    page.wait_for_function("window.ARVTracker && ARVTracker.enabled")
    return page


def started(service: Service, content: dict[str, Any], page: Page) -> dict[str, Any]:
    row = wait_for(lambda: the_session(service.engine, int(content["id"])), 5, "the start")
    assert row["session_id"] == page.evaluate("ARVTracker.sessionId").replace("-", "")
    return row


def test_open_stores_a_start_and_heartbeats_raise_the_duration(
    service: Service, browser: Chromium
) -> None:
    content = new_content(service.fast.url, "heartbeats")
    page = open_viewer(browser, service.fast.url, content)
    row = started(service, content, page)
    assert row["device_type"] == "desktop"

    def duration() -> int | None:
        now = the_session(service.engine, content["id"])
        return None if now is None else now["duration_seconds"]

    # Timers run late while the page is still busy loading MindAR, so wait rather than sleep.
    first = wait_for(duration, 5, "a first heartbeat")
    second = wait_for(lambda: (d := duration()) is not None and d >= first + 2 and d, 5, "more")
    visible = seconds_since(row["created_at"])
    assert visible - 2 <= second <= visible + 0.5
    # A wall, no target: the AR figures say so, and no video played.
    now = the_session(service.engine, content["id"])
    assert now is not None
    assert now["tracking_quality"] == "none"
    assert (now["tracked_seconds"], now["target_losses"], now["time_to_first_found_ms"]) == (
        0,
        0,
        None,
    )
    assert now["video_played"] is False
    page.context.close()


@pytest.mark.parametrize("leave", ["close", "navigate", "hide"])
def test_leaving_stores_the_visible_time(service: Service, browser: Chromium, leave: str) -> None:
    # One heartbeat a minute: whatever arrives besides the start is the final report.
    content = new_content(service.slow.url, f"leave by {leave}")
    page = open_viewer(browser, service.slow.url, content)
    row = started(service, content, page)
    time.sleep(2.7)
    # A report the page sent at once on an event (the camera's answer, ~1 s in) may be stored
    # already: the final report is the one that changes the figure after leaving.
    before = the_session(service.engine, content["id"])["duration_seconds"]
    visible = seconds_since(row["created_at"])
    if leave == "close":
        page.close()
    elif leave == "navigate":
        page.goto("about:blank")
    else:
        set_hidden(page, True)

    # The page's last report is a beacon sent while it goes away: on a loaded machine (CI
    # beside PostgreSQL and ClickHouse on 2 cores) Chromium has been seen to deliver it
    # after more than 5 s; the figure it carries is what is checked, not its speed.
    def final() -> int | None:
        d = the_session(service.engine, content["id"])["duration_seconds"]
        return d if d is not None and d != before else None

    stored = wait_for(final, 15, "the final report")
    # Whole seconds, rounded (±0.5), and the page's clock starts before the server stores
    # the start (its request and write batch: up to ~0.5 s more on a loaded machine).
    assert -1 <= stored - visible <= 1.5, (stored, visible)
    page.context.close()


def test_time_while_hidden_is_not_counted(service: Service, browser: Chromium) -> None:
    content = new_content(service.slow.url, "hidden")
    page = open_viewer(browser, service.slow.url, content)
    row = started(service, content, page)
    time.sleep(1.5)
    set_hidden(page, True)
    hidden_at = time.monotonic()
    first = wait_for(
        lambda: the_session(service.engine, content["id"])["duration_seconds"],
        5,
        "the report on hiding",
    )
    assert abs(first - seconds_since(row["created_at"])) <= 1
    time.sleep(3)
    set_hidden(page, False)
    hidden = time.monotonic() - hidden_at
    time.sleep(1.5)
    wall = seconds_since(row["created_at"])
    closed_at = datetime.now(UTC)
    page.close()
    final = wait_for(
        lambda: (
            (r := the_session(service.engine, content["id"])) and r["updated_at"] > closed_at and r
        ),
        5,
        "the report on closing",
    )
    stored = final["duration_seconds"]
    assert abs(stored - (wall - hidden)) <= 1, (stored, wall, hidden)
    assert stored <= wall - 2
    page.context.close()


def test_killed_browser_keeps_the_last_heartbeat(
    service: Service, playwright: Playwright, cameras: dict[str, Path]
) -> None:
    content = new_content(service.fast.url, "killed")
    with chromium(playwright, f"--use-file-for-fake-video-capture={cameras['wall']}") as doomed:
        page = open_viewer(doomed, service.fast.url, content)
        row = started(service, content, page)
        time.sleep(3.6)
        visible = seconds_since(row["created_at"])
        doomed.kill()  # no pagehide, no visibilitychange, no beacon
    time.sleep(1)
    after = the_session(service.engine, content["id"])
    assert after is not None
    # Never more than one heartbeat (1 s) short, plus rounding to whole seconds.
    assert visible - 2 <= after["duration_seconds"] <= visible + 0.5, (after, visible)
    assert seconds_since(after["updated_at"]) >= 0.9  # nothing arrived after the kill
