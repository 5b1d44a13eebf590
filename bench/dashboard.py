"""Dashboard page load in real Chromium against a database loaded beforehand. Not a test.

    ARV_ADMIN_TOKEN=… .venv/bin/python bench/dashboard.py \
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/DB [--repeats 10] [--periods 30d,12mo]

Migrates the database (`db upgrade`), starts `arv-analytics serve` on it, signs in to the
dashboard in Chromium (Playwright) and opens the overview, the most viewed company's and
project's pages, and a share link to that project, ``--repeats`` times each per period. One
figure per load: from navigation start to every panel drawn (the page's own
``performance.mark``, set after the last panel is drawn), plus the number of API calls the
page made and the slowest of them. Prints p50/p95 (nearest rank) per page and period.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import migrate, start_arv, stop

CHROMIUM = os.environ.get("ARV_TEST_CHROMIUM", "/usr/bin/chromium")
# A person's browser: headless Chromium's own user agent is a bot to the server.
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
LOADED_JS = """() => {
  const marks = performance.getEntriesByType("mark")
    .filter(m => m.name.startsWith("arv-panels-drawn"));
  const api = performance.getEntriesByType("resource")
    .filter(r => r.name.includes("/api/v1/"));
  return { drawn: marks.length ? marks[0].startTime : null, calls: api.length,
           slowest: Math.max(0, ...api.map(r => r.duration)) };
}"""


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * q) - 1)]


def most_viewed(base: str, token: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as c:
        for level in ("company", "project"):
            body = {"dimensions": [level], "metrics": ["views"], "period": "30d", "limit": 1,
                    "order_by": ["-views"], "totals": False}  # fmt: skip
            r = c.post("/api/v1/query", json=body)
            r.raise_for_status()
            ids[level] = int(r.json()["results"][0]["dimensions"][level])
        link = c.post(
            "/api/share-links", json={"name": "bench", "project_id": ids["project"]}
        ).json()
    ids["share_url"] = link["url"]  # type: ignore[assignment]
    ids["share_id"] = int(link["id"])
    return ids


def load_once(browser: Browser, url: str, cookies: list[Any]) -> dict[str, float]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_UA, timezone_id="UTC"
    )
    context.add_cookies(cookies)
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-loaded]", timeout=120_000)
    figures: dict[str, float] = page.evaluate(LOADED_JS)
    context.close()
    if errors:
        raise RuntimeError(f"{url}: {errors}")
    return figures


def sign_in(browser: Browser, base: str, token: str) -> list[Any]:
    context = browser.new_context(user_agent=DESKTOP_UA)
    page = context.new_page()
    page.goto(base + "/dashboard")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/overview**")
    cookies = context.cookies()
    context.close()
    return cookies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a loaded database")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--periods", default="30d,12mo")
    args = parser.parse_args()
    token = os.environ["ARV_ADMIN_TOKEN"]
    migrate(args.url, token)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_arv(args.url, token, Path(tmp) / "dashboard.log")
        try:
            ids = most_viewed(server.base, token)
            pages = {
                "overview": "/dashboard/overview",
                "company": f"/dashboard/companies/{ids['company']}",
                "project": f"/dashboard/projects/{ids['project']}",
                "share (project)": str(ids["share_url"]),
            }
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                admin = sign_in(browser, server.base, token)
                # The share link's own session cookie, made by opening it once.
                share_ctx = browser.new_context(user_agent=DESKTOP_UA)
                share_page = share_ctx.new_page()
                share_page.goto(server.base + str(ids["share_url"]))
                share_cookies = share_ctx.cookies()
                share_ctx.close()
                print(f"{'page':16} {'period':6} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} "
                      f"{'max ms':>8} {'calls':>5} {'slowest call p50':>17}")  # fmt: skip
                for period in args.periods.split(","):
                    for name, path in pages.items():
                        cookies = share_cookies if name.startswith("share") else admin
                        url = f"{server.base}{path}?period={period}&tz=UTC"
                        load_once(browser, url, cookies)  # warm-up (Chart.js, caches)
                        runs = [load_once(browser, url, cookies) for _ in range(args.repeats)]
                        drawn = [r["drawn"] for r in runs]
                        slowest = statistics.median(r["slowest"] for r in runs)
                        print(f"{name:16} {period:6} {len(runs):>3} "
                              f"{statistics.median(drawn):8.0f} {nearest_rank(drawn, 0.95):8.0f} "
                              f"{max(drawn):8.0f} {int(runs[0]['calls']):>5} {slowest:17.0f}",
                              flush=True)  # fmt: skip
                browser.close()
        finally:
            stop(server)
    print(f"at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
