"""How an end (or heartbeat) changes a stored session, as one table of rules.

Each rule is monotonic, so several ends of one session in a batch can be merged first and
applied once, with the same result as applying them one by one in order:

- ``max``: the stored value only grows (visible seconds);
- ``last``: the newest reported value replaces the stored one (tracking quality, the camera
  outcome: a visitor may deny the camera, change the setting and allow it);
- ``or``: once true, stays true (video played);
- ``first``: the first reported value stays (time to the first target found, to the camera
  outcome and to the first video play; the AR engine's start failure).

The start sets the sources (utm_*, placement, referrer host); no end changes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Rule = Literal["max", "last", "or", "first"]

END_RULES: dict[str, Rule] = {
    "duration_seconds": "max",
    "tracking_quality": "last",
    "video_played": "or",
    "time_to_first_found_ms": "first",
    "tracked_seconds": "max",
    "target_losses": "max",
    "camera_outcome": "last",
    "camera_ms": "first",
    "engine_error": "first",
    "video_start_ms": "first",
}


@dataclass(frozen=True, slots=True)
class EndChange:
    session_id: uuid.UUID
    values: dict[str, Any]  # column -> reported value; None means "not reported"


def _combine(rule: Rule, old: Any, new: Any) -> Any:
    if new is None:
        return old
    if old is None:
        return new
    if rule == "max":
        return max(old, new)
    if rule == "or":
        return bool(old or new)
    if rule == "first":
        return old
    return new


def merge_ends(changes: Iterable[EndChange]) -> dict[uuid.UUID, dict[str, Any]]:
    """One combined change per session, in arrival order."""
    merged: dict[uuid.UUID, dict[str, Any]] = {}
    for change in changes:
        current = merged.setdefault(change.session_id, dict.fromkeys(END_RULES))
        for column, rule in END_RULES.items():
            current[column] = _combine(rule, current[column], change.values.get(column))
    return merged
