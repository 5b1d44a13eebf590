"""Realistic AR view sessions, generated deterministically from a seed.

The shapes follow what image-tracked AR sees in the field: mostly phones, in-app browsers
from QR scans, evening peaks, visible time that is short for failed tracking and long when
the target holds, and a share of views whose end beacon never arrived.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# (weight, device_type, browser, os, user agent)
DEVICES: Sequence[tuple[float, str, str, str, str]] = (
    (
        30,
        "mobile",
        "Mobile Safari",
        "iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        26,
        "mobile",
        "Chrome Mobile",
        "Android",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.122 Mobile Safari/537.36",
    ),
    (
        9,
        "mobile",
        "Samsung Internet",
        "Android",
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    (
        8,
        "mobile",
        "Instagram",
        "iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Instagram 330.0.3.12.90",
    ),
    (
        5,
        "mobile",
        "Firefox Mobile",
        "Android",
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
    ),
    (
        8,
        "tablet",
        "Mobile Safari",
        "iOS",
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        3,
        "tablet",
        "Chrome",
        "Android",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        7,
        "desktop",
        "Chrome",
        "Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        4,
        "desktop",
        "Safari",
        "Mac OS X",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    ),
)

# (weight, ISO country, cities)
PLACES: Sequence[tuple[float, str, tuple[str, ...]]] = (
    (28, "DE", ("Berlin", "Hamburg", "Munich", "Cologne")),
    (18, "US", ("New York", "Los Angeles", "Chicago", "Austin")),
    (12, "GB", ("London", "Manchester", "Bristol")),
    (9, "FR", ("Paris", "Lyon", "Marseille")),
    (8, "NL", ("Amsterdam", "Rotterdam", "Utrecht")),
    (6, "RU", ("Moscow", "Saint Petersburg", "Kazan")),
    (5, "ES", ("Madrid", "Barcelona")),
    (5, "IT", ("Milan", "Rome")),
    (4, "PL", ("Warsaw", "Krakow")),
    (5, "JP", ("Tokyo", "Osaka")),
)

# Share of visitors per local hour of day, peaking in the evening.
HOURLY = [1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 7, 7, 8, 9, 11, 12, 11, 8, 5, 2]

# (tracking quality, weight, median visible seconds, chance the video played)
QUALITIES: Sequence[tuple[str, float, float, float]] = (
    ("good", 55, 48.0, 0.93),
    ("fair", 22, 30.0, 0.78),
    ("poor", 11, 14.0, 0.41),
    ("none", 12, 7.0, 0.0),
)


# Share of visible time with the target tracked, per quality (DESIGN.md §2), and the number of
# times the target is typically lost.
TRACKED_SHARE = {"good": (0.75, 0.97), "fair": (0.25, 0.75), "poor": (0.03, 0.25), "none": (0, 0)}
LOSSES = {"good": (0, 1), "fair": (1, 4), "poor": (2, 6), "none": (0, 0)}


def _tracker_figures(
    rng: random.Random, quality: str, duration: int | None
) -> dict[str, int | None]:
    """What the viewer's tracker would have reported for a view of this quality."""
    if duration is None:
        return {"time_to_first_found_ms": None, "tracked_seconds": None, "target_losses": None}
    low, high = TRACKED_SHARE[quality]
    tracked = round(duration * rng.uniform(low, high))
    first_found = None
    if quality != "none":
        # Searching happens before tracking: within the untracked part of the visible time.
        search = min(rng.lognormvariate(math.log(2.5), 0.6), max(duration - tracked, 0.3))
        first_found = round(search * 1000)
    return {
        "time_to_first_found_ms": first_found,
        "tracked_seconds": tracked,
        "target_losses": rng.randint(*LOSSES[quality]),
    }


@dataclass(frozen=True, slots=True)
class ContentTarget:
    id: int
    project_id: int
    company_id: int
    popularity: float


def _pick(rng: random.Random, items: Sequence[Any], weights: Sequence[float]) -> Any:
    return rng.choices(items, weights=weights, k=1)[0]


def sessions(
    targets: Sequence[ContentTarget],
    count: int,
    *,
    days: int,
    now: datetime,
    seed: int = 7,
    max_seconds: int = 14_400,
) -> Iterator[dict[str, Any]]:
    """Yields ``count`` session rows spread over the last ``days`` days before ``now``."""
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
    # A second stream for the tracker's figures, so that adding them changed nothing else.
    figures_rng = random.Random(seed + 1)  # noqa: S311
    day_weights = [
        # Slow growth toward today, weekends busier: posters get seen on days out.
        (1 + 0.6 * (d / max(days - 1, 1)))
        * (1.35 if (now - timedelta(days=d)).weekday() >= 5 else 1.0)
        for d in range(days)
    ]
    popularity = [t.popularity for t in targets]
    for _ in range(count):
        target: ContentTarget = _pick(rng, targets, popularity)
        day = _pick(rng, range(days), day_weights)
        hour = _pick(rng, range(24), HOURLY)
        created = (now - timedelta(days=day)).replace(
            hour=hour,
            minute=rng.randrange(60),
            second=rng.randrange(60),
            microsecond=rng.randrange(1_000_000),
        )
        if created > now:  # today's hours that have not come yet
            created -= timedelta(days=1)
        _, device, browser, os_name, ua = _pick(rng, DEVICES, [d[0] for d in DEVICES])
        _, country, cities = _pick(rng, PLACES, [p[0] for p in PLACES])
        quality, _, median, play_chance = _pick(rng, QUALITIES, [q[1] for q in QUALITIES])
        # 6% of views never sent an end (tab killed before the first heartbeat).
        duration: int | None = None
        if rng.random() >= 0.06:
            seconds = rng.lognormvariate(math.log(median), 0.8)
            duration = max(1, min(max_seconds, round(seconds)))
        yield {
            "ar_content_id": target.id,
            "project_id": target.project_id,
            "company_id": target.company_id,
            "session_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "user_agent": ua,
            "device_type": device,
            "browser": browser,
            "os": os_name,
            "ip_address": None,
            "country": country,
            "city": rng.choice(cities),
            "duration_seconds": duration,
            "tracking_quality": quality,
            "video_played": rng.random() < play_chance,
            **_tracker_figures(figures_rng, quality, duration),
            "created_at": created,
            "updated_at": created + timedelta(seconds=duration or 0),
        }
