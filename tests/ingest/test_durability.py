"""Kill the server in the middle of a load: every acknowledged session must be stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

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
    rows,
)

START = "/api/analytics/ar-session"


def _serve(db: Database, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ARV_DATABASE_URL": db.url,
        "ARV_ADMIN_TOKEN": ADMIN_TOKEN,
        "ARV_JOBS_ENABLED": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "arv_analytics.cli.main", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _load(base: str, content_id: int, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=5, headers={"User-Agent": PHONE_UA}) as c:
        while not stop.is_set():
            sid = str(uuid.uuid4())
            try:
                r = c.post(START, json={"portrait_id": content_id, "session_id": sid})
            except httpx.HTTPError:
                return  # the server is gone
            if r.status_code == 200:
                acknowledged.append(sid)


def _stored(db: Database) -> set[str]:
    engine = db.engine()
    try:
        return {
            str(uuid.UUID(str(r["session_id"])))
            for r in rows(engine, "SELECT session_id FROM ar_view_sessions")
        }
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_no_acknowledged_session_is_lost(backend: str, how: signal.Signals, tmp_path: Path) -> None:
    with new_database(backend, tmp_path) as db:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _serve(db, port)
        try:
            with client(base) as admin:
                content = make_content(admin, company="K")
            acknowledged: list[str] = []
            stop = threading.Event()
            threads = [
                threading.Thread(target=_load, args=(base, content["id"], acknowledged, stop))
                for _ in range(8)
            ]
            for t in threads:
                t.start()
            time.sleep(1.5)
            proc.send_signal(how)  # in the middle of the load
            exit_code = proc.wait(timeout=40)
            stop.set()
            for t in threads:
                t.join(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert len(acknowledged) > 50, "the load never got going"
        missing = set(acknowledged) - _stored(db)
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged sessions lost"
        if how == signal.SIGTERM:
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            assert exit_code in (0, -signal.SIGTERM)

        # The server starts again on the same database and takes writes.
        proc = _serve(db, port)
        try:
            r = httpx.post(
                f"{base}{START}",
                json={"portrait_id": content["id"]},
                headers={"User-Agent": PHONE_UA},
            )
            assert r.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_several_workers_share_one_database(tmp_path: Path) -> None:
    with new_database("postgresql", tmp_path) as db:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _serve(db, port, "--workers", "2")
        try:
            with client(base) as admin:
                content = make_content(admin, company="W")
            sid = str(uuid.uuid4())
            for _ in range(20):  # connections land on both workers; duplicates stay one row
                with httpx.Client(headers={"User-Agent": PHONE_UA}) as c:
                    assert (
                        c.post(
                            f"{base}{START}", json={"portrait_id": content["id"], "session_id": sid}
                        ).status_code
                        == 200
                    )
            with httpx.Client(headers={"User-Agent": PHONE_UA}) as c:
                r = c.post(f"{base}{START}/{sid}/end", json={"duration_seconds": 12})
            assert r.json()["duration_seconds"] == 12
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        assert _stored(db) == {sid}
