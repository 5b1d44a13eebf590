"""A/B of one setting or one code version on the tracking write path, in alternation.

    .venv/bin/python bench/ingest_ab.py --rounds 3 --a "" --b "ARV_WRITE_BATCHES_IN_FLIGHT=2"
    .venv/bin/python bench/ingest_ab.py --b "WORKERS=2"
    .venv/bin/python bench/ingest_ab.py --a "PYTHONPATH=/tmp/base/src" --b ""   # old code vs new

Each variant is a list of KEY=VALUE: ``ARV_*`` settings and ``PYTHONPATH`` go to the server's
environment, ``WORKERS`` is `serve --workers`. Every run gets a fresh PostgreSQL database, a
server with 20 contents, a 3 s warm-up load, then --seconds of starts (bench/wrk/start.lua,
wrk -t2 -c50). A and B alternate --rounds times, because this machine's speed drifts by ±20%
within minutes: compare within a round. Prints per run: requests/s, p50/p99, the server's and
PostgreSQL's CPU per request (CPU over the run divided by requests: steadier than
throughput), and the write buffer's batches (size and write+commit time, from /metrics).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import migrate, pg_create, pg_drop, pg_url, start_arv, stop

from ingest import START_LUA, create_contents, run_load, wrk_env

_METRICS_TOKEN = "ab" * 20
_BATCH_METRICS = (
    "arv_write_batch_size_sum",
    "arv_write_batch_size_count",
    "arv_write_commit_seconds_sum",
)


def parse_variant(text: str) -> tuple[int, dict[str, str]]:
    env = dict(item.split("=", 1) for item in text.split() if "=" in item)
    workers = int(env.pop("WORKERS", "1"))
    return workers, env


def batches(base: str) -> str:
    text = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {_METRICS_TOKEN}"}, timeout=10
    ).text
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in _BATCH_METRICS:
            found[name] = float(value)
    count = found.get("arv_write_batch_size_count", 0) or 1
    size = found.get("arv_write_batch_size_sum", 0) / count
    commit_ms = 1000 * found.get("arv_write_commit_seconds_sum", 0) / count
    return f"{int(count):5d} batches of {size:5.1f}, {commit_ms:5.1f} ms each"


def run(label: str, variant: str, seconds: int, tmp: Path) -> str:
    workers, env = parse_variant(variant)
    token = uuid.uuid4().hex * 2
    db = pg_create("ab")
    try:
        url = pg_url(db)
        migrate(url, token)
        env = {"ARV_INGEST_MODE": "buffered", "ARV_METRICS_TOKEN": _METRICS_TOKEN, **env}
        server = start_arv(url, token, tmp / f"{db}.log", workers, **env)
        try:
            content = ",".join(create_contents(server, token, 20))
            warm, ack = tmp / f"{db}-warm", tmp / f"{db}-ack"
            warm.mkdir()
            ack.mkdir()
            run_load(server, START_LUA, 3, 50, wrk_env(warm, content))
            row = run_load(server, START_LUA, seconds, 50, wrk_env(ack, content))
            per = seconds / max(row.wrk.requests, 1) * 1e6 / 100  # µs per request per CPU%
            return (
                f"{label:3} {row.wrk.rps:7.0f} req/s  p50 {row.wrk.p50_ms:6.1f}  "
                f"p99 {row.wrk.p99_ms:6.1f} ms  server {row.cpu_percent * per:4.0f} µs/req  "
                f"PostgreSQL {row.pg_cpu_percent * per:4.0f} µs/req  RSS {row.rss_mib:4.0f} MiB  "
                f"{batches(server.base) if workers == 1 else '(batches: one worker only)'}"
            )
        finally:
            stop(server)
    finally:
        pg_drop(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", default="", help="variant A: KEY=VALUE ... (empty: defaults)")
    parser.add_argument("--b", default="", help="variant B")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    print(f"A: {args.a or '(defaults)'}\nB: {args.b or '(defaults)'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="arv-ab-") as name:
        for i in range(args.rounds):
            for label, variant in (("A", args.a), ("B", args.b)):
                print(f"#{i + 1} " + run(label, variant, args.seconds, Path(name)), flush=True)


if __name__ == "__main__":
    main()
