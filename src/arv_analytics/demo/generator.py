"""Realistic AR view sessions, generated deterministically from a seed, in column chunks.

The shapes follow what image-tracked AR sees in the field: mostly phones, in-app browsers
from QR scans, evening peaks and busier weekends, visible time that is short when tracking
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

# Share of views per hour of the UTC day, peaking in the (European) evening.
HOURLY = [1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 7, 7, 8, 9, 11, 12, 11, 8, 5, 2]

# (tracking quality, weight, median visible seconds, chance the video played)
QUALITIES: Sequence[tuple[str, float, float, float]] = (
    ("good", 55, 48.0, 0.93),
    ("fair", 22, 30.0, 0.78),
    ("poor", 11, 14.0, 0.41),
    ("none", 12, 7.0, 0.0),
)

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
    "utm_source",
    "placement",
    "camera_outcome",
    "camera_ms",
    "video_start_ms",
)
# Where demo views come from: the printed placement (the viewer URL's src) and utm_source.
PLACEMENTS = (("poster-a1", 40), ("bus-stop", 25), ("flyer", 15), ("shop-window", 10), (None, 10))
SOURCES = (("qr", 70), ("instagram", 12), ("newsletter", 8), (None, 10))
# Views that never found their target: why (the camera's outcome) and how often.
CAMERA_FAILURES = (
    ("granted", 35),
    ("denied", 40),
    ("dismissed", 10),
    ("unsupported", 5),
    ("error", 10),
)
NO_END_SHARE = 0.06  # views whose tab died before the first heartbeat
SESSIONS_PER_VISITOR = 1.25


@dataclass(frozen=True, slots=True)
class ContentTarget:
    id: int
    project_id: int
    company_id: int
    popularity: float


def _p(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.asarray(w / w.sum())


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
    day_w = [
        (1 + 0.6 * (1 - d / max(days - 1, 1)))
        * (1.35 if (today - timedelta(d)).weekday() >= 5 else 1.0)
        for d in range(days)
    ]
    content_ids = np.array([t.id for t in targets])
    project_ids = np.array([t.project_id for t in targets])
    company_ids = np.array([t.company_id for t in targets])
    q_median = np.array([q[2] for q in QUALITIES])
    q_play = np.array([q[3] for q in QUALITIES])
    visitors_per_day = max(1, int(count / max(days, 1) / SESSIONS_PER_VISITOR))
    done = 0
    while done < count:
        n = min(chunk_size, count - done)
        done += n
        t = rng.choice(len(targets), size=n, p=_p([x.popularity for x in targets]))
        day = rng.choice(days, size=n, p=_p(day_w))
        hour = rng.choice(24, size=n, p=_p(HOURLY))
        second_of_hour = rng.integers(0, 3_600_000_000, size=n)
        day_start_us = int(today.timestamp() * 1_000_000) - day.astype(np.int64) * 86_400_000_000
        created = day_start_us + hour.astype(np.int64) * 3_600_000_000 + second_of_hour
        # Today's hours that have not come yet move to the same hour a week earlier.
        created = np.where(created > now_us, created - 7 * 86_400_000_000, created)
        # Views arrive in time order; sorted chunks also keep index inserts local.
        created = np.sort(created)
        dev = rng.choice(len(DEVICES), size=n, p=_p([d[0] for d in DEVICES]))
        place = rng.choice(len(CITIES), size=n, p=_p(CITY_WEIGHTS))
        quality = rng.choice(len(QUALITIES), size=n, p=_p([q[1] for q in QUALITIES]))
        seconds = np.rint(rng.lognormal(np.log(q_median[quality]), 0.8)).clip(1, max_seconds)
        has_end = rng.random(n) >= NO_END_SHARE
        low = np.array([s[0] for s in TRACKED_SHARE])[quality]
        high = np.array([s[1] for s in TRACKED_SHARE])[quality]
        tracked = np.rint(seconds * rng.uniform(low, high))
        losses = rng.poisson(np.array(MEAN_LOSSES)[quality])
        # Searching comes before tracking, within the untracked part of the visible time.
        search_ms = np.rint(
            np.minimum(rng.lognormal(np.log(2.5), 0.6, n), np.maximum(seconds - tracked, 0.3))
            * 1000
        )
        found = has_end & (quality != len(QUALITIES) - 1)
        played = rng.random(n) < q_play[quality]
        # Finding the target needs the camera; views that never found it also include the
        # ones whose camera was refused or failed.
        failure = rng.choice(len(CAMERA_FAILURES), size=n, p=_p([c[1] for c in CAMERA_FAILURES]))
        camera = np.where(found, 0, failure)
        camera_ms = np.rint(rng.lognormal(np.log(900), 0.5, n))
        video_ms = search_ms + np.rint(rng.lognormal(np.log(600), 0.4, n))
        placement = rng.choice(len(PLACEMENTS), size=n, p=_p([x[1] for x in PLACEMENTS]))
        source = rng.choice(len(SOURCES), size=n, p=_p([x[1] for x in SOURCES]))
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
        duration = np.where(has_end, seconds, 0).astype(np.int64)
        updated_dt = (created + duration * 1_000_000).astype("datetime64[us]").tolist()
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
            "duration_seconds": [
                int(s) if e else None
                for s, e in zip(seconds.tolist(), has_end.tolist(), strict=True)
            ],
            "tracking_quality": [QUALITIES[i][0] for i in quality.tolist()],
            "video_played": played.tolist(),
            "is_bot": [DEVICES[i][4] for i in dev.tolist()],
            "visitor_hash": visitor.tolist(),
            "time_to_first_found_ms": [
                int(ms) if f else None
                for ms, f in zip(search_ms.tolist(), found.tolist(), strict=True)
            ],
            "tracked_seconds": [
                int(t) if e else None
                for t, e in zip(tracked.tolist(), has_end.tolist(), strict=True)
            ],
            "target_losses": [
                int(x) if e else None
                for x, e in zip(losses.tolist(), has_end.tolist(), strict=True)
            ],
            "created_at": [d.replace(tzinfo=UTC) for d in created_dt],
            "updated_at": [d.replace(tzinfo=UTC) for d in updated_dt],
            "utm_source": [SOURCES[i][0] for i in source.tolist()],
            "placement": [PLACEMENTS[i][0] for i in placement.tolist()],
            "camera_outcome": [CAMERA_FAILURES[i][0] for i in camera.tolist()],
            "camera_ms": [int(x) for x in camera_ms.tolist()],
            "video_start_ms": [
                int(ms) if p else None
                for ms, p in zip(video_ms.tolist(), played.tolist(), strict=True)
            ],
        }
