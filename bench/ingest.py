# ruff: noqa: S603, S608 - psql and wrk with our own arguments; SQL from constants
"""Ingest throughput and durability: bare ceiling vs buffered vs naive, ends, and SIGKILL.

    .venv/bin/python bench/ingest.py [--seconds 20] [--connections 50] [--kill-seconds 8]

Needs wrk (Debian package `wrk`), PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and
the project's venv. Everything runs on loopback; every load is bounded by --seconds.

1. Starts with fresh session ids (bench/wrk/start.lua: a random UUID v4 per request; the
   ids answered 200 are written to a file per wrk thread), --connections connections and
   2 wrk threads for --seconds each, against (a) bench/bare_app.py, the ceiling: FastAPI +
   pydantic, no database; (b) `arv-analytics serve` with ARV_INGEST_MODE=buffered; (d) the
   same with `serve --workers 2` (two processes, two write buffers, one database); (c) the
   same with ARV_INGEST_MODE=naive (one INSERT and COMMIT per request). Each server gets a
   fresh arv_bench_* PostgreSQL database, rate limiting and jobs off. --workers-only runs
   (a), (b) and (d) only.
2. Ends (bench/wrk/end.lua) for the ids acknowledged in (b), against the buffered server.
3. After each run: how many acknowledged ids are missing from the database (must be 0);
   after the ends, how many acknowledged ends have no duration stored (must be 0).
4. SIGKILL: the buffered server under the same load is killed with SIGKILL halfway through;
   acknowledged vs stored is printed (missing must be 0), then the server is restarted on
   the same database and must answer a start. On PostgreSQL and on SQLite.

Prints requests/s, p50/p99 latency, ratios to the bare ceiling and the peak server RSS
(VmRSS of the server process and its workers, sampled every 0.2 s). Exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    IPHONE_UA,
    VENV_BIN,
    RssSampler,
    Server,
    WrkResult,
    free_port,
    granian_argv,
    kill9,
    migrate,
    pg_create,
    pg_drop,
    pg_url,
    read_ids,
    run_wrk,
    start_arv,
    start_granian_arv,
    start_process,
    stop,
    write_log_config,
)

PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qAt"]
HERE = Path(__file__).resolve().parent
START_LUA = HERE / "wrk" / "start.lua"
END_LUA = HERE / "wrk" / "end.lua"


@dataclass
class Row:
    name: str
    wrk: WrkResult
    rss_mib: float
    cpu_percent: float
    pg_cpu_percent: float
    acked: int
    missing: int | None  # None: nothing to check (the bare app stores nothing)


def create_contents(server: Server, token: str, count: int = 1) -> list[str]:
    """One company and project with `count` contents via the admin API; their unique_ids."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base, headers=auth, timeout=10) as c:
        company = c.post("/api/companies", json={"name": "Bench Co"}).raise_for_status().json()
        project = (
            c.post("/api/projects", json={"company_id": company["id"], "name": "Bench"})
            .raise_for_status()
            .json()
        )
        uids = [
            c.post("/api/ar-content", json={"project_id": project["id"], "title": f"Poster {i}"})
            .raise_for_status()
            .json()["unique_id"]
            for i in range(count)
        ]
    # The content cache of the server refreshes every 2 s: wait until a start is accepted.
    deadline = time.monotonic() + 15
    for unique_id in uids:
        while True:
            r = httpx.post(
                f"{server.base}/api/analytics/ar-session",
                json={"ar_content_unique_id": unique_id},
                headers={"User-Agent": IPHONE_UA},
            )
            if r.status_code == 200:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the new content is never accepted")
            time.sleep(0.2)
    return uids


def create_content(server: Server, token: str) -> str:
    return create_contents(server, token, 1)[0]


