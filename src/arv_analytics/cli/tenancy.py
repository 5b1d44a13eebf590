"""`arv-analytics token …` and `arv-analytics audit`: tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import repository as audit_repository
from arv_analytics.audit import service as audit
from arv_analytics.audit.schemas import AuditOut
from arv_analytics.cli.common import run_in_session
from arv_analytics.models import APIToken, AuditLog
from arv_analytics.tenancy import repository, service
from arv_analytics.tenancy.schemas import TokenOut

token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)

_TOKEN_COLS = ["id", "name", "role", "company_id", "created_at", "last_used_at", "revoked_at"]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="Rows to show")]


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    admin: Annotated[bool, typer.Option("--admin", help="Full access")] = False,
    company: Annotated[int | None, typer.Option(help="Read-only, this company only")] = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    if admin == (company is not None):
        typer.echo("error: give exactly one of --admin or --company ID", err=True)
        raise typer.Exit(2)

    async def go(session: AsyncSession) -> str:
        _, value = await service.create_token(
            session,
            name=name,
            role="admin" if admin else "company",
            company_id=company,
            actor=audit.CLI,
        )
        return value

    # Only the value on stdout, so that `T=$(arv-analytics token create …)` works.
    typer.echo(run_in_session(go))


@token_app.command("list")
def token_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Also revoked tokens")] = False,
    company: Annotated[int | None, typer.Option(help="Only this company's")] = None,
    limit: Limit = 100,
) -> None:
    """List tokens (never their values)."""
    rows, total = run_in_session(
        lambda s: repository.page(
            s, limit=limit, include_revoked=include_revoked, company_id=company
        )
    )
    _print_lines([TokenOut.model_validate(r).model_dump() for r in rows], _TOKEN_COLS)
    typer.echo(f"{len(rows)} of {total} (times in UTC)")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token: it stops working at once."""

    async def go(session: AsyncSession) -> APIToken:
        return await service.revoke_token(session, token_id, actor=audit.CLI)

    row = run_in_session(go)
    typer.echo(f"token {row.id} ({row.name}) revoked at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


def audit_command(
    action: Annotated[
        str | None,
        typer.Option(help="Only this action, e.g. token.revoked; 'token.*' for a prefix"),
    ] = None,
    limit: Limit = 50,
) -> None:
    """Show management actions, newest first: who did what, and when."""

    async def go(session: AsyncSession) -> tuple[list[AuditLog], int]:
        return await audit_repository.page(session, limit=limit, action=action)

    rows, total = run_in_session(go)
    table_rows: list[dict[str, object]] = []
    for row in rows:
        out = AuditOut.model_validate(row)
        who = audit.Actor(row.actor, row.actor_token_id, row.actor_name)  # type: ignore[arg-type]
        table_rows.append(
            {
                "id": out.id,
                "when (UTC)": out.created_at,
                "who": who.label(),
                "action": out.action,
                "target": f"{out.target_type} {out.target_id}" if out.target_type else "",
                "details": ", ".join(f"{k}={v}" for k, v in (out.details or {}).items()),
            }
        )
    _print_lines(table_rows, ["id", "when (UTC)", "who", "action", "target", "details"])
    typer.echo(f"{len(rows)} of {total}")


def _print_lines(rows: list[dict[str, object]], columns: list[str]) -> None:
    """Aligned plain lines, one per entry and never wrapped, so that grep and less work."""
    cells = [columns] + [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return "-" if value is None else str(value)
