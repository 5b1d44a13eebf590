"""Catalog at studio scale: catalog writes, their propagation, starts and lists vs catalog size.

For each catalog size (default 1,000 and 100,000 contents, same run, PostgreSQL): a fresh
database holding 100 companies x 10 projects x size/1,000 contents (written with SQL, as if
it had existed for a day), and two `arv-analytics serve` processes on it (two workers with
their own content caches). Then:

1. RSS of each server process once its cache is loaded;
2. p50/p95 of create, update and deactivate through A's admin API (sequential requests);
3. a deactivation made on A until B answers 404 to a start for that content;
4. starts (wrk, wrk/start.lua) against A: requests/s and p99;
5. list endpoints with filters, search and a deep page: p50/p95;
6. bulk endpoint: 1,000 new rows per request, rows/s;
7. the content cache's full reload (every 10 minutes) in this process: total time and the
   longest single hold of the event loop;
8. where a request's time goes: the app in this process (no HTTP, no second process), each
   write and list request split into the statements it sends (count and time), the commit,
   and the rest (FastAPI, validation, ORM, the pool's ping, BEGIN and ROLLBACK round trips).

The machine's load average is printed before and after each phase (others share its cores).

Run from the repository root: .venv/bin/python bench/catalog.py [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    IPHONE_UA,
    ROOT,
    Server,
    migrate,
    pg_database,
    pg_query,
    pg_url,
    rss_kib,
    run_wrk,
    start_arv,
    stop,
)

TOKEN = "bench-admin-token-" + uuid.uuid4().hex
START = "/api/analytics/ar-session"
# (phase, 1/5/15-minute load averages), printed with the results.
LOADS: list[tuple[str, tuple[float, float, float]]] = []


def note_load(phase: str) -> None:
    LOADS.append((phase, os.getloadavg()))


def seed(db: str, contents: int) -> None:
    per_project = max(1, contents // 1000)
    pg_query(
        db,
        f"""
        INSERT INTO companies (name, slug, is_active, created_at, updated_at)
          SELECT 'Company ' || i, 'company-' || i, true, now() - interval '1 day',
                 now() - interval '1 day' FROM generate_series(1, 100) i;
        INSERT INTO projects (company_id, name, slug, is_active, created_at, updated_at)
          SELECT c.id, 'Project ' || j, 'project-' || j, true, c.created_at, c.updated_at
          FROM companies c, generate_series(1, 10) j;
        INSERT INTO ar_content (unique_id, project_id, company_id, title, video_url, is_active,
                                created_at, updated_at)
          SELECT gen_random_uuid(), p.id, p.company_id, 'Poster ' || p.id || '-' || k,
                 'https://cdn.example/v' || k || '.mp4', true, p.created_at, p.updated_at
          FROM projects p, generate_series(1, {per_project}) k;
        """,  # noqa: S608 - integers of our own
    )
    # An existing catalog has been vacuumed (visibility map set, statistics current), even
    # where autovacuum is off, as on the shared benchmark machine.
    pg_query(db, "VACUUM ANALYZE")


def items(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    for _ in range(10):  # a loaded machine can take longer than 5 s to open a connection
        r = api.get(path, params=params)
        if r.status_code != 503:
            break
        time.sleep(2)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    found: list[dict[str, Any]] = r.json()["items"]
    return found


def timed(fn: Callable[[], httpx.Response], expect: int = 200) -> float:
    t0 = time.perf_counter()
    r = fn()
    elapsed = (time.perf_counter() - t0) * 1000
    assert r.status_code == expect, (r.status_code, r.text[:300])
    return elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.1f} ms  p95 {pct(values, 0.95):7.1f} ms"


def writes(api: httpx.Client, n: int, project: int) -> dict[str, list[float]]:
    created: list[int] = []
    out: dict[str, list[float]] = {"create": [], "update": [], "deactivate": []}
    for i in range(n):
        t0 = time.perf_counter()
        r = api.post("/api/ar-content", json={"project_id": project, "title": f"Bench {i}"})
        out["create"].append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.text
        created.append(r.json()["id"])
    for i, cid in enumerate(created):
        path = f"/api/ar-content/{cid}"
        body = {"title": f"B {i}"}
        out["update"].append(timed(partial(api.patch, path, json=body)))
    for cid in created:
        out["deactivate"].append(timed(partial(api.delete, f"/api/ar-content/{cid}")))
    return out


def propagation(
    api: httpx.Client, worker: httpx.Client, uids: list[tuple[int, str]]
) -> list[float]:
    """Seconds from A's answer to a deactivation until B refuses a start for it."""
    found = []
    for cid, uid in uids:
        body = {"ar_content_unique_id": uid}
        assert worker.post(START, json=body).status_code == 200
        assert api.delete(f"/api/ar-content/{cid}").status_code == 200
        t0 = time.monotonic()
        while worker.post(START, json=body).status_code != 404:
            if time.monotonic() - t0 > 30:
                raise RuntimeError("deactivation did not reach B within 30 s")
            time.sleep(0.02)
        found.append(time.monotonic() - t0)
    return found


