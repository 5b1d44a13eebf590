"""Bulk catalog changes: many rows (content with its project and company) in one transaction.

Each row is matched, not blindly inserted, so that running the same file or request twice
changes nothing the second time: a company by its slug (or, for rows imported from the
original platform, by that platform's id), a project by its company and slug (or that
platform's id), a content by its ``unique_id`` or else by its project and title. What is
missing is created; what differs is updated; a row that cannot be applied is rejected with
its reason and the others still are. Everything a batch may match is read in a few queries
and written in three flushes, so a batch of 1,000 rows costs a few round trips, not 1,000.

Like every service, this never commits: the endpoint or command that owns the batch does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.audit.service import Actor
from arv_analytics.catalog import repository
from arv_analytics.catalog.schemas import BulkReport, BulkRow, BulkRowResult, RowStatus
from arv_analytics.catalog.service import slugify
from arv_analytics.errors import Conflict
from arv_analytics.models import ARContent, Company, Project

BULK_ACTION = "catalog.bulk"


class LegacyRow(BulkRow):
    """A row from the original platform: its company and project ids are the match keys.
    Without a title it stands for a project without content; without a project too, for a
    company without projects (they come across as well)."""

    company_legacy_id: int | None = None
    project_legacy_id: int | None = None
    title: str | None = None  # type: ignore[assignment]

    def missing_owner(self) -> str | None:
        if self.company_slug is None and self.company_name is None:
            return "company_slug or company_name is required"
        return None


def _has_project(row: BulkRow) -> bool:
    return row.project_slug is not None or row.project_name is not None


class Rejected(Exception):
    """A row that cannot be applied; the message is the reason reported."""


@dataclass
class _Batch:
    companies: dict[str, Company] = field(default_factory=dict)  # by slug
    companies_legacy: dict[int, Company] = field(default_factory=dict)
    projects: dict[tuple[int, str], Project] = field(default_factory=dict)  # (company, slug)
    projects_legacy: dict[int, Project] = field(default_factory=dict)
    contents: dict[uuid.UUID, ARContent] = field(default_factory=dict)
    titled: dict[tuple[int, str], ARContent] = field(default_factory=dict)  # (project, title)
    # Rows that were created or changed in this batch, so that one row gets the credit.
    changed: set[int] = field(default_factory=set)
    new: list[Company | Project | ARContent] = field(default_factory=list)
    companies_created: int = 0
    projects_created: int = 0


@dataclass
class _Plan:
    line: int
    row: BulkRow
    changed: bool = False
    company: Company | None = None
    project: Project | None = None


def _legacy(row: BulkRow, attr: str) -> int | None:
    return getattr(row, attr, None) if isinstance(row, LegacyRow) else None


def _company_slug(row: BulkRow) -> str:
    return row.company_slug or slugify(row.company_name or "")


def _project_slug(row: BulkRow) -> str:
    return row.project_slug or slugify(row.project_name or "")


def _update(batch: _Batch, obj: Company | Project | ARContent, changes: dict[str, object]) -> bool:
    """Sets what differs; True when this call changed something first in the batch."""
    differs = {k: v for k, v in changes.items() if getattr(obj, k) != v}
    for key, value in differs.items():
        setattr(obj, key, value)
    if differs and id(obj) not in batch.changed:
        batch.changed.add(id(obj))
        return True
    return False


async def _free_slug(
    session: AsyncSession,
    model: type[Company | Project],
    taken: set[str],
    wanted: str,
    **scope: int,
) -> str:
    """``wanted`` with a numeric suffix, free both in this batch and in the database."""
    candidate, n = wanted, 1
    while candidate in taken or await repository.slug_taken(session, model, candidate, **scope):
        n += 1
        suffix = f"-{n}"
        candidate = wanted[: 100 - len(suffix)] + suffix
    return candidate


async def apply_rows(
    session: AsyncSession, rows: Sequence[tuple[int, BulkRow]], *, actor: Actor, source: str
) -> BulkReport:
    """Applies a batch (``(line, row)`` pairs) in the caller's transaction and audits it."""
    try:
        return await _apply(session, rows, actor=actor, source=source)
    except IntegrityError as exc:
        # A concurrent writer took a slug or unique_id between our read and our insert.
        raise Conflict("the catalog changed while this batch was applied; retry it") from exc


