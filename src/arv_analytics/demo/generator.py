"""Realistic AR view sessions, generated deterministically from a seed, in column chunks.

The shapes follow what image-tracked AR sees in the field: mostly phones, in-app browsers
from QR scans, evening peaks in local time and busier weekends (shapes.py), mostly bare QR
scans with some placements, campaigns and referring sites (sources.py), the AR funnel —
camera granted (less often in in-app browsers and on desktops, camera.py), target found,
video played, each step after the previous one — visible time that is short when tracking
fails and long when the target holds, a share of views whose end beacon never arrived, some
visitors who come back the same day, and a few crawlers.

Rows are built with numpy a chunk at a time: generating them one by one in Python tops out
near 70,000 rows/s, far below what COPY can load.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from arv_analytics.demo.camera import GRANTED, Device, draw_camera
from arv_analytics.demo.shapes import (
    WEEKDAY_HOURS,
    WEEKEND_BOOST,
    WEEKEND_HOURS,
    offset_hours,
    pick,
)
from arv_analytics.demo.sources import SOURCE_COLUMNS, draw_sources
from arv_analytics.models import CAMERA_OUTCOMES

# (weight, device_type, browser, os, is_bot, user agent)
DEVICES: Sequence[tuple[float, str, str, str, bool, str]] = (
    (
        30,
        "mobile",
        "Mobile Safari",
        "iOS",
        False,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        26,
        "mobile",
        "Chrome Mobile",
        "Android",
        False,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.122 Mobile Safari/537.36",
    ),
    (
        9,
        "mobile",
        "Samsung Internet",
        "Android",
        False,
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    (
        8,
        "mobile",
        "Instagram",
        "iOS",
        False,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Instagram 330.0.3.12.90",
    ),
    (
        5,
        "mobile",
        "Firefox Mobile",
        "Android",
        False,
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
    ),
    (
        8,
        "tablet",
        "Mobile Safari",
        "iOS",
        False,
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        3,
        "tablet",
        "Chrome",
        "Android",
        False,
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        7,
        "desktop",
        "Chrome",
        "Windows",
        False,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        4,
        "desktop",
        "Safari",
        "Mac OS X",
        False,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    ),
    (
        1.5,
        "bot",
        "Googlebot",
        "Other",
        True,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ),
    (
        0.5,
        "bot",
        "HeadlessChrome",
        "Linux",
        True,
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/126.0.0.0 Safari/537.36",
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
CITIES = [(country, city) for _, country, cities in PLACES for city in cities]
CITY_WEIGHTS = [w / len(cities) for w, _, cities in PLACES for _ in cities]
CITY_OFFSET_US = np.array([offset_hours(c, city) for c, city in CITIES], dtype=np.int64) * 3600e6

# (tracking quality, weight once the camera is granted, median visible seconds, chance the
# video played); a view without the camera never finds the target ("none").
QUALITIES: Sequence[tuple[str, float, float, float]] = (
    ("good", 60, 48.0, 0.93),
    ("fair", 24, 30.0, 0.78),
    ("poor", 11, 14.0, 0.41),
    ("none", 8, 7.0, 0.0),
)
NOT_FOUND = len(QUALITIES) - 1

# Share of visible time with the target tracked, per quality (DESIGN.md §2), and the mean
# number of times the target is lost, in the order of QUALITIES.
TRACKED_SHARE = ((0.75, 0.97), (0.25, 0.75), (0.03, 0.25), (0.0, 0.0))
MEAN_LOSSES = (0.4, 2.0, 3.5, 0.0)

# Column order of every generated row.
COLUMNS = (
    "ar_content_id",
    "project_id",
    "company_id",
    "session_id",
    "user_agent",
    "device_type",
    "browser",
    "os",
    "country",
    "city",
    "duration_seconds",
    "tracking_quality",
    "video_played",
    "is_bot",
    "visitor_hash",
    "time_to_first_found_ms",
    "tracked_seconds",
    "target_losses",
    "created_at",
    "updated_at",
    *SOURCE_COLUMNS,
    "camera_outcome",
    "camera_ms",
    "engine_error",
    "video_start_ms",
)
NO_END_SHARE = 0.06  # views whose tab died before the first heartbeat
SESSIONS_PER_VISITOR = 1.25


@dataclass(frozen=True, slots=True)
class ContentTarget:
    id: int
    project_id: int
    company_id: int
    popularity: float


def _uuid_hex(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.tobytes().hex()
    return [text[i : i + 32] for i in range(0, 32 * n, 32)]


def chunks(
    targets: Sequence[ContentTarget],
    count: int,
    *,
    days: int,
    now: datetime,
    seed: int = 7,
    max_seconds: int = 14_400,
    chunk_size: int = 50_000,
) -> Iterator[dict[str, list[object]]]:
    """Yields column dicts (see COLUMNS) of at most ``chunk_size`` rows, ``count`` in all.

    ``session_id`` is 32 hex digits; ``created_at``/``updated_at`` are aware datetimes.
    """
    rng = np.random.default_rng(seed)
    now_us = int(now.timestamp() * 1_000_000)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    weekend = np.array([(today - timedelta(d)).weekday() >= 5 for d in range(days)])
    day_w = [
        (1 + 0.6 * (1 - d / max(days - 1, 1))) * (WEEKEND_BOOST if weekend[d] else 1.0)
        for d in range(days)
    ]
    content_ids = np.array([t.id for t in targets])
    project_ids = np.array([t.project_id for t in targets])
    company_ids = np.array([t.company_id for t in targets])
    devices = [Device(d[1], d[2], d[4]) for d in DEVICES]
    visitors_per_day = max(1, int(count / max(days, 1) / SESSIONS_PER_VISITOR))
    done = 0
    while done < count:
        n = min(chunk_size, count - done)
        done += n
        t = pick(rng, [x.popularity for x in targets], n)
        place, created = _moments(rng, n, days, day_w, weekend, today, now_us)
        dev = pick(rng, [d[0] for d in DEVICES], n)
        has_end = rng.random(n) >= NO_END_SHARE
        camera = draw_camera(rng, devices, dev, has_end)
        ar = _ar_figures(rng, n, camera.outcome == GRANTED, has_end, camera.ms, max_seconds)
        # A visitor is a person on a day at a company: a pool smaller than the views, so some
        # come back; the mix stands in for the keyed daily hash the server computes.
        person = rng.integers(0, visitors_per_day, size=n).astype(np.uint64)
        mixed = (
            (person * np.uint64(0x9E3779B97F4A7C15))
            ^ ((created // 86_400_000_000).astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))
            ^ (company_ids[t].astype(np.uint64) * np.uint64(0x94D049BB133111EB))
        )
        visitor = mixed.view(np.int64)
        created_dt = created.astype("datetime64[us]").tolist()
        duration = np.where(has_end, ar["seconds"], 0).astype(np.int64)
        updated_dt = (created + duration * 1_000_000).astype("datetime64[us]").tolist()
        reported = has_end.tolist()
        yield {
            "ar_content_id": content_ids[t].tolist(),
            "project_id": project_ids[t].tolist(),
            "company_id": company_ids[t].tolist(),
            "session_id": list[object](_uuid_hex(rng, n)),
            "user_agent": [DEVICES[i][5] for i in dev.tolist()],
            "device_type": [DEVICES[i][1] for i in dev.tolist()],
            "browser": [DEVICES[i][2] for i in dev.tolist()],
            "os": [DEVICES[i][3] for i in dev.tolist()],
            "country": [CITIES[i][0] for i in place.tolist()],
            "city": [CITIES[i][1] for i in place.tolist()],
            "duration_seconds": _where(ar["seconds"], reported),
            # Only reports carry the quality: a view without one has none stored.
            "tracking_quality": [
                QUALITIES[q][0] if e else None
                for q, e in zip(ar["quality"].tolist(), reported, strict=True)
            ],
            "video_played": ar["played"].tolist(),
            "is_bot": [DEVICES[i][4] for i in dev.tolist()],
            "visitor_hash": visitor.tolist(),
            "time_to_first_found_ms": _where(ar["first_found_ms"], ar["found"].tolist()),
            "tracked_seconds": _where(ar["tracked"], reported),
            "target_losses": _where(ar["losses"], reported),
            "created_at": [d.replace(tzinfo=UTC) for d in created_dt],
            "updated_at": [d.replace(tzinfo=UTC) for d in updated_dt],
            **draw_sources(rng, n),
            "camera_outcome": [
                CAMERA_OUTCOMES[o] if o >= 0 else None for o in camera.outcome.tolist()
            ],
            "camera_ms": _where(ar["camera_ms"], (camera.outcome >= 0).tolist()),
            "engine_error": list[object](camera.engine_error),
            "video_start_ms": _where(ar["video_start_ms"], ar["played"].tolist()),
        }


def _where(values: np.ndarray, present: list[bool]) -> list[object]:
    """Whole numbers where present, NULL elsewhere."""
    return [int(v) if p else None for v, p in zip(values.tolist(), present, strict=True)]


def _moments(
    rng: np.random.Generator,
    n: int,
    days: int,
    day_w: Sequence[float],
    weekend: np.ndarray,
    today: datetime,
    now_us: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Places and start times (µs since the epoch, ascending) of ``n`` views.

    The hour is drawn in the place's local time, from the weekday or weekend rhythm.
    """
    place = pick(rng, CITY_WEIGHTS, n)
    day = pick(rng, day_w, n)
    hour = np.where(weekend[day], pick(rng, WEEKEND_HOURS, n), pick(rng, WEEKDAY_HOURS, n))
    second_of_hour = rng.integers(0, 3_600_000_000, size=n)
    day_start_us = int(today.timestamp() * 1_000_000) - day.astype(np.int64) * 86_400_000_000
    created = (
        day_start_us
        + hour.astype(np.int64) * 3_600_000_000
        + second_of_hour
        - CITY_OFFSET_US[place].astype(np.int64)
    )
    # Hours that have not come yet move to the same hour a week earlier.
    created = np.where(created > now_us, created - 7 * 86_400_000_000, created)
    # Views arrive in time order; sorted chunks also keep index inserts local.
    order = np.argsort(created, kind="stable")
    return place[order], created[order]


