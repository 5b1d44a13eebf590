"""Tracking payloads. Strict where the seed's platform was lax: a wrong type is a 422."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from arv_analytics.params import JSON_INTEGER, STORABLE, IdValue

TrackingQuality = Literal["none", "poor", "fair", "good"]
MAX_USER_AGENT = 2048
ContentId = IdValue
# A JSON number (not a string or boolean), finite and non-negative. The upper bounds only
# refuse absurd values; the service clamps to ARV_MAX_SESSION_SECONDS.
Seconds = Annotated[float, Field(strict=True, ge=0, le=7 * 86_400, allow_inf_nan=False)]
Millis = Annotated[float, Field(strict=True, ge=0, le=7 * 86_400_000, allow_inf_nan=False)]
Losses = Annotated[int, Field(ge=0, le=100_000), JSON_INTEGER]


class TrackerFigures(BaseModel):
    """What the tracker measured about the AR experience; all optional, all visible time."""

    time_to_first_found_ms: Millis | None = Field(
        default=None,
        description="Visible milliseconds from opening the viewer to the first target found; "
        "stored once, later values are ignored",
    )
    tracked_seconds: Seconds | None = Field(
        default=None,
        description="Visible seconds with the target tracked so far; the stored value only grows",
    )
    target_losses: Losses | None = Field(
        default=None,
        description="Times the target was lost after being found; the stored value only grows",
    )


class _Event(TrackerFigures):
    # Unknown keys are ignored so that a newer tracker can talk to an older server.
    model_config = ConfigDict(extra="ignore")


class StartEvent(_Event):
    """A viewer page load. Identify the content by one of the three ids (several must agree)."""

    # The rule "at least one of the three, not null" stated in the document too.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [key], "properties": {key: {"not": {"type": "null"}}}}
                for key in ("portrait_id", "ar_content_id", "ar_content_unique_id")
            ]
        }
    )

    portrait_id: ContentId | None = Field(
        default=None, description="The original platform's name for ar_content.id"
    )
    ar_content_id: ContentId | None = None
    ar_content_unique_id: uuid.UUID | None = Field(
        default=None, description="ar_content.unique_id, the public id in viewer URLs"
    )
    session_id: uuid.UUID | None = Field(
        default=None, description="Idempotency key made by the tracker; generated when absent"
    )
    user_agent: Annotated[str, Field(max_length=MAX_USER_AGENT), STORABLE] | None = None
    device_type: Annotated[str, Field(max_length=50), STORABLE] | None = None
    browser: Annotated[str, Field(max_length=100), STORABLE] | None = None
    os: Annotated[str, Field(max_length=100), STORABLE] | None = None
    tracking_quality: TrackingQuality | None = None
    video_played: StrictBool = False

    @model_validator(mode="after")
    def _one_content_reference(self) -> StartEvent:
        if (
            self.portrait_id is None
            and self.ar_content_id is None
            and (self.ar_content_unique_id is None)
        ):
            raise ValueError(
                "one of portrait_id, ar_content_id or ar_content_unique_id is required"
            )
        return self

    @property
    def content_id(self) -> int | None:
        return self.ar_content_id if self.ar_content_id is not None else self.portrait_id


class EndEvent(_Event):
    """A heartbeat or the final end of a view: the same call, idempotent."""

    duration_seconds: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] = Field(
        description="Visible seconds so far; the stored value only grows"
    )
    tracking_quality: TrackingQuality | None = None
    video_played: StrictBool | None = None


class StartResponse(BaseModel):
    status: Literal["tracked", "ignored"] = Field(
        default="tracked", description="`ignored`: a bot, dropped because ARV_STORE_BOTS=false"
    )
    session_id: uuid.UUID


class EndResponse(BaseModel):
    status: Literal["updated"] = "updated"
    session_id: uuid.UUID
    duration_seconds: int | None
    video_played: bool
    tracked_seconds: int | None = None
    target_losses: int | None = None
    time_to_first_found_ms: int | None = None
