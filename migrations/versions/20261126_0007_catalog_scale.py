"""The catalog at studio scale: indexes for the content cache's incremental refresh and for
the list endpoints, and the original platform's ids on imported companies and projects.

Revision ID: 0007_catalog
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_catalog"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("companies", "projects", "ar_content")


def upgrade() -> None:
    # Every process asks "what changed since T" every ARV_CATALOG_REFRESH_SECONDS.
    for table in TABLES:
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])
    # Which rows came from which row of the original platform, so that `arv-analytics import
    # --url` run again updates them (a project has no stable natural key there: no slug).
    for table in ("companies", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("legacy_id", sa.BigInteger(), nullable=True))
        op.create_index(f"ix_{table}_legacy_id", table, ["legacy_id"], unique=True)


def downgrade() -> None:
    for table in ("companies", "projects"):
        op.drop_index(f"ix_{table}_legacy_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("legacy_id")
    for table in TABLES:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
