"""The `arv-analytics` command."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path
from typing import Annotated, Any, cast

import typer
import uvicorn
from rich.progress import Progress
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from uvicorn.supervisors import Multiprocess

from arv_analytics import migrate
from arv_analytics.cli import listen
from arv_analytics.cli.backup import backup_command, restore_command
from arv_analytics.cli.bulk import catalog_app
from arv_analytics.cli.catalog import company_app, content_app, project_app
from arv_analytics.cli.clickhouse import clickhouse_app
from arv_analytics.cli.common import (
    console,
    load_settings,
    open_session,
)
from arv_analytics.cli.importing import import_command
from arv_analytics.cli.operations import (
    jobs_app,
    purge_command,
    recount_if_stale,
    rollup_command,
)
from arv_analytics.cli.tenancy import audit_command, token_app
from arv_analytics.config import Settings
from arv_analytics.observability.logs import logging_config
from arv_analytics.observability.repository import schema_revision
from arv_analytics.observability.workers import worker_metrics
from arv_analytics.tenancy import service as tenancy
from arv_analytics.web import repository as web_repository

app = typer.Typer(help="ARV Analytics: analytics for image-tracked web AR.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clickhouse_app, name="clickhouse")
app.add_typer(company_app, name="company")
app.add_typer(project_app, name="project")
app.add_typer(content_app, name="content")
app.add_typer(catalog_app, name="catalog")
app.add_typer(token_app, name="token")
app.add_typer(jobs_app, name="jobs")
app.command("purge")(purge_command)
app.command("rollup")(rollup_command)
app.command("import")(import_command)
app.command("audit")(audit_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


# --- database --------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database up to REVISION (default: the newest); recounts the rollups when
    a migration changed their layout."""
    settings = load_settings()
    migrate.upgrade(settings.database_url, revision)
    if revision == "head":
        recount_if_stale(settings)


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or base")] = "-1") -> None:
    """Migrate the database down to REVISION (default: one step)."""
    migrate.downgrade(load_settings().database_url, revision)


