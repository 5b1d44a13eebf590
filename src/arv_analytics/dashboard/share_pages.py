"""The pages a share link opens: /share/{secret} shows one company's or project's dashboard,
read-only, to whoever holds the link (and its password, when it has one).

An unknown, revoked or expired link is a plain 404, the same page for all three. The first
visit (after the password) starts a share session: an httpOnly cookie for this link only and
a CSRF token the page sends with every API call, as a signed-in page does. The page has no
way to another scope: no company switcher, no links to other pages, and the API answers it
only within the link's scope (tenancy/share_links.py).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from arv_analytics.config import Settings
from arv_analytics.dashboard import repository
from arv_analytics.dashboard.forms import NO_STORE, form, same_origin, secure, templates
from arv_analytics.dashboard.service import Page
from arv_analytics.db import SessionDep
from arv_analytics.models import Company, ShareLink
from arv_analytics.tenancy import share_links
from arv_analytics.tenancy.tokens import hash_token
from arv_analytics.web import assets

router = APIRouter(include_in_schema=False)

PASSWORD_COOKIE = "arv_share_csrf"  # noqa: S105 - a cookie's name
# The secret is the URL: no page it opens may pass it on to another site in a Referer.
# (Not no-referrer: with it a browser posts the password form with "Origin: null", which
# the same-origin check must refuse.)
_HEADERS = {**NO_STORE, "Referrer-Policy": "same-origin"}
# Guessing a link's password: scrypt makes each try cost ~50 ms of server time; this caps
# the tries per link (in this process) at 10 a minute, 14,400 a day: enough against random
# guessing of a real password, not against a dictionary word; the docs say to pick a long one.
_ATTEMPTS = RateLimitItemPerMinute(10)
_limiter = MovingWindowRateLimiter(MemoryStorage())


def _not_found(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "share_not_found.html", {}, status_code=404, headers=_HEADERS
    )


async def _page_of(session: SessionDep, link: ShareLink) -> Page | None:
    if link.project_id is not None:
        found = await repository.project_of(session, link.project_id)
        if found is None:
            return None
        project, parent = found
        title = f"{project.name} · {parent.name}"
        return Page("project", title, {"project_id": project.id}, parent.id)
    company = await session.get(Company, link.company_id)
    if company is None:
        return None
    return Page("company", company.name, {"company_id": company.id}, company.id)


async def _dashboard(
    request: Request, session: SessionDep, link: ShareLink, csrf: str
) -> HTMLResponse:
    page = await _page_of(session, link)
    if page is None:
        return _not_found(request)
    config: dict[str, Any] = {
        "kind": page.kind,
        "scope": page.scope,
        "title": page.title,
        "isAdmin": False,
        "share": link.id,
    }
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "page": page,
            "config": config,
            "csrf": csrf,
            "share": link,
            "is_admin": False,
            "companies": [],
            "chart_js": assets.CHART_JS,
        },
        headers=_HEADERS,
    )


def _password_page(
    request: Request, link: ShareLink, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "share_password.html",
        {"csrf": csrf, "error": error, "name": link.name},
        status_code=status,
        headers=_HEADERS,
    )
    response.set_cookie(
        PASSWORD_COOKIE,
        csrf,
        max_age=3600,
        path="/share",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


def _with_session(request: Request, response: Response, link: ShareLink, value: str) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        share_links.cookie_name(link.id),
        value,
        max_age=settings.dashboard_session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


@router.get("/share/{secret}", response_class=HTMLResponse)
async def open_share(secret: str, request: Request, session: SessionDep) -> Response:
    link = await share_links.open_link(session, secret)
    if link is None:
        return _not_found(request)
    cookie = request.cookies.get(share_links.cookie_name(link.id))
    found = await share_links.current_session(session, link.id, cookie)
    if found is not None:
        return await _dashboard(request, session, link, found[0].csrf_token)
    if link.password_hash is not None:
        return _password_page(request, link)
    settings: Settings = request.app.state.settings
    value, row = await share_links.start_session(
        session, link, hours=settings.dashboard_session_hours
    )
    await session.commit()
    response = await _dashboard(request, session, link, row.csrf_token)
    _with_session(request, response, link, value)
    return response


@router.post("/share/{secret}", response_class=HTMLResponse)
async def unlock_share(secret: str, request: Request, session: SessionDep) -> Response:
    link = await share_links.open_link(session, secret)
    if link is None or link.password_hash is None:
        return _not_found(request)
    fields = await form(request)
    expected = request.cookies.get(PASSWORD_COOKIE)
    given = fields.get("csrf") or ""
    if not same_origin(request) or not expected or not share_links.same_secret(expected, given):
        return _password_page(
            request, link, error="The form expired. Please try again.", status=403
        )
    if not _limiter.hit(_ATTEMPTS, hash_token(secret)):
        return _password_page(
            request, link, error="Too many tries. Wait a minute and try again.", status=429
        )
    if not share_links.password_matches(link.password_hash, fields.get("password", "")):
        return _password_page(request, link, error="That password is not right.", status=401)
    settings: Settings = request.app.state.settings
    value, _ = await share_links.start_session(
        session, link, hours=settings.dashboard_session_hours
    )
    await session.commit()
    response = RedirectResponse(request.url.path, status_code=303, headers=_HEADERS)
    _with_session(request, response, link, value)
    response.delete_cookie(PASSWORD_COOKIE, path="/share")
    return response
