"""Settings: defaults, and a start that stops with one line naming a bad setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from arv_analytics.config import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("ARV_"):
            monkeypatch.delenv(key)
    s = Settings()
    assert s.database_url == "sqlite+aiosqlite:///./arv_analytics.db"
    assert s.admin_token is None
    assert (s.window_days, s.max_session_seconds) == (30, 14_400)
    assert s.viewer_assets_url == "https://cdn.jsdelivr.net/npm"
    assert (s.heartbeat_seconds, s.respect_gpc) == (15, True)
    # One write batch in flight: two were slower (docs/benchmarks.md, "Third pass").
    assert s.write_batches_in_flight == 1


def test_viewer_assets_url_accepts_urls_and_local_paths() -> None:
    assert Settings(viewer_assets_url="/assets/vendor/").viewer_assets_url == "/assets/vendor"
    assert Settings(viewer_assets_url="https://unpkg.com").viewer_assets_url == "https://unpkg.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARV_WINDOW_DAYS", "abc"),
        ("ARV_WINDOW_DAYS", "0"),
        ("ARV_MAX_SESSION_SECONDS", "-5"),
        ("ARV_DATABASE_URL", "mysql://x"),
        ("ARV_ADMIN_TOKEN", "short"),
        ("ARV_VIEWER_ASSETS_URL", "ftp://cdn.example"),
        ("ARV_VIEWER_ASSETS_URL", 'https://x.example/"><script>'),
        ("ARV_HEARTBEAT_SECONDS", "0"),
        ("ARV_RESPECT_GPC", "maybe"),
    ],
)
def test_invalid_setting_stops_with_one_line(name: str, value: str) -> None:
    env = {**os.environ, name: value}
    proc = subprocess.run(
        [sys.executable, "-m", "arv_analytics.cli.main", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]
    assert value not in lines[0] or name != "ARV_ADMIN_TOKEN"  # never echo a secret
