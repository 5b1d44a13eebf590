"""What the tracking rate limit costs: per check, and per tracking request over HTTP.

    .venv/bin/python bench/rate_limit_overhead.py [--redis redis://127.0.0.1:6379/0]

1. The limiter alone: TrackingLimiter.check() for 20,000 requests from 2,000 clients, with
   in-process memory and with Redis (two limits per request: burst and per-minute).
2. Over HTTP: sequential tracking starts for unknown content (404: the limiter, body parsing
   and one SELECT) against a live server on SQLite, with the limiter off, in memory, in
   Redis; 4 interleaved rounds of 500 requests per setting.

Prints medians and 99th percentiles in microseconds. Numbers vary with the machine's load;
results/rate_limit_overhead.txt holds a recorded run and the machine it ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import uvicorn

from arv_analytics import migrate
from arv_analytics.app import create_app
from arv_analytics.config import Settings
from arv_analytics.tenancy.ratelimit import TrackingLimiter

HIGH = {"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000}


def summary(samples: list[float]) -> str:
    us = sorted(s * 1e6 for s in samples)
    p99 = us[int(len(us) * 0.99) - 1]
    return f"median {statistics.median(us):8.1f} µs   p99 {p99:8.1f} µs   n={len(us)}"


async def limiter_alone(settings: Settings, n: int = 20_000, clients: int = 2_000) -> list[float]:
    limiter = TrackingLimiter(settings)
    times = []
    try:
        for i in range(n):
            key = f"10.0.{(i % clients) // 256}.{i % 256}"
            began = time.perf_counter()
            await limiter.check(key)
            times.append(time.perf_counter() - began)
    finally:
        await limiter.aclose()
    return times


def over_http(settings: Settings, n: int = 2_000) -> list[float]:
    port = 8000 + (os.getpid() % 1000)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    times = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            body = {"ar_content_unique_id": str(uuid.uuid4())}
            for _ in range(50):  # warm up
                c.post("/api/analytics/ar-session", json=body)
            for _ in range(n):
                began = time.perf_counter()
                r = c.post("/api/analytics/ar-session", json=body)
                times.append(time.perf_counter() - began)
                assert r.status_code == 404, r.text
    finally:
        server.should_exit = True
        thread.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    prefix = f"arvbench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        base = {"database_url": url, "admin_token": uuid.uuid4().hex * 2}
        configs = {
            "off": Settings(**base, rate_limit_per_minute=0),
            "memory": Settings(**base, **HIGH),
            "redis": Settings(**base, **HIGH, redis_url=args.redis, redis_key_prefix=prefix),
        }
        print(f"python {sys.version.split()[0]} on {platform.platform()}, {os.cpu_count()} cpus")
        print("\nlimiter alone (TrackingLimiter.check, 2 limits per request)")
        for name in ("memory", "redis"):
            print(f"  {name:7} {summary(asyncio.run(limiter_alone(configs[name])))}")
        print("\ntracking start over HTTP (404 for unknown content), sequential, SQLite")
        # Interleaved rounds, so that a change in the machine's load hits all three alike.
        http: dict[str, list[float]] = {"off": [], "memory": [], "redis": []}
        for _ in range(4):
            for name, samples in http.items():
                samples += over_http(configs[name], n=500)
        for name, samples in http.items():
            print(f"  {name:7} {summary(samples)}")


if __name__ == "__main__":
    main()
