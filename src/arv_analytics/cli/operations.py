"""`arv-analytics purge` and `arv-analytics jobs …`: deleting data and running periodic jobs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.cli.common import console, load_settings, open_session, run_in_session
from arv_analytics.clickhouse import maintenance
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.config import Settings
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.jobs.registry import JOBS, find
from arv_analytics.jobs.runner import run_job
from arv_analytics.models import ARViewSession, JobRun, utcnow
from arv_analytics.retention.service import Selector, purge
from arv_analytics.rollups import rebuild, state

jobs_app = typer.Typer(help="Periodic jobs (salt rotation, retention).", no_args_is_help=True)


def purge_command(
    older_than: Annotated[
        int | None, typer.Option(min=0, help="Sessions older than this many days")
    ] = None,
    company: Annotated[int | None, typer.Option(help="Sessions of this company")] = None,
    project: Annotated[int | None, typer.Option(help="Sessions of this project")] = None,
    content: Annotated[int | None, typer.Option(help="Sessions of this AR content")] = None,
    session: Annotated[
        list[str] | None,
        typer.Option("--session", help="A session_id (repeatable): a person's erasure request"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go")] = False,
) -> None:
    """Delete sessions by age, company, project, content or session_id (all given must match)."""
    try:
        session_ids = tuple(uuid.UUID(s) for s in session or ())
    except ValueError:
        typer.echo("error: --session must be a UUID", err=True)
        raise typer.Exit(2) from None
    selector = Selector(older_than, company, project, content, session_ids)
    if selector.is_empty():
        typer.echo(
            "error: name what to delete: --older-than, --company, --project, --content "
            "or --session",
            err=True,
        )
        raise typer.Exit(2)

    async def go(s: AsyncSession) -> int:
        removed = await purge(s, selector, dry_run=dry_run)
        if not dry_run:
            await audit.record_purge(s, audit.CLI, sessions=removed, **selector.describe())
        return removed

    n = run_in_session(go)
    settings = load_settings()
    if settings.clickhouse_url and not dry_run:
        # The same sessions on every ClickHouse shard; waits until every shard has done it.
        ch = ClickHouse.from_settings(settings.clickhouse_url, settings.clickhouse_cluster)
        try:
            maintenance.delete(
                ch,
                before=utcnow() - timedelta(days=older_than) if older_than is not None else None,
                company_id=company, project_id=project, content_id=content,
                session_ids=session_ids,
            )  # fmt: skip
        finally:
            ch.close()
    typer.echo(f"{'would delete' if dry_run else 'deleted'} {n} session(s)")


@jobs_app.command("list")
def jobs_list() -> None:
    """The periodic jobs and when each last ran."""

    async def last_runs() -> dict[str, JobRun]:
        async with open_session(load_settings()) as s:
            return {r.name: r for r in (await s.execute(select(JobRun))).scalars()}

    runs = asyncio.run(last_runs())
    table = Table("job", "every", "what", "last period", "finished", "last error")
    for job in JOBS:
        run = runs.get(job.name)
        table.add_row(
            job.name,
            str(job.every),
            job.description,
            str(run.period_start) if run else "-",
            str(run.finished_at) if run and run.finished_at else "-",
            (run.last_error or "") if run else "",
        )
    console.print(table)


@jobs_app.command("run")
def jobs_run(name: Annotated[str, typer.Argument(help="Job name, see `jobs list`")]) -> None:
    """Run one job now, whether or not it ran this period."""
    job = find(name)
    if job is None:
        typer.echo(f"error: no job {name!r}; known: {', '.join(j.name for j in JOBS)}", err=True)
        raise typer.Exit(2)
    settings = load_settings()

    async def go() -> str:
        engine = create_engine(settings, command_timeout=None)
        try:
            outcome = await run_job(create_sessionmaker(engine), job, settings, force=True)
        finally:
            await engine.dispose()
        if outcome.error:
            typer.echo(f"error: {outcome.error}", err=True)
            raise typer.Exit(1)
        return outcome.summary

    typer.echo(f"{name}: {asyncio.run(go())}")


def rollup_command(
    first: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First UTC day")
    ] = None,
    last: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last UTC day")
    ] = None,
) -> None:
    """Recount the rollups of a range of UTC days from the raw sessions (default: all days).

    Idempotent: run it after loading rows behind the service's back, or to check nothing
    drifted; a range that is already right stays as it is."""
    settings = load_settings()

    async def go() -> int:
        async with open_session(settings) as s:
            span = await rebuild.session_days(s, ARViewSession.id.is_not(None))
            start = first.date() if first else (span[0] if span else None)
            end = last.date() if last else (span[1] if span else None)
            if start is None or end is None:
                return 0
            if end < start:
                typer.echo("error: --to is before --from", err=True)
                raise typer.Exit(2)
            total = (end - start).days + 1
            with Progress(console=console) as bar:
                task = bar.add_task("rollups", total=total)
                days = await rebuild.rebuild(s, start, end, progress=lambda _: bar.advance(task))
            if first is None and last is None:
                await state.mark_current(s)  # every day was recounted with today's layout
                await s.commit()
            return days

    days = asyncio.run(go())
    typer.echo(f"rollups recounted for {days} day(s)")


def recount_if_stale(settings: Settings) -> None:
    """After a migration that changed the rollups' layout: recount every day now, so that
    analytics are served from rollups again (until then they come from raw sessions)."""

    async def go() -> bool:
        async with open_session(settings) as s:
            if await state.is_current(s):
                return False
            span = await rebuild.session_days(s, ARViewSession.id.is_not(None))
            if span is not None:
                total = (span[1] - span[0]).days + 1
                with Progress(console=console) as bar:
                    task = bar.add_task("recounting rollups (new layout)", total=total)
                    await rebuild.rebuild(s, *span, progress=lambda _: bar.advance(task))
            await state.mark_current(s)
            await s.commit()
            return True

    if asyncio.run(go()):
        typer.echo("rollups recounted with the new layout")
