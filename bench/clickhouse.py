# ruff: noqa: S608 - SQL from constants and integers
"""Sessions on a sharded ClickHouse cluster vs PostgreSQL: questions at 10M/100M, and ingest.

    nice -n 19 .venv/bin/python bench/clickhouse.py --pg-url postgresql+asyncpg://…/arv_m10
        [--sessions 10000000,100000000] [--shards 3] [--data-dir ~/.cache]
        [--requests 5] [--max-seconds 60] [--ingest-seconds 20] [--connections 50]
        [--skip-pg] [--skip-ingest] [--skip-versions]

Needs clickhouse-server (Debian's 18.16), PostgreSQL on 127.0.0.1:5432 (user postgres,
trust), wrk, and the project's venv. Run from the repository root.

1. Questions. A local cluster of --shards clickhouse-server processes (tests/clickhouse/
   cluster.py; data under --data-dir, on disk). For each size N: `init` of a database of its
   own, then N sessions made inside ClickHouse (each shard fills its own N/shards with
   ``INSERT … SELECT … FROM numbers()``; the shape of bench/bulk_sessions.sql: the contents of
   --pg-url's catalog, uniformly over the last 365 days, one version per session), background
   merges awaited. A server (`arv-analytics serve`, jobs off) with the catalog of --pg-url
   (only read) and ARV_CLICKHOUSE_URL answers bench/query.py's questions: 1 warm-up, then up
   to --requests sequential requests per question, bounded by --max-seconds (at least one;
   a first request slower than 5 s counts, a faster one is a warm-up); --skip LABEL leaves a
   question out. --sessions "" measures PostgreSQL only (its own most viewed ids). Then the
   aggregate tables are counted (every settled day, as the hourly job does; timed) and the
   questions asked again ("… agg"); --skip-versions asks them only then.
   The same questions against --pg-url served with rollups (a loaded database, e.g. 10M
   sessions with rollups recounted), unless --skip-pg. Ids: the most viewed company, project
   and content in ClickHouse (the same ids for PostgreSQL: same catalog, same shape).
2. Ingest, unless --skip-ingest: starts (bench/wrk/start.lua, --connections, --ingest-seconds)
   against three servers, each with a fresh arv_bench_* PostgreSQL database: PostgreSQL
   keeping rollups (the default), PostgreSQL without rollups (ARV_ANALYTICS_SOURCE=raw), and
   PostgreSQL without rollups + the ClickHouse cluster as the sessions' store (every batch
   also a synchronous distributed insert). Acknowledged ids missing from the store must be 0.

Prints per question p50/p95 ms and n, the ingest table, and the machine's load average.
Exits 0.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.clickhouse.cluster

from common import (
    Server,
    migrate,
    pg_create,
    pg_drop,
    pg_query,
    pg_url,
    read_ids,
    start_arv,
    stop,
)
from query import Request, endpoints
from tests.clickhouse.cluster import CLUSTER, LocalCluster

from arv_analytics.clickhouse import aggregates
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.schema import init
from arv_analytics.config import Settings
from ingest import START_LUA, create_contents, missing_pg, run_load, write_ids, wrk_env

# Room for a GROUP BY over tens of millions of sessions per shard (the test profile's 2 GB
# would refuse it); past 1.5 GB a GROUP BY spills to disk.
_USERS_LIMITS = (
    "<max_memory_usage>5000000000</max_memory_usage>"
    "<max_bytes_before_external_group_by>1500000000</max_bytes_before_external_group_by>"
)
_FILL_CHUNK = 10_000_000
# The default end window (ARV_MAX_SESSION_SECONDS + ARV_END_GRACE_SECONDS) of the server.
_END_WINDOW = timedelta(seconds=Settings().max_session_seconds + Settings().end_grace_seconds)
_COLD_MS = 5_000.0  # a first request slower than this is measured, not a warm-up


def start_cluster(root: Path, size: int) -> LocalCluster:
    cluster = LocalCluster(root, size=size)
    for shard in cluster.shards:
        users = shard.directory / "users.xml"
        text = users.read_text()
        users.write_text(
            text.replace("<max_memory_usage>2000000000</max_memory_usage>", _USERS_LIMITS)
        )
    cluster.start()
    return cluster


def catalog(pg_db: str) -> list[tuple[int, int, int]]:
    out = pg_query(pg_db, "SELECT id, project_id, company_id FROM ar_content ORDER BY id")
    return [tuple(int(x) for x in line.split("|")) for line in out.splitlines()]  # type: ignore[misc]


def fill(cluster: LocalCluster, database: str, sessions: int, contents: list[Any]) -> float:
    """N sessions, each shard making its own share; returns seconds."""
    ids = ", ".join(str(c[0]) for c in contents)
    pids = ", ".join(str(c[1]) for c in contents)
    cids = ", ".join(str(c[2]) for c in contents)
    k = f"1 + intHash32(number) % {len(contents)}"
    at = f"(toInt64(toUnixTimestamp(now())) - intHash32(number + 7) % {365 * 86400})"
    ua = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    columns = (
        "session_id, version, created_us, updated_us, ar_content_id, project_id, company_id, "
        "user_agent, device_type, browser, os, ip_address, country, duration_seconds, "
        "tracking_quality, video_played, tracked_seconds, is_bot, visitor_hash"
    )
    select = (
        f"SELECT generateUUIDv4(), 1, {at} * 1000000, ({at} + 60) * 1000000, "
        f"[{ids}][{k}], [{pids}][{k}], [{cids}][{k}], '{ua}', "
        "['mobile', 'tablet', 'desktop'][1 + number % 3], 'Mobile Safari', 'iOS', "
        "hex(MD5(toString(number))), ['DE', 'GB', 'US', 'FR', 'RU'][1 + number % 5], "
        "toInt32(number % 300), ['none', 'poor', 'fair', 'good'][1 + number % 4], "
        "number % 2 = 0, toInt32(number % 200), 0, toInt64(intHash64(number))"
    )
    began = time.perf_counter()
    share = sessions // len(cluster.shards)
    for i, shard in enumerate(cluster.shards):
        ch = ClickHouse.from_settings(shard.url, None)
        try:
            first = i * share
            last = sessions if i == len(cluster.shards) - 1 else first + share
            for offset in range(first, last, _FILL_CHUNK):
                n = min(_FILL_CHUNK, last - offset)
                ch.execute(
                    f"INSERT INTO {database}.sessions_local ({columns}) "
                    f"{select} FROM numbers({offset}, {n})"
                )
                print(f"    shard {i}: {offset + n - first:,} of {last - first:,}", flush=True)
        finally:
            ch.close()
    return time.perf_counter() - began


def settle(cluster: LocalCluster, timeout: float = 180) -> float:
    """Waits until no shard is merging parts (merges would compete with the questions)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        busy = 0
        for shard in cluster.shards:
            ch = ClickHouse.from_settings(shard.url, None)
            try:
                busy += int(ch.execute("SELECT count() FROM system.merges")[0][0])
            finally:
                ch.close()
        if not busy:
            break
        time.sleep(2)
    return time.perf_counter() - began


