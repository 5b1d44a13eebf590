"""Initial schema: companies, projects, ar_content, ar_view_sessions, api_tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 64-bit keys on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _catalog_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        *_catalog_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_companies"),
        sa.UniqueConstraint("slug", name="uq_companies_slug"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_api_tokens_company_id_companies",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_company_id", "api_tokens", ["company_id"])

    op.create_table(
        "projects",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        *_catalog_columns(),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_projects_company_id_companies",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("company_id", "slug", name="uq_projects_company_id_slug"),
        sa.UniqueConstraint("id", "company_id", name="uq_projects_id_company_id"),
    )
    op.create_table(
        "ar_content",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("unique_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("video_url", sa.String(2048), nullable=True),
        sa.Column("marker_url", sa.String(2048), nullable=True),
        *_catalog_columns(),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_ar_content_company_id_companies",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id", "company_id"],
            ["projects.id", "projects.company_id"],
            name="fk_ar_content_project_company",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ar_content"),
        sa.UniqueConstraint("unique_id", name="uq_ar_content_unique_id"),
    )
    op.create_index("ix_ar_content_company_id", "ar_content", ["company_id"])
    op.create_index("ix_ar_content_project_id", "ar_content", ["project_id"])

    op.create_table(
        "ar_view_sessions",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("ar_content_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("user_agent", sa.String(), nullable=True),
        sa.Column("device_type", sa.String(50), nullable=True),
        sa.Column("browser", sa.String(100), nullable=True),
        sa.Column("os", sa.String(100), nullable=True),
        sa.Column("ip_address", sa.String(64), nullable=True),
        sa.Column("country", sa.String(100), nullable=True),
        sa.Column("city", sa.String(100), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("tracking_quality", sa.String(50), nullable=True),
        sa.Column("video_played", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ar_content_id"],
            ["ar_content.id"],
            name="fk_ar_view_sessions_ar_content_id_ar_content",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name="fk_ar_view_sessions_company_id_companies",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_ar_view_sessions_project_id_projects",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ar_view_sessions"),
        sa.UniqueConstraint("session_id", name="uq_ar_view_sessions_session_id"),
    )
    for name, cols in _SESSION_INDEXES.items():
        op.create_index(name, "ar_view_sessions", cols)


_SESSION_INDEXES = {
    "ix_ar_view_sessions_company_id_created_at": ["company_id", "created_at"],
    "ix_ar_view_sessions_project_id_created_at": ["project_id", "created_at"],
    "ix_ar_view_sessions_ar_content_id_created_at": ["ar_content_id", "created_at"],
    "ix_ar_view_sessions_created_at": ["created_at"],
}


def downgrade() -> None:
    for name in _SESSION_INDEXES:
        op.drop_index(name, table_name="ar_view_sessions")
    op.drop_table("ar_view_sessions")
    op.drop_index("ix_ar_content_project_id", table_name="ar_content")
    op.drop_index("ix_ar_content_company_id", table_name="ar_content")
    op.drop_table("ar_content")
    op.drop_table("projects")
    op.drop_index("ix_api_tokens_company_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("companies")
