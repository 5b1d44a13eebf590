"""Rollups: hourly figures and dimensions per content, daily unique visitors, visitor keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
COUNTERS = (
    "views",
    "sessions",
    "duration_sum",
    "duration_count",
    "video_plays",
    "q_none",
    "q_poor",
    "q_fair",
    "q_good",
    "q_unknown",
    "first_found_sum",
    "first_found_count",
    "tracked_sum",
    "tracked_count",
    "losses_sum",
    "losses_count",
)


def upgrade() -> None:
    op.create_table(
        "rollup_hourly",
        sa.Column("ar_content_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("ar_content_id", "hour", "is_bot", name="pk_rollup_hourly"),
    )
    op.create_index("ix_rollup_hourly_company_id_hour", "rollup_hourly", ["company_id", "hour"])
    op.create_index("ix_rollup_hourly_project_id_hour", "rollup_hourly", ["project_id", "hour"])
    op.create_index("ix_rollup_hourly_hour", "rollup_hourly", ["hour"])
    op.create_table(
        "rollup_hourly_dims",
        sa.Column("ar_content_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "ar_content_id", "hour", "is_bot", "dimension", "value", name="pk_rollup_hourly_dims"
        ),
    )
    op.create_table(
        "rollup_daily_visitors",
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("humans", sa.Integer(), nullable=False),
        sa.Column("everyone", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("level", "entity_id", "day", name="pk_rollup_daily_visitors"),
    )
    op.create_table(
        "visitor_keys",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("visitor_hash", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "level", "entity_id", "scope", "visitor_hash", name="pk_visitor_keys"
        ),
    )


def downgrade() -> None:
    op.drop_table("visitor_keys")
    op.drop_table("rollup_daily_visitors")
    op.drop_table("rollup_hourly_dims")
    op.drop_index("ix_rollup_hourly_hour", table_name="rollup_hourly")
    op.drop_index("ix_rollup_hourly_project_id_hour", table_name="rollup_hourly")
    op.drop_index("ix_rollup_hourly_company_id_hour", table_name="rollup_hourly")
    op.drop_table("rollup_hourly")
