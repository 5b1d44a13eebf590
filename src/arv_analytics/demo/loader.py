"""Writes the demo catalog and sessions; running it twice adds nothing.

Sessions go in with COPY on PostgreSQL (psycopg, ~70,000 rows/s on the 2-core development
machine, bounded by index maintenance) and with batched Core inserts on SQLite; then the
rollups of the days they fill are recounted.
"""

from __future__ import annotations

import asyncio
import time
import typing
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.catalog import service as catalog
from arv_analytics.catalog.schemas import CompanyCreate, ContentCreate, ProjectCreate
from arv_analytics.demo.generator import COLUMNS, ContentTarget, chunks
from arv_analytics.models import ARViewSession, Company, utcnow
from arv_analytics.rollups import rebuild

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

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class DemoResult:
    created: bool
    companies: int
    content: int
    sessions: int
    load_seconds: float = 0.0  # writing the sessions (COPY or inserts)
    rollup_seconds: float = 0.0  # recounting the rollups of the days they fill


async def demo_present(session: AsyncSession) -> bool:
    first_slug = next(iter(CATALOG))
    found = await session.execute(select(Company.id).where(Company.slug == first_slug))
    return found.first() is not None


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
    database_url: str,
    *,
    count: int = 5_000,
    days: int = 60,
    max_seconds: int = 14_400,
    progress: Progress | None = None,
) -> DemoResult:
    """Creates the demo companies and ``count`` sessions, unless they already exist."""
    if await demo_present(session):
        return DemoResult(created=False, companies=0, content=0, sessions=0)
    targets = await _build_catalog(session)
    await session.commit()
    generated = chunks(targets, count, days=days, now=utcnow(), max_seconds=max_seconds)
    started = time.perf_counter()
    if database_url.startswith("postgresql"):
        # psycopg's blocking COPY in a thread: no await per row, and the event loop stays free.
        written = await asyncio.to_thread(_copy_postgres_sync, database_url, generated, progress)
    else:
        written = await _insert_batches(session, generated, progress)
    loaded = time.perf_counter()
    # Bulk rows bypass the write path, so the rollups of the days they fill are recounted.
    span = await rebuild.session_days(session, ARViewSession.id.is_not(None))
    if span is not None:
        await rebuild.rebuild(session, *span, content_ids=[t.id for t in targets])
    done = time.perf_counter()
    return DemoResult(True, len(CATALOG), len(targets), written, loaded - started, done - loaded)


def psycopg_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _copy_postgres_sync(
    database_url: str, generated: Iterator[dict[str, list[object]]], progress: Progress | None
) -> int:
    """COPY in one transaction, with the foreign keys set aside and validated afterwards.

    Row-by-row foreign-key checks cost more than the COPY itself; validating the three
    constraints once at the end is a set-based join and halves the load time. DDL is
    transactional in PostgreSQL, so a crash mid-load leaves the constraints as they were.
    """
    written = 0
    columns = ", ".join(COLUMNS)
    with psycopg.connect(psycopg_url(database_url)) as conn:
        fks = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'ar_view_sessions'::regclass AND contype = 'f'"
        ).fetchall()
        for name, _ in fks:
            conn.execute(f'ALTER TABLE ar_view_sessions DROP CONSTRAINT "{name}"')
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY ar_view_sessions ({columns}) FROM STDIN") as copy,
        ):
            for chunk in generated:
                for row in zip(*(chunk[c] for c in COLUMNS), strict=True):
                    copy.write_row(row)
                n = len(chunk["session_id"])
                written += n
                if progress:
                    progress(n)
        for name, definition in fks:
            conn.execute(
                f'ALTER TABLE ar_view_sessions ADD CONSTRAINT "{name}" {definition} NOT VALID'
            )
            conn.execute(f'ALTER TABLE ar_view_sessions VALIDATE CONSTRAINT "{name}"')
        conn.commit()
    return written


async def _insert_batches(
    session: AsyncSession, generated: Iterator[dict[str, list[object]]], progress: Progress | None
) -> int:
    written = 0
    table = typing.cast(Table, ARViewSession.__table__)
    for chunk in generated:
        chunk["session_id"] = [uuid.UUID(hex=str(h)) for h in chunk["session_id"]]
        rows = [
            dict(zip(COLUMNS, values, strict=True))
            for values in zip(*(chunk[c] for c in COLUMNS), strict=True)
        ]
        # Core executemany on the table, not the ORM's bulk insert of the mapped class: the
        # same rows, about five times faster (the ORM path inspects every row dictionary).
        conn = await session.connection()
        for start in range(0, len(rows), 5_000):
            await conn.execute(insert(table), rows[start : start + 5_000])
        await session.commit()
        written += len(rows)
        if progress:
            progress(len(rows))
    return written
