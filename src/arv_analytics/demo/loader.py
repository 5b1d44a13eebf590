"""Writes the demo catalog and sessions; running it twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.catalog import service as catalog
from arv_analytics.catalog.schemas import CompanyCreate, ContentCreate, ProjectCreate
from arv_analytics.demo.generator import ContentTarget, sessions
from arv_analytics.models import ARViewSession, Company, utcnow

# Company slug -> projects -> content titles with their relative popularity.
CATALOG: dict[str, tuple[str, dict[str, list[tuple[str, float]]]]] = {
    "demo-northwind-prints": (
        "Northwind Prints",
        {
            "Museum Night 2026": [("Portrait of Anna Pavlova", 5.0), ("The Firebird", 3.0)],
            "City Posters": [("Metro poster A1", 4.0), ("Bus stop 6-sheet", 2.0)],
        },
    ),
    "demo-atelier-lumen": (
        "Atelier Lumen",
        {
            "Wedding Portraits": [("Anna & Mark", 1.5), ("Sofia & Leo", 1.0)],
            "Product Launch": [("Packaging front", 3.5)],
        },
    ),
}

BATCH = 1_000


@dataclass(frozen=True, slots=True)
class DemoResult:
    created: bool
    companies: int
    content: int
    sessions: int


async def _build_catalog(session: AsyncSession) -> list[ContentTarget]:
    targets = []
    for slug, (name, projects) in CATALOG.items():
        company = await catalog.create_company(session, CompanyCreate(name=name, slug=slug))
        for project_name, items in projects.items():
            project = await catalog.create_project(
                session, ProjectCreate(company_id=company.id, name=project_name)
            )
            for title, popularity in items:
                content = await catalog.create_content(
                    session,
                    ContentCreate(
                        project_id=project.id,
                        title=title,
                        video_url="/static/demo/video.mp4",
                        marker_url="/static/demo/target.mind",
                    ),
                )
                targets.append(ContentTarget(content.id, project.id, company.id, popularity))
    return targets


async def load_demo(
    session: AsyncSession,
    *,
    count: int = 5_000,
    days: int = 60,
    max_seconds: int = 14_400,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Creates the demo companies and ``count`` sessions, unless they already exist.

    Commits after each batch so a large load does not hold one huge transaction.
    """
    first_slug = next(iter(CATALOG))
    existing = await session.execute(select(Company.id).where(Company.slug == first_slug))
    if existing.first() is not None:
        return DemoResult(created=False, companies=0, content=0, sessions=0)
    targets = await _build_catalog(session)
    await session.commit()
    batch: list[dict[str, object]] = []
    written = 0
    for row in sessions(targets, count, days=days, now=utcnow(), max_seconds=max_seconds):
        batch.append(row)
        if len(batch) >= BATCH:
            written += await _flush(session, batch, progress)
    written += await _flush(session, batch, progress)
    return DemoResult(True, len(CATALOG), len(targets), written)


async def _flush(
    session: AsyncSession, batch: list[dict[str, object]], progress: Callable[[int], None] | None
) -> int:
    if not batch:
        return 0
    await session.execute(insert(ARViewSession), batch)
    await session.commit()
    n = len(batch)
    batch.clear()
    if progress:
        progress(n)
    return n