async def _apply(
    session: AsyncSession, rows: Sequence[tuple[int, BulkRow]], *, actor: Actor, source: str
) -> BulkReport:
    batch = _Batch()
    rejected = {line: why for line, row in rows if (why := row.missing_owner()) is not None}
    plans = [_Plan(line, row) for line, row in rows if line not in rejected]
    unnamed = [_Plan(line, row) for line, row in rows if line in rejected]

    companies = await repository.companies_matching(
        session,
        {_company_slug(p.row) for p in plans},
        {i for p in plans if (i := _legacy(p.row, "company_legacy_id")) is not None},
    )
    for c in companies:
        batch.companies[c.slug] = c
        if c.legacy_id is not None:
            batch.companies_legacy[c.legacy_id] = c
    for plan in plans:
        plan.company, plan.changed = await _company(session, batch, plan.row)
    await repository.add_all(session, batch.new)
    batch.new.clear()

    projects = await repository.projects_matching(
        session,
        {p.company.id for p in plans if p.company is not None},
        {_project_slug(p.row) for p in plans if _has_project(p.row)},
        {i for p in plans if (i := _legacy(p.row, "project_legacy_id")) is not None},
    )
    for pr in projects:
        batch.projects[(pr.company_id, pr.slug)] = pr
        if pr.legacy_id is not None:
            batch.projects_legacy[pr.legacy_id] = pr
    for plan in plans:
        if not _has_project(plan.row):
            continue
        try:
            plan.project, changed = await _project(session, batch, plan.row, plan.company)
            plan.changed |= changed
        except Rejected as exc:
            rejected[plan.line] = str(exc)
    await repository.add_all(session, batch.new)
    batch.new.clear()

    live = [p for p in plans if p.line not in rejected and p.project and p.row.title is not None]
    contents = await repository.contents_matching(
        session,
        {p.row.unique_id for p in live if p.row.unique_id is not None},
        {p.project.id for p in live if p.project is not None},
        {p.row.title for p in live if p.row.unique_id is None},
    )
    for content in contents:
        batch.contents[content.unique_id] = content
        batch.titled.setdefault((content.project_id, content.title), content)
    report = BulkReport()
    results: list[tuple[_Plan, ARContent | None, RowStatus, str | None]] = []
    for plan in sorted([*plans, *unnamed], key=lambda p: p.line):
        if plan.line in rejected:
            results.append((plan, None, "rejected", rejected[plan.line]))
            continue
        if plan.project is None or plan.row.title is None:
            continue  # a company or project without content: not a content row
        try:
            results.append((plan, *_content(batch, plan, plan.project), None))
        except Rejected as exc:
            results.append((plan, None, "rejected", str(exc)))
    await repository.add_all(session, batch.new)

    for plan, done, status, reason in results:
        report.add(
            BulkRowResult(
                row=plan.line,
                status=status,
                reason=reason,
                content_id=done.id if done else None,
                unique_id=done.unique_id if done else None,
            )
        )
    report.companies_created = batch.companies_created
    report.projects_created = batch.projects_created
    await audit.record(session, actor, BULK_ACTION, details={"source": source, **_counts(report)})
    return report


def _counts(report: BulkReport) -> dict[str, int]:
    return report.model_dump(exclude={"rows"})


async def _company(session: AsyncSession, batch: _Batch, row: BulkRow) -> tuple[Company, bool]:
    legacy = _legacy(row, "company_legacy_id")
    slug = _company_slug(row)
    found = batch.companies_legacy.get(legacy) if legacy is not None else None
    if found is None:
        found = batch.companies.get(slug)
        if found is not None and legacy is not None:
            if found.legacy_id is not None and found.legacy_id != legacy:
                # Another company of the original platform has this slug here: a new one.
                found = None
                slug = await _free_slug(session, Company, set(batch.companies), slug)
            else:
                found.legacy_id = legacy  # adopt a company made by hand before the import
                batch.companies_legacy[legacy] = found
    changes: dict[str, object] = {}
    if row.company_name is not None:
        changes["name"] = row.company_name
    if row.company_active is not None:
        changes["is_active"] = row.company_active
    if found is not None:
        return found, _update(batch, found, changes)
    company = Company(name=row.company_name or slug, slug=slug, legacy_id=legacy)
    _update(batch, company, changes)
    batch.companies[slug] = company
    if legacy is not None:
        batch.companies_legacy[legacy] = company
    batch.new.append(company)
    batch.companies_created += 1
    return company, True


async def _project(
    session: AsyncSession, batch: _Batch, row: BulkRow, company: Company | None
) -> tuple[Project, bool]:
    assert company is not None
    legacy = _legacy(row, "project_legacy_id")
    slug = _project_slug(row)
    found = batch.projects_legacy.get(legacy) if legacy is not None else None
    if found is not None and found.company_id != company.id:
        raise Rejected(f"project {found.id} belongs to another company")
    if found is None:
        found = batch.projects.get((company.id, slug))
        if found is not None and legacy is not None:
            if found.legacy_id is not None and found.legacy_id != legacy:
                taken = {s for (c, s) in batch.projects if c == company.id}
                found = None
                slug = await _free_slug(session, Project, taken, slug, company_id=company.id)
            else:
                found.legacy_id = legacy
                batch.projects_legacy[legacy] = found
    changes: dict[str, object] = {}
    if row.project_name is not None:
        changes["name"] = row.project_name
    if row.project_active is not None:
        changes["is_active"] = row.project_active
    if found is not None:
        return found, _update(batch, found, changes)
    project = Project(
        company_id=company.id, name=row.project_name or slug, slug=slug, legacy_id=legacy
    )
    _update(batch, project, changes)
    batch.projects[(company.id, slug)] = project
    if legacy is not None:
        batch.projects_legacy[legacy] = project
    batch.new.append(project)
    batch.projects_created += 1
    return project, True


def _content(batch: _Batch, plan: _Plan, project: Project) -> tuple[ARContent, RowStatus]:
    row = plan.row
    if row.unique_id is not None:
        found = batch.contents.get(row.unique_id)
    else:
        found = batch.titled.get((project.id, row.title))
    if found is not None and found.project_id != project.id:
        raise Rejected(f"unique_id {row.unique_id} belongs to another project ({found.project_id})")
    # Only what the row says: absent keys keep the stored value, an explicit null clears.
    given = row.model_fields_set
    changes: dict[str, object] = {"title": row.title}
    changes.update({k: getattr(row, k) for k in ("video_url", "marker_url") if k in given})
    if row.is_active is not None:
        changes["is_active"] = row.is_active
    if found is not None:
        changed = _update(batch, found, changes) or plan.changed
        return found, "updated" if changed else "unchanged"
    content = ARContent(
        project_id=project.id,
        company_id=project.company_id,
        unique_id=row.unique_id or uuid.uuid4(),
    )
    for key, value in changes.items():
        setattr(content, key, value)
    batch.contents[content.unique_id] = content
    batch.titled.setdefault((project.id, row.title), content)
    batch.changed.add(id(content))
    batch.new.append(content)
    return content, "created"
