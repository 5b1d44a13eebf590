"""The dashboard in real Chromium, on the demo data: sign-in, every page, the numbers against
the API's answer, period and filters in the URL, company isolation, sign-out. Screenshots of
each page at 1280 px and 375 px go to test-artifacts/."""

from __future__ import annotations

import asyncio
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, Request, expect

from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.demo.loader import load_demo
from tests.support import ADMIN_TOKEN, LiveServer, client, new_database, settings_for
from tests.web.browser import Chromium, chromium
from tests.web.conftest import Service

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HEADLINE = [
    "views",
    "unique_visitors",
    "median_duration_seconds",
    "video_play_rate",
    "target_found_rate",
]


@dataclass
class Dash:
    url: str
    company: dict[str, Any]  # a demo company with a project and content
    other_company_id: int
    company_token: str


@pytest.fixture(scope="module")
def dash(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    del service  # only for require_browser and the shared set-up order
    with new_database("sqlite", tmp_path_factory.mktemp("dash")) as db:
        settings = settings_for(db, viewer_assets_url="/assets/vendor")

        async def demo() -> None:
            engine = create_engine(settings)
            async with create_sessionmaker(engine)() as session:
                await load_demo(session, db.url, count=1500, days=60)
            await engine.dispose()

        asyncio.run(demo())
        with LiveServer(settings) as live, client(live.url) as api:
            companies = api.get("/api/companies").json()["items"]
            first, second = companies[0], companies[1]
            content = api.get("/api/ar-content", params={"company_id": first["id"]}).json()
            item = content["items"][0]
            token = api.post(
                "/api/tokens", json={"name": "dash", "role": "company", "company_id": first["id"]}
            ).json()["token"]
            yield Dash(
                live.url,
                {"id": first["id"], "project_id": item["project_id"], "content_id": item["id"]},
                second["id"],
                token,
            )


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Chromium]:
    with chromium(playwright) as b:
        yield b


@dataclass
class Watched:
    page: Page
    context: BrowserContext
    errors: list[str]


