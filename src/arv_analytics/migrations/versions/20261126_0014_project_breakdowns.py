"""Hour rows and per-property day rows for projects too: a campaign's breakdowns and its
weekday × hour heatmap come from the rollups.

No table changes: ``rollup_stats`` gains hour rows and per-property rows at the level
"project". They are filled by a recount: rollup_state.version is 0 when sessions exist, and
`arv-analytics db upgrade` / `serve --migrate` / `arv-analytics rollup` recount (until then
analytics are answered from the raw sessions, exactly, as before).

Revision ID: 0014_project_breakdowns
Revises: 0013_catalog_speed
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_project_breakdowns"
down_revision: str | None = "0013_catalog_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAYOUT_VERSION = 3  # rollups.state.CURRENT of this layout


def upgrade() -> None:
    # Sessions exist: the project rows must be counted before the rollups answer again.
    op.execute(
        sa.text(
            "UPDATE rollup_state SET version = CASE WHEN EXISTS "
            "(SELECT 1 FROM ar_view_sessions) THEN 0 ELSE :fresh END"
        ).bindparams(fresh=LAYOUT_VERSION)
    )


def downgrade() -> None:
    # The older layout has no project hour or property rows.
    op.execute(
        sa.text(
            "DELETE FROM rollup_stats WHERE level = 'project' AND (dimension <> '' OR grain = 'h')"
        )
    )
    op.execute(sa.text("UPDATE rollup_state SET version = 2 WHERE version >= 2"))
