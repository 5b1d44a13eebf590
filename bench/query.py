# ruff: noqa: S603 - runs the project's own CLI with our own arguments
"""Analytics latency at 1M and 10M sessions: the engine's rollups vs raw, PostgreSQL and SQLite.

    .venv/bin/python bench/query.py [--sizes pg:1000000,pg:10000000,sqlite:1000000]
                                    [--requests 200] [--max-seconds 20]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and the project's venv.

For each size: a fresh database (an arv_bench_* PostgreSQL database or a SQLite file), `db
upgrade`, `arv-analytics demo --sessions N --days 365` (COPY on PostgreSQL, then a rollup
recount; its printed load rate is kept). Then, for ARV_ANALYTICS_SOURCE=rollups and =raw, a
server (`arv-analytics serve`, rate limiting and jobs off) answers the engine's benchmark
questions (a 30-day daily series with the previous period, a 12-month monthly series, a
country breakdown with one filter, a country breakdown with unique visitors, one with two
filters (a raw fallback), the funnel,
realtime) and the compatible overview and content endpoints, with the admin token, over HTTP
on loopback: 20 warm-up requests, then up to
--requests sequential requests, each endpoint bounded to --max-seconds (slow raw queries stop
early; the table says how many were measured). The ids are those of the demo's most viewed
company, project and content. Prints p50/p95 in milliseconds per endpoint and source, and
the p95 ratio of the largest PostgreSQL size to the smallest. A baseline row, measured the same
way in the same run: GET /api/companies/{id} (token check, one-row SELECT, JSON). Exits 0.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.clickhouse.cluster

from common import (
    ROOT,
    VENV_BIN,
    Server,
    admin_token,
    migrate,
    pg_create,
    pg_drop,
    pg_query,
    pg_url,
    serve_env,
    start_arv,
    stop,
)

WARMUP = 20


@dataclass
class Timing:
    p50_ms: float
    p95_ms: float
    n: int


@dataclass
class SizeResult:
    label: str
    load_line: str
    load_seconds: float
    # endpoint -> source -> timing
    timings: dict[str, dict[str, Timing]] = field(default_factory=dict)


def load_demo(url: str, token: str, sessions: int) -> tuple[str, float]:
    began = time.perf_counter()
    out = subprocess.run(
        [str(VENV_BIN / "arv-analytics"), "demo", "--sessions", str(sessions), "--days", "365"],
        env={**os.environ, **serve_env(url, token), "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("demo data")]
    return (lines[-1] if lines else out.stdout.strip()[-300:]), time.perf_counter() - began


def most_viewed(server: Server, token: str) -> dict[str, int]:
    """Ids of the company, project and content with the most views in 366 days."""
    auth = {"Authorization": f"Bearer {token}"}
    best: dict[str, int] = {}
    with httpx.Client(base_url=server.base, headers=auth, timeout=120) as c:
        for kind, path in (
            ("company", "companies"),
            ("project", "projects"),
            ("content", "ar-content"),
        ):
            items = c.get(f"/api/{path}", params={"limit": 100}).raise_for_status().json()
            views = {
                item["id"]: c.get(f"/api/analytics/{path}/{item['id']}", params={"days": 366})
                .raise_for_status()
                .json()["views"]
                for item in items["items"]
            }
            best[kind] = max(views, key=lambda k: views[k])
    return best


Request = tuple[str, str, str, dict[str, Any] | None]  # label, method, path, JSON body


def endpoints(ids: dict[str, int]) -> list[Request]:
    q = "/api/v1/query"
    content_filter = {"dimension": "content", "op": "is", "values": [ids["content"]]}
    company_filter = {"dimension": "company", "op": "is", "values": [ids["company"]]}
    return [
        # A same-run baseline: an authenticated one-row catalog read (token, FastAPI, JSON).
        ("(baseline) catalog company", "GET", f"/api/companies/{ids['company']}", None),
        ("overview (30 days)", "GET", "/api/analytics/overview", None),
        ("overview ?days=366", "GET", "/api/analytics/overview?days=366", None),
        ("content (30 days)", "GET", f"/api/analytics/ar-content/{ids['content']}", None),
        ("30d daily + previous", "POST", q,
         {"period": "30d", "dimensions": ["time:day"], "metrics": ["views", "unique_visitors"],
          "comparison": "previous_period"}),
        ("12mo monthly", "POST", q,
         {"period": "12mo", "dimensions": ["time:month"],
          "metrics": ["views", "unique_visitors"]}),
        ("country, 1 filter (company)", "POST", q,
         {"period": "30d", "dimensions": ["country"], "filters": [company_filter],
          "metrics": ["views", "video_play_rate"]}),
        ("country + visitors (30d)", "POST", q,
         {"period": "30d", "dimensions": ["country"], "metrics": ["views", "unique_visitors"]}),
        ("country, content filter", "POST", q,
         {"period": "30d", "dimensions": ["country"], "filters": [content_filter],
          "metrics": ["views", "video_play_rate"]}),
        ("country, 2 filters (raw)", "POST", q,
         {"period": "30d", "dimensions": ["country"], "metrics": ["views"],
          "filters": [{"dimension": "device_type", "op": "is", "values": ["mobile"]},
                      {"dimension": "browser", "op": "is_not", "values": ["Firefox"]}]}),
        ("funnel (30d)", "POST", "/api/v1/funnel", {"period": "30d"}),
        ("realtime", "GET", "/api/v1/realtime", None),
    ]  # fmt: skip


def measure(client: httpx.Client, request: Request, n: int, max_seconds: float) -> Timing:
    _, method, path, body = request

    def call() -> httpx.Response:
        return client.request(method, path, json=body)

    for _ in range(WARMUP):
        call().raise_for_status()
    times: list[float] = []
    deadline = time.monotonic() + max_seconds
    while len(times) < n and (time.monotonic() < deadline or len(times) < 5):
        began = time.perf_counter()
        r = call()
        times.append(time.perf_counter() - began)
        r.raise_for_status()
    ms = sorted(t * 1e3 for t in times)
    p95 = ms[max(0, math.ceil(len(ms) * 0.95) - 1)]  # nearest rank
    return Timing(statistics.median(ms), p95, len(ms))


def clickhouse_env(url: str, token: str, args: argparse.Namespace, tmp: Path) -> dict[str, str]:
    """--clickhouse-shards N: a local cluster (tests/clickhouse/cluster.py, data on disk),
    `clickhouse init` and a timed `clickhouse backfill` of the loaded database."""
    from tests.clickhouse.cluster import CLUSTER, LocalCluster

    cluster = LocalCluster(tmp / f"clickhouse-{uuid.uuid4().hex[:6]}", size=args.clickhouse_shards)
    cluster.start()
    CLUSTERS.append(cluster)
    env = {"ARV_CLICKHOUSE_URL": f"clickhouse://127.0.0.1:{cluster.shards[0].tcp}/arv",
           "ARV_CLICKHOUSE_CLUSTER": CLUSTER}  # fmt: skip
    full = {**os.environ, **serve_env(url, token), **env, "COLUMNS": "200"}
    for command in (["init"], ["backfill", "--batch", "50000"]):
        began = time.perf_counter()
        argv = [str(VENV_BIN / "arv-analytics"), "clickhouse", *command]
        out = subprocess.run(
            argv, env=full, cwd=ROOT, capture_output=True, text=True, check=True, timeout=7200
        )
        last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        seconds = time.perf_counter() - began
        print(f"  clickhouse {command[0]}: {last} ({seconds:.1f} s)", flush=True)
    return env


CLUSTERS: list[Any] = []


def measure_sources(
    url: str, token: str, result: SizeResult, args: argparse.Namespace, tmp: Path, tag: str
) -> None:
    """Every benchmark question against a loaded database, rollups then raw (then
    clickhouse)."""
    server: Server | None = None
    ids: dict[str, int] | None = None
    try:
        for source in args.sources.split(","):
            extra = {"ARV_ANALYTICS_SOURCE": source}
            if source == "clickhouse":
                extra = {"ARV_ANALYTICS_SOURCE": "raw", **clickhouse_env(url, token, args, tmp)}
            server = start_arv(url, token, tmp / f"query-{tag}-{source}.log", **extra)
            if ids is None:
                ids = most_viewed(server, token)
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.base, headers=auth, timeout=120) as client:
                for request in endpoints(ids):
                    t = measure(client, request, args.requests, args.max_seconds)
                    result.timings.setdefault(request[0], {})[source] = t
                    print(f"  {source:7} {request[0]:30} p50 {t.p50_ms:8.2f} "
                          f"p95 {t.p95_ms:8.2f} n={t.n}", flush=True)  # fmt: skip
            stop(server)
            server = None
    finally:
        if server is not None:
            stop(server)


def bench_existing(url: str, args: argparse.Namespace, tmp: Path) -> SizeResult:
    """--url: a database loaded beforehand (e.g. with bench/bulk_sessions.sql and
    `arv-analytics rollup`), measured as it is; the server it starts gets ARV_ADMIN_TOKEN
    (or a fresh one) as its admin token."""
    token = admin_token()
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    result = SizeResult(f"{kind} {url.rsplit('/', 1)[-1]}", "loaded beforehand", 0.0)
    measure_sources(url, token, result, args, tmp, result.label)
    return result


def bench_size(kind: str, sessions: int, args: argparse.Namespace, tmp: Path) -> SizeResult:
    token = uuid.uuid4().hex * 2
    db = pg_create(f"q{sessions // 1_000_000}m") if kind == "pg" else ""
    url = pg_url(db) if db else f"sqlite+aiosqlite:///{tmp / f'query-{sessions}.db'}"
    label = f"{'PostgreSQL' if db else 'SQLite'} {sessions / 1e6:g}M"
    try:
        migrate(url, token)
        print(f"{label}: loading …", flush=True)
        line, seconds = load_demo(url, token, sessions)
        print(f"{label}: {line}", flush=True)
        if db:
            pg_query(db, "VACUUM ANALYZE")
        result = SizeResult(label, line, seconds)
        measure_sources(url, token, result, args, tmp, f"{kind}-{sessions}")
        return result
    finally:
        if db:
            pg_drop(db)


def table(results: list[SizeResult]) -> str:
    sources = list(dict.fromkeys(s for r in results for by in r.timings.values() for s in by))
    head = f"{'data':16} {'endpoint':28} " + "   ".join(
        f"{s + ' p50':>14} {'p95':>9} {'n':>4}" for s in sources
    )
    lines = [head, "-" * len(head)]
    for r in results:
        for path, by in r.timings.items():
            cells = []
            for s in sources:
                t = by.get(s)
                cells.append(f"{t.p50_ms:14.2f} {t.p95_ms:9.2f} {t.n:4d}" if t else " " * 29)
            lines.append(f"{r.label:16} {path:28} " + "   ".join(cells))
    return "\n".join(lines)


def scaling(results: list[SizeResult]) -> str:
    pg = [r for r in results if r.label.startswith("PostgreSQL")]
    if len(pg) < 2:
        return ""
    small, large = pg[0], pg[-1]
    lines = [f"\nrollups p95, {large.label} vs {small.label}"]
    for (path, by_large), by_small in zip(
        large.timings.items(), small.timings.values(), strict=True
    ):
        a, b = by_small["rollups"].p95_ms, by_large["rollups"].p95_ms
        lines.append(f"  {path:28} {a:7.2f} -> {b:7.2f} ms  ({b / a:4.2f}x)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="pg:1000000,pg:10000000,sqlite:1000000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        help="measure an already loaded database instead (repeatable)",
    )
    parser.add_argument("--sources", default="rollups,raw", help="also: clickhouse")
    parser.add_argument("--clickhouse-shards", type=int, default=2,
                        help="local shards started for the clickhouse source")  # fmt: skip
    args = parser.parse_args()
    sizes = [(k, int(n)) for k, n in (s.split(":") for s in args.sizes.split(","))]
    results: list[SizeResult] = []
    with tempfile.TemporaryDirectory(prefix="arv-bench-") as tmp:
        for url in args.url:
            results.append(bench_existing(url, args, Path(tmp)))
        try:
            for kind, sessions in sizes if not args.url else []:
                results.append(bench_size(kind, sessions, args, Path(tmp)))
        finally:
            for cluster in CLUSTERS:
                cluster.stop()
    print(f"\n{os.cpu_count()} cpus; sequential requests over HTTP (httpx, keep-alive)")
    for r in results:
        print(f"{r.label}: {r.load_line} (demo command {r.load_seconds:.0f} s)")
    print()
    print(table(results))
    print(scaling(results))


if __name__ == "__main__":
    main()
