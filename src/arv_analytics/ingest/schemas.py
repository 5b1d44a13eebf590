"""Tracking payloads. Strict where the seed's platform was lax: a wrong type is a 422."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from arv_analytics.ingest.rules import (
    MAX_DEVICE_TYPE,
    MAX_NAME,
    MAX_USER_AGENT,
    Duration,
    TrackingQuality,
)
from arv_analytics.params import JSON_INTEGER, MAX_ID, STORABLE, IdValue

CameraOutcome = Literal["granted", "denied", "dismissed", "unsupported", "error"]
MAX_LABEL = 100  # the columns of sources and engine errors are String(100)
MAX_REFERRER = 2048


def _blank_is_none(value: str) -> str | None:
    # `?utm_source=` is an empty parameter, not a source called "".
    return value.strip(" ") or None


# A short label read from a URL or an error: printable, at most 100 characters. Control
# characters are refused (PostgreSQL text cannot even hold NUL); blank means "not given".
Label = Annotated[
    str,
    StringConstraints(max_length=MAX_LABEL, pattern=r"^[^\x00-\x1f\x7f]*$"),
    AfterValidator(_blank_is_none),
]
ContentId = IdValue
# A JSON number (not a string or boolean), finite and non-negative. The upper bounds only
# refuse absurd values; the service clamps to ARV_MAX_SESSION_SECONDS.
Seconds = Annotated[float, Field(strict=True, ge=0, le=7 * 86_400, allow_inf_nan=False)]
Millis = Annotated[float, Field(strict=True, ge=0, le=7 * 86_400_000, allow_inf_nan=False)]
Losses = Annotated[int, Field(ge=0, le=100_000), JSON_INTEGER]

# A URL or a host, without spaces or control characters; see ingest/sources.py.
Referrer = Annotated[
    str, StringConstraints(max_length=MAX_REFERRER, pattern=r"^[^\x00-\x20\x7f]*$")
]


def _portrait_id(value: object) -> int | uuid.UUID:
    # One rule and one message rather than a union's two (its errors name each member).
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= MAX_ID:
            return value
    elif isinstance(value, float) and value.is_integer() and 1 <= value <= MAX_ID:
        return int(value)
    raise ValueError(f"must be an id (a JSON integer 1–{MAX_ID}) or a unique_id (a UUID string)")


PortraitId = Annotated[
    int | uuid.UUID,
    PlainValidator(_portrait_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                {"type": "string", "format": "uuid"},
            ]
        }
    ),
]


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
    camera_outcome: CameraOutcome | None = Field(
        default=None,
        description="How the camera request ended: `granted`, `denied` (refused), `dismissed` "
        "(prompt closed without a choice), `unsupported` (no camera API or no WebGL), `error` "
        "(anything else, the AR engine failing to start included); the latest report wins",
    )
    camera_ms: Millis | None = Field(
        default=None,
        description="Visible milliseconds from opening the viewer until the camera outcome was "
        "known; stored once, later values are ignored",
    )
    engine_error: Label | None = Field(
        default=None,
        description="Why the AR engine failed to start: a short code or message; stored once",
    )
    video_start_ms: Millis | None = Field(
        default=None,
        description="Visible milliseconds from opening the viewer until the video first "
        "played; stored once, later values are ignored",
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

    # The original platform's viewers send the content's unique_id here; other clients its id.
    portrait_id: PortraitId | None = Field(
        default=None,
        description="The original platform's name for the content: ar_content.id, or "
        "ar_content.unique_id (a UUID string), as its viewers send it",
    )
    ar_content_id: ContentId | None = None
    ar_content_unique_id: uuid.UUID | None = Field(
        default=None, description="ar_content.unique_id, the public id in viewer URLs"
    )
    session_id: uuid.UUID | None = Field(
        default=None, description="Idempotency key made by the tracker; generated when absent"
    )
    user_agent: Annotated[str, Field(max_length=MAX_USER_AGENT), STORABLE] | None = None
    device_type: Annotated[str, Field(max_length=MAX_DEVICE_TYPE), STORABLE] | None = None
    browser: Annotated[str, Field(max_length=MAX_NAME), STORABLE] | None = None
    os: Annotated[str, Field(max_length=MAX_NAME), STORABLE] | None = None
    tracking_quality: TrackingQuality | None = None
    video_played: StrictBool = False
    utm_source: Label | None = Field(default=None, description="The viewer URL's utm_source")
    utm_medium: Label | None = Field(default=None, description="The viewer URL's utm_medium")
    utm_campaign: Label | None = Field(default=None, description="The viewer URL's utm_campaign")
    src: Label | None = Field(
        default=None,
        description="The viewer URL's `src` parameter naming the printed placement "
        "(e.g. `metro-12`); stored as `placement`",
    )
    placement: Label | None = Field(
        default=None, description="Another name for `src`; `src` wins when both are given"
    )
    referrer: Referrer | None = Field(
        default=None,
        description="The referring page's URL or host; only its host is stored, lower-cased, "
        "without port and leading `www.`",
        examples=["https://www.instagram.com/", "l.facebook.com"],
    )

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
        if self.ar_content_id is not None:
            return self.ar_content_id
        return self.portrait_id if isinstance(self.portrait_id, int) else None

    @property
    def unique_id(self) -> uuid.UUID | None:
        if self.ar_content_unique_id is not None:
            return self.ar_content_unique_id
        return self.portrait_id if isinstance(self.portrait_id, uuid.UUID) else None

    @property
    def placement_label(self) -> str | None:
        return self.src if self.src is not None else self.placement


class EndReport(_Event):
    """What an end may change; the duration optional (the original platform's update)."""

    duration_seconds: Duration | None = Field(
        default=None, description="Visible seconds so far; the stored value only grows"
    )
    tracking_quality: TrackingQuality | None = None
    video_played: StrictBool | None = None


class EndEvent(EndReport):
    """A heartbeat or the final end of a view: the same call, idempotent."""

    duration_seconds: Duration = Field(
        description="Visible seconds so far; the stored value only grows"
    )


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
    camera_outcome: CameraOutcome | None = None
    camera_ms: int | None = None
    engine_error: str | None = None
    video_start_ms: int | None = None
