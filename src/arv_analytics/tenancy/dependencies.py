"""FastAPI dependencies that say who is calling and what they may do.

Three kinds of route exist (docs/security.md): public (tracking, health, docs), readable by
admin and company tokens with data scoped to the token's company, and admin-only.

The dashboard's pages call the same API from the browser with their session cookie instead
of a bearer token; such a call must also carry the session's CSRF token in ``X-ARV-CSRF``.
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


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        # The same answer whatever the ids in the request: a 403 here leaks nothing.
        raise Forbidden("this route needs an admin token")
    return principal


ReaderDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
