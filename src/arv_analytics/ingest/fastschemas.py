"""The tracking payloads as msgspec structs: the fast path's decoder (ingest/fastpath.py).

These accept a SUBSET of what the pydantic schemas (ingest/schemas.py, compat/schemas.py)
accept, never more: strict types, the same bounds and lengths, and the pattern rules checked
after decoding. A body they refuse is not answered here: the fast path hands it to the FastAPI
route, whose pydantic schema then accepts it (a lax form: ``5.0`` as an id, a UUID in braces)
or names the problem with the documented 422. So the error bodies are those of one code path,
and a body is never accepted here that the schema would refuse.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from arv_analytics.compat.schemas import MobileUpdate
from arv_analytics.ingest.rules import MAX_DEVICE_TYPE, MAX_NAME, MAX_USER_AGENT
from arv_analytics.ingest.schemas import MAX_LABEL, MAX_REFERRER, EndEvent, StartEvent
from arv_analytics.params import MAX_ID

Quality = Literal["none", "poor", "fair", "good"]
Camera = Literal["granted", "denied", "dismissed", "unsupported", "error"]
Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Millis = Annotated[float, msgspec.Meta(ge=0, le=7 * 86_400_000)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=7 * 86_400)]
Losses = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Duration = Annotated[float, msgspec.Meta(ge=0)]
UserAgent = Annotated[str, msgspec.Meta(max_length=MAX_USER_AGENT)]
DeviceType = Annotated[str, msgspec.Meta(max_length=MAX_DEVICE_TYPE)]
Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
Label = Annotated[str, msgspec.Meta(max_length=MAX_LABEL)]
Referrer = Annotated[str, msgspec.Meta(max_length=MAX_REFERRER)]

# The pydantic patterns, checked by hand: Python's "$" also matches before a final newline,
# where the schemas' (Rust) regexes do not.
_LABEL_REFUSED = re.compile(r"[\x00-\x1f\x7f]")
_REFERRER_REFUSED = re.compile(r"[\x00-\x20\x7f]")
_LABELS = ("utm_source", "utm_medium", "utm_campaign", "src", "placement", "engine_error")


class _Figures(msgspec.Struct, kw_only=True):
    time_to_first_found_ms: Millis | None = None
    tracked_seconds: Seconds | None = None
    target_losses: Losses | None = None
    camera_outcome: Camera | None = None
    camera_ms: Millis | None = None
    engine_error: Label | None = None
    video_start_ms: Millis | None = None


class Start(_Figures, kw_only=True):
    portrait_id: Id | uuid.UUID | None = None
    ar_content_id: Id | None = None
    ar_content_unique_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    user_agent: UserAgent | None = None
    device_type: DeviceType | None = None
    browser: Name | None = None
    os: Name | None = None
    tracking_quality: Quality | None = None
    video_played: bool = False
    utm_source: Label | None = None
    utm_medium: Label | None = None
    utm_campaign: Label | None = None
    src: Label | None = None
    placement: Label | None = None
    referrer: Referrer | None = None


class End(_Figures, kw_only=True):
    duration_seconds: Duration
    tracking_quality: Quality | None = None
    video_played: bool | None = None


class MobileStart(msgspec.Struct, kw_only=True):
    session_id: uuid.UUID
    ar_content_unique_id: uuid.UUID
    user_agent: UserAgent | None = None
    device_type: DeviceType | None = None
    browser: Name | None = None
    os: Name | None = None
    tracking_quality: Quality | None = None
    video_played: bool = False


class MobileEnd(_Figures, kw_only=True):
    session_id: uuid.UUID
    duration_seconds: Duration | None = None
    tracking_quality: Quality | None = None
    video_played: bool | None = None


_START = msgspec.json.Decoder(Start)
_END = msgspec.json.Decoder(End)
_MOBILE_START = msgspec.json.Decoder(MobileStart)
_MOBILE_END = msgspec.json.Decoder(MobileEnd)


T = TypeVar("T")


def _decode(decoder: msgspec.json.Decoder[T], raw: bytes) -> T | None:
    # NUL anywhere (escaped or not) goes to the schema, whose 422 names the field.
    if b"\\u0000" in raw or b"\x00" in raw:
        return None
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def _figures(event: _Figures) -> dict[str, Any] | None:
    """The tracker's figures as the schema gives them, or None when a rule is broken."""
    error = event.engine_error
    if error is not None:
        if _LABEL_REFUSED.search(error):
            return None
        error = error.strip(" ") or None  # blank is "not given" (schemas._blank_is_none)
    return {
        "time_to_first_found_ms": event.time_to_first_found_ms,
        "tracked_seconds": event.tracked_seconds,
        "target_losses": event.target_losses,
        "camera_outcome": event.camera_outcome,
        "camera_ms": event.camera_ms,
        "engine_error": error,
        "video_start_ms": event.video_start_ms,
    }


def start_event(raw: bytes) -> StartEvent | None:
    """The canonical start as the schema would give it, or None: let the schema answer."""
    event = _decode(_START, raw)
    if event is None:
        return None
    if (
        event.portrait_id is None
        and event.ar_content_id is None
        and (event.ar_content_unique_id is None)
    ):
        return None
    figures = _figures(event)
    if figures is None:
        return None
    labels: dict[str, Any] = {}
    for name in _LABELS[:-1]:
        value: str | None = getattr(event, name)
        if value is not None:
            if _LABEL_REFUSED.search(value):
                return None
            value = value.strip(" ") or None
        labels[name] = value
    if event.referrer is not None and _REFERRER_REFUSED.search(event.referrer):
        return None
    # Validated above by the same rules: construct without validating a second time.
    return StartEvent.model_construct(
        portrait_id=event.portrait_id,
        ar_content_id=event.ar_content_id,
        ar_content_unique_id=event.ar_content_unique_id,
        session_id=event.session_id,
        user_agent=event.user_agent,
        device_type=event.device_type,
        browser=event.browser,
        os=event.os,
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
        referrer=event.referrer,
        **labels,
        **figures,
    )


def end_event(raw: bytes) -> EndEvent | None:
    event = _decode(_END, raw)
    if event is None:
        return None
    figures = _figures(event)
    if figures is None:
        return None
    return EndEvent.model_construct(
        duration_seconds=event.duration_seconds,
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
        **figures,
    )


def mobile_start(raw: bytes) -> StartEvent | None:
    """The original viewer's start, as the canonical start it becomes (compat.service)."""
    event = _decode(_MOBILE_START, raw)
    if event is None:
        return None
    return StartEvent.model_construct(
        session_id=event.session_id,
        ar_content_unique_id=event.ar_content_unique_id,
        user_agent=event.user_agent,
        device_type=event.device_type,
        browser=event.browser,
        os=event.os,
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
    )


def mobile_update(raw: bytes) -> MobileUpdate | None:
    event = _decode(_MOBILE_END, raw)
    if event is None:
        return None
    figures = _figures(event)
    if figures is None:
        return None
    return MobileUpdate.model_construct(
        session_id=event.session_id,
        duration_seconds=event.duration_seconds,
        tracking_quality=event.tracking_quality,
        video_played=event.video_played,
        **figures,
    )