@pytest.fixture
def watched(browser: Chromium) -> Iterator[Watched]:
    """A fresh browser profile in UTC whose console errors and failed requests are kept."""
    context = browser.browser.new_context(
        timezone_id="UTC", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def failed(request: Request) -> None:
        if not (request.failure or "").endswith("ERR_ABORTED"):  # a navigation cut a fetch
            errors.append(f"failed: {request.url} {request.failure}")

    page.on("requestfailed", failed)

    def bad_status(response: Any) -> None:
        # Pages that are meant to answer 404 are checked by the tests that open them.
        if response.status >= 400 and "/api/" in response.url:
            errors.append(f"{response.status} {response.url}")

    page.on("response", bad_status)
    yield Watched(page, context, errors)
    context.close()


def sign_in(page: Page, base: str, token: str) -> None:
    page.goto(base + "/dashboard")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/dashboard/"))


def loaded(page: Page) -> None:
    page.wait_for_selector("body[data-loaded]", timeout=20_000)


def wait_reload(page: Page, action: Any) -> None:
    before = page.get_attribute("body", "data-loaded")
    action()
    page.wait_for_function(
        "(b) => document.body.dataset.loaded && document.body.dataset.loaded !== b",
        arg=before,
        timeout=20_000,
    )


def headline(page: Page) -> dict[str, str]:
    return {
        m: page.get_attribute(f'#headline [data-metric="{m}"] .num', "data-value") or ""
        for m in HEADLINE
    }


def api_totals(base: str, body: dict[str, Any], token: str = ADMIN_TOKEN) -> dict[str, str]:
    with client(base, token=token) as api:
        r = api.post("/api/v1/query", json={"metrics": HEADLINE, "timezone": "UTC", **body})
        assert r.status_code == 200, r.text
        totals = r.json()["totals"]
    return {m: "" if totals[m] is None else str(totals[m]) for m in HEADLINE}


def as_numbers(values: dict[str, str]) -> dict[str, float | None]:
    return {k: (float(v) if v else None) for k, v in values.items()}


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(300)  # the chart resizes
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{name} is {width}px wide at 375px"
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-375.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_every_page_loads_and_shows_the_apis_numbers(dash: Dash, watched: Watched) -> None:
    page = watched.page
    sign_in(page, dash.url, ADMIN_TOKEN)
    assert urlsplit(page.url).path == "/dashboard/overview"
    c = dash.company
    pages = {
        "overview": ("/dashboard/overview", {}),
        "company": (f"/dashboard/companies/{c['id']}", {"company_id": c["id"]}),
        "project": (f"/dashboard/projects/{c['project_id']}", {"project_id": c["project_id"]}),
        "content": (f"/dashboard/content/{c['content_id']}", {"content_id": c["content_id"]}),
    }
    timings = []
    for name, (path, scope) in pages.items():
        started = time.monotonic()
        page.goto(dash.url + path)
        loaded(page)
        timings.append(f"{name}: {time.monotonic() - started:.2f} s")
        shown = as_numbers(headline(page))
        expected = as_numbers(api_totals(dash.url, {"scope": scope or None, "period": "30d"}))
        assert shown == expected, name
        assert (shown["views"] or 0) > 0, f"the demo data shows no views on the {name} page"
        text = page.inner_text('#headline [data-metric="views"] .num')
        assert text == f"{int(expected['views'] or 0):,}", name
        assert page.locator("#funnel tbody tr").count() == 4
        assert page.locator('section[data-dimension="country"] tbody tr.clickable').count() > 0
        assert page.locator("#heatmap tbody tr").count() == 7
        expect(page.locator("#viewing-now-count")).not_to_have_text("–")
        assert page.evaluate("Boolean(window.Chart)"), "Chart.js did not load"
        shoot(page, name)
    # From navigation to every panel drawn (recorded, see docs/benchmarks.md; not a timed
    # test: the machine running the suite may be busy).
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dashboard-load-times.txt").write_text("\n".join(timings) + "\n")
    assert watched.errors == []


def test_period_breakdown_click_chips_and_back_button(dash: Dash, watched: Watched) -> None:
    page = watched.page
    sign_in(page, dash.url, ADMIN_TOKEN)
    loaded(page)
    wait_reload(page, lambda: page.select_option("#period", "7d"))
    assert parse_qs(urlsplit(page.url).query)["period"] == ["7d"]
    assert as_numbers(headline(page)) == as_numbers(api_totals(dash.url, {"period": "7d"}))

    row = page.locator('section[data-dimension="device_type"] tbody tr.clickable').first
    value = row.get_attribute("data-value")
    assert value
    wait_reload(page, row.click)
    query = parse_qs(urlsplit(page.url).query)
    assert query["f"] == [f"device_type:is:{value}"]
    assert query["period"] == ["7d"]
    assert page.locator(".chip").count() == 1
    filtered = {
        "period": "7d",
        "filters": [{"dimension": "device_type", "op": "is", "values": [value]}],
    }
    assert as_numbers(headline(page)) == as_numbers(api_totals(dash.url, filtered))

    # "Viewing now" asks again every 10 s, without reloading the page.
    with page.expect_request("**/api/v1/realtime*", timeout=15_000):
        pass
    # Comparison: off hides the changes; the year before is the API's comparison_totals.
    wait_reload(page, lambda: page.select_option("#comparison", "off"))
    assert parse_qs(urlsplit(page.url).query)["compare"] == ["off"]
    assert page.inner_text('#headline [data-metric="views"] .chg') == ""
    wait_reload(page, lambda: page.select_option("#comparison", "year_over_year"))
    with client(dash.url) as api:
        answer = api.post(
            "/api/v1/query",
            json={**filtered, "timezone": "UTC", "comparison": "year_over_year"},
        ).json()
    # The demo data spans 60 days: a year earlier there is nothing, and the page says so.
    assert answer["comparison_totals"]["views"] == 0
    assert page.inner_text('#headline [data-metric="views"] .chg') == "no earlier data"
    wait_reload(page, lambda: page.select_option("#comparison", "previous_period"))
    # A copied link opens the same view in another tab.
    other = watched.context.new_page()
    other.goto(page.url)
    loaded(other)
    assert headline(other) == headline(page)
    other.close()

    # Custom dates: the API's answer for the same dates.
    page.select_option("#period", "custom")
    page.fill("#from", "2026-01-01")
    page.fill("#to", "2099-12-31")
    wait_reload(page, lambda: page.click("#apply-dates"))
    query = parse_qs(urlsplit(page.url).query)
    assert (query["period"], query["from"], query["to"]) == (
        ["custom"],
        ["2026-01-01"],
        ["2099-12-31"],
    )
    custom = {**filtered, "period": "custom", "from": "2026-01-01", "to": "2099-12-31"}
    assert as_numbers(headline(page)) == as_numbers(api_totals(dash.url, custom))
    wait_reload(page, page.go_back)
    assert parse_qs(urlsplit(page.url).query)["period"] == ["7d"]

    wait_reload(page, lambda: page.click(".chip"))
    assert "f" not in parse_qs(urlsplit(page.url).query)
    assert page.locator(".chip").count() == 0
    wait_reload(page, page.go_back)
    assert parse_qs(urlsplit(page.url).query)["f"] == [f"device_type:is:{value}"]
    assert page.locator(".chip").count() == 1
    assert watched.errors == []


def test_exports_sorting_and_show_all(dash: Dash, watched: Watched) -> None:
    page = watched.page
    sign_in(page, dash.url, ADMIN_TOKEN)
    loaded(page)
    assert parse_qs(urlsplit(page.url).query)["tz"] == ["UTC"]  # the zone is in every link
    with page.expect_download() as zipped:
        page.click("#export-zip")
    path = zipped.value.path()
    with zipfile.ZipFile(path) as archive:
        assert {"time.csv", "country.csv", "placement.csv"} <= set(archive.namelist())
    panel = page.locator('section[data-dimension="country"]')
    with page.expect_download() as csv_file:
        panel.locator("button.csv").click()
    lines = Path(csv_file.value.path()).read_text().splitlines()
    assert lines[0].startswith("country")
    assert len(lines) > 2
    # "Show all" lists every city, not only the first ten.
    cities = page.locator('section[data-dimension="city"]')
    assert cities.locator("tbody tr").count() == 10
    cities.locator("button.show-all").click()
    expect(cities.locator("tbody tr")).not_to_have_count(10)
    with client(dash.url) as api:
        total = api.post(
            "/api/v1/query", json={"dimensions": ["city"], "timezone": "UTC", "limit": 1}
        ).json()["meta"]["total_rows"]
    expect(cities.locator("tbody tr")).to_have_count(total)
    # Sorting by a column reorders the rows (views descending, then ascending).
    views = panel.locator("th").nth(1)
    views.click()
    values = [
        int(v)
        for v in panel.locator("tbody td:nth-child(2)").evaluate_all(
            "(cells) => cells.map((c) => c.dataset.sort)"
        )
    ]
    assert values == sorted(values, reverse=True)
    views.click()
    values = [
        int(v)
        for v in panel.locator("tbody td:nth-child(2)").evaluate_all(
            "(cells) => cells.map((c) => c.dataset.sort)"
        )
    ]
    assert values == sorted(values)
    assert watched.errors == []


def test_a_company_without_views_says_what_to_do(dash: Dash, watched: Watched) -> None:
    with client(dash.url) as api:
        company = api.post("/api/companies", json={"name": "Brand new"}).json()
    page = watched.page
    sign_in(page, dash.url, ADMIN_TOKEN)
    page.goto(f"{dash.url}/dashboard/companies/{company['id']}")
    loaded(page)
    assert page.inner_text('#headline [data-metric="views"] .num') == "0"
    assert page.inner_text('#headline [data-metric="video_play_rate"] .num') == "–"
    expect(page.locator("#series-empty")).to_contain_text("embed the tracker")
    expect(page.locator('section[data-dimension="country"] tr.empty')).to_contain_text(
        "No views yet"
    )
    assert watched.errors == []


def test_a_company_session_cannot_reach_another_company(dash: Dash, watched: Watched) -> None:
    page = watched.page
    sign_in(page, dash.url, dash.company_token)
    assert urlsplit(page.url).path == f"/dashboard/companies/{dash.company['id']}"
    loaded(page)
    assert page.locator("#company-switch").count() == 0  # no switcher for a company
    assert as_numbers(headline(page)) == as_numbers(
        api_totals(dash.url, {"period": "30d"}, token=dash.company_token)
    )
    for path in ("/dashboard/overview", f"/dashboard/companies/{dash.other_company_id}"):
        response = page.goto(dash.url + path)
        assert response is not None
        assert response.status == 404, path
    # The page's own credentials (cookie and CSRF header) cannot fetch the other company.
    page.goto(dash.url + f"/dashboard/companies/{dash.company['id']}")
    status = page.evaluate(
        """async (other) => (await fetch("/api/v1/query", { method: "POST",
            headers: { "Content-Type": "application/json",
              "X-ARV-CSRF": document.querySelector('meta[name="arv-csrf"]').content },
            body: JSON.stringify({ scope: { company_id: other } }) })).status""",
        dash.other_company_id,
    )
    assert status == 404
    watched.errors.clear()  # the 404s above were asked for


def test_sign_out_ends_the_session(dash: Dash, watched: Watched) -> None:
    page = watched.page
    sign_in(page, dash.url, ADMIN_TOKEN)
    loaded(page)
    cookie = next(c for c in watched.context.cookies() if c["name"] == "arv_dashboard")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # nothing readable by scripts
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    page.click("#sign-out")
    page.wait_for_url(dash.url + "/dashboard")
    expect(page.locator("#token")).to_be_visible()
    with httpx.Client(base_url=dash.url, cookies={"arv_dashboard": cookie["value"]}) as old:
        assert old.get("/dashboard/overview").status_code == 303
    assert watched.errors == []
