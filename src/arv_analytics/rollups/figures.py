"""The additive figures of ``rollup_hourly``, and how they are computed from raw sessions.

One definition serves the rollup recount (rebuild.py) and the raw side of every analytics
query (analytics/sql.py): if the two ever computed a figure differently, rollup answers would
stop equalling raw ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func

from arv_analytics.models import TRACKER_FIGURES, TRACKING_QUALITIES, ARViewSession
from arv_analytics.sql_functions import count_if

S = ARViewSession

FIGURES = (
    "views", "sessions", "duration_sum", "duration_count", "video_plays",
    *(f"q_{q}" for q in TRACKING_QUALITIES), "q_unknown",
    *(f"{p}_{part}" for p in TRACKER_FIGURES.values() for part in ("sum", "count")),
)  # fmt: skip


def session_aggregates(*, distinct_sessions: bool = False) -> list[ColumnElement[Any]]:
    """The aggregates over ``ar_view_sessions`` rows, in the order and with the names of
    FIGURES. ``distinct_sessions`` counts ``distinct session_id`` as the seed defines unique
    sessions; the additive form counts non-null ids (equal: session_id is unique)."""
    sessions = (
        func.count(func.distinct(S.session_id)) if distinct_sessions else func.count(S.session_id)
    )
    columns: list[ColumnElement[Any]] = [
        func.count(S.id),
        sessions,
        func.coalesce(func.sum(S.duration_seconds), 0),
        func.count(S.duration_seconds),
        count_if(S.video_played.is_(True)),
        *(count_if(S.tracking_quality == q) for q in TRACKING_QUALITIES),
        count_if(S.tracking_quality.is_(None)),
        *(
            agg
            for column in TRACKER_FIGURES
            for agg in (
                func.coalesce(func.sum(getattr(S, column)), 0),
                func.count(getattr(S, column)),
            )
        ),
    ]
    return [c.label(n) for c, n in zip(columns, FIGURES, strict=True)]
