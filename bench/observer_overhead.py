"""What the request observer (metrics, request id, access log) costs per tracking request.

    .venv/bin/python bench/observer_overhead.py

1. The middleware alone: 50,000 calls of a trivial ASGI app, bare and wrapped in
   RequestObserver without and with the access line (JSON formatter and scrub filter, written
   to /dev/null), in interleaved rounds. The difference is the observer's cost.
2. Over HTTP: sequential tracking starts for unknown content (404: routing, body parsing,
   the rate limiter and one SELECT) against a live server on SQLite, with the observer
   removed, with it and no access log, and with it and the JSON access log; 4 interleaved
   rounds of 500 requests per setting.

Prints medians and 99th percentiles in microseconds. The machine is shared and noisy: read
the differences within one run. results/observer_overhead.txt holds a recorded run.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from arv_analytics import migrate
from arv_analytics.app import create_app
from arv_analytics.config import Settings
from arv_analytics.observability.logs import logging_config
from arv_analytics.observability.requests import RequestObserver

HIGH = {"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000}


def summary(samples: list[float]) -> str:
    us = sorted(s * 1e6 for s in samples)
    p99 = us[int(len(us) * 0.99) - 1]
    return f"median {statistics.median(us):8.1f} µs   p99 {p99:8.1f} µs   n={len(us)}"


def quiet_json_logs() -> None:
    config = logging_config("json")
    config["handlers"]["main"]["stream"] = open(os.devnull, "w")  # noqa: SIM115 - for the run
    logging.config.dictConfig(config)


async def _trivial(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


class _Route:
    path = "/api/analytics/ar-session"


async def middleware_alone(app: Any, n: int) -> list[float]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Any) -> None:
        return None

    times = []
    for _ in range(n):
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/analytics/ar-session",
            "headers": [(b"content-type", b"application/json")],
            "route": _Route(),
        }
        began = time.perf_counter()
        await app(scope, receive, send)
        times.append(time.perf_counter() - began)
    return times


def over_http(settings: Settings, observer: bool, n: int) -> list[float]:
    app = create_app(settings)
    if not observer:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestObserver]
    port = 8000 + (os.getpid() % 1000)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
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
    quiet_json_logs()
    print(f"python {sys.version.split()[0]} on {platform.platform()}, {os.cpu_count()} cpus")
    print(f"load average before: {os.getloadavg()}")
    print("\nmiddleware alone (trivial ASGI app, 5 interleaved rounds of 10,000 calls)")
    apps = {
        "bare": _trivial,
        "observer, no access log": RequestObserver(_trivial, access_log_enabled=False),
        "observer + JSON access log": RequestObserver(_trivial, access_log_enabled=True),
    }
    alone: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(5):
        for name, app in apps.items():
            alone[name] += asyncio.run(middleware_alone(app, 10_000))
    for name, samples in alone.items():
        print(f"  {name:28} {summary(samples)}")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        base = {"database_url": url, "admin_token": uuid.uuid4().hex * 2, **HIGH}
        settings = {
            "no observer": (Settings(**base), False),
            "observer, no access log": (Settings(**base, access_log=False), True),
            "observer + JSON access log": (Settings(**base, access_log=True), True),
        }
        print("\ntracking start over HTTP (404 for unknown content), sequential, SQLite")
        http: dict[str, list[float]] = {name: [] for name in settings}
        for _ in range(4):
            for name, (s, observer) in settings.items():
                http[name] += over_http(s, observer, n=500)
        for name, samples in http.items():
            print(f"  {name:28} {summary(samples)}")
        base_median = statistics.median(http["no observer"])
        for name in list(settings)[1:]:
            ratio = statistics.median(http[name]) / base_median
            print(f"  median ratio {name} / no observer: {ratio:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
