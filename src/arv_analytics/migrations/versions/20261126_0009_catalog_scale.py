"""The catalog at studio scale: indexes for the content cache's incremental refresh and for
the list endpoints, and the original platform's ids on imported companies and projects.

Revision ID: 0009_catalog
Revises: 0008_compat
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_catalog"
down_revision: str | None = "0008_compat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("companies", "projects", "ar_content")


def upgrade() -> None:
    # Every process asks "what changed since T" every ARV_CATALOG_REFRESH_SECONDS.
    for table in TABLES:
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])
    op.create_index("ix_ar_content_is_active_id", "ar_content", ["is_active", "id"])
    _title_search_index()
    # Which rows came from which row of the original platform, so that `arv-analytics import
    # --url` run again updates them (a project has no stable natural key there: no slug).
    for table in ("companies", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("legacy_id", sa.BigInteger(), nullable=True))
        op.create_index(f"ix_{table}_legacy_id", table, ["legacy_id"], unique=True)


def _title_search_index() -> None:
    """On PostgreSQL, a trigram index serves ``?q=`` title searches (``lower(title) LIKE
    '%…%'``) and their counts without a scan. pg_trgm is a trusted extension (PostgreSQL 13+:
    the database's owner may create it); where it cannot be created, searches still work,
    scanning. An expression index: Alembic's model comparison skips it, so it lives here."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    savepoint = bind.begin_nested()
    try:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return
    savepoint.commit()
    op.execute(
        "CREATE INDEX ix_ar_content_title_trgm ON ar_content USING gin (lower(title) gin_trgm_ops)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_ar_content_title_trgm")
    op.drop_index("ix_ar_content_is_active_id", table_name="ar_content")
    for table in ("companies", "projects"):
        op.drop_index(f"ix_{table}_legacy_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("legacy_id")
    for table in TABLES:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
