"""How the AR start goes in the demo: the camera outcome per browser, and how long it takes.

Most phones grant the camera; in-app browsers (Instagram's) often cannot use it at all, and
desktops often have no camera, so failures cluster by browser and device the way a studio
would see them in the funnel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from arv_analytics.demo.shapes import pick_rows
from arv_analytics.models import CAMERA_OUTCOMES

GRANTED = CAMERA_OUTCOMES.index("granted")
UNSUPPORTED = CAMERA_OUTCOMES.index("unsupported")
ERROR = CAMERA_OUTCOMES.index("error")
NONE = -1  # no outcome reported (a crawler, or the page died before any report)

# Weights of CAMERA_OUTCOMES (granted, denied, dismissed, unsupported, error) per browser.
BY_BROWSER: dict[str, tuple[float, ...]] = {
    "Mobile Safari": (88, 6, 3, 1, 2),
    "Chrome Mobile": (86, 6, 4, 1, 3),
    "Samsung Internet": (80, 7, 4, 3, 6),
    "Instagram": (58, 9, 6, 17, 10),
    "Firefox Mobile": (74, 8, 3, 5, 10),
    "Chrome": (83, 7, 4, 2, 4),
    "Safari": (83, 7, 4, 2, 4),
}
DESKTOP = (56, 10, 8, 2, 24)  # many desktops have no camera: NotFoundError
# Median visible ms until the outcome is known: a decision on the prompt takes a moment, a
# browser without a camera API is known at once.
MEDIAN_MS = (1600.0, 2600.0, 4200.0, 150.0, 1300.0)

# Why AR did not start, as the viewer reports it (engine_error).
UNSUPPORTED_IN_APP = (("no-camera-api", 8), ("no-webgl", 2))
UNSUPPORTED_OTHER = (("no-webgl", 14), ("no-camera-api", 5), ("insecure-context", 1))
ERROR_DESKTOP = (("NotFoundError", 14), ("NotReadableError", 4), ("mindar-start: Error", 2))
ERROR_MOBILE = (
    ("NotReadableError", 9),
    ("mindar-start: Error", 5),
    ("OverconstrainedError", 3),
    ("engine-load", 3),
)


@dataclass(frozen=True, slots=True)
class Device:
    device_type: str
    browser: str
    is_bot: bool


@dataclass(frozen=True, slots=True)
class CameraDraw:
    outcome: np.ndarray  # index into CAMERA_OUTCOMES, or NONE
    ms: np.ndarray  # visible ms until the outcome (meaningless where outcome is NONE)
    engine_error: list[str | None]


def outcome_weights(device: Device) -> tuple[float, ...]:
    if device.is_bot:
        return (0, 0, 0, 0, 0)
    if device.device_type == "desktop":
        return DESKTOP
    return BY_BROWSER.get(device.browser, BY_BROWSER["Chrome Mobile"])


def _reasons(rng: np.random.Generator, table: Sequence[tuple[str, float]], n: int) -> list[str]:
    names = [name for name, _ in table]
    weights = np.array([w for _, w in table], dtype=float)
    return [names[i] for i in rng.choice(len(names), size=n, p=weights / weights.sum())]


def draw_camera(
    rng: np.random.Generator, devices: Sequence[Device], dev: np.ndarray, reported: np.ndarray
) -> CameraDraw:
    """The camera outcome of each view on device ``devices[dev[i]]``; ``reported`` says which
    views sent anything after their start (the outcome travels with the reports)."""
    weights = np.array([outcome_weights(d) for d in devices], dtype=float)[dev]
    is_bot = np.array([d.is_bot for d in devices])[dev]
    outcome = pick_rows(rng, np.where(is_bot[:, None], 1.0, weights))
    outcome = np.where(reported & ~is_bot, outcome, NONE)
    medians = np.array(MEDIAN_MS)[np.maximum(outcome, 0)]
    ms = np.rint(rng.lognormal(np.log(medians), 0.6)).clip(20, None)
    errors: list[str | None] = [None] * len(dev)
    in_app = np.array([d.browser == "Instagram" for d in devices])[dev]
    desktop = np.array([d.device_type == "desktop" for d in devices])[dev]
    for kind, special, tables in (
        (UNSUPPORTED, in_app, (UNSUPPORTED_IN_APP, UNSUPPORTED_OTHER)),
        (ERROR, desktop, (ERROR_DESKTOP, ERROR_MOBILE)),
    ):
        for chosen, table in ((special, tables[0]), (~special, tables[1])):
            rows = np.flatnonzero((outcome == kind) & chosen).tolist()
            for row, reason in zip(rows, _reasons(rng, table, len(rows)), strict=True):
                errors[row] = reason
    return CameraDraw(outcome, ms, errors)
