"""`arv-analytics import`: the original platform's sessions, from its database or a CSV; from
its database, its companies, projects and contents first (unless ``--sessions-only``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from arv_analytics.audit import service as audit
from arv_analytics.cli.common import console, load_settings, open_session
from arv_analytics.config import Settings
from arv_analytics.importer.catalog import NoCatalog, import_catalog, read_catalog
from arv_analytics.importer.service import (
    RowRules,
    import_rows,
    read_csv,
    read_mapping,
    read_postgres,
    unique_ids_of,
)


def import_command(
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", exists=True, dir_okay=False, help="CSV with the seed's columns"),
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="postgresql://… of the original platform")
    ] = None,
    content_map: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV: old ar_content_id,our ar_content_id"),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="List every row id per reason, not the first 10")
    ] = False,
    sessions_only: Annotated[
        bool, typer.Option("--sessions-only", help="With --url: skip the catalog")
    ] = False,
    media_base: Annotated[
        str | None,
        typer.Option(help="With --url: the original platform's https://address for media paths"),
    ] = None,
) -> None:
    """Load the original platform's catalog (with --url) and ar_view_sessions; safe to run
    twice."""
    if (csv_file is None) == (url is None):
        typer.echo("error: give exactly one of --csv FILE or --url postgresql://…", err=True)
        raise typer.Exit(2)
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        typer.echo("error: --url must be a postgresql:// URL", err=True)
        raise typer.Exit(2)
    by_id = read_mapping(content_map) if content_map else None
    by_unique = unique_ids_of(url) if url else None
    if by_id is None and by_unique is None:
        typer.echo("error: a CSV import needs --content-map (old id → our id)", err=True)
        raise typer.Exit(2)
    settings = load_settings()
    rows = read_csv(csv_file) if csv_file else read_postgres(str(url))

    async def go() -> None:
        if url is not None and not sessions_only:
            await _catalog(settings, str(url), media_base)
        async with open_session(settings) as session:
            with Progress(console=console) as bar:
                task = bar.add_task("importing", total=None)
                report = await import_rows(
                    session,
                    rows,
                    by_id=by_id,
                    by_unique=by_unique,
                    rules=RowRules.from_settings(settings),
                    verbose=verbose,
                    progress=lambda n: bar.advance(task, n),
                )
        for line in report.lines():
            typer.echo(line)

    asyncio.run(go())


async def _catalog(settings: Settings, url: str, media_base: str | None) -> None:
    async with open_session(settings) as session:
        with Progress(console=console) as bar:
            task = bar.add_task("catalog", total=None)
            try:
                report = await import_catalog(
                    session,
                    read_catalog(url, media_base),
                    actor=audit.CLI,
                    progress=lambda n: bar.advance(task, n),
                )
            except NoCatalog as exc:
                typer.echo(f"catalog: skipped, {exc}")
                return
    typer.echo(
        f"catalog: contents created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}; "
        f"companies created {report.companies_created}, projects created {report.projects_created}"
    )
    for row in report.rows:
        if row.status == "rejected":
            typer.echo(f"  rejected: {row.reason}")
