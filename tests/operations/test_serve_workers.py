"""`serve --workers N`: each worker listens on its own socket (SO_REUSEPORT, cli/listen.py), so
long-lived connections spread over the workers instead of piling up on one, and a second
server on the same port is refused instead of silently sharing it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support import ADMIN_TOKEN, free_port, new_database, require_postgres

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT groups: Linux")


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ARV_DATABASE_URL": url,
        "ARV_ADMIN_TOKEN": ADMIN_TOKEN,
        "ARV_JOBS_ENABLED": "false",
    }
    argv = [sys.executable, "-m", "arv_analytics.cli.main", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*argv, "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _tcp(port: int, state: str) -> list[str]:
    """Socket inodes on local port ``port`` in ``state`` (/proc/net/tcp: 0A listen, 01 open)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.append(fields[9])
    return found


def _owner(pids: list[int]) -> dict[str, int]:
    """Socket inode → the pid of the process holding it."""
    owners = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[target[8:-1]] = pid
    return owners


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _wait_for_listeners(proc: subprocess.Popen[bytes], port: int, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(_tcp(port, "0A")) < count:
        assert proc.poll() is None, "serve exited"
        assert time.monotonic() < deadline, f"fewer than {count} sockets listen on {port}"
        time.sleep(0.2)


def test_each_worker_listens_and_connections_spread(tmp_path: Path) -> None:
    require_postgres()
    with new_database("postgresql", tmp_path) as db:
        port = free_port()
        proc = _serve(db.url, port)
        try:
            # One listening socket per worker, none in the supervisor.
            _wait_for_listeners(proc, port, 2)
            # (The supervisor's children also include multiprocessing's resource tracker.)
            owners = _owner([proc.pid, *_children(proc.pid)])
            workers = [owners[i] for i in _tcp(port, "0A")]
            assert len(set(workers)) == 2
            assert proc.pid not in workers

            # Connections opened one after another, each kept open: with one shared socket
            # the worker that accepted last is woken first and takes (nearly) all of them.
            held = []
            for _ in range(40):
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                assert conn.recv(64).startswith(b"HTTP/1.1 200")
                held.append(conn)
            owners = _owner(workers)
            per_worker = Counter(owners[i] for i in _tcp(port, "01") if i in owners)
            assert sum(per_worker.values()) == 40
            assert len(per_worker) == 2, per_worker
            assert min(per_worker.values()) >= 8, per_worker
            for conn in held:
                conn.close()

            # A second server on the same port is refused, not let into the group.
            second = _serve(db.url, port)
            output, _ = second.communicate(timeout=60)
            assert second.returncode == 1
            assert b"cannot listen on" in output
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
