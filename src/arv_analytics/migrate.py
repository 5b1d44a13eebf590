"""Alembic commands for the CLI and the tests, configured in code (no alembic.ini needed).

Alembic is imported by the commands that migrate, not by this module: a server process only
needs the revisions' names, which ``schema_version`` reads without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from arv_analytics import schema_version

if TYPE_CHECKING:
    from alembic.config import Config

# The migrations are package data, so an installed wheel finds them wherever it runs from.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    if not MIGRATIONS_DIR.is_dir():
        raise RuntimeError(
            f"migrations not found at {MIGRATIONS_DIR}; the installation is incomplete, "
            "reinstall the arv-analytics package"
        )
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


head_revision = schema_version.head_revision
known_revisions = schema_version.known_revisions
