"""Share links: an admin hands a client a read-only dashboard of one company or project.

The link's secret is in its URL and stored only as a hash. Opening the link (after its
password, when it has one) starts a share session: an httpOnly cookie named after the link,
whose value is stored hashed, and a CSRF token the page sends with every API call. The API
turns such a session into a :class:`Principal` of role ``share`` carrying the link's company
and project; the analytics engine restricts every question to them (analytics/query.py), and
only the analytics read routes accept that principal at all (tenancy/dependencies.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.audit.service import Actor
from arv_analytics.catalog.service import get_or_404
from arv_analytics.errors import InvalidInput, NotFound, Unauthorized
from arv_analytics.models import Company, Project, ShareLink, ShareSession, utcnow
from arv_analytics.tenancy import share_repository as repository
from arv_analytics.tenancy.service import Principal
from arv_analytics.tenancy.tokens import hash_token

COOKIE_PREFIX = "arv_share_"
PATH_PREFIX = "/share/"
# scrypt at n=2**14, r=8: 16 MiB and ~50 ms per guess, the interactive-login parameters of
# the scrypt paper; a stolen database does not give the passwords away cheaply.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def cookie_name(link_id: int) -> str:
    # One cookie per link: opening a second link in the same browser leaves the first working.
    return f"{COOKIE_PREFIX}{link_id}"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    params = f"{_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}"
    return f"scrypt${params}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_matches(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, base64.b64decode(digest))


def _problem(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{name}: {message}", [{"field": name, "message": message}])


async def create(
    session: AsyncSession,
    *,
    name: str,
    company_id: int | None,
    project_id: int | None,
    password: str | None,
    expires_at: datetime | None,
    actor: Actor,
) -> tuple[ShareLink, str]:
    """The stored link and its secret, which is shown once and never stored."""
    if project_id is not None:
        project = await get_or_404(session, Project, project_id)
        if company_id is not None and company_id != project.company_id:
            raise _problem("project_id", f"project {project_id} is not in company {company_id}")
        company_id = project.company_id
    if company_id is None:
        raise _problem("company_id", "a share link needs a company_id or a project_id")
    await get_or_404(session, Company, company_id)
    now = utcnow()
    if expires_at is not None:
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if expires_at <= now:
            raise _problem("expires_at", "must be in the future")
    secret = secrets.token_urlsafe(32)
    row = ShareLink(
        name=name,
        secret_hash=hash_token(secret),
        company_id=company_id,
        project_id=project_id,
        password_hash=hash_password(password) if password else None,
        expires_at=expires_at,
        created_at=now,
        created_by=actor.label()[:100],
    )
    await repository.add(session, row)
    await audit.record(
        session,
        actor,
        audit.SHARE_LINK_CREATED,
        target_type="share_link",
        target_id=row.id,
        details={
            "name": name,
            "company_id": company_id,
            "project_id": project_id,
            "password": password is not None,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return row, secret


async def get(session: AsyncSession, link_id: int) -> ShareLink:
    row = await repository.get(session, link_id)
    if row is None:
        raise NotFound(f"share link {link_id} not found")
    return row


async def revoke(session: AsyncSession, link_id: int, *, actor: Actor) -> ShareLink:
    """Revokes a link and ends its sessions; revoking again changes and records nothing."""
    row = await get(session, link_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await repository.end_sessions(session, row.id)
        await session.flush()
        await audit.record(
            session,
            actor,
            audit.SHARE_LINK_REVOKED,
            target_type="share_link",
            target_id=row.id,
            details={"name": row.name, "company_id": row.company_id, "project_id": row.project_id},
        )
    return row


async def open_link(session: AsyncSession, secret: str) -> ShareLink | None:
    """The live link with this secret; None for unknown, revoked and expired alike."""
    if not secret or len(secret) > 100:
        return None
    return await repository.find_live(session, hash_token(secret), utcnow())


async def start_session(
    session: AsyncSession, link: ShareLink, *, hours: int
) -> tuple[str, ShareSession]:
    """A new session for this link: the cookie value (only the browser keeps it) and the row.
    It ends with the link, at the latest after ``hours``."""
    now = utcnow()
    await repository.prune_sessions(session, now)
    value = secrets.token_urlsafe(32)
    ends = now + timedelta(hours=hours)
    if link.expires_at is not None:
        ends = min(ends, link.expires_at)
    row = ShareSession(
        session_hash=hash_token(value),
        csrf_token=secrets.token_urlsafe(32),
        share_link_id=link.id,
        created_at=now,
        expires_at=ends,
    )
    await repository.add(session, row)
    return value, row


async def current_session(
    session: AsyncSession, link_id: int, cookie: str | None
) -> tuple[ShareSession, ShareLink] | None:
    if not cookie:
        return None
    return await repository.find_live_session(session, hash_token(cookie), link_id, utcnow())


def same_secret(a: str, b: str) -> bool:
    return bool(b) and hmac.compare_digest(a.encode(), b.encode())


def principal_of(link: ShareLink) -> Principal:
    return Principal(
        role="share",
        actor=Actor("share_link", link.id, link.name),
        company_id=link.company_id,
        project_id=link.project_id,
    )


async def principal_from_header(
    session: AsyncSession, header: str, cookies: dict[str, str], csrf_header: str | None
) -> Principal:
    """The API's view of a share page's call: ``X-ARV-Share`` names the link, its cookie
    holds the session, ``X-ARV-CSRF`` proves the call comes from the page itself."""
    if not header.isascii() or not header.isdigit() or len(header) > 16:
        raise Unauthorized("X-ARV-Share names a share link by its id")
    found = await current_session(session, int(header), cookies.get(cookie_name(int(header))))
    if found is None:
        raise Unauthorized("no live share session for this link (revoked, expired or not opened)")
    row, link = found
    if not same_secret(row.csrf_token, csrf_header or ""):
        raise Unauthorized("a share session needs its X-ARV-CSRF header")
    return principal_of(link)
