# ruff: noqa: S310, S603
"""Smoke test of an installed wheel: run with the python of a fresh virtualenv, from a
directory outside the source tree. For SQLite and PostgreSQL: `serve --migrate`, wait until
ready, create content, send a start, read it back through analytics, stop cleanly.

Only the standard library and the installed package are used, so nothing of the checkout
can stand in for a file the wheel lacks.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

PG = os.environ.get("ARV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smoke(bin_dir: Path, database_url: str, workdir: Path) -> None:
    port, token = free_port(), secrets.token_hex(32)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ARV_DATABASE_URL": database_url,
        "ARV_ADMIN_TOKEN": token,
        "ARV_ENVIRONMENT": "production",
        "ARV_LOG_FORMAT": "json",
    }
    server = subprocess.Popen(
        [bin_dir / "arv-analytics", "serve", "--migrate", "--port", str(port)],
        cwd=workdir,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = call(base, "GET", "/readyz")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"serve did not become ready ({database_url})") from None
                time.sleep(0.2)
        assert ready["status"] == "ready", ready
        company = call(base, "POST", "/api/companies", {"name": "Smoke"}, token)
        project = call(
            base, "POST", "/api/projects", {"company_id": company["id"], "name": "P"}, token
        )
        content = call(
            base,
            "POST",
            "/api/ar-content",
            {
                "project_id": project["id"],
                "title": "Poster",
                "marker_url": "/static/demo/target.mind",
                "video_url": "/static/demo/video.mp4",
            },
            token,
        )
        start = call(
            base,
            "POST",
            "/api/analytics/ar-session",
            {"ar_content_unique_id": content["unique_id"]},
        )
        assert uuid.UUID(start["session_id"])
        read = call(base, "GET", f"/api/analytics/ar-content/{content['id']}", token=token)
        overview = call(base, "GET", "/api/analytics/overview", token=token)
        assert overview["total_views"] == 1, overview
        # Package data: the viewer's template, the tracker and the demo assets.
        for path in (
            f"/ar/{content['unique_id']}",
            "/static/arv-tracker.v1.js",
            "/static/demo/video.mp4",
        ):
            with urllib.request.urlopen(base + path, timeout=30) as answer:
                assert answer.status == 200, path
        print(f"smoke ok on {database_url.split(':')[0]}: {json.dumps(read)[:120]}…")
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    # uvicorn drains, then re-raises the signal: dying of SIGTERM after a clean shutdown is
    # normal; anything else is not.
    if code not in (0, -signal.SIGTERM):
        raise SystemExit(f"serve exited with {code} after SIGTERM")


def main() -> None:
    bin_dir = Path(sys.executable).parent
    import arv_analytics  # the installed one: this script's directory is not the checkout

    location = Path(arv_analytics.__file__).resolve()
    assert bin_dir.parent in location.parents, f"arv_analytics imported from {location}"
    with tempfile.TemporaryDirectory(prefix="arv-smoke-") as tmp:
        workdir = Path(tmp)
        smoke(bin_dir, f"sqlite+aiosqlite:///{workdir / 'smoke.db'}", workdir)
        backup = subprocess.run(
            [bin_dir / "arv-analytics", "backup", str(workdir / "copy.db")],
            cwd=workdir,
            env={**os.environ, "ARV_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'smoke.db'}"},
            check=True,
            capture_output=True,
            text=True,
        )
        print(backup.stdout.strip())
        import psycopg

        name = f"arv_smoke_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            host = PG.rsplit("/", 1)[0].split("://", 1)[1]
            smoke(bin_dir, f"postgresql+asyncpg://{host}/{name}", workdir)
        finally:
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
