"""Catalog rules: slugs, the company-project-content hierarchy, deactivation.

Services flush but never commit; the endpoint or CLI command that called them does.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.audit.service import Actor
from arv_analytics.catalog import repository
from arv_analytics.catalog.schemas import (
    CompanyCreate,
    CompanyUpdate,
    ContentCreate,
    ContentUpdate,
    ProjectCreate,
    ProjectUpdate,
)
from arv_analytics.errors import Conflict, NotFound
from arv_analytics.ingest.repository import ContentRef
from arv_analytics.models import ARContent, Base, Company, Project

M = TypeVar("M", bound=Base)

_LABELS: dict[type[Base], str] = {Company: "company", Project: "project", ARContent: "ar content"}
# How the audit log names each kind of row ("content.deactivated").
_AUDIT_TYPES: dict[type[Base], str] = {Company: "company", Project: "project", ARContent: "content"}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:100].rstrip("-") or "item"


async def get_or_404(session: AsyncSession, model: type[M], ident: int) -> M:
    row = await repository.get(session, model, ident)
    if row is None:
        raise NotFound(f"{_LABELS[model]} {ident} not found")
    return row


def _company_of(row: Base) -> int:
    return int(row.id if isinstance(row, Company) else row.company_id)  # type: ignore[attr-defined]


async def get_visible(
    session: AsyncSession, model: type[M], ident: int, scope_company_id: int | None
) -> M:
    """The row, if the caller may see it. Another company's row answers exactly like an
    unknown id, so that a company token cannot learn which ids exist."""
    row = await get_or_404(session, model, ident)
    if scope_company_id is not None and _company_of(row) != scope_company_id:
        raise NotFound(f"{_LABELS[model]} {ident} not found")
    return row


async def unique_slug(
    session: AsyncSession,
    model: type[Company | Project],
    wanted: str | None,
    name: str,
    **scope: Any,
) -> str:
    """An explicit slug must be free; a derived one gets a numeric suffix until it is."""
    if wanted is not None:
        if await repository.slug_taken(session, model, wanted, **scope):
            raise Conflict(f"slug {wanted!r} is already taken")
        return wanted
    base = slugify(name)
    candidate, n = base, 1
    while await repository.slug_taken(session, model, candidate, **scope):
        n += 1
        suffix = f"-{n}"
        candidate = base[: 100 - len(suffix)] + suffix
    return candidate


async def _save(session: AsyncSession, row: M) -> M:
    try:
        return await repository.add(session, row)
    except IntegrityError as exc:
        # A concurrent writer took the slug between our check and the insert.
        raise Conflict(f"{_LABELS[type(row)]} conflicts with an existing one") from exc


async def _apply(
    session: AsyncSession, row: M, changes: dict[str, Any], actor: Actor | None = None
) -> M:
    was_active = getattr(row, "is_active", None)
    for key, value in changes.items():
        setattr(row, key, value)
    saved = await _save(session, row)
    now_active = getattr(row, "is_active", None)
    if actor is not None and was_active is not None and now_active != was_active:
        kind = _AUDIT_TYPES[type(row)]
        action = audit.activated(kind) if now_active else audit.deactivated(kind)
        await audit.record(session, actor, action, target_type=kind, target_id=row.id)  # type: ignore[attr-defined]
    return saved


# --- companies -------------------------------------------------------------------------


async def create_company(session: AsyncSession, data: CompanyCreate) -> Company:
    slug = await unique_slug(session, Company, data.slug, data.name)
    return await _save(session, Company(name=data.name, slug=slug, legacy_id=None))


async def update_company(
    session: AsyncSession, ident: int, data: CompanyUpdate, *, actor: Actor
) -> Company:
    row = await get_or_404(session, Company, ident)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "slug" in changes and changes["slug"] != row.slug:
        await unique_slug(session, Company, changes["slug"], row.name)
    return await _apply(session, row, changes, actor)


# --- projects --------------------------------------------------------------------------


async def create_project(session: AsyncSession, data: ProjectCreate) -> Project:
    await get_or_404(session, Company, data.company_id)
    slug = await unique_slug(session, Project, data.slug, data.name, company_id=data.company_id)
    row = Project(company_id=data.company_id, name=data.name, slug=slug, legacy_id=None)
    return await _save(session, row)


async def update_project(
    session: AsyncSession, ident: int, data: ProjectUpdate, *, actor: Actor
) -> Project:
    row = await get_or_404(session, Project, ident)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "slug" in changes and changes["slug"] != row.slug:
        await unique_slug(session, Project, changes["slug"], row.name, company_id=row.company_id)
    return await _apply(session, row, changes, actor)


# --- AR content ------------------------------------------------------------------------


# session.info key: project id -> whether the project and its company are active, as read
# by this transaction, so that tracking_ref needs no statement of its own.
_OWNERS_ACTIVE = "catalog.owners_active"


def _remember_owners(session: AsyncSession, project_id: int, active: bool) -> None:
    session.info.setdefault(_OWNERS_ACTIVE, {})[project_id] = active


async def _content_or_404(session: AsyncSession, ident: int) -> ARContent:
    found = await repository.content_with_owners(session, ident)
    if found is None:
        raise NotFound(f"ar content {ident} not found")
    row, owners_active = found
    _remember_owners(session, row.project_id, owners_active)
    return row


async def create_content(session: AsyncSession, data: ContentCreate) -> ARContent:
    found = await repository.project_with_owner(session, data.project_id)
    if found is None:
        raise NotFound(f"project {data.project_id} not found")
    project, owners_active = found
    _remember_owners(session, project.id, owners_active)
    # The content's company is always its project's company; the client never chooses it.
    if data.unique_id is not None and await repository.unique_id_taken(session, data.unique_id):
        raise Conflict(f"unique_id {data.unique_id} is already taken")
    row = ARContent(
        project_id=project.id,
        company_id=project.company_id,
        title=data.title,
        video_url=data.video_url,
        marker_url=data.marker_url,
        unique_id=data.unique_id or uuid.uuid4(),
    )
    return await _save(session, row)


async def update_content(
    session: AsyncSession, ident: int, data: ContentUpdate, *, actor: Actor
) -> ARContent:
    row = await _content_or_404(session, ident)
    # Explicit nulls clear the media URLs; other fields ignore null.
    changes = data.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k.endswith("_url")}
    return await _apply(session, row, changes, actor)


async def tracking_ref(session: AsyncSession, row: ARContent) -> ContentRef:
    """The content as the write path sees it, as the transaction that changed it leaves it:
    after the commit, exactly what was committed. The owners' active flags come from the
    statement that read the content or its project (no statement of its own then)."""
    owners_active = session.info.get(_OWNERS_ACTIVE, {}).get(row.project_id)
    if owners_active is None:
        ref = await repository.content_ref(session, row.id)
        if ref is None:  # not possible inside the transaction that just wrote it
            raise NotFound(f"ar content {row.id} not found")
        return ref
    trackable = bool(row.is_active) and owners_active
    return ContentRef(row.id, row.unique_id, row.project_id, row.company_id, trackable)


async def set_active(
    session: AsyncSession, model: type[M], ident: int, active: bool, *, actor: Actor
) -> M:
    """(De)activates a row; a change of state is recorded in the audit log, a no-op is not."""
    # Content is read with its owners' flags, for tracking_ref; held here, it is in the
    # (weakly referencing) identity map, so that get_or_404 sends no second statement.
    content = await _content_or_404(session, ident) if model is ARContent else None
    row = await get_or_404(session, model, ident)
    assert content is None or content is row
    return await _apply(session, row, {"is_active": active}, actor)


async def deactivate(session: AsyncSession, model: type[M], ident: int, *, actor: Actor) -> M:
    return await set_active(session, model, ident, False, actor=actor)
