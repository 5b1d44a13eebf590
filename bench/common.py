# ruff: noqa: S603, S607 - runs fixed local tools (psql, wrk, the venv) with our own arguments
"""Shared helpers of the benchmark scripts: servers, databases, wrk, memory. Not a test.

Imported by bench/ingest.py and bench/query.py (run them from the repository root).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAt", "-c"]
# A browser user agent, so that the server does not flag the sessions as bots.
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- PostgreSQL ---------------------------------------------------------------------------


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def pg_create(prefix: str) -> str:
    name = f"arv_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    subprocess.run([*PG_ADMIN, f"CREATE DATABASE {name}"], check=True)
    return name


def pg_drop(name: str) -> None:
    assert name.startswith("arv_bench_")
    subprocess.run([*PG_ADMIN, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def pg_query(name: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-qAt", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


# --- processes ----------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """pid and every process below it (uvicorn workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def rss_kib(pid: int) -> int:
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process tree, from /proc/PID/stat."""
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of every PostgreSQL process on the machine (its backends
    serve this benchmark's server, and whoever else uses the same PostgreSQL)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if Path(f"/proc/{entry}/comm").read_text().strip() != "postgres":
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples the RSS of a process tree every `every` seconds; `.max_mib` is the peak and
    `.cpu_percent` the tree's CPU use over the sampled time (100 = one core)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self._pid, self._every = pid, every
        self._stop = threading.Event()
        self.max_kib = 0
        self.cpu_percent = 0.0
        self.pg_cpu_percent = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.max_kib = max(self.max_kib, rss_kib(self._pid))
            self._stop.wait(self._every)

    def __enter__(self) -> RssSampler:
        self._cpu0, self._t0 = cpu_seconds(self._pid), time.monotonic()
        self._pg0 = postgres_cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        elapsed = time.monotonic() - self._t0
        self.cpu_percent = 100 * (cpu_seconds(self._pid) - self._cpu0) / max(elapsed, 1e-9)
        self.pg_cpu_percent = 100 * (postgres_cpu_seconds() - self._pg0) / max(elapsed, 1e-9)

    @property
    def max_mib(self) -> float:
        return self.max_kib / 1024


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_process(
    argv: list[str],
    env: dict[str, str],
    log: Path,
    port: int,
    ready_path: str = "/healthz",
    wait: float = 180,  # a loaded shared machine starts workers slowly
) -> Server:
    out = log.open("ab")
    proc = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
    )
    out.close()
    server = Server(proc, port, log)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
        try:
            httpx.get(f"{server.base}{ready_path}", timeout=1.0)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"server did not answer within {wait:.0f} s; see {log}")


def admin_token() -> str:
    """ARV_ADMIN_TOKEN when set (to reuse a database's token), else a fresh one."""
    return os.environ.get("ARV_ADMIN_TOKEN") or uuid.uuid4().hex * 2


def serve_env(database_url: str, admin_token: str, **extra: str) -> dict[str, str]:
    return {
        "ARV_DATABASE_URL": database_url,
        "ARV_ADMIN_TOKEN": admin_token,
        "ARV_RATE_LIMIT_PER_MINUTE": "0",
        "ARV_JOBS_ENABLED": "false",
        **extra,
    }


def start_arv(
    database_url: str,
    admin_token: str,
    log: Path,
    workers: int = 1,
    wait: float = 180,  # a loaded shared machine starts workers slowly
    **extra: str,
) -> Server:
    port = free_port()
    argv = [str(VENV_BIN / "arv-analytics"), "serve", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    env = serve_env(database_url, admin_token, **extra)
    return start_process(argv, env, log, port, wait=wait)


def granian_argv(target: str, port: int, workers: int, log_config: Path, *extra: str) -> list[str]:
    """granian with the settings `serve` gives uvicorn: HTTP/1.1, uvloop, our access line
    (granian's own off), the same logging configuration, a graceful stop on SIGTERM."""
    return [
        str(VENV_BIN / "granian"),
        *("--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(workers), "--loop", "uvloop", "--http", "1"),
        *("--log-config", str(log_config), "--no-access-log", "--workers-kill-timeout", "30"),
        *extra,
        target,
    ]


def write_log_config(path: Path) -> Path:
    """The logging configuration `serve` hands uvicorn, as a file for granian."""
    import json

    from arv_analytics.observability.logs import logging_config

    path.write_text(json.dumps(logging_config("text")))
    return path


def start_granian_arv(
    database_url: str, admin_token: str, log: Path, workers: int = 1, **extra: str
) -> Server:
    port = free_port()
    config = write_log_config(log.with_suffix(".logging.json"))
    argv = granian_argv("arv_analytics.app:create_app", port, workers, config, "--factory")
    return start_process(argv, serve_env(database_url, admin_token, **extra), log, port)


def stop(server: Server, timeout: float = 40.0) -> None:
    """SIGTERM (graceful: drains the write buffer), then SIGKILL whatever is left."""
    pids = descendants(server.pid)
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    for p in pids[1:]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def kill9(server: Server) -> None:
    pids = descendants(server.pid)
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    server.proc.wait()


def migrate(database_url: str, admin_token: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "arv-analytics"), "db", "upgrade"],
        env={**os.environ, **serve_env(database_url, admin_token)},
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


# --- wrk ----------------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str
    raw: str


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert m, text
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:\s+(.*)", out)
    return WrkResult(
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        requests=requests,
        non_2xx=int(non.group(1)) if non else 0,
        socket_errors=sock.group(1).strip() if sock else "",
        raw=out,
    )


def run_wrk(
    url: str,
    script: Path,
    seconds: int,
    env: dict[str, str],
    connections: int = 50,
    threads: int = 2,
    timeout_s: int = 5,
) -> WrkResult:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        argv,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return parse_wrk(out.stdout)


def read_ids(directory: Path, pattern: str) -> list[str]:
    ids: list[str] = []
    for f in sorted(directory.glob(pattern)):
        ids += [line for line in f.read_text().split() if line]
    return ids


@contextlib.contextmanager
def pg_database(prefix: str, keep: bool = False) -> Iterator[str]:
    name = pg_create(prefix)
    try:
        yield name
    finally:
        if not keep:
            pg_drop(name)
