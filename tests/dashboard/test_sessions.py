"""Dashboard sign-in over real HTTP, on SQLite and PostgreSQL: the cookie, CSRF on every
form and every cookie-authenticated API call, sign-out and revocation ending the session."""

from __future__ import annotations

import httpx
import pytest

from tests.dashboard.support import cookie_client, form_csrf, page_csrf, sign_in
from tests.support import ADMIN_TOKEN, LiveServer, make_content

QUERY = {"metrics": ["views"]}


def company_token(api: httpx.Client, company_id: int) -> str:
    r = api.post("/api/tokens", json={"name": "dash", "role": "company", "company_id": company_id})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def test_sign_in_sets_a_session_cookie_and_the_pages_work(
    server: LiveServer, api: httpx.Client
) -> None:
    with cookie_client(server.url) as web:
        assert "Sign in" in web.get("/dashboard").text
        r = sign_in(web, ADMIN_TOKEN)
        assert r.status_code == 303
        assert r.headers["location"] == "/dashboard/overview"
        cookie = next(c for c in r.headers.get_list("set-cookie") if "arv_dashboard=" in c)
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie  # plain http here; https gets Secure
        assert ADMIN_TOKEN not in r.headers["location"]
        assert ADMIN_TOKEN not in cookie
        page = web.get("/dashboard/overview")
        assert page.status_code == 200
        assert "nonce-" in page.headers["content-security-policy"]
        csrf = page_csrf(page.text)
        # The API takes the cookie only together with the page's CSRF token.
        assert web.post("/api/v1/query", json=QUERY).status_code == 401
        wrong = web.post("/api/v1/query", json=QUERY, headers={"X-ARV-CSRF": "nope"})
        assert wrong.status_code == 401
        ok = web.post("/api/v1/query", json=QUERY, headers={"X-ARV-CSRF": csrf})
        assert ok.status_code == 200, ok.text


def test_a_bad_token_or_a_forged_form_signs_nobody_in(
    server: LiveServer, api: httpx.Client
) -> None:
    with cookie_client(server.url) as web:
        assert sign_in(web, "arv_not-a-token").status_code == 401
        assert "arv_dashboard" not in web.cookies
        # Without the form's CSRF value (a cross-site form cannot read it): refused.
        r = web.post("/dashboard/sign-in", data={"csrf": "guess", "token": ADMIN_TOKEN})
        assert r.status_code == 403
        csrf = form_csrf(web.get("/dashboard").text)
        r = web.post(
            "/dashboard/sign-in",
            data={"csrf": csrf, "token": ADMIN_TOKEN},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403
        assert "arv_dashboard" not in web.cookies


def test_sign_out_ends_the_session_on_the_server(server: LiveServer, api: httpx.Client) -> None:
    with cookie_client(server.url) as web:
        sign_in(web, ADMIN_TOKEN)
        value = web.cookies["arv_dashboard"]
        csrf = page_csrf(web.get("/dashboard/overview").text)
        # Sign-out is a form too: without its CSRF value nothing happens.
        assert web.post("/dashboard/sign-out", data={"csrf": "x"}).status_code == 403
        assert web.post("/dashboard/sign-out", data={"csrf": csrf}).status_code == 303
    with cookie_client(server.url) as replay:
        # The old cookie, replayed: the server has ended it.
        replay.cookies.set("arv_dashboard", value)
        r = replay.post("/api/v1/query", json=QUERY, headers={"X-ARV-CSRF": csrf})
        assert r.status_code == 401
        assert replay.get("/dashboard/overview").status_code == 303


def test_a_company_session_sees_only_its_company(server: LiveServer, api: httpx.Client) -> None:
    a = make_content(api, company="Alpha")
    b = make_content(api, company="Beta")
    with cookie_client(server.url) as web:
        r = sign_in(web, company_token(api, a["company_id"]))
        assert r.headers["location"] == f"/dashboard/companies/{a['company_id']}"
        csrf = page_csrf(web.get(r.headers["location"]).text)
        for path in (
            "/dashboard/overview",
            f"/dashboard/companies/{b['company_id']}",
            f"/dashboard/projects/{b['project_id']}",
            f"/dashboard/content/{b['id']}",
            "/dashboard/companies/abc",
            "/dashboard/companies/99999999999999999999",
        ):
            assert web.get(path).status_code == 404, path
        assert web.get(f"/dashboard/content/{a['id']}").status_code == 200
        other = {**QUERY, "scope": {"company_id": b["company_id"]}}
        h = {"X-ARV-CSRF": csrf}
        assert web.post("/api/v1/query", json=other, headers=h).status_code == 404
        # A company session cannot manage anything either.
        assert web.post("/api/companies", json={"name": "X"}, headers=h).status_code == 403


def test_revoking_the_token_ends_its_sessions(server: LiveServer, api: httpx.Client) -> None:
    a = make_content(api, company="Alpha")
    r = api.post(
        "/api/tokens", json={"name": "d", "role": "company", "company_id": a["company_id"]}
    )
    with cookie_client(server.url) as web:
        sign_in(web, r.json()["token"])
        home = f"/dashboard/companies/{a['company_id']}"
        assert web.get(home).status_code == 200
        assert api.delete(f"/api/tokens/{r.json()['id']}").status_code == 200
        assert web.get(home).status_code == 303  # back to sign-in


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/tokens"])
def test_sign_in_never_redirects_off_the_dashboard(
    server: LiveServer, api: httpx.Client, target: str
) -> None:
    with cookie_client(server.url) as web:
        csrf = form_csrf(web.get("/dashboard").text)
        r = web.post(
            "/dashboard/sign-in", data={"csrf": csrf, "token": ADMIN_TOKEN, "next": target}
        )
        assert r.headers["location"] == "/dashboard/overview"
