"""Dashboard page load in real Chromium against a database loaded beforehand. Not a test.

    .venv/bin/python bench/dashboard.py \
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/DB [--repeats 10] [--periods 30d,12mo]

Migrates the database (`db upgrade`), starts `arv-analytics serve` on it, signs in to the
dashboard in Chromium (Playwright) and opens the overview, the most viewed company's,
project's and content's pages, and a share link to that project, ``--repeats`` times each
per period. One figure per load: from navigation start to every panel drawn (the page's own
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
from common import admin_token, migrate, start_arv, stop

CHROMIUM = os.environ.get("ARV_TEST_CHROMIUM", "/usr/bin/chromium")
# A person's browser: headless Chromium's own user agent is a bot to the server.
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
LOADED_JS = """() => {
  const marks = performance.getEntriesByType("mark")
    .filter(m => m.name.startsWith("arv-panels-drawn"));
  const first = performance.getEntriesByType("mark")
    .filter(m => m.name.startsWith("arv-headline-drawn"));
  const api = performance.getEntriesByType("resource")
    .filter(r => r.name.includes("/api/v1/"));
  return { drawn: marks.length ? marks[0].startTime : null, calls: api.length,
           headline: first.length ? first[0].startTime : null,
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
        for level in ("company", "project", "content"):
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


BREAKDOWNS = ["company", "project", "content", "placement", "source", "device_type", "browser",
              "os", "country", "city", "tracking_quality", "camera_outcome"]  # fmt: skip
HEADLINE = ["views", "unique_visitors", "median_duration_seconds", "video_play_rate",
            "target_found_rate"]  # fmt: skip


def page_questions(scope: dict[str, int], period: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The questions a company page asks (dashboard.js load()), one by one."""
    series = "time:month" if period in ("12mo", "year", "all") else "time:day"
    base = {"scope": scope, "period": period, "timezone": "UTC",
            "comparison": "previous_period", "filters": []}  # fmt: skip
    out = [
        ("headline", "/api/v1/query", {**base, "metrics": HEADLINE}),
        (
            "series",
            "/api/v1/query",
            {
                **base,
                "metrics": ["views", "unique_visitors"],
                "dimensions": [series],
                "totals": False,
            },
        ),
        ("funnel", "/api/v1/funnel", {**base, "comparison": None}),
        (
            "heatmap",
            "/api/v1/query",
            {
                **base,
                "metrics": ["views"],
                "comparison": None,
                "dimensions": ["time:weekday_hour"],
                "totals": False,
                "limit": 200,
            },
        ),
    ]
    for d in BREAKDOWNS[1:] if "company_id" in scope else BREAKDOWNS[2:]:
        out.append((d, "/api/v1/query", {**base, "metrics": ["views", "video_play_rate"],
                                          "dimensions": [d], "comparison": None, "limit": 10,
                                          "totals": False, "order_by": ["-views", d]}))  # fmt: skip
    return out


def per_call(base: str, token: str, scope: dict[str, int], period: str, repeats: int) -> None:
    """Each of the page's calls alone, in sequence: what each costs without the others."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=120) as c:
        for name, path, body in page_questions(scope, period):
            times = []
            for _ in range(repeats + 1):
                began = time.perf_counter()
                r = c.post(path, json=body)
                times.append((time.perf_counter() - began) * 1000)
                r.raise_for_status()
            source = r.json()["meta"]["source"]
            print(f"  {period:5} {name:17} p50 {statistics.median(times[1:]):7.0f} ms  "
                  f"({source})", flush=True)  # fmt: skip


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
    parser.add_argument("--per-call", action="store_true", help="also time each call alone")
    args = parser.parse_args()
    token = admin_token()
    migrate(args.url, token)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_arv(args.url, token, Path(tmp) / "dashboard.log")
        try:
            ids = most_viewed(server.base, token)
            pages = {
                "overview": "/dashboard/overview",
                "company": f"/dashboard/companies/{ids['company']}",
                "project": f"/dashboard/projects/{ids['project']}",
                "content": f"/dashboard/content/{ids['content']}",
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
                      f"{'max ms':>8} {'headline p50':>12} {'calls':>5} "
                      f"{'slowest call p50':>17}")  # fmt: skip
                for period in args.periods.split(","):
                    for name, path in pages.items():
                        cookies = share_cookies if name.startswith("share") else admin
                        url = f"{server.base}{path}?period={period}&tz=UTC"
                        load_once(browser, url, cookies)  # warm-up (Chart.js, caches)
                        runs = [load_once(browser, url, cookies) for _ in range(args.repeats)]
                        drawn = [r["drawn"] for r in runs]
                        slowest = statistics.median(r["slowest"] for r in runs)
                        first = statistics.median(r["headline"] or 0 for r in runs)
                        print(f"{name:16} {period:6} {len(runs):>3} "
                              f"{statistics.median(drawn):8.0f} {nearest_rank(drawn, 0.95):8.0f} "
                              f"{max(drawn):8.0f} {first:12.0f} {int(runs[0]['calls']):>5} "
                              f"{slowest:17.0f}", flush=True)  # fmt: skip
                browser.close()
            if args.per_call:
                print("each call of the company page alone, sequential:")
                for period in args.periods.split(","):
                    per_call(server.base, token, {"company_id": ids["company"]}, period, 5)
        finally:
            stop(server)
    print(f"at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