def _current_revision(settings: Settings) -> str | None:
    """The database's revision (None: never migrated), read as readiness reads it."""

    async def go() -> str | None:
        async with open_session(settings) as session:
            try:
                return await schema_revision(session)
            except (OperationalError, ProgrammingError) as exc:
                if "alembic_version" in str(exc):  # no such table: never migrated
                    return None
                raise

    return asyncio.run(go())


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one."""
    settings = load_settings()
    typer.echo(f"database: {_current_revision(settings)}  newest: {migrate.head_revision()}")


# --- serving ---------------------------------------------------------------------------


def _bootstrap_admin(settings: Settings) -> str | None:
    async def go() -> str | None:
        async with open_session(settings) as session:
            value = await tenancy.ensure_bootstrap_admin(session)
            await session.commit()
            return value

    return asyncio.run(go())


def _sample_viewer(settings: Settings) -> str | None:
    async def go() -> str | None:
        async with open_session(settings) as session:
            unique_id = await web_repository.first_viewable(session)
            return None if unique_id is None else str(unique_id)

    return asyncio.run(go())


def _banner(
    settings: Settings,
    base: str,
    new_token: str | None,
    viewer_id: str | None,
) -> None:
    say = typer.echo
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    say(f"ARV Analytics on {base}  (database: {database})")
    if settings.admin_token:
        token_hint = "$ARV_ADMIN_TOKEN"  # noqa: S105 - a placeholder shown to the user
        say("admin token: taken from ARV_ADMIN_TOKEN")
    elif new_token:
        token_hint = new_token
        say(f"admin token (shown once, only its hash is stored): {new_token}")
    else:
        token_hint = "<token>"  # noqa: S105 - a placeholder shown to the user
        say(
            "admin token: made on first start and shown then; "
            "make another with `arv-analytics token create --admin`"
        )
    say(f"dashboard:   {base}/dashboard  (sign in with the admin token or a company token)")
    say(f"API docs:    {base}/docs")
    if viewer_id:
        say(f"AR viewer:   {base}/ar/{viewer_id}  (assets: {settings.viewer_assets_url})")
    say(f"try:         curl -H 'Authorization: Bearer {token_hint}' {base}/api/analytics/overview")


_APP = "arv_analytics.app:create_app"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    migrate_first: Annotated[
        bool, typer.Option("--migrate", help="Run pending migrations before serving")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (each with its own buffer)")
    ] = 1,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="PEM certificate (chain): serve HTTPS [default: ARV_TLS_CERT]"),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="PEM private key [default: ARV_TLS_KEY]")
    ] = None,
) -> None:
    """Serve the API (tracking, analytics, catalog), the viewer and the tracker."""
    settings = load_settings()
    cert, key = tls_cert or settings.tls_cert, tls_key or settings.tls_key
    if (cert is None) != (key is None):
        typer.echo("error: --tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    for path in (cert, key):
        if path is not None and not path.is_file():
            typer.echo(f"error: {path} is not a readable file", err=True)
            raise typer.Exit(2)
    if migrate_first:
        migrate.upgrade(settings.database_url)
        recount_if_stale(settings)
    current, head = _current_revision(settings), migrate.head_revision()
    if current != head:
        typer.echo(
            f"error: database is at revision {current}, this version needs {head}; "
            "run `arv-analytics db upgrade` (or serve --migrate)",
            err=True,
        )
        raise typer.Exit(1)
    new_token = None if settings.admin_token else _bootstrap_admin(settings)
    scheme = "https" if cert else "http"
    _banner(settings, f"{scheme}://{host}:{port}", new_token, _sample_viewer(settings))
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_config": logging_config(settings.log_format),
        # Ours (observability/requests.py) leaves out the client's address.
        "access_log": False,
        "workers": workers,
        # The app reads forwarded headers itself, only from ARV_TRUSTED_PROXIES.
        "proxy_headers": False,
        # SIGTERM: stop accepting, let in-flight requests finish, then drain the buffer.
        "timeout_graceful_shutdown": 30,
        # With --workers, the supervisor kills a worker that does not answer its health
        # ping within this many seconds. uvicorn's 5 s is shorter than a worker's start
        # (imports, geo data) on a busy host: it then kills every new worker forever
        # ("Child process … died" in a loop) and the service never answers.
        "timeout_worker_healthcheck": 30,
        "ssl_certfile": str(cert) if cert else None,
        "ssl_keyfile": str(key) if key else None,
    }
    with worker_metrics(settings, workers):
        if workers > 1 and listen.per_worker_sockets_supported():
            _run_workers(options)
        else:
            uvicorn.run(_APP, **options)


def _run_workers(options: dict[str, Any]) -> None:
    """`serve --workers N` with a listening socket per worker (cli/listen.py says why)."""
    config = uvicorn.Config(_APP, **options)  # configures logging, as uvicorn.run does
    try:
        listen.check_free(config.host, config.port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {config.host}:{config.port}: {exc}", err=True)
        raise typer.Exit(1) from None
    logging.getLogger("uvicorn.error").info(
        "listening on %s:%d with a socket per worker (%d workers)",
        config.host,
        config.port,
        config.workers,
    )
    stand_in = cast(socket.socket, listen.WorkerListener(config.host, config.port))
    Multiprocess(config, sockets=[stand_in]).run()


# --- data ------------------------------------------------------------------------------


@app.command()
def demo(
    sessions: Annotated[int, typer.Option(min=0, help="Sessions to generate")] = 5_000,
    days: Annotated[int, typer.Option(min=1, max=366, help="Spread over this many days")] = 60,
) -> None:
    """Load demo companies, projects, content and sessions (once; a second run does nothing)."""
    # Imported here: the generator needs numpy (17 MB of RSS), which `serve`, run by this
    # same module, should not carry.
    from arv_analytics.demo.loader import demo_present, load_demo

    settings = load_settings()

    async def go() -> None:
        async with open_session(settings) as session:
            if await demo_present(session):
                console.print("demo data already present; nothing added")
                return
            started = time.perf_counter()
            with Progress(console=console, transient=False) as bar:
                task = bar.add_task("demo sessions", total=sessions)
                result = await load_demo(
                    session,
                    settings.database_url,
                    count=sessions,
                    days=days,
                    max_seconds=settings.max_session_seconds,
                    progress=lambda n: bar.advance(task, n),
                )
            elapsed = time.perf_counter() - started
            console.print(
                f"demo data: {result.companies} companies, {result.content} AR content, "
                f"{result.sessions} sessions over {days} days in {elapsed:.1f} s: written at "
                f"{result.sessions / max(result.load_seconds, 1e-9):,.0f} sessions/s, "
                f"rollups recounted in {result.rollup_seconds:.1f} s"
            )

    asyncio.run(go())


if __name__ == "__main__":
    app()
