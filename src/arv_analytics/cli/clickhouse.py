"""`arv-analytics clickhouse init|backfill|aggregate`: the ClickHouse store (docs/scale-out.md)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.progress import Progress

from arv_analytics.cli.common import console, load_settings, open_session
from arv_analytics.clickhouse import aggregates
from arv_analytics.clickhouse import backfill as copying
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.schema import init
from arv_analytics.config import Settings
from arv_analytics.db import create_engine
from arv_analytics.jobs.runner import exclusive
from arv_analytics.models import utcnow

clickhouse_app = typer.Typer(help="Sessions in ClickHouse (ARV_CLICKHOUSE_URL).",
                             no_args_is_help=True)  # fmt: skip


def _connect(settings: Settings) -> ClickHouse:
    if not settings.clickhouse_url:
        typer.echo("error: ARV_CLICKHOUSE_URL is not set", err=True)
        raise typer.Exit(2)
    return ClickHouse.from_settings(settings.clickhouse_url, settings.clickhouse_cluster)


@clickhouse_app.command("init")
def init_command() -> None:
    """Create the database and tables on every shard (safe to run again)."""
    ch = _connect(load_settings())
    try:
        for server in init(ch):
            typer.echo(f"ready: {ch.target.database} on {server}")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        ch.close()


@clickhouse_app.command("backfill")
def backfill_command(
    batch: Annotated[int, typer.Option(min=1, max=1_000_000, help="Sessions per insert")] = 10_000,
    restart: Annotated[
        bool, typer.Option("--restart", help="Forget the checkpoint and copy everything again")
    ] = False,
) -> None:
    """Copy the SQL database's sessions into ClickHouse; resumes after the last copied id."""
    settings = load_settings()
    ch = _connect(settings)

    async def go() -> int:
        async with open_session(settings) as session:
            if restart:
                after = 0
            else:
                copying.create_state_table(ch)
                after = copying.checkpoint(ch)
            total = await copying.remaining(session, after)
            with Progress(console=console) as bar:
                task = bar.add_task("sessions", total=total)
                return await copying.backfill(
                    session, ch, batch=batch, restart=restart,
                    progress=lambda n: bar.advance(task, n),
                )  # fmt: skip

    try:
        copied = asyncio.run(go())
    finally:
        ch.close()
    typer.echo(f"copied {copied} session(s); checkpoint saved (run again to resume)")


@clickhouse_app.command("aggregate")
def aggregate_command(
    recount: Annotated[
        bool, typer.Option("--recount", help="Forget the counted days and count them all again")
    ] = False,
) -> None:
    """Count settled days into the aggregate tables now (the hourly job does the same)."""
    settings = load_settings()
    ch = _connect(settings)
    window = timedelta(seconds=settings.max_session_seconds + settings.end_grace_seconds)
    through = aggregates.settled_through(utcnow(), window)

    def count() -> tuple[int, date | None]:
        if recount:
            aggregates.reset(ch)
        with Progress(console=console) as bar:
            task = bar.add_task("days", total=None)
            return aggregates.fill(ch, through, progress=lambda n: bar.advance(task, n))

    async def go() -> tuple[int, date | None] | None:
        # Two fills at once would both insert the same new days: the hourly job's lock.
        engine = create_engine(settings)
        try:
            async with exclusive(engine, "clickhouse-aggregates") as got:
                return await asyncio.to_thread(count) if got else None
        finally:
            await engine.dispose()

    try:
        done = asyncio.run(go())
    finally:
        ch.close()
    if done is None:
        typer.echo("error: the clickhouse-aggregates job is running in another process", err=True)
        raise typer.Exit(1)
    days, mark = done
    typer.echo(f"counted {days} day(s); aggregates hold every day through {mark}")
