"""`arv-analytics backup PATH` and `arv-analytics restore PATH`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arv_analytics import migrate
from arv_analytics.backup import (
    BackupError,
    backup_sqlite,
    postgres_advice,
    restore_sqlite,
    sqlite_path,
)
from arv_analytics.cli.common import load_settings


def backup_command(
    path: Annotated[Path, typer.Argument(help="New file to write the copy to")],
) -> None:
    """Copy the running SQLite database consistently (online backup API); for PostgreSQL,
    print the pg_dump command to use. Safe while the service is serving."""
    settings = load_settings()
    try:
        source = sqlite_path(settings.database_url)
        if source is None:
            typer.echo(postgres_advice(settings.database_url, path))
            raise typer.Exit(2)  # nothing was written: a backup script must notice
        done = backup_sqlite(source, path)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"backup of {source} written to {done.path}: {done.bytes:,} bytes in "
        f"{done.seconds:.1f} s, schema revision {done.revision}, integrity_check ok"
    )


def restore_command(
    path: Annotated[Path, typer.Argument(help="A file written by `arv-analytics backup`")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace the configured database without asking")
    ] = False,
) -> None:
    """Replace the configured SQLite database with a backup (stop the service first); for
    PostgreSQL, print the pg_restore command to use."""
    settings = load_settings()
    try:
        target = sqlite_path(settings.database_url)
        if target is None:
            typer.echo(postgres_advice(settings.database_url, path, restore=True))
            raise typer.Exit(2)
        if target.exists() and not yes:
            typer.confirm(
                f"replace {target} with {path}? Stop the service first", abort=True, err=True
            )
        done = restore_sqlite(path, target)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    head = migrate.head_revision()
    typer.echo(
        f"restored {path} into {target}: {done.bytes:,} bytes in {done.seconds:.1f} s, "
        f"schema revision {done.revision}, integrity_check ok"
    )
    if done.revision != head:
        typer.echo(f"the backup is at revision {done.revision}; run `arv-analytics db upgrade`")
