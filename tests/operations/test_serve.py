"""`arv-analytics serve` as an operator runs it: HTTPS by itself, and its log lines.

These start the real command in a subprocess, because the logging setup and TLS belong to
`serve`, not to the app.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.operations.test_nginx import self_signed
from tests.support import PHONE_UA, free_port, make_content, new_database

CLI = [sys.executable, "-m", "arv_analytics.cli.main"]


@contextmanager
def serving(
    tmp_path: Path, env: dict[str, str], *args: str, scheme: str = "http"
) -> Iterator[tuple[str, list[str]]]:
    """Runs `serve` until the block ends; yields its URL and, afterwards, its stderr lines."""
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *args],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1, verify=False)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {proc.stderr.read()}") from None  # type: ignore[union-attr]
                time.sleep(0.1)
        yield url, lines
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        lines.extend(err.splitlines())


def test_serve_speaks_https_with_tls_cert_and_key(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with new_database("sqlite", tmp_path) as db:
        env = {"ARV_DATABASE_URL": db.url, "ARV_ADMIN_TOKEN": secrets.token_hex(32)}
        args = ("--tls-cert", str(cert), "--tls-key", str(key))
        with serving(tmp_path, env, *args, scheme="https") as (url, _):
            context = ssl.create_default_context(cafile=str(cert))
            # The certificate names 81.2.69.142; check the chain, not the name, on loopback.
            context.check_hostname = False
            r = httpx.get(f"{url}/readyz", verify=context, timeout=10)
            assert r.status_code == 200, r.text
            with pytest.raises(httpx.HTTPError):
                httpx.get(url.replace("https", "http") + "/healthz", timeout=5)


def test_tls_cert_without_key_is_refused(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    r = subprocess.run(
        [*CLI, "serve", "--tls-cert", str(cert)],
        env={**os.environ, "ARV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "--tls-cert and --tls-key go together" in r.stderr


def test_json_log_lines_carry_request_ids_and_no_secrets(tmp_path: Path) -> None:
    admin = secrets.token_hex(32)
    visitor = "203.0.113.77"
    with new_database("sqlite", tmp_path) as db:
        env = {
            "ARV_DATABASE_URL": db.url,
            "ARV_ADMIN_TOKEN": admin,
            "ARV_LOG_FORMAT": "json",
            "ARV_TRUSTED_PROXIES": "127.0.0.1/32",
            "ARV_IP_MODE": "full",  # even when the database keeps the address, logs do not
        }
        with serving(tmp_path, env) as (url, lines):
            headers = {"Authorization": f"Bearer {admin}", "User-Agent": PHONE_UA}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
                content = make_content(api)
                start = api.post(
                    "/api/analytics/ar-session",
                    json={"ar_content_unique_id": content["unique_id"]},
                    headers={"X-Forwarded-For": visitor, "X-Request-ID": "proxy-id-0123456789"},
                )
                assert start.status_code == 200
                api.get("/api/analytics/overview", params={"token": admin})  # a careless caller
                api.get("/api/analytics/overview", headers={"Authorization": "Bearer wrong" * 5})
    records = [json.loads(line) for line in lines if line.strip()]
    assert records, "serve wrote no log lines"
    access = [r for r in records if r["logger"] == "arv_analytics.access"]
    starts = [r for r in access if r["route"] == "/api/analytics/ar-session"]
    assert [r["request_id"] for r in starts] == ["proxy-id-0123456789"]
    assert all(len(r["request_id"]) >= 8 for r in access)
    assert {r["status"] for r in access} >= {200, 201, 401, 422}
    text = "\n".join(lines)
    assert admin not in text
    assert visitor not in text
    assert "127.0.0.1" not in text  # not even the proxy's or the server's own address
