"""Drawing helpers and the daily rhythm of the demo data.

Views follow local time: each place has its UTC offset, and a weekday looks different from a
weekend day (a commute bump, lunch, the evening peak on weekdays; a late morning and a long
afternoon on weekends), so a day-of-week × hour heatmap shows a week people would recognise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Share of views per local hour, 0–23.
WEEKDAY_HOURS = (
    0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 2.0, 4.0, 5.5, 4.5, 4.0, 4.5,
    6.0, 5.5, 4.5, 4.5, 5.5, 7.5, 9.5, 11.0, 11.0, 9.0, 6.0, 2.5,
)  # fmt: skip
WEEKEND_HOURS = (
    1.5, 1.0, 0.6, 0.4, 0.3, 0.4, 0.8, 1.5, 3.0, 5.0, 7.0, 8.5,
    9.0, 9.0, 9.0, 8.5, 8.0, 8.5, 9.5, 10.0, 9.5, 8.0, 5.5, 3.0,
)  # fmt: skip
WEEKEND_BOOST = 1.35  # more views on a Saturday or Sunday than on a weekday

# Hours ahead of UTC (standard time; the demo does not follow daylight saving).
UTC_OFFSETS = {"DE": 1, "GB": 0, "FR": 1, "NL": 1, "RU": 3, "ES": 1, "IT": 1, "PL": 1, "JP": 9}
CITY_OFFSETS = {"New York": -5, "Los Angeles": -8, "Chicago": -6, "Austin": -6}


def offset_hours(country: str, city: str) -> int:
    return CITY_OFFSETS.get(city, UTC_OFFSETS.get(country, 0))


def probabilities(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.asarray(w / w.sum())


def pick(rng: np.random.Generator, weights: Sequence[float], n: int) -> np.ndarray:
    """``n`` indexes into ``weights``, drawn in proportion to them."""
    return rng.choice(len(weights), size=n, p=probabilities(weights))


def pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of ``weights`` (rows × options), each row with its own weights."""
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    drawn = rng.random(len(weights))[:, None]
    picked = np.minimum((drawn > cumulative).sum(axis=1), weights.shape[1] - 1)
    return np.asarray(picked, dtype=np.int64)
