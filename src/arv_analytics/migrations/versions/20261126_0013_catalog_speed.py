"""Catalog lists at studio scale: content of one project or company in id order.

``(project_id, id)`` and ``(company_id, id)`` replace the single-column indexes (which they
cover as prefixes, for the foreign keys and the content cache). A page of one company's
content, ``WHERE company_id = ? ORDER BY id LIMIT 50``, then reads its 50 rows from the
index; with ``company_id`` alone PostgreSQL either walks the primary key from the first id
until it has found 50 of the company's rows (a new client's content, all at the end of a
100,000-content catalog, means walking nearly all of it) or fetches and sorts every row of
the company.

Revision ID: 0013_catalog_speed
Revises: 0012_share_links
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_catalog_speed"
down_revision: str | None = "0012_share_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("project_id", "company_id"):
        op.create_index(f"ix_ar_content_{column}_id", "ar_content", [column, "id"])
        op.drop_index(f"ix_ar_content_{column}", table_name="ar_content")


def downgrade() -> None:
    for column in ("project_id", "company_id"):
        op.create_index(f"ix_ar_content_{column}", "ar_content", [column])
        op.drop_index(f"ix_ar_content_{column}_id", table_name="ar_content")
