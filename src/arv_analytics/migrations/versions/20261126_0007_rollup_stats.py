"""The analytics engine's rollups: one table of registry accumulators per grain × level.

Replaces rollup_hourly and rollup_hourly_dims (per content only, so an overview summed one row
per content and hour) with rollup_stats (UTC hours and days at the levels all, company,
project and content; days also per breakdown property), and gives rollup_daily_visitors the
parents of each entity. The new rows are filled by a recount: rollup_state.version is 0 when
sessions exist, and `arv-analytics db upgrade` / `serve --migrate` / `arv-analytics rollup`
recount (until then analytics are answered from the raw sessions).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
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
OLD_COUNTERS = (
    "views", "sessions", "duration_sum", "duration_count", "video_plays",
    "q_none", "q_poor", "q_fair", "q_good", "q_unknown",
    "first_found_sum", "first_found_count", "tracked_sum", "tracked_count",
    "losses_sum", "losses_count",
)  # fmt: skip


def _visitors_table(with_parents: bool) -> None:
    parents = (
        [
            sa.Column("company_id", sa.BigInteger(), nullable=False),
            sa.Column("project_id", sa.BigInteger(), nullable=False),
        ]
        if with_parents
        else []
    )
    op.create_table(
        "rollup_daily_visitors",
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *parents,
        sa.Column("humans", sa.Integer(), nullable=False),
        sa.Column("everyone", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("level", "entity_id", "day", name="pk_rollup_daily_visitors"),
    )
    if with_parents:
        op.create_index(
            "ix_rollup_daily_visitors_company_id_level_day",
            "rollup_daily_visitors",
            ["company_id", "level", "day"],
        )
        op.create_index(
            "ix_rollup_daily_visitors_project_id_level_day",
            "rollup_daily_visitors",
            ["project_id", "level", "day"],
        )


def _state(stale_if_sessions: bool) -> None:
    op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_state"),
    )
    version = "CASE WHEN EXISTS (SELECT 1 FROM ar_view_sessions) THEN 0 ELSE 1 END"
    op.execute(f"INSERT INTO rollup_state (id, version) SELECT 1, {version}")


def upgrade() -> None:
    op.drop_index("ix_rollup_hourly_hour", table_name="rollup_hourly")
    op.drop_index("ix_rollup_hourly_project_id_hour", table_name="rollup_hourly")
    op.drop_index("ix_rollup_hourly_company_id_hour", table_name="rollup_hourly")
    op.drop_table("rollup_hourly")
    op.drop_table("rollup_hourly_dims")
    op.drop_table("rollup_daily_visitors")
    _visitors_table(with_parents=True)
    # Visitor keys are re-made by the recount; the old ones would count visitors twice.
    op.execute("DELETE FROM visitor_keys")
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
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in ACCUMULATORS),
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
    _state(stale_if_sessions=True)


def downgrade() -> None:
    # The old tables come back empty; `arv-analytics rollup` of the older release refills them.
    op.drop_table("rollup_state")
    op.drop_index("ix_rollup_stats_project", table_name="rollup_stats")
    op.drop_index("ix_rollup_stats_company", table_name="rollup_stats")
    op.drop_table("rollup_stats")
    op.drop_index("ix_rollup_daily_visitors_project_id_level_day", "rollup_daily_visitors")
    op.drop_index("ix_rollup_daily_visitors_company_id_level_day", "rollup_daily_visitors")
    op.drop_table("rollup_daily_visitors")
    _visitors_table(with_parents=False)
    op.execute("DELETE FROM visitor_keys")
    op.create_table(
        "rollup_hourly",
        sa.Column("ar_content_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in OLD_COUNTERS),
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
