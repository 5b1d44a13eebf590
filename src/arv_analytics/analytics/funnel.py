"""The AR funnel: opened → camera granted → target found → video played, from the metric
registry's counts and medians (so every executor answers it)."""

from __future__ import annotations

from typing import Any

FUNNEL_METRICS = (
    "views", "camera_granted", "target_found", "video_plays",
    "median_camera_ms", "median_time_to_first_found_ms", "median_video_start_ms",
)  # fmt: skip
STEPS = (
    ("opened", "views", None),
    ("camera_granted", "camera_granted", "median_camera_ms"),
    ("target_found", "target_found", "median_time_to_first_found_ms"),
    ("video_played", "video_plays", "median_video_start_ms"),
)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def steps(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = int(metrics["views"] or 0)
    previous = start
    for name, count_metric, median_metric in STEPS:
        count = int(metrics[count_metric] or 0)
        out.append(
            {
                "step": name,
                "views": count,
                "conversion_from_previous": _rate(count, previous) if out else None,
                "conversion_from_start": _rate(count, start),
                "drop_off": previous - count if out else 0,
                "median_ms": metrics[median_metric] if median_metric else None,
            }
        )
        previous = count
    return out
