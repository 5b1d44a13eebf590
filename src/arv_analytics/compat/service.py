"""The original platform's calls, translated onto the write path's own rules.

Starts and updates go through :class:`Ingest` (idempotency, enrichment, bots, clamping, the
grow-only merge, the end window, the write buffer); only the shapes differ. Diagnostics are
counted per day (models/ar_diagnostic.py) in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.compat import repository
from arv_analytics.compat.schemas import (
    Diagnostic,
    MobileSessionStart,
    MobileSessionStarted,
    MobileUpdate,
)
from arv_analytics.config import Settings
from arv_analytics.ingest.bots import BotRules
from arv_analytics.ingest.enrichment import describe_device
from arv_analytics.ingest.rules import MAX_USER_AGENT
from arv_analytics.ingest.schemas import EndResponse, StartEvent
from arv_analytics.ingest.service import Ingest
from arv_analytics.models import DURATION_BUCKETS_MS

# A day counts at most this many distinct stages and error texts; later new ones count as
# "other", so that no client can grow the table without bound.
MAX_STAGES_PER_DAY = 50
MAX_ERRORS_PER_DAY = 100
OTHER = "other"

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def gpc_declined(settings: Settings, headers: Mapping[str, str]) -> bool:
    """Global Privacy Control, read on the server: the original viewer does not look for it."""
    return settings.respect_gpc and headers.get("sec-gpc", "").strip() == "1"


async def start(
    ingest: Ingest, body: MobileSessionStart, *, ip: str | None, header_user_agent: str | None
) -> MobileSessionStarted:
    event = StartEvent.model_validate(body.model_dump())
    result = await ingest.start(event, ip=ip, header_user_agent=header_user_agent)
    status = "ignored" if not result.stored else "created" if result.created else "exists"
    return MobileSessionStarted(status=status, session_id=result.session_id)


async def update(ingest: Ingest, body: MobileUpdate) -> EndResponse:
    # An update is an end whose figures are all optional (EndReport): the same rules apply.
    return await ingest.end(body.session_id, body)


def error_text(error: str | None) -> str:
    """One short line per kind of failure: addresses and numbers vary, the failure does not."""
    if not error:
        return ""
    lines = error.strip().splitlines()
    first = lines[0] if lines else ""
    text = _SPACE.sub(" ", _NUMBER.sub("#", _URL.sub("<url>", first))).strip()
    return text[:100]


def duration_counters(duration_ms: float | None) -> dict[str, int]:
    edges = [f"ms_le_{edge}" for edge in DURATION_BUCKETS_MS]
    last = f"ms_gt_{DURATION_BUCKETS_MS[-1]}"
    counters = dict.fromkeys(["duration_count", "duration_sum_ms", *edges, last], 0)
    if duration_ms is None:
        return counters
    ms = int(duration_ms + 0.5)
    counters["duration_count"] = 1
    counters["duration_sum_ms"] = ms
    for edge, name in zip(DURATION_BUCKETS_MS, edges, strict=True):
        if ms <= edge:
            counters[name] = 1
            break
    else:
        counters[last] = 1
    return counters


async def _bounded(session: AsyncSession, day: date, column: str, value: str, limit: int) -> str:
    if not value or await repository.is_known(session, day, column, value):
        return value
    if await repository.distinct_values(session, day, column) >= limit:
        return OTHER
    return value


async def record_diagnostic(
    session: AsyncSession,
    ingest: Ingest,
    bots: BotRules,
    body: Diagnostic,
    *,
    ip: str | None,
    header_user_agent: str | None,
    day: date,
) -> bool:
    """Counts one diagnostic event; False (nothing stored) for a bot."""
    content = await ingest.find_content(None, body.ar_content_unique_id)
    user_agent = (header_user_agent or body.user_agent or "")[:MAX_USER_AGENT] or None
    device = describe_device(user_agent, None, bots)
    if device.is_bot or bots.matches_ip(ip):
        return False
    row: dict[str, Any] = {
        "ar_content_id": content.id,
        "day": day,
        "stage": await _bounded(session, day, "stage", body.stage_name, MAX_STAGES_PER_DAY),
        "error": await _bounded(session, day, "error", error_text(body.error), MAX_ERRORS_PER_DAY),
        "browser": (device.browser or "")[:50],
        "os": (device.os or "")[:50],
        "project_id": content.project_id,
        "company_id": content.company_id,
        "events": 1,
        **duration_counters(body.duration_ms),
    }
    await repository.add(session, row)
    return True