def most_viewed(ch: ClickHouse) -> dict[str, int]:
    best = {}
    for kind, column in (("company", "company_id"), ("project", "project_id"),
                         ("content", "ar_content_id")):  # fmt: skip
        rows = ch.execute(
            f"SELECT {column}, count() AS n FROM {ch.target.sessions} "
            f"GROUP BY {column} ORDER BY n DESC LIMIT 1"
        )
        best[kind] = int(rows[0][0])
    return best


def pg_most_viewed(db: str) -> dict[str, int]:
    best = {}
    for kind, column in (("company", "company_id"), ("project", "project_id"),
                         ("content", "ar_content_id")):  # fmt: skip
        sql = f"SELECT {column} FROM ar_view_sessions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        best[kind] = int(pg_query(db, sql))
    return best


def measure(
    client: httpx.Client, request: Request, n: int, max_seconds: float
) -> tuple[float, float, int]:
    _, method, path, body = request
    times: list[float] = []
    began = time.perf_counter()
    client.request(method, path, json=body).raise_for_status()
    first = (time.perf_counter() - began) * 1e3
    if first > _COLD_MS:  # so slow that warm caches change little: it counts
        times.append(first)
    deadline = time.monotonic() + max_seconds
    while len(times) < n and (not times or time.monotonic() < deadline):
        began = time.perf_counter()
        client.request(method, path, json=body).raise_for_status()
        times.append((time.perf_counter() - began) * 1e3)
    times.sort()
    return statistics.median(times), times[max(0, math.ceil(len(times) * 0.95) - 1)], len(times)


