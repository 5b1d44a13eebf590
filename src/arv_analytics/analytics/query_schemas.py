"""The query API's request and response bodies (POST /api/v1/query and friends)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from arv_analytics.analytics.dimensions import all_dimension_names
from arv_analytics.analytics.metrics import METRICS
from arv_analytics.analytics.periods import NAMED_PERIODS
from arv_analytics.params import JSON_INTEGER, IdValue


def _one_of(values: list[str]) -> Any:
    allowed = set(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown name {value!r}; one of {', '.join(values)}")
        return value

    return check


def _text_only(value: object) -> object:
    # JSON has no dates: only ISO text is one (pydantic would read 0 as 1970-01-01).
    if value is not None and not isinstance(value, str | date):
        raise ValueError("must be an ISO date or datetime string")
    return value


Moment = Annotated[date | datetime, BeforeValidator(_text_only)]

# Names documented as enums in the OpenAPI document (and checked), while staying defined
# once, in the registry: clients and generated code see every metric and dimension.
_METRICS = list(METRICS)
_DIMENSIONS = all_dimension_names()
_FILTERABLE = [n for n in _DIMENSIONS if ":" not in n]
_PERIODS = [*NAMED_PERIODS, "custom"]
MetricName = Annotated[
    str, Field(json_schema_extra={"enum": _METRICS}), AfterValidator(_one_of(_METRICS))
]
DimensionName = Annotated[
    str, Field(json_schema_extra={"enum": _DIMENSIONS}), AfterValidator(_one_of(_DIMENSIONS))
]
FilterDimension = Annotated[
    str, Field(json_schema_extra={"enum": _FILTERABLE}), AfterValidator(_one_of(_FILTERABLE))
]
PeriodName = Annotated[
    str, Field(json_schema_extra={"enum": _PERIODS}), AfterValidator(_one_of(_PERIODS))
]


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: IdValue | None = None
    project_id: IdValue | None = None
    content_id: IdValue | None = None


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: FilterDimension = Field(
        description="A hierarchy level (company, project, content: by id) or a property",
        examples=["country"],
    )
    op: Literal["is", "is_not", "contains"] = Field(
        description="`is`: one of the values; `is_not`: none of them (views without a value "
        "match); `contains`: the value contains one of them, case-insensitively"
    )
    values: list[str | int] = Field(min_length=1, max_length=100, examples=[["DE", "AT"]])


class QueryRequest(BaseModel):
    """A question. Only `metrics` is usual; everything has a default."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "period": "30d",
                    "metrics": ["views", "unique_visitors"],
                    "dimensions": ["time:day"],
                    "comparison": "previous_period",
                },
                {
                    "scope": {"company_id": 1},
                    "period": "7d",
                    "metrics": ["views", "video_play_rate"],
                    "dimensions": ["country"],
                    "filters": [{"dimension": "device_type", "op": "is", "values": ["mobile"]}],
                },
            ]
        },
    )

    scope: Scope | None = Field(default=None, description="One company, project or content")
    period: PeriodName | None = Field(
        default=None,
        description="One of " + ", ".join(NAMED_PERIODS) + " or custom (with from/to); "
        "default 30d. Named periods are whole local days ending with today",
    )
    from_: Moment | None = Field(
        default=None, alias="from", description="Start: a date (local midnight) or a datetime"
    )
    to: Moment | None = Field(
        default=None, description="End: a date (included, to local midnight after it) or a datetime"
    )
    timezone: str | None = Field(default=None, description="IANA time zone; default UTC")
    metrics: list[MetricName] | None = Field(
        default=None, description="Default views, unique_visitors", max_length=20
    )
    dimensions: list[DimensionName] = Field(
        default_factory=list,
        description="Up to 3: one of time:hour|day|week|month|weekday|hour_of_day and "
        "company, project, content or a property",
        examples=[["time:day"], ["country"], ["content", "device_type"]],
    )
    filters: list[FilterIn] = Field(default_factory=list, max_length=20)
    comparison: Literal["previous_period", "year_over_year"] | None = None
    include_bots: StrictBool = False
    order_by: list[str] | None = Field(
        default=None, description="Metric or dimension names; a leading - sorts descending"
    )
    limit: Annotated[int, JSON_INTEGER] = Field(default=1000, ge=1, le=10_000)
    offset: Annotated[int, JSON_INTEGER] = Field(default=0, ge=0, le=10_000_000)
    totals: StrictBool = Field(default=True, description="Also answer the totals of the question")
    partial: StrictBool = Field(
        default=False,
        description="On a ClickHouse cluster with a shard down, answer from the shards that "
        "are up (meta.partial, meta.unavailable_shards) instead of a 503 "
        "clickhouse_unavailable. No effect on SQL databases",
    )


class ResultRow(BaseModel):
    dimensions: dict[str, Any]
    metrics: dict[str, Any]
    comparison: dict[str, Any] | None = None
    change: dict[str, float | None] | None = Field(
        default=None, description="Percent change against the comparison; null without base"
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Names of hierarchy ids")


class PeriodOut(BaseModel):
    name: str
    since: datetime
    until: datetime
    timezone: str


class QueryMeta(BaseModel):
    period: PeriodOut
    comparison: PeriodOut | None
    source: str = Field(description="rollups, raw, rollups+raw or clickhouse: what answered")
    total_rows: int
    limit: int
    offset: int
    time_labels: list[Any] = Field(description="Every bucket of the time dimension, in order")
    warnings: list[str]
    metrics: dict[str, str] = Field(description="Each metric's definition")
    partial: bool = Field(
        default=False,
        description="True when shards did not answer (asked with partial: true): the figures "
        "leave out the sessions stored on them",
    )
    unavailable_shards: list[str] = Field(
        default_factory=list, description="The ClickHouse shards (host:port) that did not answer"
    )


class QueryResponse(BaseModel):
    results: list[ResultRow]
    totals: dict[str, Any]
    comparison_totals: dict[str, Any] | None = None
    meta: QueryMeta
