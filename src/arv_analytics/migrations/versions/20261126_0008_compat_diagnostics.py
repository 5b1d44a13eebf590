"""The original platform's AR diagnostics, kept as daily counts (see models/ar_diagnostic.py).

Revision ID: 0008_compat
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_compat"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = (("stage", 64), ("error", 100), ("browser", 50), ("os", 50))
COUNTERS = (
    "events",
    "duration_count",
    "duration_sum_ms",
    "ms_le_1000",
    "ms_le_3000",
    "ms_le_10000",
    "ms_le_30000",
    "ms_gt_30000",
)


def upgrade() -> None:
    op.create_table(
        "ar_diagnostics_daily",
        sa.Column("ar_content_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.String(length), nullable=False) for name, length in KEYS),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint(
            "ar_content_id", "day", *(name for name, _ in KEYS), name="pk_ar_diagnostics_daily"
        ),
    )
    op.create_index(
        "ix_ar_diagnostics_daily_company_id_day", "ar_diagnostics_daily", ["company_id", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_ar_diagnostics_daily_company_id_day", table_name="ar_diagnostics_daily")
    op.drop_table("ar_diagnostics_daily")