def list_queries(size: int, sample: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "first page": {},
        "last page (offset)": {"offset": max(0, size - 50)},
        "last page (after_id)": {"after_id": sample["id"] + size - 60},
        "company": {"company_id": sample["company_id"]},
        "project": {"project_id": sample["project_id"]},
        "inactive": {"is_active": False},
        "search, few matches": {"q": f"ster {sample['project_id']}-3"},
        "search, 11% match": {"q": "ter 5"},
        "search + company": {"q": "-1", "company_id": sample["company_id"]},
        "company + active, page 5": {"company_id": sample["company_id"], "is_active": True,
                                     "offset": 200},
    }  # fmt: skip


def lists(
    api: httpx.Client, size: int, sample: dict[str, Any], rounds: int
) -> dict[str, list[float]]:
    out = {}
    for label, params in list_queries(size, sample).items():
        times = [timed(partial(api.get, "/api/ar-content", params=params)) for _ in range(rounds)]
        out[label] = times
    return out


def bulk(api: httpx.Client, batches: int) -> float:
    rows_done, seconds = 0, 0.0
    for b in range(batches):
        rows = [
            {"company_slug": "company-1", "project_slug": "project-1", "title": f"Bulk {b}-{i}",
             "unique_id": str(uuid.uuid4())}
            for i in range(1000)
        ]  # fmt: skip
        t0 = time.perf_counter()
        r = api.post("/api/ar-content/bulk", json={"rows": rows}, timeout=120)
        seconds += time.perf_counter() - t0
        assert r.status_code == 200, r.text[:300]
        assert r.json()["created"] == 1000, r.text[:300]
        rows_done += 1000
    return rows_done / seconds


def full_reload(db: str) -> tuple[float, float]:
    """(total ms, longest event-loop hold ms) of the cache's full reload, in this process."""
    sys.path.insert(0, str(ROOT / "src"))
    from arv_analytics.config import Settings
    from arv_analytics.db import create_engine, create_sessionmaker
    from arv_analytics.ingest.catalog_cache import ContentCache

    async def go() -> tuple[float, float]:
        engine = create_engine(Settings(database_url=pg_url(db)))
        cache = ContentCache(create_sessionmaker(engine))
        longest, stop_flag = 0.0, False

        async def ticker() -> None:
            nonlocal longest
            last = time.perf_counter()
            while not stop_flag:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                longest = max(longest, (now - last) * 1000 - 1)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        await cache.refresh(force=True)
        total = (time.perf_counter() - t0) * 1000
        stop_flag = True
        await tick
        await engine.dispose()
        return total, longest

    return asyncio.run(go())


Breakdown = dict[str, list[dict[str, float]]]


