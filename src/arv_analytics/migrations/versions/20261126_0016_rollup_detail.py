"""Content-level hour and per-property rows for busy contents: ``rollup_detail``.

An empty table: the ``rollup-detail`` job promotes busy contents into it (rollups/detail.py).
Nothing else changes, so no recount is due; a process of the previous version simply does
not read the table (it writes no detail rows, and the job only promotes contents from the
next UTC day on, by when a rolling upgrade is done).

Revision ID: 0016_rollup_detail
Revises: 0015_property_visitors
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_rollup_detail"
down_revision: str | None = "0015_property_visitors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_detail",
        sa.Column("content_id", sa.BigInteger(), nullable=False),
        sa.Column("detail_from", sa.Date(), nullable=False),
        sa.Column("ready", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"], ["ar_content.id"], name="fk_rollup_detail_content_id_ar_content",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("content_id", name="pk_rollup_detail"),
    )  # fmt: skip


def downgrade() -> None:
    # Its rows at the content level stay; the previous version ignores them (it never reads
    # content-level hour or property rows).
    op.drop_table("rollup_detail")
