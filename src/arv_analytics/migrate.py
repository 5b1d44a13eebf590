"""Alembic commands for the CLI and the tests, configured in code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

# The migrations are package data, so an installed wheel finds them wherever it runs from.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS_DIR}; the installation is incomplete, "
            "reinstall the arv-analytics package"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_current_head()


def known_revisions() -> frozenset[str]:
    """Every revision this version's code has a migration for."""
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    return frozenset(rev.revision for rev in script.walk_revisions())
