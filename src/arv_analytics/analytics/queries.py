"""Every analytics number comes from here: one SQL statement per endpoint (see ``sql.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.sql import (
    COMPANY,
    CONTENT,
    PROJECT,
    Level,
    Query,
    entity_statement,
    overview_statement,
)
from arv_analytics.models import TRACKER_FIGURES, TRACKING_QUALITIES
from arv_analytics.rollups.figures import FIGURES

__all__ = ["COMPANY", "CONTENT", "PROJECT", "Level", "Query", "Totals", "entity", "overview"]


@dataclass(frozen=True, slots=True)
class Totals:
    views: int
    unique_sessions: int
    unique_visitors: int
    duration_sum: int
    duration_count: int
    video_plays: int
    quality: dict[str, int]  # none/poor/fair/good/unknown
    # (sum, count of non-NULL) of each tracker figure, for averages over the views reporting it.
    figures: dict[str, tuple[int, int]]


def _totals(row: Any) -> Totals:
    m = row._mapping
    v = {n: int(m[n] or 0) for n in (*FIGURES, "visitors")}
    quality = {q: v[f"q_{q}"] for q in (*TRACKING_QUALITIES, "unknown")}
    figures = {
        column: (v[f"{prefix}_sum"], v[f"{prefix}_count"])
        for column, prefix in TRACKER_FIGURES.items()
    }
    return Totals(
        v["views"], v["sessions"], v["visitors"], v["duration_sum"], v["duration_count"],
        v["video_plays"], quality, figures,
    )  # fmt: skip


async def overview(session: AsyncSession, q: Query, *, rollups: bool) -> tuple[Totals, int]:
    row = (await session.execute(overview_statement(q, rollups=rollups))).one()
    return _totals(row), int(row._mapping["active_content"])


async def entity(
    session: AsyncSession, q: Query, *, rollups: bool
) -> tuple[dict[str, int], Totals] | None:
    assert q.level is not None
    row = (await session.execute(entity_statement(q, rollups=rollups))).first()
    if row is None:
        return None
    ids = dict(
        zip(
            ("id", *q.level.parents), (int(x) for x in row[: 1 + len(q.level.parents)]), strict=True
        )
    )
    return ids, _totals(row)