def breakdown(db: str, size: int, sample: dict[str, Any], n: int) -> Breakdown:
    """Per request, in this process through the ASGI app (no HTTP): total ms, statements
    sent and their ms, commit ms (the database's fsync included), and the rest."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import Engine, event
    from sqlalchemy.orm import Session

    from arv_analytics.app import create_app
    from arv_analytics.config import Settings

    current: dict[str, float] = {"statements": 0, "statement_ms": 0.0, "commit_ms": 0.0}
    marks: dict[str, float] = {}

    def before(*_: Any) -> None:
        marks["stmt"] = time.perf_counter()

    def after(*_: Any) -> None:
        current["statements"] += 1
        current["statement_ms"] += (time.perf_counter() - marks["stmt"]) * 1000

    def committing(*_: Any) -> None:
        marks["commit"] = time.perf_counter()

    def committed(*_: Any) -> None:
        current["commit_ms"] += (time.perf_counter() - marks["commit"]) * 1000

    hooks = [
        (Engine, "before_cursor_execute", before),
        (Engine, "after_cursor_execute", after),
        (Engine, "commit", committing),
        (Session, "after_commit", committed),
    ]
    settings = Settings(
        database_url=pg_url(db), admin_token=TOKEN, jobs_enabled=False, rate_limit_per_minute=0
    )
    out: Breakdown = {}

    async def measure(label: str, call: Callable[[int], Any]) -> None:
        for i in range(n + 3):
            current.update(statements=0, statement_ms=0.0, commit_ms=0.0)
            t0 = time.perf_counter()
            r = await call(i)
            total = (time.perf_counter() - t0) * 1000
            assert r.status_code < 300, (label, r.status_code, r.text[:300])
            if i >= 3:  # the first ones prepare statements and fill caches
                rest = total - current["statement_ms"] - current["commit_ms"]
                out.setdefault(label, []).append({**current, "total_ms": total, "rest_ms": rest})

    async def go() -> None:
        app = create_app(settings)
        for target, name, fn in hooks:
            event.listen(target, name, fn)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                headers = {"Authorization": f"Bearer {TOKEN}"}
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://bench", headers=headers
                ) as api:
                    project = sample["project_id"]
                    made: list[int] = []

                    async def create(i: int) -> httpx.Response:
                        body = {"project_id": project, "title": f"Breakdown {i}"}
                        r = await api.post("/api/ar-content", json=body)
                        made.append(r.json()["id"])
                        return r

                    await measure("create", create)
                    await measure(
                        "update",
                        lambda i: api.patch(f"/api/ar-content/{made[i]}", json={"title": f"B{i}"}),
                    )
                    await measure("deactivate", lambda i: api.delete(f"/api/ar-content/{made[i]}"))
                    for label, params in list_queries(size, sample).items():
                        await measure(
                            f"GET {label}",
                            partial(lambda p, _i: api.get("/api/ar-content", params=p), params),
                        )
        finally:
            for target, name, fn in hooks:
                event.remove(target, name, fn)

    asyncio.run(go())
    return out


@dataclass
class Env:
    size: int
    db: str
    a: Server
    b: Server
    api: httpx.Client
    worker: httpx.Client
    result: dict[str, Any] = field(default_factory=dict)


def setup(stack: ExitStack, size: int, logs: Path) -> Env:
    db = stack.enter_context(pg_database(f"cat{size}"))
    url = pg_url(db)
    migrate(url, TOKEN)
    seed(db, size)
    # Loading 100,000 contents into the cache on a machine at load 15+ took 35 s.
    a = start_arv(url, TOKEN, logs / f"a-{size}.log", wait=300)
    stack.callback(stop, a)
    b = start_arv(url, TOKEN, logs / f"b-{size}.log", wait=300)
    stack.callback(stop, b)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    api = stack.enter_context(httpx.Client(base_url=a.base, headers=headers, timeout=60))
    worker = stack.enter_context(
        httpx.Client(base_url=b.base, headers={"User-Agent": IPHONE_UA}, timeout=60)
    )
    return Env(size, db, a, b, api, worker, {"size": size})


def run_all(sizes: list[int], args: argparse.Namespace, logs: Path) -> list[dict[str, Any]]:
    """Every phase alternates between the catalog sizes in rounds, so that load from the
    rest of the (shared) machine falls on both alike."""
    with ExitStack() as stack:
        note_load("before set-up")
        envs = [setup(stack, size, logs) for size in sizes]
        time.sleep(3)
        note_load("writes and lists")
        for e in envs:
            e.result["rss_mib"] = (rss_kib(e.a.pid) / 1024, rss_kib(e.b.pid) / 1024)
            e.result["project"] = items(e.api, "/api/projects", limit=1)[0]
            e.result["sample"] = items(e.api, "/api/ar-content", limit=200)
            e.result["writes"] = {"create": [], "update": [], "deactivate": []}
            e.result["lists"] = {}
            e.result["starts"] = []
        rounds = 4
        for _ in range(rounds):
            for e in envs:
                part = writes(e.api, args.writes // rounds, e.result["project"]["id"])
                for op, values in part.items():
                    e.result["writes"][op] += values
            for e in envs:
                for label, values in lists(
                    e.api, e.size, e.result["sample"][0], args.rounds // rounds
                ).items():
                    e.result["lists"].setdefault(label, []).extend(values)
        note_load("breakdown")
        for e in envs:
            e.result["breakdown"] = breakdown(e.db, e.size, e.result["sample"][0], args.breakdown)
        note_load("propagation")
        for e in envs:
            picks = random.sample(e.result["sample"], args.propagations)
            e.result["propagation"] = propagation(
                e.api, e.worker, [(c["id"], c["unique_id"]) for c in picks]
            )
            picked = {p["id"] for p in picks}
            e.result["live"] = next(c for c in e.result["sample"] if c["id"] not in picked)
        note_load("starts (wrk)")
        for _ in range(args.wrk_rounds):
            for e in envs:
                wrk = run_wrk(
                    e.a.base, ROOT / "bench" / "wrk" / "start.lua", args.seconds,
                    {"ARV_CONTENT_UID": e.result["live"]["unique_id"], "ARV_ACK_DIR": str(logs),
                     "ARV_UA": IPHONE_UA},
                    connections=args.connections,
                )  # fmt: skip
                e.result["starts"].append((wrk.rps, wrk.p99_ms, wrk.non_2xx))
        note_load("bulk")
        for e in envs:
            e.result["bulk_rows_per_s"] = bulk(e.api, args.bulk_batches)
            e.result["rss_after_mib"] = (rss_kib(e.a.pid) / 1024, rss_kib(e.b.pid) / 1024)
        note_load("full reload")
        for e in envs:
            e.result["full_reload"] = full_reload(e.db)
        note_load("end")
        return [e.result for e in envs]


def med(result: dict[str, Any], index: int) -> float:
    return float(statistics.median(s[index] for s in result["starts"]))


def report(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(f"\n=== {r['size']:,} contents (PostgreSQL, 2 server processes) ===")
        (a0, b0), (a1, b1) = r["rss_mib"], r["rss_after_mib"]
        print(f"RSS after start A {a0:.0f} MiB, B {b0:.0f} MiB; after the run A {a1:.0f} MiB,"
              f" B {b1:.0f} MiB")  # fmt: skip
        for op, values in r["writes"].items():
            print(f"{op:<11} ({len(values)}) {summary(values)}")
        prop = r["propagation"]
        print(f"deactivation on A -> B refuses starts ({len(prop)}): "
              f"median {statistics.median(prop):.2f} s  max {max(prop):.2f} s")  # fmt: skip
        for rps, p99, non in r["starts"]:
            print(f"starts (wrk)  {rps:8.0f} req/s  p99 {p99:.1f} ms  non-2xx {non}")
        print(f"bulk          {r['bulk_rows_per_s']:8.0f} rows/s (1,000 rows per request)")
        total, hold = r["full_reload"]
        print(f"full reload   {total:8.0f} ms total, longest event-loop hold {hold:.0f} ms")
        for label, values in r["lists"].items():
            print(f"GET /api/ar-content {label:<26} ({len(values)}) {summary(values)}")
    for r in results:
        print(
            f"\n--- where a request's time goes at {r['size']:,} contents (in-process, ms, median"
            " of each column; rest = FastAPI, validation, ORM, pool ping, BEGIN/ROLLBACK) ---"
        )
        print(f"{'request':<36} {'total':>7} {'stmts':>5} {'in stmts':>8} {'commit':>7}"
              f" {'rest':>7} {'total p95':>9}")  # fmt: skip
        for label, rows in r["breakdown"].items():

            def col(k: str, rows: list[dict[str, float]] = rows) -> float:
                return float(statistics.median(x[k] for x in rows))

            p95 = pct([x["total_ms"] for x in rows], 0.95)
            print(f"{label:<36} {col('total_ms'):7.1f} {col('statements'):5.0f}"
                  f" {col('statement_ms'):8.1f} {col('commit_ms'):7.1f} {col('rest_ms'):7.1f}"
                  f" {p95:9.1f}")  # fmt: skip
    print("\nload average (1/5/15 min) at the start of each phase:")
    for phase, (one, five, fifteen) in LOADS:
        print(f"  {phase:<18} {one:5.2f} {five:5.2f} {fifteen:5.2f}")
    if len(results) == 2:
        small, large = results
        print(f"\nratios {large['size']:,} / {small['size']:,} contents (p50, p95):")
        pairs = [(f"{op}", small["writes"][op], large["writes"][op]) for op in small["writes"]]
        pairs += [(f"GET {k}", small["lists"][k], large["lists"][k]) for k in small["lists"]]
        for label, a, b in pairs:
            p50 = _ratio(statistics.median(b), statistics.median(a))
            print(f"  {label:<36} {p50:>7} {_ratio(pct(b, 0.95), pct(a, 0.95)):>7}")
        rps, p99 = _ratio(med(large, 0), med(small, 0)), _ratio(med(large, 1), med(small, 1))
        print(f"  {'starts req/s, p99 (medians of rounds)':<36} {rps:>7} {p99:>7}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--propagations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--bulk-batches", type=int, default=3)
    parser.add_argument("--wrk-rounds", type=int, default=3)
    parser.add_argument("--breakdown", type=int, default=50, help="requests per kind, step 8")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arv-bench-catalog-") as tmp:
        results = run_all([int(s) for s in args.sizes.split(",")], args, Path(tmp))
        report(results)


if __name__ == "__main__":
    main()
