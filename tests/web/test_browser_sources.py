"""Where a view came from, as the viewer's tracker reports it: the URL's utm_* and `src`, and
the host of a referring page on another origin (never one on the viewer's own origin)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Playwright

from tests.web.browser import Chromium, chromium
from tests.web.conftest import Service, ThirdPartySite
from tests.web.helpers import new_content, sessions_of, the_session, wait_for


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Chromium]:
    with chromium(playwright) as b:
        yield b


def stored_start(service: Service, content: dict[str, Any]) -> dict[str, Any]:
    return wait_for(lambda: the_session(service.engine, content["id"]), 10, "the start")


def test_a_poster_link_from_another_site(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    content = new_content(service.slow.url, "sources")
    viewer = (
        f"{service.slow.url}/ar/{content['unique_id']}"
        "?utm_source=instagram&utm_medium=social&utm_campaign=spring%202026&src=metro-12"
    )
    page = browser.browser.new_context().new_page()
    page.goto(site.page("story.html", f'<a id="go" href="{viewer}">See it in AR</a>'))
    page.click("#go")
    page.wait_for_url(viewer)
    row = stored_start(service, content)
    page.context.close()
    assert {k: row[k] for k in ("utm_source", "utm_medium", "utm_campaign", "placement")} == {
        "utm_source": "instagram",
        "utm_medium": "social",
        "utm_campaign": "spring 2026",
        "placement": "metro-12",
    }
    # The third-party site is http://localhost:<port>: its host, without port or path.
    assert row["referrer_host"] == "localhost"


def test_a_scan_has_no_source_and_the_viewers_own_origin_is_no_referrer(
    service: Service, browser: Chromium
) -> None:
    content = new_content(service.slow.url, "direct")
    url = f"{service.slow.url}/ar/{content['unique_id']}"
    page = browser.browser.new_context().new_page()
    page.goto(url)  # typed or scanned: no referrer at all
    stored_start(service, content)
    # Reloaded through a link on the same origin: a referrer, but not another site's.
    page.evaluate("(u) => { location.href = u; }", url + "?again=1")
    wait_for(lambda: len(sessions_of(service.engine, content["id"])) == 2, 10, "second start")
    page.context.close()
    for row in sessions_of(service.engine, content["id"]):
        sources = ("utm_source", "utm_medium", "utm_campaign", "placement", "referrer_host")
        assert {row[k] for k in sources} == {None}


def test_odd_parameters_are_cut_not_refused(service: Service, browser: Chromium) -> None:
    content = new_content(service.slow.url, "odd")
    campaign, placement = quote("é" * 150), quote(" metro\n12 ")
    url = (
        f"{service.slow.url}/ar/{content['unique_id']}"
        f"?utm_campaign={campaign}&src={placement}&utm_source="
    )
    page = browser.browser.new_context().new_page()
    page.goto(url)
    row = stored_start(service, content)
    page.context.close()
    # Cut to 100 characters (not bytes), control characters made spaces, empty left out.
    assert row["utm_campaign"] == "é" * 100
    assert row["placement"] == "metro 12"
    assert row["utm_source"] is None


def test_camera_hooks_classify_and_never_throw(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    """What a customer's own AR page reports by hand, including what no test browser can
    produce: a dismissed prompt (Chrome's "Permission dismissed") and a busy camera."""
    content = new_content(service.slow.url, "camera hooks")
    html = (
        f'<script src="{service.slow.url}/static/arv-tracker.v1.js" '
        f'data-content="{content["unique_id"]}" data-heartbeat="60"></script>'
    )
    page = browser.browser.new_context().new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(site.page("camera.html", html))
    stored_start(service, content)
    snapshots = page.evaluate(
        """async () => {
            const shot = () => {
                const s = ARVTracker.snapshot();
                return [s.camera_outcome, s.engine_error || null, s.camera_ms];
            };
            const out = [];
            await new Promise((r) => setTimeout(r, 300));
            ARVTracker.cameraError(new DOMException("Permission dismissed", "NotAllowedError"));
            out.push(shot());
            ARVTracker.cameraError(new DOMException("Permission denied", "NotAllowedError"));
            out.push(shot());
            ARVTracker.cameraError(new DOMException("Could not start", "NotReadableError"));
            out.push(shot());
            ARVTracker.cameraOutcome("granted", "x".repeat(300));  // the first reason stays
            out.push(shot());
            // Nonsense from a host page must not throw.
            ARVTracker.cameraOutcome("maybe", {toString() { throw new Error("boom"); }});
            ARVTracker.cameraError(null);
            ARVTracker.cameraError(undefined);
            out.push(shot());
            return out;
        }"""
    )
    first_ms = snapshots[0][2]
    assert 250 <= first_ms < 5000
    assert [s[:2] for s in snapshots] == [
        ["dismissed", None],
        ["denied", None],
        ["error", "NotReadableError"],
        ["granted", "NotReadableError"],
        ["error", "NotReadableError"],
    ]
    assert {s[2] for s in snapshots} == {first_ms}  # the time of the first outcome
    row = wait_for(
        lambda: (r := the_session(service.engine, content["id"])) and r["camera_outcome"] and r,
        10,
        "the camera outcome sent at once",
    )
    page.context.close()
    assert row["camera_ms"] == first_ms
    assert row["engine_error"] == "NotReadableError"
    assert problems == []
