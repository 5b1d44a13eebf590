"""A question to the analytics engine as plain, validated values.

``parse`` turns a request (schemas.QueryRequest) into a :class:`Query` once; executors and
the engine only ever see the validated value. Nothing here touches a database: the scope's
existence is checked by the engine, the caller's company restriction is part of the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arv_analytics.analytics.dimensions import (
    HIERARCHY,
    PROPERTIES,
    TIME_GRANULARITIES,
    TIME_PREFIX,
)
from arv_analytics.analytics.metrics import (
    ACCUMULATOR_NAMES,
    DEFAULT_METRICS,
    METRICS,
    accumulators_for,
)
from arv_analytics.analytics.periods import NAMED_PERIODS, Period, local_midnight, named
from arv_analytics.errors import InvalidInput

Op = Literal["is", "is_not", "contains"]
MAX_LIMIT = 10_000
MAX_DIMENSIONS = 3


@dataclass(frozen=True, slots=True)
class Filter:
    dimension: str  # a hierarchy level or a property name
    op: Op
    values: tuple[str, ...]  # hierarchy ids as decimal strings


@dataclass(frozen=True, slots=True)
class Query:
    period: Period
    tz: ZoneInfo
    now: datetime
    metrics: tuple[str, ...]
    time: str | None  # granularity of the time dimension, if any
    dimensions: tuple[str, ...]  # hierarchy levels and properties, in the order asked
    filters: tuple[Filter, ...]
    include_bots: bool
    company_scope: int | None  # the caller's token: only this company, or None for all
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = 1000
    offset: int = 0
    comparison: str | None = None
    # The request's scope as hierarchy filters already folded into ``filters``.
    scope: tuple[tuple[str, int], ...] = field(default=())
    # The compatible endpoints report raw accumulators no metric is computed from.
    all_accumulators: bool = False
    # The caller's project (a project share link): only this project. Like company_scope it
    # is the principal's, not the request's; it is folded into ``filters`` on construction,
    # so every executor restricts to it with the hierarchy filter code it already has, and
    # a Query restricted to a project cannot exist without that filter.
    project_scope: int | None = None
    # The caller accepts an answer from the servers that are up (ClickHouse shards) rather
    # than a 503 when one is down; the answer then says it is partial.
    partial: bool = False

    def __post_init__(self) -> None:
        if self.project_scope is None:
            return
        principal = Filter("project", "is", (str(self.project_scope),))
        if principal not in self.filters:
            # Frozen: this is construction, not mutation.
            object.__setattr__(self, "filters", (*self.filters, principal))

    @property
    def properties_used(self) -> set[str]:
        return {d for d in self.dimensions if d in PROPERTIES} | {
            f.dimension for f in self.filters if f.dimension in PROPERTIES
        }

    @property
    def accumulators(self) -> tuple[str, ...]:
        """The registry accumulators this question's metrics are computed from."""
        return ACCUMULATOR_NAMES if self.all_accumulators else accumulators_for(self.metrics)

    @property
    def needs_visitors(self) -> bool:
        return any(METRICS[m].needs_visitors for m in self.metrics)

    def with_period(self, period: Period) -> Query:
        return replace(self, period=period)


def _problem(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{name}: {message}", [{"field": name, "message": message}])


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _problem("timezone", f"unknown IANA time zone {name!r}") from exc


def _instant(value: date | datetime, tz: ZoneInfo, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    # A date means the whole local day: "to" includes it.
    return local_midnight(value + timedelta(days=1) if end else value, tz)


def period_of(
    name: str | None,
    since: date | datetime | None,
    until: date | datetime | None,
    tz: ZoneInfo,
    now: datetime,
    first_seen: datetime | None,
) -> Period:
    if since is not None or until is not None or name == "custom":
        if since is None or until is None:
            raise _problem("from" if since is None else "to", "a custom period needs both")
        start, end = _instant(since, tz, end=False), _instant(until, tz, end=True)
        if end <= start:
            raise _problem("to", "must be after from")
        if start > now:
            raise _problem("from", "the period starts in the future")
        return Period("custom", start, end)
    name = name or "30d"
    if name not in NAMED_PERIODS:
        raise _problem("period", f"unknown period {name!r}; one of {', '.join(NAMED_PERIODS)}")
    return named(name, tz, now, first_seen)


def split_dimensions(names: list[str]) -> tuple[str | None, tuple[str, ...]]:
    if len(names) > MAX_DIMENSIONS:
        raise _problem("dimensions", f"at most {MAX_DIMENSIONS} dimensions")
    if len(set(names)) != len(names):
        raise _problem("dimensions", "a dimension is named twice")
    time_dim: str | None = None
    others: list[str] = []
    for name in names:
        if name.startswith(TIME_PREFIX):
            granularity = name[len(TIME_PREFIX) :]
            if granularity not in TIME_GRANULARITIES:
                raise _problem(
                    "dimensions",
                    f"unknown time dimension {name!r}; one of "
                    + ", ".join(TIME_PREFIX + g for g in TIME_GRANULARITIES),
                )
            if time_dim is not None:
                raise _problem("dimensions", "at most one time dimension")
            time_dim = granularity
        elif name in HIERARCHY or name in PROPERTIES:
            others.append(name)
        else:
            raise _problem("dimensions", f"unknown dimension {name!r}")
    return time_dim, tuple(others)


def check_metrics(names: list[str] | None) -> tuple[str, ...]:
    chosen = tuple(names) if names else DEFAULT_METRICS
    for name in chosen:
        if name not in METRICS:
            raise _problem("metrics", f"unknown metric {name!r}; see GET /api/v1/schema")
    if len(set(chosen)) != len(chosen):
        raise _problem("metrics", "a metric is named twice")
    return chosen


def check_filter(dimension: str, op: str, values: list[str | int]) -> Filter:
    where = f"filters.{dimension}"
    if dimension not in HIERARCHY and dimension not in PROPERTIES:
        raise _problem(where, f"unknown dimension {dimension!r}; filters take a hierarchy "
                       "level or a property (time is chosen by the period)")  # fmt: skip
    if op not in ("is", "is_not", "contains"):
        raise _problem(where, f"unknown operator {op!r}; one of is, is_not, contains")
    if not values:
        raise _problem(where, "needs at least one value")
    if dimension in HIERARCHY:
        if op == "contains":
            raise _problem(where, "hierarchy levels are filtered by id with is or is_not")
        ids = []
        for v in values:
            text = str(v)
            if not text.isdigit() or not 1 <= int(text) < 2**53:
                raise _problem(where, f"{v!r} is not an id")
            ids.append(str(int(text)))
        return Filter(dimension, op, tuple(ids))  # type: ignore[arg-type]
    texts = []
    for v in values:
        if not isinstance(v, str) or not v or len(v) > 100:
            raise _problem(where, "values are non-empty strings of at most 100 characters")
        texts.append(v)
    return Filter(dimension, op, tuple(texts))  # type: ignore[arg-type]


def check_order(
    order_by: list[str] | None, metrics: tuple[str, ...], time_dim: str | None,
    dimensions: tuple[str, ...],
) -> tuple[tuple[str, bool], ...]:  # fmt: skip
    allowed = {*metrics, *dimensions, *([TIME_PREFIX + time_dim] if time_dim else [])}
    out = []
    for item in order_by or []:
        desc = item.startswith("-")
        name = item[1:] if desc else item
        if name not in allowed:
            raise _problem("order_by", f"{name!r} is neither a chosen metric nor a dimension")
        out.append((name, desc))
    return tuple(out)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