def questions(
    server: Server, token: str, ids: dict[str, int], args: argparse.Namespace, label: str
) -> dict[str, tuple[float, float, int]]:
    out = {}
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base, headers=auth, timeout=900) as client:
        for request in endpoints(ids):
            if request[0] in args.skip:
                continue
            try:
                t = measure(client, request, args.requests, args.max_seconds)
            except httpx.HTTPError as exc:  # recorded, and the run goes on
                print(f"  {label:18} {request[0]:30} failed: {exc}", flush=True)
                continue
            out[request[0]] = t
            print(f"  {label:18} {request[0]:30} p50 {t[0]:10.1f} p95 {t[1]:10.1f} n={t[2]}",
                  flush=True)  # fmt: skip
    return out


def ch_missing(ch: ClickHouse, ids: list[str]) -> int:
    stored = {
        str(r[0]) for r in ch.execute(f"SELECT DISTINCT session_id FROM {ch.target.sessions}")
    }
    return len(set(ids) - stored)


def ingest(cluster: LocalCluster, args: argparse.Namespace, tmp: Path) -> list[str]:
    lines = []
    variants = [
        ("PostgreSQL, rollups", {}),
        ("PostgreSQL, no rollups", {"ARV_ANALYTICS_SOURCE": "raw"}),
        ("PostgreSQL + ClickHouse", {"ARV_ANALYTICS_SOURCE": "raw", "ch": "1"}),
    ]
    for label, extra in variants:
        token = uuid.uuid4().hex * 2
        db = pg_create("chingest")
        server: Server | None = None
        ch: ClickHouse | None = None
        try:
            url = pg_url(db)
            migrate(url, token)
            env = {k: v for k, v in extra.items() if k != "ch"}
            if "ch" in extra:
                database = f"arv_ingest_{uuid.uuid4().hex[:6]}"
                ch_url = f"clickhouse://127.0.0.1:{cluster.shards[0].tcp}/{database}"
                ch = ClickHouse.from_settings(ch_url, CLUSTER)
                init(ch)
                env |= {"ARV_CLICKHOUSE_URL": ch_url, "ARV_CLICKHOUSE_CLUSTER": CLUSTER}
            tag = label.replace(" ", "").replace(",", "-").replace("+", "-")
            server = start_arv(url, token, tmp / f"ingest-{tag}.log", **env)
            content = create_contents(server, token, 7)
            ack = tmp / f"ack-{tag}"
            ack.mkdir()
            row = run_load(
                server, START_LUA, args.ingest_seconds, args.connections,
                wrk_env(ack, ",".join(content)),
            )  # fmt: skip
            stop(server)
            server = None
            ids = read_ids(ack, "ack-start-*")
            missing = missing_pg(db, write_ids(tmp / f"{tag}-ids.txt", ids))
            ch_lost = ch_missing(ch, ids) if ch is not None else None
            w = row.wrk
            line = (
                f"{label:26} {w.rps:8.0f} req/s  p50 {w.p50_ms:7.1f} ms  p99 {w.p99_ms:8.1f} ms"
                f"  non-2xx {w.non_2xx:5d}  acked {len(ids):6d}  missing pg {missing}"
                + (f" ch {ch_lost}" if ch_lost is not None else "")
                + f"  server cpu {row.cpu_percent:.0f}%  pg cpu {row.pg_cpu_percent:.0f}%"
            )
            print(line, flush=True)
            lines.append(line)
        finally:
            if server is not None:
                stop(server)
            if ch is not None:
                ch.close()
            pg_drop(db)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", required=True, help="a loaded PostgreSQL database (read)")
    parser.add_argument("--sessions", default="10000000")
    parser.add_argument("--shards", type=int, default=3)
    # On disk: tmpfs is memory, and 100M sessions take gigabytes.
    parser.add_argument("--data-dir", default=str(Path.home() / ".cache"))
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--ingest-seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip", action="append", default=[], help="a question's label")
    parser.add_argument("--log-dir", help="copy the servers' logs here at the end")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--skip-versions",
        action="store_true",
        help="measure ClickHouse only with its aggregate tables counted",
    )
    args = parser.parse_args()
    pg_db = args.pg_url.rsplit("/", 1)[-1]
    token = uuid.uuid4().hex * 2
    contents = catalog(pg_db)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="arv-bench-ch-", dir=args.data_dir))
    cluster = start_cluster(root / "cluster", args.shards)
    ids: dict[str, int] | None = None
    try:
        for n in (int(s) for s in args.sessions.split(",") if s):
            database = f"arv_bench_{n // 1_000_000}m"
            ch_url = f"clickhouse://127.0.0.1:{cluster.shards[0].tcp}/{database}"
            ch = ClickHouse.from_settings(ch_url, CLUSTER)
            init(ch)
            print(f"ClickHouse {n:,}: filling {args.shards} shards …", flush=True)
            seconds = fill(cluster, database, n, contents)
            waited = settle(cluster)
            ids = most_viewed(ch)
            ch.close()
            print(f"  filled in {seconds:.0f} s, merges settled in {waited:.0f} s; ids {ids}; "
                  f"load average {os.getloadavg()}", flush=True)  # fmt: skip
            env = {"ARV_CLICKHOUSE_URL": ch_url, "ARV_CLICKHOUSE_CLUSTER": CLUSTER}
            if not args.skip_versions:
                server = start_arv(args.pg_url, token, root / f"query-{n}.log", **env)
                try:
                    label = f"ClickHouse {n / 1e6:g}M"
                    results[label] = questions(server, token, ids, args, label)
                finally:
                    stop(server)
            # The aggregate tables, counted as the hourly job counts them: every settled day.
            ch = ClickHouse.from_settings(ch_url, CLUSTER)
            began = time.perf_counter()
            through = aggregates.settled_through(datetime.now(UTC), _END_WINDOW)
            days, _ = aggregates.fill(ch, through)
            counted = time.perf_counter() - began
            sizes = ch.execute(
                "SELECT table, sum(rows), sum(bytes) FROM system.parts WHERE active AND"
                f" database = '{database}' GROUP BY table ORDER BY table"
            )
            ch.close()
            print(f"  aggregates: {days} days counted in {counted:.0f} s; on the first shard: "
                  + ", ".join(f"{t} {r:,} rows {b / 1e6:.0f} MB" for t, r, b in sizes),
                  flush=True)  # fmt: skip
            server = start_arv(args.pg_url, token, root / f"query-{n}-agg.log", **env)
            try:
                label = f"ClickHouse {n / 1e6:g}M agg"
                results[label] = questions(server, token, ids, args, label)
            finally:
                stop(server)
            # The next size needs the disk and memory more than this one.
            for shard in cluster.shards:
                c = ClickHouse.from_settings(shard.url, None)
                c.execute(f"DROP DATABASE IF EXISTS {database}")
                c.close()
        if not args.skip_pg:
            if ids is None:  # no ClickHouse size asked: PostgreSQL's own most viewed
                ids = pg_most_viewed(pg_db)
            server = start_arv(args.pg_url, token, root / "query-pg.log")
            try:
                label = f"PostgreSQL {pg_db}"
                results[label] = questions(server, token, ids, args, label)
            finally:
                stop(server)
        ingest_lines = [] if args.skip_ingest else ingest(cluster, args, root)
    finally:
        cluster.stop()
        if args.log_dir:  # the servers' logs, before the data goes
            for log in root.rglob("*.log"):
                target = Path(args.log_dir) / log.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(log, target)
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{os.cpu_count()} cpus, load average at the end {os.getloadavg()}")
    labels = list(results)
    head = f"{'question':30} " + " ".join(f"{label + ' p50 / p95 (n)':>36}" for label in labels)
    print(head)
    first = next(iter(results.values()), {})
    for q in first:
        cells = []
        for label in labels:
            p50, p95, n = results[label].get(q, (math.nan, math.nan, 0))
            cells.append(f"{f'{p50:,.0f} / {p95:,.0f} ({n})':>36}")
        print(f"{q:30} " + " ".join(cells))
    for line in ingest_lines:
        print(line)


if __name__ == "__main__":
    main()
