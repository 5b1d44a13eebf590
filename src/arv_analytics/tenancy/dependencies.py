"""FastAPI dependencies that say who is calling and what they may do.

Three kinds of route exist (docs/security.md): public (tracking, health, docs), readable by
admin and company tokens with data scoped to the token's company, and admin-only.

The dashboard's pages call the same API from the browser with their session cookie instead
of a bearer token; such a call must also carry the session's CSRF token in ``X-ARV-CSRF``.

A share link's page names its link in ``X-ARV-Share``. Only the analytics read routes
(``AnalyticsReaderDep``) accept such a caller; every other route ignores the header, so a
share session can never list the catalog, tokens or anything else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from arv_analytics.config import Settings
from arv_analytics.dashboard.service import COOKIE, principal_from_cookie
from arv_analytics.db import SessionDep
from arv_analytics.errors import Forbidden
from arv_analytics.tenancy.service import Principal, authenticate
from arv_analytics.tenancy.share_links import principal_from_header

_bearer = HTTPBearer(auto_error=False, description="Admin or company API token")


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    settings: Settings = request.app.state.settings
    token = credentials.credentials if credentials else None
    if token is None and COOKIE in request.cookies:
        return await principal_from_cookie(
            session, request.cookies[COOKIE], request.headers.get("x-arv-csrf")
        )
    return await authenticate(session, token, settings.admin_token)


async def analytics_reader(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    share = request.headers.get("x-arv-share")
    if share is not None and credentials is None:
        # No fallback to another credential: a share page's call is that link's or nothing.
        return await principal_from_header(
            session, share, dict(request.cookies), request.headers.get("x-arv-csrf")
        )
    return await current_principal(request, session, credentials)


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        # The same answer whatever the ids in the request: a 403 here leaks nothing.
        raise Forbidden("this route needs an admin token")
    return principal


ReaderDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
AnalyticsReaderDep = Annotated[Principal, Depends(analytics_reader)]
