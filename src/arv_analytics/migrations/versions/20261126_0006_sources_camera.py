"""Where a view came from and how the AR start went: sources and camera outcome on sessions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Nullable without defaults: older rows and older trackers never reported them.
STRINGS = (
    ("utm_source", 100),
    ("utm_medium", 100),
    ("utm_campaign", 100),
    ("placement", 100),
    ("referrer_host", 100),
    ("camera_outcome", 16),
    ("engine_error", 100),
)
INTEGERS = ("camera_ms", "video_start_ms")


def upgrade() -> None:
    for name, length in STRINGS:
        op.add_column("ar_view_sessions", sa.Column(name, sa.String(length), nullable=True))
    for name in INTEGERS:
        op.add_column("ar_view_sessions", sa.Column(name, sa.Integer(), nullable=True))
    # Realtime ("viewing now") asks for sessions with a start or heartbeat in the last minutes.
    op.create_index("ix_ar_view_sessions_updated_at", "ar_view_sessions", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_ar_view_sessions_updated_at", table_name="ar_view_sessions")
    with op.batch_alter_table("ar_view_sessions") as batch:
        for name in reversed(INTEGERS):
            batch.drop_column(name)
        for name, _ in reversed(STRINGS):
            batch.drop_column(name)
