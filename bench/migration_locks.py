"""What a migration locks on PostgreSQL, and for how long, on a loaded database.

    .venv/bin/python bench/migration_locks.py postgresql://postgres@127.0.0.1:5432/DB \
        --down 0005 --up 0006

Steps back to --down (timed), then migrates to --up while three probes run on their own
connections every 50 ms:

- a reader: ``SELECT ... FROM ar_view_sessions WHERE id = 1`` (what analytics and the
  viewer's lookups need; blocked only by ACCESS EXCLUSIVE),
- a writer: ``UPDATE ar_view_sessions SET updated_at = updated_at WHERE id = 1`` (what every
  tracking end does; blocked by SHARE, as CREATE INDEX takes, and stronger),
- a watcher listing the lock modes granted on ar_view_sessions to any other backend.

Prints the migration's duration, each probe's longest wait, and for each lock mode seen the
span during which it was held. The database must be at --up or above when called; it is left
at --up. Then, for comparison, drops the index 0006 creates and builds it again with
CREATE INDEX CONCURRENTLY under the same probes.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from arv_analytics import migrate


@dataclass
class Probe:
    name: str
    sql: str
    longest: float = 0.0
    samples: int = 0


@dataclass
class Watch:
    spans: dict[str, list[float]] = field(default_factory=dict)  # mode -> [first, last]


def probe_loop(url: str, probe: Probe, stop: threading.Event) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            began = time.perf_counter()
            conn.execute(probe.sql)
            probe.longest = max(probe.longest, time.perf_counter() - began)
            probe.samples += 1
            time.sleep(0.05)


def watch_loop(url: str, watch: Watch, stop: threading.Event, t0: float) -> None:
    sql = """
        SELECT DISTINCT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE c.relname = 'ar_view_sessions' AND l.granted
          AND a.pid <> pg_backend_pid() AND a.query NOT LIKE '%WHERE id = 1'
    """
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            now = time.perf_counter() - t0
            for (mode,) in conn.execute(sql).fetchall():
                span = watch.spans.setdefault(mode, [now, now])
                span[1] = now
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="postgresql://… (psycopg form)")
    parser.add_argument("--down", default="0005")
    parser.add_argument("--up", default="0006")
    args = parser.parse_args()
    app_url = args.url.replace("postgresql://", "postgresql+asyncpg://", 1)
    with psycopg.connect(args.url) as conn:
        sessions = conn.execute("SELECT count(*) FROM ar_view_sessions").fetchone()
        size = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('ar_view_sessions'))"
        ).fetchone()
    print(f"ar_view_sessions: {sessions[0] if sessions else 0:,} rows, {size[0] if size else '?'}")

    began = time.perf_counter()
    migrate.downgrade(app_url, args.down)
    print(f"downgrade to {args.down}: {time.perf_counter() - began:.2f} s (not probed)")

    measure("upgrade", lambda: migrate.upgrade(app_url, args.up), args.url)

    # The same index as 0006 creates, built the way a migration can avoid the long lock.
    index = "ix_ar_view_sessions_updated_at"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"DROP INDEX {index}")

    def concurrently() -> None:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"CREATE INDEX CONCURRENTLY {index} ON ar_view_sessions (updated_at)")

    measure("CREATE INDEX CONCURRENTLY (same index, for comparison)", concurrently, args.url)


def measure(label: str, action: Callable[[], None], url: str) -> None:
    probes = [
        Probe("read  (SELECT by id)", "SELECT id FROM ar_view_sessions WHERE id = 1"),
        Probe(
            "write (UPDATE by id)",
            "UPDATE ar_view_sessions SET updated_at = updated_at WHERE id = 1",
        ),
    ]
    watch = Watch()
    stop = threading.Event()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=probe_loop, args=(url, p, stop)) for p in probes]
    threads.append(threading.Thread(target=watch_loop, args=(url, watch, stop, t0)))
    for t in threads:
        t.start()
    time.sleep(0.5)
    began = time.perf_counter()
    action()
    took = time.perf_counter() - began
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    print(f"{label}: {took:.2f} s")
    for p in probes:
        print(f"  {p.name}: longest wait {p.longest:.2f} s over {p.samples} probes")
    for mode, (first, last) in sorted(watch.spans.items(), key=lambda kv: kv[1][0]):
        print(f"  held {mode:24} from {first:6.2f} s to {last:6.2f} s ({last - first:.2f} s)")


if __name__ == "__main__":
    main()
