"""`arv-analytics catalog import FILE.csv`: companies, projects and contents from a file.

The file's columns are the fields of ``POST /api/ar-content/bulk`` rows; an empty cell
means "not given". Rows are applied in batches of at most 1,000, one transaction each, so a
failure leaves whole batches, never half of one; running the file again changes nothing.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from arv_analytics.audit import service as audit
from arv_analytics.catalog.bulk import apply_rows
from arv_analytics.catalog.schemas import BULK_MAX_ROWS, BulkReport, BulkRow, BulkRowResult
from arv_analytics.cli.common import load_settings, open_session
from arv_analytics.errors import AppError

catalog_app = typer.Typer(help="Bulk catalog changes.", no_args_is_help=True)

COLUMNS = set(BulkRow.model_fields)
FLAGS = {"company_active", "project_active", "is_active"}
TRUE, FALSE = {"true", "t", "1", "yes", "y"}, {"false", "f", "0", "no", "n"}


class BadFile(ValueError):
    """The file as a whole cannot be read as rows: nothing is stored."""


def _cell(column: str, value: str) -> Any:
    text = value.strip()
    if column in FLAGS:
        low = text.lower()
        return True if low in TRUE else False if low in FALSE else text
    return text


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
    )


def read_rows(path: Path) -> Iterator[tuple[int, BulkRow | str]]:
    """(line, row) for each data line, or (line, reason) when the line is not a valid row."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        unknown = set(reader.fieldnames or ()) - COLUMNS
        if unknown or not reader.fieldnames:
            names = ", ".join(sorted(unknown)) or "(no header)"
            raise BadFile(f"unknown columns: {names}; known: {', '.join(sorted(COLUMNS))}")
        for raw in reader:
            given = {k: _cell(k, v) for k, v in raw.items() if k and v and v.strip()}
            try:
                yield reader.line_num, BulkRow(**given)
            except ValidationError as exc:
                yield reader.line_num, _reason(exc)


def merge(total: BulkReport, part: BulkReport) -> None:
    for result in part.rows:
        total.add(result)
    total.companies_created += part.companies_created
    total.projects_created += part.projects_created


@catalog_app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file")],
    batch: Annotated[int, typer.Option(min=1, max=BULK_MAX_ROWS, help="Rows per transaction")] = (
        BULK_MAX_ROWS
    ),
) -> None:
    """Create or update companies, projects and contents from a CSV; safe to run twice.
    Exits 1 when a row was rejected (the others are applied)."""
    settings = load_settings()
    total = BulkReport()
    source = f"csv:{file.name}"

    async def go() -> None:
        async with open_session(settings) as session:
            pending: list[tuple[int, BulkRow]] = []

            async def flush() -> None:
                if pending:
                    part = await apply_rows(session, pending, actor=audit.CLI, source=source)
                    await session.commit()
                    merge(total, part)
                    pending.clear()

            for line, row in read_rows(file):
                if isinstance(row, str):
                    total.add(BulkRowResult(row=line, status="rejected", reason=row))
                    continue
                pending.append((line, row))
                if len(pending) >= batch:
                    await flush()
            await flush()

    try:
        asyncio.run(go())
    except BadFile as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"created {total.created}, updated {total.updated}, unchanged {total.unchanged}, "
        f"rejected {total.rejected} (companies created {total.companies_created}, "
        f"projects created {total.projects_created})"
    )
    for result in sorted(total.rows, key=lambda r: r.row):
        if result.status == "rejected":
            typer.echo(f"  line {result.row}: {result.reason}")
    if total.rejected:
        raise typer.Exit(1)
