"""Rollups that stay small in a big catalog: NULL counters, hour and breakdown rows only at
the shared levels.

``rollup_stats`` is recreated with nullable counters (NULL stands for 0; PostgreSQL stores a
NULL as one bit instead of eight bytes) and from now on holds hour rows and per-property day
rows only at the levels "all" and "company" (project and content levels keep day totals), and
rollup_daily_visitors gains the level "all" (the sum of the companies' daily visitors). The
rows are refilled by a recount: rollup_state.version is 0 when sessions exist, and `arv-analytics
db upgrade` / `serve --migrate` / `arv-analytics rollup` recount (until then analytics are
answered from the raw sessions).

Revision ID: 0011_rollup_layout
Revises: 0010_dashboard
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_rollup_layout"
down_revision: str | None = "0010_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
HISTOGRAMS = (("dur_h", 20), ("ff_h", 16), ("cam_h", 16), ("vid_h", 16))
ACCUMULATORS = (
    "views", "sessions", "duration_sum", "duration_n", "plays",
    "q_none", "q_poor", "q_fair", "q_good", "q_unknown",
    "found", "found_ms_sum", "reports", "tracked_sum", "tracked_n", "losses_sum", "losses_n",
    "camera_n", "camera_granted", "video_started",
    *(f"{prefix}_{i}" for prefix, n in HISTOGRAMS for i in range(n)),
)  # fmt: skip
LAYOUT_VERSION = 2  # rollups.state.CURRENT of this layout


def _create(nullable: bool) -> None:
    counters = (
        sa.Column(name, sa.BigInteger(), nullable=True)
        if nullable
        else sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
        for name in ACCUMULATORS
    )
    op.create_table(
        "rollup_stats",
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("bucket", TS, nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        *counters,
        sa.PrimaryKeyConstraint(
            "level", "entity_id", "grain", "dimension", "bucket", "value", "is_bot",
            name="pk_rollup_stats",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_rollup_stats_company",
        "rollup_stats",
        ["company_id", "level", "grain", "dimension", "bucket"],
    )
    op.create_index(
        "ix_rollup_stats_project",
        "rollup_stats",
        ["project_id", "level", "grain", "dimension", "bucket"],
    )


def _drop() -> None:
    op.drop_index("ix_rollup_stats_project", table_name="rollup_stats")
    op.drop_index("ix_rollup_stats_company", table_name="rollup_stats")
    op.drop_table("rollup_stats")


def _stale(fresh_version: int) -> None:
    # Sessions exist: the rows must be recounted before the rollups answer again.
    op.execute(
        sa.text(
            "UPDATE rollup_state SET version = CASE WHEN EXISTS "
            "(SELECT 1 FROM ar_view_sessions) THEN 0 ELSE :fresh END"
        ).bindparams(fresh=fresh_version)
    )


def upgrade() -> None:
    _drop()
    _create(nullable=True)
    _stale(LAYOUT_VERSION)


def downgrade() -> None:
    # The older release's layout, refilled by its `arv-analytics rollup`; it has no daily
    # visitor rows at the level "all".
    op.execute("DELETE FROM rollup_daily_visitors WHERE level = 'all'")
    _drop()
    _create(nullable=False)
    _stale(1)
