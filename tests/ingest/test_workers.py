"""Several real server processes writing to one PostgreSQL database at once.

Before the write path took its locks in one global order, two processes' batches deadlocked
on the rollup upserts, the visitor keys and the ``FOR UPDATE`` of sessions, and each deadlock
was answered 503 ``database_unavailable`` for a whole batch. Here three ``arv-analytics
serve`` processes get starts of the same content and ends of the same sessions at the same
moment, while the rollups are recounted beside them; nothing may answer 5xx, everything
acknowledged must be stored, and the rollups the processes kept must equal a recount from the
raw rows.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import (
    ADMIN_TOKEN,
    PHONE_UA,
    Database,
    client,
    free_port,
    make_content,
    new_database,
    recount_rollups,
    require_postgres,
    rows,
)

START = "/api/analytics/ar-session"
PROCESSES = 3
SECONDS = float(os.environ.get("ARV_TEST_WORKERS_SECONDS", "12"))
ROLLUPS = ("rollup_stats", "rollup_daily_visitors")
# Several browsers and systems: more dimension rows and visitors for the batches to share.
AGENTS = [
    PHONE_UA,
    PHONE_UA.replace("17_5", "16_2").replace("17.5", "16.2"),
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
]


@contextmanager
def serve(database: Database, log: Path) -> Iterator[str]:
    """One real `arv-analytics serve` process (its own event loop, pool and write buffer)."""
    port = free_port()
    env = {
        **os.environ,
        "ARV_DATABASE_URL": database.url,
        "ARV_ADMIN_TOKEN": ADMIN_TOKEN,
        "ARV_RATE_LIMIT_PER_MINUTE": "0",
        "ARV_JOBS_ENABLED": "false",
        "ARV_CATALOG_REFRESH_SECONDS": "1",
    }
    exe = Path(sys.executable).parent / "arv-analytics"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()  # SIGTERM: drains the write buffer
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    require_postgres()
    with new_database("postgresql", tmp_path) as database:
        yield database


def _wait_trackable(urls: list[str], contents: list[dict[str, Any]]) -> None:
    """Each process caches the catalog; wait until every one knows every content."""
    deadline = time.monotonic() + 20
    for url in urls:
        for content in contents:
            while True:
                body = {"ar_content_id": content["id"]}
                r = httpx.post(url + START, json=body, headers={"User-Agent": PHONE_UA})
                if r.status_code == 200:
                    break
                assert time.monotonic() < deadline, r.text
                time.sleep(0.2)


def _snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    engine = database.engine()
    try:
        with engine.connect() as conn:
            return {
                t: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t}"))
                for t in ROLLUPS
            }
    finally:
        engine.dispose()


def test_processes_share_one_database_without_deadlocks(pg: Database, tmp_path: Path) -> None:
    with ExitStack() as stack:
        logs = [tmp_path / f"serve-{i}.log" for i in range(PROCESSES)]
        urls = [stack.enter_context(serve(pg, log)) for log in logs]
        with client(urls[0]) as api:
            contents = [make_content(api, f"Co {i}", f"P {i}") for i in range(2)]
            contents += [
                api.post("/api/ar-content", json={"project_id": c["project_id"], "title": f"T{i}"})
                .raise_for_status()
                .json()
                for i, c in enumerate(contents * 2)
            ]
        _wait_trackable(urls, contents)
        clients = [httpx.Client(base_url=u, timeout=60) for u in urls]
        for c in clients:
            stack.callback(c.close)
        statuses: list[int] = []
        started: set[str] = set()
        ended: dict[str, int] = {}

        def everyone(method: str, path: str, body: dict[str, Any], agent: str) -> list[int]:
            # The same request to every process at once: their batches overlap on purpose.
            def send(c: httpx.Client) -> int:
                return c.post(path, json=body, headers={"User-Agent": agent}).status_code

            with ThreadPoolExecutor(len(clients)) as pool:
                return list(pool.map(send, clients))

        def viewer(seed: int) -> None:
            rnd = random.Random(seed)
            stop = time.monotonic() + SECONDS
            while time.monotonic() < stop:
                sid = str(uuid.uuid4())
                content = rnd.choice(contents)
                agent = rnd.choice(AGENTS)
                body = {"ar_content_id": content["id"], "session_id": sid,
                        "tracking_quality": rnd.choice(["poor", "good", None])}  # fmt: skip
                codes = everyone("POST", START, body, agent)
                statuses.extend(codes)
                if 200 not in codes:
                    continue
                started.add(sid)
                for seconds in (5, 15, 30):
                    end = {"duration_seconds": seconds, "video_played": seconds > 10,
                           "tracked_seconds": seconds / 2}  # fmt: skip
                    codes = everyone("POST", f"{START}/{sid}/end", end, agent)
                    statuses.extend(codes)
                    if 200 in codes:
                        ended[sid] = seconds

        recounts = 0

        def recount_meanwhile() -> None:
            # `arv-analytics rollup` beside the traffic: it locks the rollup tables in the
            # writers' order, so it may make them wait but never deadlock with them.
            nonlocal recounts
            stop = time.monotonic() + SECONDS
            while time.monotonic() < stop:
                asyncio.run(recount_rollups(pg))
                recounts += 1
                time.sleep(0.5)

        with ThreadPoolExecutor(17) as pool:
            recounting = pool.submit(recount_meanwhile)
            list(pool.map(viewer, range(16)))
            recounting.result()
        assert recounts > 0

    print(f"{len(statuses)} requests, {len(started)} sessions started, {len(ended)} ended")
    assert [s for s in statuses if s >= 500] == [], "5xx answered"
    assert set(statuses) == {200}
    assert len(started) > 30, "too little traffic to mean anything"
    stored = {
        str(r["session_id"]): r["duration_seconds"]
        for r in rows(pg.engine(), "SELECT session_id, duration_seconds FROM ar_view_sessions")
    }
    assert started <= stored.keys(), "acknowledged starts lost"
    assert all(stored[sid] >= seconds for sid, seconds in ended.items()), "ends lost"
    kept = _snapshot(pg)
    asyncio.run(recount_rollups(pg))
    assert _snapshot(pg) == kept, "rollups differ from their recount"
