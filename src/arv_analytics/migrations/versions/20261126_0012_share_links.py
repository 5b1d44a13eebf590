"""Share links: read-only dashboard links for one company or project, and their sessions.

Revision ID: 0012_share_links
Revises: 0011_rollup_layout
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_share_links"
down_revision: str | None = "0011_rollup_layout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_share_links"),
        sa.UniqueConstraint("secret_hash", name="uq_share_links_secret_hash"),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_share_links_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_share_links_project_id_projects",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_share_links_company_id", "share_links", ["company_id"])
    op.create_table(
        "share_sessions",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("share_link_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_share_sessions"),
        sa.UniqueConstraint("session_hash", name="uq_share_sessions_session_hash"),
        sa.ForeignKeyConstraint(
            ["share_link_id"],
            ["share_links.id"],
            name="fk_share_sessions_share_link_id_share_links",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_share_sessions_share_link_id", "share_sessions", ["share_link_id"])
    op.create_index("ix_share_sessions_expires_at", "share_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_share_sessions_expires_at", table_name="share_sessions")
    op.drop_index("ix_share_sessions_share_link_id", table_name="share_sessions")
    op.drop_table("share_sessions")
    op.drop_index("ix_share_links_company_id", table_name="share_links")
    op.drop_table("share_links")
