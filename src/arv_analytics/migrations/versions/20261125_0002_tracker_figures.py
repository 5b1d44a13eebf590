"""Tracker figures on ar_view_sessions: time to first target found, tracked seconds, losses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("time_to_first_found_ms", "tracked_seconds", "target_losses")


def upgrade() -> None:
    # Nullable without defaults: existing rows never reported these figures, and NULL keeps
    # them out of the averages instead of pulling them towards zero.
    for name in COLUMNS:
        op.add_column("ar_view_sessions", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table (older SQLite cannot drop a column in place);
    # PostgreSQL runs plain ALTER TABLE … DROP COLUMN.
    with op.batch_alter_table("ar_view_sessions") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
