"""The tracker snippet on someone else's site: cross-origin, privacy, its hooks, no errors.

The third-party site is a second origin (http://localhost:<port>) that embeds the tracker
from the service (http://127.0.0.1:<port>), as a customer's own AR page would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright

from tests.support import ADMIN_TOKEN
from tests.web.browser import Chromium, chromium
from tests.web.conftest import Service, ThirdPartySite
from tests.web.helpers import new_content, seconds_since, sessions_of, the_session, wait_for

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Chromium]:
    with chromium(playwright) as b:
        yield b


def snippet(service_url: str, content: dict[str, Any] | None, attrs: str = "") -> str:
    data = f'data-content="{content["unique_id"]}"' if content else ""
    return f"""<!doctype html><html><head><title>Shop</title></head><body>
<h1>Spring collection</h1>
<script async src="{service_url}/static/arv-tracker.v1.js" {data}
        data-heartbeat="60" {attrs}></script>
</body></html>"""


def visit(browser: Chromium, url: str, init_script: str | None = None) -> tuple[Page, list[str]]:
    context: BrowserContext = browser.browser.new_context()
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_function("window.ARVTracker !== undefined")
    return page, problems


def test_snippet_on_another_origin(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    content = new_content(service.slow.url, "third-party")
    page, problems = visit(browser, site.page("shop.html", snippet(service.slow.url, content)))
    assert page.evaluate("location.origin") != service.slow.url
    row = wait_for(lambda: the_session(service.engine, content["id"]), 5, "the start")
    sid = page.evaluate("ARVTracker.sessionId")
    assert UUID4.match(sid)
    assert row["session_id"] == sid.replace("-", "")

    # A JSON post needs a preflight; the answer lets the page read the result.
    status, body = page.evaluate(
        """async (url) => {
            const r = await fetch(url, {method: "POST", body: JSON.stringify({duration_seconds: 1}),
                                        headers: {"Content-Type": "application/json"}});
            return [r.status, await r.json()];
        }""",
        f"{service.slow.url}/api/analytics/ar-session/{sid}/end",
    )
    assert (status, body["status"]) == (200, "updated")
    # Reading analytics from another origin is refused by the browser, token or not.
    refused = page.evaluate(
        """async ([url, token]) => {
            try { await fetch(url, {headers: {Authorization: "Bearer " + token}}); return false; }
            catch (e) { return e instanceof TypeError; }
        }""",
        [f"{service.slow.url}/api/analytics/overview", ADMIN_TOKEN],
    )
    assert refused is True
    problems.clear()  # the refused read logs a CORS error in the console; that one is ours

    time.sleep(1.5)
    visible = seconds_since(row["created_at"])
    closed_at = datetime.now(UTC)
    page.close()
    final = wait_for(
        lambda: (
            (r := the_session(service.engine, content["id"])) and r["updated_at"] > closed_at and r
        ),
        5,
        "the final report",
    )
    assert abs(final["duration_seconds"] - visible) <= 1
    # Not an AR page (nothing announced targets): no made-up tracking figures.
    assert final["tracking_quality"] is None
    assert final["tracked_seconds"] is None
    assert problems == []


def test_session_id_without_crypto_random_uuid(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    content = new_content(service.slow.url, "old browser")
    page, problems = visit(
        browser,
        site.page("old.html", snippet(service.slow.url, content)),
        "delete Crypto.prototype.randomUUID",
    )
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"
    sid = page.evaluate("ARVTracker.sessionId")
    assert UUID4.match(sid)
    row = wait_for(lambda: the_session(service.engine, content["id"]), 5, "the start")
    assert row["session_id"] == sid.replace("-", "")
    assert problems == []
    page.context.close()


@pytest.mark.parametrize("where", ["viewer", "snippet"])
def test_global_privacy_control_means_nothing_is_sent(
    service: Service, browser: Chromium, site: ThirdPartySite, where: str
) -> None:
    content = new_content(service.fast.url, f"gpc {where}")
    url = (
        f"{service.fast.url}/ar/{content['unique_id']}"
        if where == "viewer"
        else site.page("gpc.html", snippet(service.fast.url, content))
    )
    page, problems = visit(browser, url, GPC_ON)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/" in r.url else None)
    assert page.evaluate("ARVTracker.enabled") is False
    assert page.evaluate("ARVTracker.snapshot()") is None
    page.evaluate("ARVTracker.targetFound(); ARVTracker.videoPlayed()")  # no-ops, no errors
    time.sleep(1.5)
    page.close()
    time.sleep(0.5)
    assert sent == []
    assert sessions_of(service.engine, content["id"]) == []
    assert problems == []


def test_a_site_may_opt_out_of_gpc_when_the_server_does(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    content = new_content(service.slow.url, "gpc ignored")
    html = snippet(service.slow.url, content, 'data-respect-gpc="false"')
    page, _ = visit(browser, site.page("gpc-off.html", html), GPC_ON)
    assert page.evaluate("ARVTracker.enabled") is True
    assert wait_for(lambda: the_session(service.engine, content["id"]), 5, "the start")
    page.context.close()


def test_hooks_follow_mindar_and_never_throw(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    content = new_content(service.slow.url, "hooks")
    page, problems = visit(browser, site.page("hooks.html", snippet(service.slow.url, content)))
    # The quality rule of DESIGN.md §2, at its edges.
    cases = [
        ([0, 10_000, False], "none"),
        ([0, 10_000, True], "poor"),
        ([2_499, 10_000, True], "poor"),
        ([2_500, 10_000, True], "fair"),
        ([7_499, 10_000, True], "fair"),
        ([7_500, 10_000, True], "good"),
        ([10_000, 10_000, True], "good"),
    ]
    for args, quality in cases:
        assert page.evaluate("(a) => ARVTracker.qualityOf(...a)", args) == quality, args

    result = page.evaluate(
        """async () => {
            const calls = [];
            // A MindAR three.js anchor, with the page's handler set before and after watching.
            const anchor = {onTargetFound: () => calls.push("page found"), onTargetLost: null};
            ARVTracker.watchAnchor(anchor);
            anchor.onTargetLost = () => calls.push("page lost");
            const before = ARVTracker.snapshot();
            anchor.onTargetFound();                      // what MindAR's controller calls
            await new Promise((r) => setTimeout(r, 400));
            anchor.onTargetLost();
            // MindAR's A-Frame build: bubbling DOM events on the target entity.
            const entity = document.createElement("a-entity");
            document.body.appendChild(entity);
            entity.dispatchEvent(new CustomEvent("targetFound", {bubbles: true}));
            entity.dispatchEvent(new CustomEvent("targetLost", {bubbles: true}));
            // Nonsense from a host page must not throw.
            ARVTracker.watchAnchor(null);
            ARVTracker.watchVideo(42);
            ARVTracker.targetLost("never found");
            return {calls, before, after: ARVTracker.snapshot()};
        }"""
    )
    assert result["calls"] == ["page found", "page lost"]
    assert result["before"]["tracking_quality"] == "none"
    after = result["after"]
    assert after["target_losses"] == 2
    assert 0.3 <= after["tracked_seconds"] <= 1.0
    assert after["time_to_first_found_ms"] > 0
    closed_at = datetime.now(UTC)
    page.close()
    final = wait_for(
        lambda: (
            (r := the_session(service.engine, content["id"])) and r["updated_at"] > closed_at and r
        ),
        5,
        "the final report",
    )
    assert final["target_losses"] == 2
    assert final["time_to_first_found_ms"] == after["time_to_first_found_ms"]
    assert problems == []


def test_snippet_without_content_does_nothing(
    service: Service, browser: Chromium, site: ThirdPartySite
) -> None:
    page, problems = visit(browser, site.page("empty.html", snippet(service.slow.url, None)))
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/" in r.url else None)
    assert page.evaluate("ARVTracker.enabled") is False
    page.close()
    assert sent == []
    assert problems == []
