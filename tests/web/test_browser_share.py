"""Share links in real Chromium, on the demo data: an admin makes one from a project's page,
a client opens it in another browser without a token (password first), sees that project's
numbers (the API's, for the same question), filters within it and cannot widen it; revoking
it in the admin's page makes the client's page a 404. Screenshots at 1280 and 375 px."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Dialog, expect

from tests.support import ADMIN_TOKEN
from tests.web.browser import Chromium
from tests.web.test_browser_dashboard import (  # noqa: F401 - fixtures used by name
    Dash,
    Watched,
    api_totals,
    as_numbers,
    browser,
    dash,
    headline,
    loaded,
    shoot,
    sign_in,
    wait_reload,
    watched,
)


def test_a_share_link_opens_one_project_and_nothing_more(
    dash: Dash,  # noqa: F811 - the fixture imported above
    watched: Watched,  # noqa: F811
    browser: Chromium,  # noqa: F811
) -> None:
    admin = watched.page
    project = dash.company["project_id"]
    sign_in(admin, dash.url, ADMIN_TOKEN)
    admin.goto(f"{dash.url}/dashboard/projects/{project}")
    loaded(admin)
    admin.click("#share-this")
    admin.wait_for_selector("body[data-loaded]")
    assert admin.input_value("#share-project") == str(project)
    shoot(admin, "share-links")
    admin.fill("#share-name", "Client review")
    admin.fill("#share-password", "a long password")
    admin.click("#share-create")
    expect(admin.locator("#share-created")).to_be_visible()
    url = admin.input_value("#share-url")
    assert urlsplit(url).path.startswith("/share/")
    expect(admin.locator("#share-list tbody tr")).to_have_count(1)

    # The client: another browser profile, no token, no sign-in.
    context = browser.browser.new_context(
        timezone_id="UTC", viewport={"width": 1280, "height": 900}
    )
    client = context.new_page()
    errors: list[str] = []
    client.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    client.on("pageerror", lambda e: errors.append(str(e)))
    client.goto(url)
    expect(client.locator("#password")).to_be_visible()
    client.fill("#password", "not it at all")
    client.click("button[type=submit]")
    expect(client.locator(".dash-error")).to_contain_text("not right")
    client.fill("#password", "a long password")
    client.click("button[type=submit]")
    loaded(client)
    errors.clear()  # the wrong password's 401 page was asked for
    assert client.locator("#company-switch").count() == 0
    assert client.locator("#sign-out").count() == 0
    assert client.locator("a.open").count() == 0  # no way to another page
    expect(client.locator("#shared-badge")).to_be_visible()
    scope = {"project_id": project}
    assert as_numbers(headline(client)) == as_numbers(
        api_totals(dash.url, {"scope": scope, "period": "30d"})
    )
    assert (as_numbers(headline(client))["views"] or 0) > 0
    cookie = next(c for c in context.cookies() if c["name"].startswith("arv_share_"))
    assert cookie["httpOnly"]
    assert client.evaluate("document.cookie") == ""
    assert client.evaluate("localStorage.length + sessionStorage.length") == 0
    shoot(client, "share-project")

    # Filtering within the project works and lives in the URL.
    row = client.locator('section[data-dimension="country"] tbody tr.clickable').first
    value = row.get_attribute("data-value")
    wait_reload(client, row.click)
    assert parse_qs(urlsplit(client.url).query)["f"] == [f"country:is:{value}"]
    filtered = {"scope": scope, "period": "30d",
                "filters": [{"dimension": "country", "op": "is", "values": [value]}]}  # fmt: skip
    assert as_numbers(headline(client)) == as_numbers(api_totals(dash.url, filtered))
    wait_reload(client, client.go_back)
    assert "f" not in parse_qs(urlsplit(client.url).query)

    # Editing the URL or calling the API from the page never reaches beyond the project.
    other = api_totals(dash.url, {"scope": {"company_id": dash.other_company_id}})
    assert float(other["views"] or 0) > 0
    client.goto(f"{url}?tz=UTC&f=company:is:{dash.other_company_id}")
    loaded(client)
    assert client.inner_text('#headline [data-metric="views"] .num') == "0"
    statuses = client.evaluate(
        """async (ids) => Promise.all(ids.map(async (scope) => (await fetch("/api/v1/query", {
            method: "POST", body: JSON.stringify({ scope }),
            headers: { "Content-Type": "application/json",
              "X-ARV-CSRF": document.querySelector('meta[name="arv-csrf"]').content,
              "X-ARV-Share": JSON.parse(document.getElementById("arv-config").textContent).share },
          })).status))""",
        [{"company_id": dash.company["id"]}, {"company_id": dash.other_company_id}],
    )
    assert statuses == [404, 404]
    errors.clear()  # the 404s above were asked for
    for path in ("/dashboard/overview", f"/dashboard/companies/{dash.company['id']}"):
        response = client.goto(dash.url + path)
        assert response is not None
        assert urlsplit(client.url).path == "/dashboard", path  # the sign-in page
    assert errors == []

    # The admin revokes it: the client's link is a 404 from then on.
    admin.goto(f"{dash.url}/dashboard/share-links")
    admin.wait_for_selector("body[data-loaded]")

    def accept(dialog: Dialog) -> None:
        dialog.accept()

    admin.once("dialog", accept)
    admin.locator("#share-list button.revoke").first.click()
    expect(admin.locator("#share-list tbody tr.empty, #share-list td.empty")).to_have_count(1)
    response = client.goto(url)
    assert response is not None
    assert response.status == 404
    expect(client.locator("h1")).to_have_text("This link is not available")
    context.close()
    assert watched.errors == []
