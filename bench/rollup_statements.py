"""How many different rollup upserts do small write batches make? Not a test; no database.

    .venv/bin/python bench/rollup_statements.py [--batches 20000]

Feeds soak-like batches (1-3 writes each: 30% new views, 70% heartbeats/ends raising a
view's duration and changing its quality, camera outcome, losses) to the write path's
`rollups.maintain.Changes` and counts the distinct column lists its upsert names. Each
distinct list is a distinct statement for SQLAlchemy's compiled cache (500 per engine) and
asyncpg's prepared-statement cache (100 per connection): see docs/benchmarks.md, soak.
"""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from arv_analytics.rollups.maintain import Changes


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, default=20_000)
    args = p.parse_args()
    rnd = random.Random(1)  # noqa: S311 - synthetic traffic
    now = datetime.now(UTC)
    live: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for n in range(1, args.batches + 1):
        starts: list[dict[str, Any]] = []
        before: dict[Any, dict[str, Any]] = {}
        after: dict[Any, dict[str, Any]] = {}
        for _ in range(rnd.choice([1, 1, 2, 3])):
            if live and rnd.random() < 0.7:
                old = rnd.choice(live)
                d = (old["duration_seconds"] or 0) + rnd.randint(1, 15)
                new = {
                    "duration_seconds": d,
                    "tracked_seconds": d // 2,
                    "video_played": d > 10,
                    "tracking_quality": rnd.choice(["none", "poor", "fair", "good"]),
                    "camera_outcome": rnd.choice(["granted", "granted", "denied"]),
                    "target_losses": rnd.randint(0, 5),
                }
                before[old["session_id"]], after[old["session_id"]] = dict(old), new
                old.update(new)
            else:
                row = {
                    "created_at": now, "company_id": 1, "project_id": 1,
                    "ar_content_id": rnd.randint(1, 5), "is_bot": rnd.random() < 0.05,
                    "session_id": uuid.uuid4(), "device_type": "mobile",
                    "browser": "Mobile Safari", "os": "iOS", "country": None,
                    "tracking_quality": None, "video_played": False, "duration_seconds": None,
                }  # fmt: skip
                starts.append(row)
                live.append(row)
                del live[:-500]
        changes = Changes()
        for row in starts:
            changes.add(row, +1)
        for sid, new in after.items():
            changes.add(before[sid], -1)
            changes.add({**before[sid], **new}, +1)
        seen.add(tuple(changes.rows()[1]))
        if n in (100, 1_000, 5_000, 10_000, 20_000, args.batches):
            print(f"{n:>7,} batches: {len(seen):>6,} distinct column lists")


if __name__ == "__main__":
    main()
