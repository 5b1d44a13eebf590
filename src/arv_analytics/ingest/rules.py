"""The per-view rules every stored session obeys, whether tracked live or imported.

One definition, used by the tracking schemas and enrichment (live starts and ends) and by
``arv-analytics import`` (history from the original platform): the string limits, the
vocabularies of ``tracking_quality`` and ``device_type``, what a duration may be and how it is
clamped, and how device, browser, OS and the bot flag follow from the user agent and address.
The live path refuses a bad client value with a 422; the importer, which cannot ask the client
again, applies the same definition and reports what it changed (see docs/import.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal, get_args

from pydantic import Field, TypeAdapter, ValidationError

from arv_analytics.ingest.bots import BotRules
from arv_analytics.ingest.useragent import classify

# Column widths of ar_view_sessions (the seed's), and the longest user agent kept.
MAX_USER_AGENT = 2048
MAX_DEVICE_TYPE = 50
MAX_NAME = 100  # browser, os, country, city
LIMITS: dict[str, int] = {
    "user_agent": MAX_USER_AGENT,
    "device_type": MAX_DEVICE_TYPE,
    "browser": MAX_NAME,
    "os": MAX_NAME,
    "country": MAX_NAME,
    "city": MAX_NAME,
}

TrackingQuality = Literal["none", "poor", "fair", "good"]
TRACKING_QUALITY_VALUES: tuple[str, ...] = get_args(TrackingQuality)
# What describe() can answer; the client's own device_type is never stored.
DEVICE_TYPES = ("mobile", "tablet", "desktop", "bot", "other")

# Visible seconds as reported by an end: a finite number, never negative. The API refuses
# anything else (422); the importer stores such a duration as unknown (NULL).
Duration = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
_DURATION: TypeAdapter[float] = TypeAdapter(Duration)
_QUALITY: TypeAdapter[str] = TypeAdapter(TrackingQuality)


def whole_seconds(value: float, maximum: int) -> int:
    """Rounds to the nearest second and clamps to the configured maximum
    (``ARV_MAX_SESSION_SECONDS``)."""
    if value >= maximum:
        return maximum
    return int(value + 0.5)


def valid_duration(value: float) -> bool:
    """Whether ``value`` is a duration the API would accept (finite, not negative)."""
    try:
        _DURATION.validate_python(value)
    except ValidationError:
        return False
    return True


def known_quality(value: str | None) -> str | None:
    """``value`` when it is one of the API's tracking qualities, else None (unknown)."""
    if value is None:
        return None
    try:
        return _QUALITY.validate_python(value)
    except ValidationError:
        return None


def cut(value: str | None, column: str) -> str | None:
    """The value as stored: empty is NULL, longer than the column is cut to its width."""
    if not value:
        return None
    limit = LIMITS.get(column)
    return value[:limit] if limit else value


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_type: str | None
    browser: str | None
    os: str | None
    is_bot: bool


def describe(
    user_agent: str | None,
    *,
    ip: str | None,
    client_browser: str | None,
    client_os: str | None,
    bots: BotRules,
) -> DeviceInfo:
    """Device, browser, OS and bot flag of a view, from its user agent and address.

    The user agent decides; the client's browser and OS are kept only when there is none.
    A view without any user agent is a bot: every browser sends one, scripts often do not.
    """
    user_agent = cut(user_agent, "user_agent")
    if user_agent is None:
        return DeviceInfo("bot", cut(client_browser, "browser"), cut(client_os, "os"), True)
    device = _from_user_agent(user_agent, bots)
    if not device.is_bot and bots.matches_ip(ip):
        return DeviceInfo("bot", device.browser, device.os, True)
    return device


@lru_cache(maxsize=8192)
def _from_user_agent(user_agent: str, bots: BotRules) -> DeviceInfo:
    # Cached like classify(): the bot patterns' search costs more than the parse, and an
    # import meets the same few hundred user agents again and again.
    info = classify(user_agent)
    is_bot = info.is_spider or bots.matches_user_agent(user_agent)
    return DeviceInfo(
        "bot" if is_bot else info.device_type,
        cut(info.browser, "browser"),
        cut(info.os, "os"),
        is_bot,
    )
