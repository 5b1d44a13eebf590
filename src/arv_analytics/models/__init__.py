"""All tables, imported here so that ``Base.metadata`` knows every one of them."""

from arv_analytics.models.api_token import APIToken
from arv_analytics.models.ar_content import ARContent
from arv_analytics.models.ar_diagnostic import DURATION_BUCKETS_MS, ARDiagnosticDaily
from arv_analytics.models.ar_view_session import CAMERA_OUTCOMES, TRACKING_QUALITIES, ARViewSession
from arv_analytics.models.audit_log import AuditLog
from arv_analytics.models.base import Base, utcnow
from arv_analytics.models.company import Company
from arv_analytics.models.daily_salt import DailySalt
from arv_analytics.models.dashboard_session import DashboardSession
from arv_analytics.models.job_run import JobRun
from arv_analytics.models.project import Project
from arv_analytics.models.rollup import (
    ROLLUP_KEYS,
    PropertyVisitorKey,
    RollupDailyVisitors,
    RollupDetail,
    RollupPropertyVisitors,
    RollupState,
    VisitorKey,
    rollup_stats,
)
from arv_analytics.models.share_link import ShareLink, ShareSession

__all__ = [
    "CAMERA_OUTCOMES",
    "DURATION_BUCKETS_MS",
    "ROLLUP_KEYS",
    "TRACKING_QUALITIES",
    "APIToken",
    "ARContent",
    "ARDiagnosticDaily",
    "ARViewSession",
    "AuditLog",
    "Base",
    "Company",
    "DailySalt",
    "DashboardSession",
    "JobRun",
    "Project",
    "PropertyVisitorKey",
    "RollupDailyVisitors",
    "RollupDetail",
    "RollupPropertyVisitors",
    "RollupState",
    "ShareLink",
    "ShareSession",
    "VisitorKey",
    "rollup_stats",
    "utcnow",
]
