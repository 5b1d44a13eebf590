"""Analytics responses. Keys of the original platform are kept; the rest are additions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TrackingQualityCounts(BaseModel):
    none: int = Field(description="Target never found")
    poor: int = Field(description="Tracked < 25% of visible time")
    fair: int = Field(description="Tracked 25–75% of visible time")
    good: int = Field(description="Tracked ≥ 75% of visible time")
    unknown: int = Field(description="No quality reported")


class Window(BaseModel):
    window_days: int
    since: datetime = Field(description="Start of the window (inclusive), UTC")
    until: datetime = Field(description="Time of the query, UTC")


class Metrics(Window):
    include_bots: bool = Field(description="Whether bot sessions are counted (?include_bots)")
    unique_sessions: int = Field(description="count(distinct session_id) in the window")
    unique_visitors: int = Field(
        description="Sum over the window's UTC days of each day's unique visitors (visitors are "
        "keyed by a daily salt, so one person on three days counts three times)"
    )
    avg_duration_seconds: float | None = Field(
        description="Mean visible seconds over the views that reported a duration"
    )
    sessions_with_duration: int
    video_plays: int
    video_play_rate: float | None = Field(
        description="Views with video_played ÷ views; null when there are no views"
    )
    tracking_quality: TrackingQualityCounts
    avg_time_to_first_found_ms: float | None = Field(
        description="Mean visible ms from opening the viewer to the first target found, over "
        "the views that found it; null when none did"
    )
    sessions_with_target_found: int = Field(description="Views that found the target")
    avg_tracked_seconds: float | None = Field(
        description="Mean visible seconds with the target tracked, over the views whose tracker "
        "reported tracking figures; null when none did"
    )
    avg_target_losses: float | None = Field(
        description="Mean number of times the target was lost after being found, over the same "
        "views as avg_tracked_seconds"
    )
    sessions_with_tracking_figures: int = Field(
        description="Views whose tracker reported tracked seconds and losses"
    )
    # The engine's metrics (GET /api/v1/schema defines each), beyond the original keys.
    views: int = Field(default=0, description="Views in the window")
    median_duration_seconds: float | None = None
    target_found: int = 0
    target_found_rate: float | None = None
    median_time_to_first_found_ms: float | None = None
    target_losses_per_session: float | None = None
    camera_granted: int = 0
    camera_granted_rate: float | None = None
    median_camera_ms: float | None = None
    median_video_start_ms: float | None = None


class Overview(Metrics):
    total_views: int
    active_content: int = Field(description="Active AR content (with active project and company)")
    active_projects: int = Field(description="Active projects (with an active company) in scope")
    active_companies: int = Field(description="Active companies in scope")


class _Entity(Metrics):
    views_30_days: int = Field(
        description="Views in the window (named for the default 30-day window; follows ?days=)"
    )


class CompanyAnalytics(_Entity):
    company_id: int


class ProjectAnalytics(_Entity):
    project_id: int
    company_id: int


class ContentAnalytics(_Entity):
    ar_content_id: int
    project_id: int
    company_id: int
