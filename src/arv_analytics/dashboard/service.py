"""Dashboard sign-in: a token is exchanged once for a server-side session; pages and scopes."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.audit.service import Actor
from arv_analytics.dashboard import repository
from arv_analytics.errors import NotFound, Unauthorized
from arv_analytics.models import DashboardSession, utcnow
from arv_analytics.tenancy.service import Principal, authenticate
from arv_analytics.tenancy.tokens import hash_token

COOKIE = "arv_dashboard"


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    csrf_token: str


async def sign_in(
    session: AsyncSession, token: str, *, bootstrap_admin_token: str | None, hours: int
) -> tuple[str, SignedIn]:
    """The new session's cookie value (shown only to the browser) and who signed in."""
    principal = await authenticate(session, token.strip(), bootstrap_admin_token)
    now = utcnow()
    await repository.prune(session, now)
    value = secrets.token_urlsafe(32)
    row = DashboardSession(
        session_hash=hash_token(value),
        csrf_token=secrets.token_urlsafe(32),
        role=principal.role,
        company_id=principal.company_id,
        api_token_id=principal.actor.token_id if principal.actor.kind == "token" else None,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    await repository.add(session, row)
    return value, SignedIn(principal, row.csrf_token)


async def current(session: AsyncSession, cookie: str | None) -> SignedIn | None:
    if not cookie:
        return None
    found = await repository.find_live(session, hash_token(cookie), utcnow())
    if found is None:
        return None
    row, token = found
    actor = audit.BOOTSTRAP if token is None else Actor("token", token.id, token.name)
    return SignedIn(
        Principal(role=row.role, actor=actor, company_id=row.company_id), row.csrf_token
    )


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


async def principal_from_cookie(
    session: AsyncSession, cookie: str | None, csrf_header: str | None
) -> Principal:
    """The API's view of a dashboard session. The page sends its CSRF token in a header on
    every call: a cross-site page can make the browser send the cookie, but not the header."""
    signed = await current(session, cookie)
    if signed is None:
        raise Unauthorized("missing bearer token or dashboard session")
    if not csrf_matches(signed.csrf_token, csrf_header):
        raise Unauthorized("a dashboard session needs its X-ARV-CSRF header")
    return signed.principal


async def sign_out(session: AsyncSession, cookie: str | None) -> None:
    if cookie:
        await repository.end(session, hash_token(cookie), utcnow())


@dataclass(frozen=True, slots=True)
class Crumb:
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class Page:
    """What one dashboard page shows: its scope (as the query API names it) and its place."""

    kind: str  # overview, company, project, content
    title: str
    scope: dict[str, int]
    company_id: int | None
    crumbs: list[Crumb] = field(default_factory=list)


def _visible(principal: Principal, company_id: int) -> bool:
    return principal.company_id is None or principal.company_id == company_id


async def page(session: AsyncSession, principal: Principal, kind: str, ident: int | None) -> Page:
    """The page, if the principal may see it; another company's page is a plain 404."""
    if kind == "overview":
        if not principal.is_admin:
            raise NotFound("the overview of all companies needs an admin sign-in")
        return Page("overview", "All companies", {}, None)
    assert ident is not None
    if kind == "company":
        names = dict(await repository.companies(session))
        if ident not in names or not _visible(principal, ident):
            raise NotFound(f"company {ident} not found")
        return Page("company", names[ident], {"company_id": ident}, ident, _root(principal))
    if kind == "project":
        found = await repository.project_of(session, ident)
        if found is None or not _visible(principal, found[1].id):
            raise NotFound(f"project {ident} not found")
        project, company = found
        crumbs = [*_root(principal), Crumb(company.name, f"/dashboard/companies/{company.id}")]
        return Page("project", project.name, {"project_id": ident}, company.id, crumbs)
    found_c = await repository.content_of(session, ident)
    if found_c is None or not _visible(principal, found_c[2].id):
        raise NotFound(f"content {ident} not found")
    content, project, company = found_c
    crumbs = [
        *_root(principal),
        Crumb(company.name, f"/dashboard/companies/{company.id}"),
        Crumb(project.name, f"/dashboard/projects/{project.id}"),
    ]
    return Page("content", content.title, {"content_id": ident}, company.id, crumbs)


def _root(principal: Principal) -> list[Crumb]:
    return [Crumb("All companies", "/dashboard/overview")] if principal.is_admin else []


def home(principal: Principal) -> str:
    if principal.company_id is not None:
        return f"/dashboard/companies/{principal.company_id}"
    return "/dashboard/overview"


async def companies(session: AsyncSession, principal: Principal) -> list[tuple[int, str]]:
    """The companies the company switcher offers: all for an admin, none otherwise."""
    return await repository.companies(session) if principal.is_admin else []
