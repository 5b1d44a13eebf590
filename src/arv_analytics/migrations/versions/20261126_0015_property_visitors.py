"""Unique visitors per breakdown value: ``rollup_property_visitors`` and its keys.

Daily unique visitors per company (and for all companies, as their sum) and per value of each
property a session gets at its start and keeps (device_type, browser, os, country, city,
source, utm_medium, utm_campaign, placement, referrer), so that a breakdown by one of them
with unique visitors is read from rollups, not from the sessions. ``property_visitor_keys``
holds who today's and yesterday's counters already counted, like ``visitor_keys``.

The upgrade fills both from the existing sessions here, with one GROUP BY per property (the
rest of the rollups stay as they are: no full recount), unless a recount is due anyway
(rollup_state.version 0, as after 0014 with sessions): the recount counts them too.
Sessions that processes still running the previous version write meanwhile are not in the
new counts; after a rolling upgrade, `arv-analytics rollup --from <upgrade day>` recounts
those days.

Revision ID: 0015_property_visitors
Revises: 0014_project_breakdowns
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0015_property_visitors"
down_revision: str | None = "0014_project_breakdowns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# API name → ar_view_sessions column (dimensions.VISITOR_PROPERTIES when this was written).
PROPERTIES = (
    ("device_type", "device_type"), ("browser", "browser"), ("os", "os"),
    ("country", "country"), ("city", "city"), ("source", "utm_source"),
    ("utm_medium", "utm_medium"), ("utm_campaign", "utm_campaign"),
    ("placement", "placement"), ("referrer", "referrer_host"),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "rollup_property_visitors",
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("property", sa.String(16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("humans", sa.Integer(), nullable=False),
        sa.Column("everyone", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "level", "entity_id", "property", "day", "value",
            name="pk_rollup_property_visitors",
        ),
    )  # fmt: skip
    op.create_table(
        "property_visitor_keys",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("property", sa.String(16), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("visitor_hash", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "company_id", "property", "value", "scope", "visitor_hash",
            name="pk_property_visitor_keys",
        ),
    )  # fmt: skip
    stale = op.get_bind().execute(sa.text("SELECT version FROM rollup_state WHERE id = 1"))
    if stale.scalar() != 0:  # at 0 a recount is due (0014), and it counts these rows too
        _fill()


def _fill() -> None:
    """The counters of every day and the keys of today and yesterday (UTC), from sessions."""
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(created_at AT TIME ZONE 'UTC' AS DATE)"
        recent_from = "CAST(:recent AS TIMESTAMPTZ)"
    else:
        day = "substr(created_at, 1, 10)"  # SQLite stores UTC text; a Date is 'YYYY-MM-DD'
        recent_from = ":recent"
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d 00:00:00")
    for name, column in PROPERTIES:
        value = f"COALESCE(substr({column}, 1, 100), '')"
        op.execute(
            sa.text(
                "INSERT INTO rollup_property_visitors "  # noqa: S608 - constants only
                "(level, entity_id, property, day, value, humans, everyone) "
                f"SELECT 'company', company_id, :name, {day}, {value}, "
                "count(DISTINCT CASE WHEN NOT is_bot THEN visitor_hash END), "
                "count(DISTINCT visitor_hash) "
                "FROM ar_view_sessions WHERE visitor_hash IS NOT NULL "
                f"GROUP BY company_id, {day}, {value}"
            ).bindparams(name=name)
        )
        for scope, human in (("everyone", ""), ("humans", " AND NOT is_bot")):
            op.execute(
                sa.text(
                    "INSERT INTO property_visitor_keys "  # noqa: S608 - constants only
                    "(day, company_id, property, value, scope, visitor_hash) "
                    f"SELECT DISTINCT {day}, company_id, :name, {value}, :scope, visitor_hash "
                    "FROM ar_view_sessions WHERE visitor_hash IS NOT NULL "
                    f"AND created_at >= {recent_from}{human}"
                ).bindparams(name=name, scope=scope, recent=recent)
            )
    op.execute(
        "INSERT INTO rollup_property_visitors "
        "(level, entity_id, property, day, value, humans, everyone) "
        "SELECT 'all', 0, property, day, value, sum(humans), sum(everyone) "
        "FROM rollup_property_visitors WHERE level = 'company' GROUP BY property, day, value"
    )


def downgrade() -> None:
    op.drop_table("property_visitor_keys")
    op.drop_table("rollup_property_visitors")
