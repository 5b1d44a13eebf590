"""What a question can group or filter by: time buckets, the hierarchy, and session properties.

The hierarchy (company → project → content) is defined here once: each level's name, its key
column on sessions, and its parents. Rollup rows and the raw executor both read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import InstrumentedAttribute

from arv_analytics.models.ar_view_session import ARViewSession

S = ARViewSession


@dataclass(frozen=True, slots=True)
class Level:
    """One level of the hierarchy, as rollup rows name it."""

    name: Literal["all", "company", "project", "content"]
    session_column: str | None  # None for "all"
    depth: int

    @property
    def column(self) -> InstrumentedAttribute[Any]:
        assert self.session_column is not None
        return getattr(S, self.session_column)  # type: ignore[no-any-return]


ALL = Level("all", None, 0)
COMPANY = Level("company", "company_id", 1)
PROJECT = Level("project", "project_id", 2)
CONTENT = Level("content", "ar_content_id", 3)
LEVELS = (COMPANY, PROJECT, CONTENT)  # the stored entity levels, parents first
ROLLUP_LEVELS = (ALL, COMPANY, PROJECT, CONTENT)
# The rollup layout. Rows pay off only where many views share a key: with 10,000 contents a
# content gets a view every few days, and per-content hour or property rows would hold about
# one view each (a copy of the session, ten times wider). So every level keeps UTC day totals
# (a content's daily series stays cheap however busy it is), and hour rows and per-property
# day rows exist down to projects, not per content: a campaign's page (a project: its
# breakdowns by country, device, source…, its weekday × hour heatmap) must stay fast when the
# campaign has millions of views a year, where reading its raw sessions takes seconds. A
# content-scoped breakdown or hour reads the raw sessions of that content, which its
# (content, created_at) index finds directly — unless the content is busy enough to have
# been given its own hour and property rows (rollups/detail.py).
DAY_LEVELS = ROLLUP_LEVELS
HOUR_LEVELS = (ALL, COMPANY, PROJECT)
BREAKDOWN_LEVELS = (ALL, COMPANY, PROJECT)
HIERARCHY = {"company": COMPANY, "project": PROJECT, "content": CONTENT}


@dataclass(frozen=True, slots=True)
class Property:
    """A session property that can be grouped by and filtered on."""

    name: str  # the API's name
    column: str  # the ar_view_sessions column
    description: str
    # Set by the start and never changed by an end or heartbeat (ingest.merge.END_RULES
    # changes the others): a visitor's value on a day is then known when the start is
    # written, so the write path can count unique visitors per value (VISITOR_PROPERTIES).
    fixed: bool = True

    @property
    def session_column(self) -> InstrumentedAttribute[Any]:
        return getattr(S, self.column)  # type: ignore[no-any-return]


PROPERTIES: dict[str, Property] = {
    p.name: p
    for p in (
        Property("device_type", "device_type", "mobile, tablet, desktop, bot or other"),
        Property("browser", "browser", "Browser family, from the user agent"),
        Property("os", "os", "Operating system family, from the user agent"),
        Property("country", "country", "ISO country code, from the address"),
        Property("city", "city", "City, when a city database is configured"),
        Property("tracking_quality", "tracking_quality", "none, poor, fair or good",
                 fixed=False),
        Property("camera_outcome", "camera_outcome",
                 "granted, denied, dismissed, unsupported or error", fixed=False),
        Property("source", "utm_source", "The viewer URL's utm_source"),
        Property("utm_medium", "utm_medium", "The viewer URL's utm_medium"),
        Property("utm_campaign", "utm_campaign", "The viewer URL's utm_campaign"),
        Property("placement", "placement",
                 "The viewer URL's src parameter: which printed placement was scanned"),
        Property("referrer", "referrer_host", "The referring page's host"),
    )
}  # fmt: skip

# Properties whose daily unique visitors per value are rolled up (rollup_property_visitors),
# at the company level and, as the sum of the companies, at the level "all".
VISITOR_PROPERTIES = tuple(p for p in PROPERTIES.values() if p.fixed)
VISITOR_LEVELS = (ALL, COMPANY)

TIME_GRANULARITIES = ("hour", "day", "week", "month", "weekday", "hour_of_day", "weekday_hour")
TIME_PREFIX = "time:"
MAX_VALUE = 100  # longest stored dimension value (the widest property column)


def property_value(row: Mapping[str, Any], prop: Property) -> str:
    """A session's value for a property as rollups store it: "" for no value."""
    value = row.get(prop.column)
    return "" if value is None else str(value)[:MAX_VALUE]


def all_dimension_names() -> list[str]:
    return [
        *(TIME_PREFIX + g for g in TIME_GRANULARITIES),
        *HIERARCHY,
        *PROPERTIES,
    ]
