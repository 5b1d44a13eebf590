"""What every command shares: loading settings, running async work, printing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.config import Settings, describe_error
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.errors import AppError

T = TypeVar("T")

console = Console()


def load_settings() -> Settings:
    """Settings from the environment; an invalid value stops with one line naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        typer.echo(f"error: {describe_error(exc)}", err=True)
        raise typer.Exit(2) from None


@asynccontextmanager
async def open_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    # Batch commands (rollup, import, demo, purge) may run statements for minutes.
    engine = create_engine(settings, command_timeout=None)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def run_in_session(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs ``fn`` in one session and commits; a domain error becomes a one-line exit 1."""
    settings = load_settings()

    async def _go() -> T:
        async with open_session(settings) as session:
            result = await fn(session)
            await session.commit()
            return result

    try:
        return asyncio.run(_go())
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], **values: Any) -> M:
    """Validates command-line input with the API's own schema; errors name the option."""
    try:
        return model(**values)
    except ValidationError as exc:
        fields = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in exc.errors()
        )
        typer.echo(f"error: {fields}", err=True)
        raise typer.Exit(2) from None


def print_rows(rows: Sequence[BaseModel | dict[str, Any]], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        data: dict[str, Any] = row.model_dump() if isinstance(row, BaseModel) else row
        table.add_row(*(str(data[c]) for c in columns))
    console.print(table)
