"""The original platform's catalog: its companies, projects and AR content, before its sessions.

Read from the original platform's PostgreSQL database (the schema of its current Alembic
head: ``companies``, ``projects``, ``ar_content``, ``videos``) and applied through the bulk
catalog service, so the rules are the same as for ``catalog import``: matched, never
inserted twice, one transaction per batch of 1,000 rows, audited.

What carries over, and how:

* companies: name, slug (made URL-safe if it is not), active when ``status = 'active'``;
* projects: name, a slug derived from the name (the platform has none), active when
  ``status = 'active'``;
* contents: the ``unique_id`` (printed QR codes keep working), the order number as title,
  the video URL (the content's own, else its active video's), the marker URL, active when
  ``status`` is ``active`` or ``ready`` (what its viewer served).

Companies and projects are matched on the platform's ids (kept in ``legacy_id``), so a
rename there is an update here, not a new row. Customer names, phones and e-mails are not
copied: analytics does not need them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit.service import Actor
from arv_analytics.catalog.bulk import LegacyRow, apply_rows
from arv_analytics.catalog.schemas import SLUG_PATTERN, BulkReport, BulkRowResult
from arv_analytics.catalog.service import slugify

BATCH = 1_000
_URL = re.compile(r"^(https?://[^\x00-\x20\x7f]+|/[^\x00-\x20\x7f]*)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ACTIVE_CONTENT = ("active", "ready")

_COMPANIES = "SELECT id, name, slug, status FROM companies ORDER BY id"
_PROJECTS = "SELECT id, company_id, name, status FROM projects ORDER BY id"
_CONTENTS = """
    SELECT c.id, c.project_id, c.unique_id, c.order_number, c.status, c.video_url,
           c.marker_url, v.video_url AS active_video_url
    FROM ar_content c LEFT JOIN videos v ON v.id = c.active_video_id
    ORDER BY c.id
"""


class NoCatalog(LookupError):
    """The source has no catalog tables (a database holding only the sessions)."""


def _name(value: Any, fallback: str) -> str:
    text = " ".join(str(value or "").split())[:255]
    return text or fallback


def _slug(value: Any, fallback: str) -> str:
    text = str(value or "")
    if len(text) <= 100 and re.match(SLUG_PATTERN, text):
        return text
    return slugify(text or fallback)


def media_url(value: Any, base: str | None) -> str | None:
    """A URL our viewer can load: absolute URLs as they are; a path is prefixed with
    ``base`` (the original platform's address) when given; anything else is dropped."""
    text = str(value or "").strip()
    if not text:
        return None
    if _SCHEME.match(text):
        return text if text.startswith(("http://", "https://")) and _URL.match(text) else None
    if base:
        text = base.rstrip("/") + "/" + text.lstrip("/")
    return text if len(text) <= 2048 and _URL.match(text) else None


def read_catalog(url: str, media_base: str | None = None) -> Iterator[tuple[int, LegacyRow | str]]:
    """(n, row) per content, then per project without content, then per company without
    projects; (n, reason) for a content that cannot be carried over."""
    # Imported here: the CLI module that `serve` loads names this one, and psycopg with its
    # bundled libpq is ~20 MB of every server process's memory otherwise.
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_name IN ('companies', 'projects', 'ar_content')"
        )
        found = cur.fetchone()
        if found is None or found["n"] < 3:
            raise NoCatalog("the source has no companies, projects and ar_content tables")
        companies = {r["id"]: r for r in cur.execute(_COMPANIES).fetchall()}
        projects = {r["id"]: r for r in cur.execute(_PROJECTS).fetchall()}
        contents = cur.execute(_CONTENTS).fetchall()

    def owners(project_id: int) -> dict[str, Any] | None:
        project = projects.get(project_id)
        company = companies.get(project["company_id"]) if project else None
        if project is None or company is None:
            return None
        return {
            "company_legacy_id": company["id"],
            "company_slug": _slug(company["slug"], f"company-{company['id']}"),
            "company_name": _name(company["name"], f"Company {company['id']}"),
            "company_active": company["status"] == "active",
            "project_legacy_id": project["id"],
            "project_slug": slugify(_name(project["name"], f"project-{project['id']}")),
            "project_name": _name(project["name"], f"Project {project['id']}"),
            "project_active": project["status"] == "active",
        }

    n = 0
    used_projects: set[int] = set()
    for c in contents:
        n += 1
        owner = owners(c["project_id"])
        if owner is None:
            yield n, f"content {c['id']}: its project or company is missing"
            continue
        used_projects.add(c["project_id"])
        try:
            yield (
                n,
                LegacyRow(
                    **owner,
                    unique_id=c["unique_id"],
                    title=_name(c["order_number"], f"Content {c['id']}"),
                    video_url=media_url(c["video_url"] or c["active_video_url"], media_base),
                    marker_url=media_url(c["marker_url"], media_base),
                    is_active=c["status"] in ACTIVE_CONTENT,
                ),
            )
        except ValidationError as exc:
            yield n, f"content {c['id']}: {exc.errors()[0]['msg']}"
    used_companies = {p["company_id"] for p in projects.values()}
    for pid in projects.keys() - used_projects:
        owner = owners(pid)
        if owner is not None:
            n += 1
            yield n, LegacyRow(**owner)
    for cid in companies.keys() - used_companies:
        company = companies[cid]
        n += 1
        yield (
            n,
            LegacyRow(
                company_legacy_id=cid,
                company_slug=_slug(company["slug"], f"company-{cid}"),
                company_name=_name(company["name"], f"Company {cid}"),
                company_active=company["status"] == "active",
            ),
        )


async def import_catalog(
    session: AsyncSession,
    rows: Iterator[tuple[int, LegacyRow | str]],
    *,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> BulkReport:
    """Applies the rows in batches, committing each (this is the command's unit of work)."""
    total = BulkReport()
    pending: list[tuple[int, LegacyRow]] = []

    async def flush() -> None:
        if not pending:
            return
        part = await apply_rows(session, pending, actor=actor, source="original-platform")
        await session.commit()
        for result in part.rows:
            total.add(result)
        total.companies_created += part.companies_created
        total.projects_created += part.projects_created
        if progress:
            progress(len(pending))
        pending.clear()

    for n, row in rows:
        if isinstance(row, str):
            total.add(BulkRowResult(row=n, status="rejected", reason=row))
            continue
        pending.append((n, row))
        if len(pending) >= BATCH:
            await flush()
    await flush()
    return total
