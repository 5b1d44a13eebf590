"""Payloads and answers of the original platform's routes, typed where it took any dict."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from arv_analytics.ingest.rules import MAX_USER_AGENT, TrackingQuality
from arv_analytics.ingest.schemas import EndReport

TAG = "original platform"
KEPT = (
    "Kept for the original ARV platform's clients (deployed viewer pages, its iOS app, its "
    "admin pages), which cannot be changed; new clients use the canonical route instead: "
)


class MobileSessionStart(BaseModel):
    """What the original viewer and iOS app send when a view starts."""

    # The original took any keys; unknown ones (device_model, ip_address, …) are ignored.
    model_config = ConfigDict(extra="ignore")

    session_id: uuid.UUID = Field(description="Made by the viewer per page load")
    ar_content_unique_id: uuid.UUID = Field(description="ar_content.unique_id")
    user_agent: Annotated[str, Field(max_length=MAX_USER_AGENT)] | None = None
    device_type: Annotated[str, Field(max_length=50)] | None = None
    browser: Annotated[str, Field(max_length=100)] | None = None
    os: Annotated[str, Field(max_length=100)] | None = None
    tracking_quality: TrackingQuality | None = None
    video_played: StrictBool = False


class MobileSessionStarted(BaseModel):
    status: Literal["created", "exists", "ignored"] = Field(
        description="`created`: stored now; `exists`: this session_id was already stored "
        "(nothing changed); `ignored`: a bot with ARV_STORE_BOTS=false, or a browser that "
        "sent Global Privacy Control (`Sec-GPC: 1`) with ARV_RESPECT_GPC=true"
    )
    session_id: uuid.UUID


class MobileUpdate(EndReport):
    """The original viewer's beacon: the session in the body, every figure optional."""

    session_id: uuid.UUID


class Ignored(BaseModel):
    status: Literal["ignored"] = Field(
        description="Global Privacy Control (`Sec-GPC: 1`) with ARV_RESPECT_GPC=true: "
        "nothing was stored"
    )
    session_id: uuid.UUID


Stage = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Diagnostic(BaseModel):
    """A timing or failure of the AR start, sent by the original viewer with ?diagnose=1."""

    model_config = ConfigDict(
        extra="ignore",
        # The rule "event or stage, not null" stated in the document too.
        json_schema_extra={
            "anyOf": [
                {"required": [key], "properties": {key: {"not": {"type": "null"}}}}
                for key in ("event", "stage")
            ]
        },
    )

    event: Stage | None = Field(default=None, description="The stage, e.g. `mindar_start`")
    stage: Stage | None = Field(default=None, description="Older name of `event`")
    duration_ms: (
        Annotated[float, Field(strict=True, ge=0, le=86_400_000, allow_inf_nan=False)] | None
    ) = Field(default=None, description="How long the stage took")
    ar_content_unique_id: uuid.UUID = Field(description="ar_content.unique_id")
    user_agent: Annotated[str, Field(max_length=MAX_USER_AGENT)] | None = Field(
        default=None, description="Used only when the request has no User-Agent header"
    )
    error: Annotated[str, Field(max_length=4096)] | None = Field(
        default=None, description="The failure, if the stage failed"
    )

    @model_validator(mode="after")
    def _one_stage(self) -> Diagnostic:
        if self.event is None and self.stage is None:
            raise ValueError("one of event or stage is required")
        return self

    @property
    def stage_name(self) -> str:
        return self.event or self.stage or ""


class DiagnosticRecorded(BaseModel):
    status: Literal["ok", "ignored"] = Field(
        description="`ignored`: a bot, or Global Privacy Control with ARV_RESPECT_GPC=true"
    )