def _ar_figures(
    rng: np.random.Generator,
    n: int,
    granted: np.ndarray,
    has_end: np.ndarray,
    camera_ms: np.ndarray,
    max_seconds: int,
) -> dict[str, np.ndarray]:
    """The funnel after the camera: found, tracked, played, and when each happened.

    Each step comes after the previous one: camera_ms ≤ time_to_first_found_ms ≤
    video_start_ms ≤ the visible time, and searching fits in the untracked visible time.
    """
    quality = np.where(granted, pick(rng, [q[1] for q in QUALITIES], n), NOT_FOUND)
    q_median = np.array([q[2] for q in QUALITIES])
    seconds = np.rint(rng.lognormal(np.log(q_median[quality]), 0.8)).clip(1, max_seconds)
    low = np.array([s[0] for s in TRACKED_SHARE])[quality]
    high = np.array([s[1] for s in TRACKED_SHARE])[quality]
    tracked = np.rint(seconds * rng.uniform(low, high))
    losses = rng.poisson(np.array(MEAN_LOSSES)[quality])
    search_ms = rng.lognormal(np.log(2500), 0.6, n)
    untracked_ms = np.maximum(seconds - tracked, 0.3) * 1000
    first_found = np.rint(np.minimum(camera_ms + search_ms, untracked_ms))
    camera = np.minimum(camera_ms, np.where(granted, first_found, seconds * 1000))
    found = has_end & (quality != NOT_FOUND)
    played = found & (rng.random(n) < np.array([q[3] for q in QUALITIES])[quality])
    video_start = np.minimum(
        first_found + np.rint(rng.lognormal(np.log(600), 0.5, n)), seconds * 1000
    )
    return {
        "quality": quality,
        "seconds": seconds,
        "tracked": tracked,
        "losses": losses,
        "found": found,
        "played": played,
        "first_found_ms": first_found,
        "camera_ms": np.rint(camera),
        "video_start_ms": video_start,
    }
