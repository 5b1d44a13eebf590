"""What the write path's transaction costs per start, in-process: sessions and rollups.

    .venv/bin/python bench/write_batches.py [--batches 105] [--size 100] [--visitors 0] [--label X]

Makes a fresh arv_bench_* PostgreSQL database (migrated by the code it runs with), one
company, one project and 20 contents, then applies --batches batches of --size starts with
``ingest.writes.apply_batch`` (the write buffer's call: session rows, rollup_stats, visitor
keys and counters) in one transaction each and commits. Each start has random device,
browser, os and country values and a new visitor (``--visitors 0``) or one of N visitors.
The first 5 batches are warm-up. Prints the time per start spent in apply_batch + commit.
To compare two versions of the code, run it with PYTHONPATH pointing at the other's src.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as sync_engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import pg_create, pg_drop, pg_url

from arv_analytics import migrate
from arv_analytics.config import Settings
from arv_analytics.db import create_engine, create_sessionmaker
from arv_analytics.ingest.writes import Rules, StartWrite, apply_batch
from arv_analytics.models import ARContent, Company, Project

WARMUP = 5


def catalog(url: str) -> list[tuple[int, int, int]]:
    engine = sync_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        with Session(engine) as orm:
            company = Company(name="c", slug="c")
            orm.add(company)
            orm.flush()
            project = Project(company_id=company.id, name="p", slug="p")
            orm.add(project)
            orm.flush()
            contents = [
                ARContent(project_id=project.id, company_id=company.id, title=f"t{i}")
                for i in range(20)
            ]
            orm.add_all(contents)
            orm.commit()
            return [(c.id, c.project_id, c.company_id) for c in contents]
    finally:
        engine.dispose()


def starts(rnd: random.Random, contents: list[tuple[int, int, int]], n: int, pool: int) -> Any:
    now = datetime.now(UTC)
    for _ in range(n):
        content, project, company = rnd.choice(contents)
        yield {
            "ar_content_id": content, "project_id": project, "company_id": company,
            "session_id": uuid.uuid4(), "is_bot": rnd.random() < 0.05,
            "visitor_hash": rnd.getrandbits(62) if pool == 0 else rnd.randrange(pool),
            "device_type": rnd.choice(["mobile", "tablet"]),
            "browser": rnd.choice(["Mobile Safari", "Chrome Mobile"]),
            "os": rnd.choice(["iOS", "Android"]),
            "country": rnd.choice(["DE", "AT", "US", "FR", "GB"]),
            "tracking_quality": "good", "video_played": True, "created_at": now, "updated_at": now,
        }  # fmt: skip


async def run(url: str, args: argparse.Namespace, contents: list[tuple[int, int, int]]) -> float:
    engine = create_engine(Settings(database_url=url))
    maker = create_sessionmaker(engine)
    rules = Rules(rollups=True, end_window_seconds=3600)
    rnd = random.Random(7)  # noqa: S311 - synthetic data, the same every run
    spent = 0.0
    try:
        for b in range(args.batches):
            batch = [StartWrite(row=r) for r in starts(rnd, contents, args.size, args.visitors)]
            began = time.perf_counter()
            async with maker() as session:
                await apply_batch(session, batch, rules)
                await session.commit()
            if b >= WARMUP:
                spent += time.perf_counter() - began
    finally:
        await engine.dispose()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=105)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--visitors", type=int, default=0, help="0: a new visitor per start")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    db = pg_create("wb")
    url = pg_url(db)
    try:
        migrate.upgrade(url)
        spent = asyncio.run(run(url, args, catalog(url)))
    finally:
        pg_drop(db)
    n = (args.batches - WARMUP) * args.size
    who = "a new visitor per start" if args.visitors == 0 else f"{args.visitors} visitors"
    print(f"{args.label or 'this code'} ({who}): {n} starts in {spent:.2f} s, "
          f"{spent / n * 1e3:.3f} ms per start, {n / spent:.0f} starts/s")  # fmt: skip


if __name__ == "__main__":
    main()
