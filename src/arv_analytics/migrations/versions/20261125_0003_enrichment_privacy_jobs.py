"""Enrichment and privacy: is_bot and visitor_hash on sessions, daily salts, periodic job runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ar_view_sessions") as batch:
        batch.add_column(
            sa.Column("is_bot", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("visitor_hash", sa.BigInteger(), nullable=True))
    op.create_table(
        "daily_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_daily_salts"),
    )
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_job_runs"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("daily_salts")
    with op.batch_alter_table("ar_view_sessions") as batch:
        batch.drop_column("visitor_hash")
        batch.drop_column("is_bot")
