"""The dashboard's HTML: sign-in, sign-out and the page shells (the data comes from the API).

Sign-in exchanges a token, typed into a form, for a session cookie (httpOnly, SameSite=Lax,
Secure over https); the token never travels in a URL and is never stored by the browser. Every
form carries a CSRF token: before sign-in a random value also set in a short-lived cookie
(double submit), afterwards the session's own, which the pages also send to the API.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from arv_analytics.config import Settings
from arv_analytics.dashboard import service, share_pages
from arv_analytics.dashboard.forms import NO_STORE as _NO_STORE
from arv_analytics.dashboard.forms import form as _form
from arv_analytics.dashboard.forms import same_origin as _same_origin
from arv_analytics.dashboard.forms import secure as _secure
from arv_analytics.dashboard.forms import templates
from arv_analytics.dashboard.service import COOKIE, SignedIn
from arv_analytics.db import SessionDep
from arv_analytics.errors import NotFound, Unauthorized
from arv_analytics.params import MAX_ID
from arv_analytics.web import assets

router = APIRouter(include_in_schema=False)

SIGNIN_COOKIE = "arv_signin_csrf"


def _safe_next(value: str | None) -> str | None:
    # Only a dashboard path: anything else would make sign-in an open redirect.
    if value and value.startswith("/dashboard/") and "//" not in value and "\\" not in value:
        return value
    return None


def _sign_in_page(
    request: Request, *, error: str | None = None, next_url: str | None = None, status: int = 200
) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "dashboard_sign_in.html",
        {"csrf": csrf, "error": error, "next": _safe_next(next_url) or ""},
        status_code=status,
        headers=_NO_STORE,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        csrf,
        max_age=3600,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def _signed_in(request: Request, session: SessionDep) -> SignedIn | None:
    return await service.current(session, request.cookies.get(COOKIE))


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_home(request: Request, session: SessionDep) -> Response:
    signed = await _signed_in(request, session)
    if signed is not None:
        return RedirectResponse(service.home(signed.principal), status_code=303)
    return _sign_in_page(request, next_url=request.query_params.get("next"))


@router.post("/dashboard/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, session: SessionDep) -> Response:
    settings: Settings = request.app.state.settings
    form = await _form(request)
    expected = request.cookies.get(SIGNIN_COOKIE)
    if (
        not _same_origin(request)
        or not expected
        or not service.csrf_matches(expected, form.get("csrf"))
    ):
        return _sign_in_page(request, error="The form expired. Please sign in again.", status=403)
    try:
        value, signed = await service.sign_in(
            session,
            form.get("token", ""),
            bootstrap_admin_token=settings.admin_token,
            hours=settings.dashboard_session_hours,
        )
    except Unauthorized:
        return _sign_in_page(
            request,
            error="That token is not valid (or it was revoked). Check it and try again.",
            next_url=form.get("next"),
            status=401,
        )
    await session.commit()
    target = _safe_next(form.get("next")) or service.home(signed.principal)
    response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.dashboard_session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/dashboard")
    return response


@router.post("/dashboard/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, session: SessionDep) -> Response:
    signed = await _signed_in(request, session)
    form = await _form(request)
    if signed is not None:
        if not _same_origin(request) or not service.csrf_matches(
            signed.csrf_token, form.get("csrf")
        ):
            return HTMLResponse("Forbidden: the form expired; reload and try again.", 403)
        await service.sign_out(session, request.cookies.get(COOKIE))
        await session.commit()
    response = RedirectResponse("/dashboard", status_code=303, headers=_NO_STORE)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


async def _page(request: Request, session: SessionDep, kind: str, raw_id: str | None) -> Response:
    signed = await _signed_in(request, session)
    if signed is None:
        return RedirectResponse(f"/dashboard?next={quote(request.url.path)}", status_code=303)
    # A person may edit the URL: anything but a valid id is the same page as an unknown one.
    ident = int(raw_id) if raw_id is not None and raw_id.isascii() and raw_id.isdigit() else None
    if raw_id is not None and (ident is None or not 1 <= ident <= MAX_ID):
        return _not_found(request, signed)
    try:
        page = await service.page(session, signed.principal, kind, ident)
    except NotFound:
        return _not_found(request, signed)
    config: dict[str, Any] = {
        "kind": page.kind,
        "scope": page.scope,
        "title": page.title,
        "isAdmin": signed.principal.is_admin,
    }
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "page": page,
            "config": config,
            "csrf": signed.csrf_token,
            "is_admin": signed.principal.is_admin,
            "companies": await service.companies(session, signed.principal),
            "chart_js": assets.CHART_JS,
        },
        headers=_NO_STORE,
    )


def _not_found(request: Request, signed: SignedIn) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "dashboard_not_found.html",
        {"csrf": signed.csrf_token, "home": service.home(signed.principal)},
        status_code=404,
        headers=_NO_STORE,
    )


@router.get("/dashboard/overview", response_class=HTMLResponse)
async def overview(request: Request, session: SessionDep) -> Response:
    return await _page(request, session, "overview", None)


@router.get("/dashboard/companies/{company_id}", response_class=HTMLResponse)
async def company_page(company_id: str, request: Request, session: SessionDep) -> Response:
    return await _page(request, session, "company", company_id)


@router.get("/dashboard/projects/{project_id}", response_class=HTMLResponse)
async def project_page(project_id: str, request: Request, session: SessionDep) -> Response:
    return await _page(request, session, "project", project_id)


@router.get("/dashboard/content/{content_id}", response_class=HTMLResponse)
async def content_page(content_id: str, request: Request, session: SessionDep) -> Response:
    return await _page(request, session, "content", content_id)


@router.get("/dashboard/share-links", response_class=HTMLResponse)
async def share_links_page(request: Request, session: SessionDep) -> Response:
    """Admins create, list and revoke share links here (through /api/share-links)."""
    signed = await _signed_in(request, session)
    if signed is None:
        return RedirectResponse(f"/dashboard?next={quote(request.url.path)}", status_code=303)
    if not signed.principal.is_admin:
        return _not_found(request, signed)
    return templates.TemplateResponse(
        request,
        "dashboard_share_links.html",
        {
            "csrf": signed.csrf_token,
            "is_admin": True,
            "companies": await service.companies(session, signed.principal),
        },
        headers=_NO_STORE,
    )


# The pages a share link opens (no sign-in): their own module, the same templates.
router.include_router(share_pages.router)
