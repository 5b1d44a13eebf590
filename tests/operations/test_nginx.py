"""The real nginx from the Debian package in front of the service, with a self-signed
certificate, configured with the very text docs/operations.md gives (only ports, addresses and
file paths substituted).

The visitor must have a public address for its country to mean anything, so the test gives the
loopback interface one (81.2.69.142, in MaxMind's test range, GB) and connects from it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveFactory
from tests.support import IN_CI, PHONE_UA, free_port, rows
from tests.web.helpers import new_content

ROOT = Path(__file__).resolve().parents[2]
VISITOR = "81.2.69.142"  # GB
SPOOFED = "193.99.144.80"  # DE: what a visitor may claim in X-Forwarded-For


def _need(condition: bool, message: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(message + "; CI=true requires it (.ci/run installs nginx)")
        pytest.skip(message)


def docs_config() -> str:
    text = (ROOT / "docs" / "operations.md").read_text()
    match = re.search(r"```nginx\n(.*?)```", text, re.DOTALL)
    assert match, "docs/operations.md has no ```nginx block"
    return match.group(1)


@pytest.fixture
def visitor_address() -> Iterator[str]:
    _need(shutil.which("ip") is not None, "the `ip` command is missing")
    shown = subprocess.run(
        ["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True
    )
    added = False
    if f"{VISITOR}/32" not in shown.stdout:
        r = subprocess.run(["ip", "addr", "add", f"{VISITOR}/32", "dev", "lo"], capture_output=True)
        _need(r.returncode == 0, "cannot add an address to lo (needs CAP_NET_ADMIN)")
        added = True
    try:
        yield VISITOR
    finally:
        if added:
            subprocess.run(["ip", "addr", "del", f"{VISITOR}/32", "dev", "lo"], check=False)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=analytics.example.com",
            "-addext", f"subjectAltName=DNS:analytics.example.com,IP:{VISITOR}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _wait_for(host: str, port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


@dataclass(frozen=True)
class Proxy:
    app_url: str  # the service itself
    https_url: str  # nginx, as the visitor reaches it
    http_url: str
    cert: Path


@pytest.fixture
def nginx(live: LiveFactory, visitor_address: str, tmp_path: Path) -> Iterator[Proxy]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    _need(Path(binary).is_file(), "nginx is not installed (apt-get install nginx)")
    app = live(trusted_proxies="127.0.0.1/32,::1/128")
    cert, key = self_signed(tmp_path)
    https_port, http_port = free_port(), free_port()
    site = docs_config()
    for old, new in [
        ("/etc/letsencrypt/live/analytics.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/analytics.example.com/privkey.pem", str(key)),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app.port};"),
        ("/var/cache/nginx/arv", str(tmp_path / "cache")),
        ("listen 443 ssl http2;", f"listen {visitor_address}:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen {visitor_address}:{http_port};"),
        ("listen [::]:80;", ""),
    ]:
        assert old in site, f"docs/operations.md's nginx block no longer has {old!r}"
        site = site.replace(old, new)
    (tmp_path / "arv-analytics.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log info;\n"
        + "events {}\n"
        + f"http {{\n  access_log {tmp_path}/access.log;\n"
        + f"  include {tmp_path}/arv-analytics.conf;\n}}\n"
    )
    check = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(visitor_address, https_port)
        yield Proxy(
            app.url,
            f"https://{visitor_address}:{https_port}",
            f"http://{visitor_address}:{http_port}",
            cert,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def visitor_client(base: str, cert: Path) -> httpx.Client:
    transport = httpx.HTTPTransport(
        local_address=VISITOR, verify=ssl.create_default_context(cafile=str(cert))
    )
    return httpx.Client(base_url=base, transport=transport, timeout=30)


def test_viewer_and_tracking_through_nginx_over_https(nginx: Proxy, db: Engine) -> None:
    content = new_content(nginx.app_url, "Behind nginx")
    with visitor_client(nginx.https_url, nginx.cert) as c:
        page = c.get(f"/ar/{content['unique_id']}")
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert "content-security-policy" in page.headers  # the service's headers pass through

        tracker = [c.get("/static/arv-tracker.v1.js") for _ in range(2)]
        assert [r.status_code for r in tracker] == [200, 200]
        assert tracker[1].headers["x-cache-status"] == "HIT"  # served by nginx, not Python
        assert "immutable" in tracker[1].headers["cache-control"]

        start = c.post(
            "/api/analytics/ar-session",
            json={"ar_content_unique_id": content["unique_id"]},
            headers={
                "X-Forwarded-For": SPOOFED,
                "User-Agent": PHONE_UA,
            },
        )
        assert start.status_code == 200, start.text
        assert start.headers["x-request-id"]
        assert c.get("/metrics").status_code == 404  # closed on the public side
    [row] = rows(db, "SELECT country FROM ar_view_sessions")
    # The address nginx saw, forwarded by it; not the one the visitor claimed.
    assert row["country"] == "GB"


def test_nginx_speaks_http2(nginx: Proxy) -> None:
    host, port = nginx.https_url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(nginx.cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection((host, int(port))) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_plain_http_is_redirected_to_https(nginx: Proxy) -> None:
    r = httpx.get(f"{nginx.http_url}/ar/x", timeout=10)
    assert r.status_code == 301
    assert r.headers["location"] == f"https://{VISITOR}/ar/x"
