"""Dashboard sessions: the server side of the dashboard's sign-in cookie.

Revision ID: 0010_dashboard
Revises: 0009_catalog
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_dashboard"
down_revision: str | None = "0009_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("api_token_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_sessions"),
        sa.UniqueConstraint("session_hash", name="uq_dashboard_sessions_session_hash"),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_dashboard_sessions_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["api_token_id"],
            ["api_tokens.id"],
            name="fk_dashboard_sessions_api_token_id_api_tokens",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dashboard_sessions_api_token_id", "dashboard_sessions", ["api_token_id"])
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_index("ix_dashboard_sessions_api_token_id", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