def table_writes(db: str) -> dict[str, int]:
    """Rows inserted or updated so far, per table (PostgreSQL's statistics)."""
    out = subprocess.run(
        [*PSQL, "-d", db, "-F", " "],
        input="SELECT pg_stat_force_next_flush();\n"
        "SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables;\n",
        capture_output=True,
        text=True,
        check=True,
    )
    found = {}
    for line in out.stdout.splitlines():
        name, _, count = line.partition(" ")
        if count.isdigit():
            found[name] = int(count)
    return found


def missing_pg(db: str, ids_file: Path, where: str = "") -> int:
    """Acknowledged ids (distinct) with no row in ar_view_sessions (matching `where`)."""
    sql = (
        "CREATE TEMP TABLE ack(id uuid);\n"
        f"\\copy ack FROM '{ids_file}'\n"
        "SELECT count(*) FROM (SELECT DISTINCT id FROM ack) a WHERE NOT EXISTS "
        f"(SELECT 1 FROM ar_view_sessions s WHERE s.session_id = a.id {where});\n"
    )
    out = subprocess.run(
        [*PSQL, "-d", db],
        input=sql,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def missing_sqlite(path: Path, ids: list[str]) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        stored = {row[0] for row in conn.execute("SELECT session_id FROM ar_view_sessions")}
    return sum(1 for i in set(ids) if i.replace("-", "") not in stored)


def write_ids(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(f"{i}\n" for i in ids))
    return path


def wrk_env(ack_dir: Path, content: str, **extra: str) -> dict[str, str]:
    """`content`: one unique_id, or several separated by commas (one picked per start)."""
    return {"ARV_ACK_DIR": str(ack_dir), "ARV_CONTENT_UIDS": content, "ARV_UA": IPHONE_UA, **extra}


def run_load(
    server: Server,
    lua: Path,
    seconds: int,
    conns: int,
    env: dict[str, str],
    profile: Path | None = None,
) -> Row:
    spy = None
    if profile is not None:  # py-spy samples the server for the whole run (collapsed stacks)
        spy = subprocess.Popen(
            [
                *(str(VENV_BIN / "py-spy"), "record", "--pid", str(server.pid), "--rate", "250"),
                "--subprocesses",  # the workers of `serve --workers N`
                *("--duration", str(seconds), "--format", "raw", "--output", str(profile)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        with RssSampler(server.pid) as rss:
            result = run_wrk(f"{server.base}/", lua, seconds, env, connections=conns)
    finally:
        if spy is not None:
            spy.wait(timeout=seconds + 30)
    return Row("", result, rss.max_mib, rss.cpu_percent, rss.pg_cpu_percent, 0, None)


def bench_bare(tmp: Path, seconds: int, conns: int, server_kind: str = "uvicorn") -> Row:
    port = free_port()
    if server_kind == "granian":
        config = write_log_config(tmp / "bare-logging.json")
        argv = granian_argv("bare_app:app", port, 1, config, "--working-dir", str(HERE))
    else:
        argv = [str(VENV_BIN / "python"), str(HERE / "bare_app.py"), "--port", str(port)]
    server = start_process(argv, {}, tmp / f"bare-{server_kind}.log", port)
    try:
        ack = tmp / f"bare-{server_kind}"
        ack.mkdir()
        content = str(uuid.uuid4())
        row = run_load(server, START_LUA, seconds, conns, wrk_env(ack, content))
        row.name = f"a. bare FastAPI ({server_kind})"
        row.acked = len(read_ids(ack, "ack-start-*"))
        return row
    finally:
        stop(server)


def bench_arv(
    tmp: Path,
    mode: str,
    seconds: int,
    conns: int,
    with_ends: bool,
    profile: Path | None = None,
    workers: int = 1,
    contents: int = 1,
    server_kind: str = "uvicorn",
    rollups: bool = True,
) -> list[Row]:
    token = uuid.uuid4().hex * 2
    db = pg_create(mode)
    server: Server | None = None
    try:
        url = pg_url(db)
        migrate(url, token)
        name = f"{mode}-{server_kind}-w{workers}-c{contents}{'' if rollups else '-raw'}"
        # Without rollups (ARV_ANALYTICS_SOURCE=raw) the writer stores the sessions only:
        # the difference is what keeping the rollups in the same transaction costs.
        extra = {} if rollups else {"ARV_ANALYTICS_SOURCE": "raw"}
        start = start_granian_arv if server_kind == "granian" else start_arv
        server = start(url, token, tmp / f"{name}.log", workers, ARV_INGEST_MODE=mode, **extra)
        content = ",".join(create_contents(server, token, contents))
        ack = tmp / name
        ack.mkdir()
        spy = profile / f"{name}-starts.txt" if profile else None
        written = table_writes(db)
        row = run_load(server, START_LUA, seconds, conns, wrk_env(ack, content), spy)
        ids = read_ids(ack, "ack-start-*")
        if profile is not None:  # rows each start made the writer insert or update
            time.sleep(11)  # idle backends report their statistics within 10 s
            after = table_writes(db)
            per = {t: (after[t] - written.get(t, 0)) / max(len(ids), 1) for t in after}
            busy = ", ".join(f"{t} {n:.1f}" for t, n in sorted(per.items()) if n >= 0.05)
            print(f"{name}: rows written per acknowledged start: {busy}", flush=True)
        ids_file = write_ids(tmp / f"{name}-acked.txt", ids)
        letter = "b" if mode == "buffered" else "c"
        label = f"{letter}. {mode} {server_kind[:4]} w{workers} c{contents}"
        label += "" if rollups else " raw"
        row.name, row.acked = f"{label} starts", len(ids)
        row.missing = missing_pg(db, ids_file)
        rows = [row]
        if with_ends and ids:
            env = wrk_env(ack, content, ARV_IDS_FILE=str(ids_file), ARV_THREADS="2")
            spy = profile / f"{name}-ends.txt" if profile else None
            end = run_load(server, END_LUA, seconds, conns, env, spy)
            ended = sorted(set(read_ids(ack, "ack-end-*")))
            end_file = write_ids(tmp / f"{name}-ended.txt", ended)
            end.name, end.acked = f"{label} ends", len(ended)
            end.missing = missing_pg(db, end_file, "AND s.duration_seconds IS NOT NULL")
            rows.append(end)
        return rows
    finally:
        if server is not None:
            stop(server)
        pg_drop(db)


@dataclass
class KillResult:
    database: str
    acked: int
    stored_acked: int
    missing: int
    rows_total: int
    restarted_ok: bool


def kill_test(tmp: Path, kind: str, seconds: int, conns: int) -> KillResult:
    """Buffered server under load, SIGKILL halfway, count, restart, check it answers."""
    token = uuid.uuid4().hex * 2
    db = pg_create("kill") if kind == "postgresql" else ""
    sqlite_path = tmp / "kill.db"
    url = pg_url(db) if db else f"sqlite+aiosqlite:///{sqlite_path}"
    server: Server | None = None
    try:
        migrate(url, token)
        server = start_arv(url, token, tmp / f"kill-{kind}.log", ARV_INGEST_MODE="buffered")
        content = create_content(server, token)
        ack = tmp / f"kill-{kind}"
        ack.mkdir()
        victim = server
        killer = threading.Timer(seconds / 2, kill9, args=(victim,))
        killer.start()
        # wrk reports errors after the kill; the ack files are what matters.
        with contextlib.suppress(subprocess.CalledProcessError, AttributeError):
            run_wrk(f"{server.base}/", START_LUA, seconds, wrk_env(ack, content), conns)
        killer.join()
        ids = sorted(set(read_ids(ack, "ack-start-*")))
        if db:
            missing = missing_pg(db, write_ids(tmp / f"kill-{kind}.txt", ids))
            rows = int(
                subprocess.run(
                    [*PSQL, "-d", db, "-c", "SELECT count(*) FROM ar_view_sessions"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
            )
        else:
            missing = missing_sqlite(sqlite_path, ids)
            import sqlite3

            with sqlite3.connect(sqlite_path) as conn:
                rows = conn.execute("SELECT count(*) FROM ar_view_sessions").fetchone()[0]
        server = start_arv(url, token, tmp / f"kill-{kind}-restart.log", ARV_INGEST_MODE="buffered")
        r = httpx.post(
            f"{server.base}/api/analytics/ar-session",
            json={"ar_content_unique_id": content},
            headers={"User-Agent": IPHONE_UA},
            timeout=10,
        )
        return KillResult(kind, len(ids), len(ids) - missing, missing, rows, r.status_code == 200)
    finally:
        if server is not None:
            stop(server)
        if db:
            pg_drop(db)


def fmt_rows(rows: list[Row], bare: Row) -> str:
    head = (
        f"{'server':34} {'req/s':>9} {'%bare':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'p99/bare':>8} {'RSS MiB':>8} {'CPU%':>5} {'PG%':>4} "
        f"{'non-2xx':>8} {'acked':>8} {'missing':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        w = r.wrk
        lines.append(
            f"{r.name:34} {w.rps:9.0f} {100 * w.rps / bare.wrk.rps:5.0f}% {w.p50_ms:7.2f} "
            f"{w.p99_ms:7.2f} {w.p99_ms / bare.wrk.p99_ms:7.1f}x {r.rss_mib:8.0f} "
            f"{r.cpu_percent:5.0f} {r.pg_cpu_percent:4.0f} "
            f"{w.non_2xx:8d} {r.acked:8d} {'-' if r.missing is None else r.missing:>7}"
        )
        if w.socket_errors:
            lines.append(f"{'':34} socket errors: {w.socket_errors}")
    return "\n".join(lines)


def workers_pairs(tmp: Path, seconds: int, conns: int, contents: int, pairs: int) -> str:
    """`serve --workers 1` and `--workers 2` in alternation, `pairs` times: this machine's
    speed drifts by ±20% within minutes and one commit stalled by the disk moves a run's
    p99, so one pair proves little; the medians over several do (issue 16, item 4)."""

    def fresh(name: str) -> Path:  # each run's files (acknowledged ids) apart
        (tmp / name).mkdir()
        return tmp / name

    bare = [bench_bare(fresh("bare-first"), seconds, conns)]
    table: dict[str, list[Row]] = {}
    for i in range(pairs):
        for workers in (1, 2):
            place = fresh(f"pair-{i + 1}-w{workers}")
            for row in bench_arv(place, "buffered", seconds, conns, True, None, workers, contents):
                row.name = f"{row.name} #{i + 1}"
                table.setdefault(row.name.split(" ")[-2] + f" w{workers}", []).append(row)
        print(f"pair {i + 1} of {pairs} done", flush=True)
    bare.append(bench_bare(fresh("bare-last"), seconds, conns))
    ceiling = min(bare, key=lambda r: r.wrk.rps)
    out = [fmt_rows([*bare, *[r for rows in table.values() for r in rows]], ceiling), ""]
    out.append(f"{'load':8} {'w2/w1 req/s (median)':>21} {'p99 w1 / w2 (median)':>22} pairs met")
    for load in ("starts", "ends"):
        one, two = table.get(f"{load} w1", []), table.get(f"{load} w2", [])
        ratios = [b.wrk.rps / a.wrk.rps for a, b in zip(one, two, strict=True)]
        met = sum(
            b.wrk.rps >= a.wrk.rps and b.wrk.p99_ms <= a.wrk.p99_ms
            for a, b in zip(one, two, strict=True)
        )
        p99_one = statistics.median(r.wrk.p99_ms for r in one)
        p99_two = statistics.median(r.wrk.p99_ms for r in two)
        out.append(
            f"{load:8} {statistics.median(ratios):20.2f}x {p99_one:10.1f} / {p99_two:6.1f} ms "
            f"{met:4d} of {len(ratios)}"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--kill-seconds", type=int, default=8, help="SIGKILL test load length")
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument(
        "--workers-only",
        action="store_true",
        help="only the ceiling and the buffered server with `serve --workers 1` and `2`",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="directory: run only the buffered server, sampled by py-spy (collapsed stacks); "
        "summarise with bench/profile_summary.py",
    )
    parser.add_argument(
        "--contents",
        type=int,
        default=20,
        help="contents the starts are spread over (real traffic has many; 1 = hot rows)",
    )
    parser.add_argument(
        "--rollups-ab",
        action="store_true",
        help="only: the ceiling, then 1 and 2 workers with and without rollup maintenance",
    )
    parser.add_argument(
        "--servers",
        default="uvicorn",
        help="HTTP servers to compare, comma-separated: uvicorn, granian (pip install granian)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="only: the ceiling, then N alternating rounds of --workers 1 and 2 and their medians",
    )
    args = parser.parse_args()
    s, c, n = args.seconds, args.connections, args.contents
    kinds = [k.strip() for k in args.servers.split(",") if k.strip()]
    print(f"{os.cpu_count()} cpus; wrk -t2 -c{c} -d{s}s --latency; PostgreSQL on 127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="arv-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            for workers in (1,):
                for row in bench_arv(
                    tmp, "buffered", s, c, True, args.profile, workers, n, kinds[0]
                ):
                    w = row.wrk
                    print(f"{row.name}: {w.rps:.0f} req/s, p99 {w.p99_ms:.1f} ms (under py-spy)")
            print(f"collapsed stacks in {args.profile}/buffered-*.txt")
            return
        if args.pairs:
            print(workers_pairs(tmp, s, c, n, args.pairs))
            return
        rows = []
        if args.rollups_ab:
            bare = bench_bare(tmp, s, c, kinds[0])
            rows.append(bare)
            for workers in (1, 2):
                for rollups in (True, False):
                    done = bench_arv(
                        tmp, "buffered", s, c, True, None, workers, n, kinds[0], rollups
                    )
                    rows += done
                    print(fmt_rows(done, bare).split("\n", 2)[2], flush=True)
            print()
            print(fmt_rows(rows, bare))
            return
        for kind in kinds:
            rows.append(bench_bare(tmp, s, c, kind))
            print(f"bare {kind} done: {rows[-1].wrk.rps:.0f} req/s", flush=True)
        bare = rows[0]
        for kind in kinds:
            rows += bench_arv(tmp, "buffered", s, c, True, contents=n, server_kind=kind)
            print(f"buffered {kind} done", flush=True)
        # Two processes on one database: not slower than one (issue 16); and with all starts
        # on ONE content (every batch of both processes adds to the same rollup rows).
        rows += bench_arv(tmp, "buffered", s, c, True, workers=2, contents=n)
        print("buffered with 2 workers done", flush=True)
        if n != 1:
            rows += bench_arv(tmp, "buffered", s, c, True, workers=1, contents=1)
            rows += bench_arv(tmp, "buffered", s, c, True, workers=2, contents=1)
            print("one content, 1 and 2 workers done", flush=True)
        if args.workers_only:
            print()
            print(fmt_rows(rows, bare))
            return
        rows += bench_arv(tmp, "naive", s, c, with_ends=False, contents=n)
        print("naive done", flush=True)
        kills = []
        if not args.skip_kill:
            for kind in ("postgresql", "sqlite"):
                kills.append(kill_test(tmp, kind, args.kill_seconds, c))
                print(f"kill test on {kind} done", flush=True)
        print()
        print(fmt_rows(rows, bare))
        if kills:
            print("\nSIGKILL halfway through a buffered start load, then restart")
            print(
                f"{'database':12} {'acked':>8} {'stored':>8} {'missing':>8} "
                f"{'rows':>8} {'restart':>8}"
            )
            for k in kills:
                print(
                    f"{k.database:12} {k.acked:8d} {k.stored_acked:8d} {k.missing:8d} "
                    f"{k.rows_total:8d} {'ok' if k.restarted_ok else 'FAILED':>8}"
                )
            print("(rows: rows in the table, including unacknowledged commits and warm-up)")


if __name__ == "__main__":
    main()
