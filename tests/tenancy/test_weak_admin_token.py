"""`serve` refuses a guessable ARV_ADMIN_TOKEN in production, with one line naming it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from arv_analytics.config import Settings
from arv_analytics.tenancy.tokens import generate_token, weakness

WEAK = [
    "changemechangemechangeme",
    "admin-admin-admin-admin-admin",
    "my-super-secret-admin-token",
    "passwordpasswordpassword1",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abababababababababababababab",
    "abcdefghijklmnopqrstuvwxyz",
    "012345678901234567890123456789",
    "1111111111111111111111111111111111111111",
]


@pytest.mark.parametrize("value", WEAK)
def test_weak_values_are_named_as_such(value: str) -> None:
    assert weakness(value)


def test_random_tokens_pass() -> None:
    for _ in range(2000):
        assert weakness(generate_token()) is None
        assert weakness(secrets.token_hex(32)) is None
        assert weakness(secrets.token_urlsafe(32)) is None


@pytest.mark.parametrize("value", ["changemechangemechangeme", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"])
def test_serve_refuses_a_weak_token_in_production(value: str, tmp_path: object) -> None:
    env = {**os.environ, "ARV_ENVIRONMENT": "production", "ARV_ADMIN_TOKEN": value}
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
    assert "ARV_ADMIN_TOKEN" in lines[0]
    assert "too weak for production" in lines[0]
    assert value not in proc.stderr + proc.stdout


def test_development_accepts_what_production_refuses() -> None:
    weak = "changemechangemechangeme"
    assert Settings(environment="development", admin_token=weak).admin_token == weak
    with pytest.raises(ValueError, match="too weak"):
        Settings(environment="production", admin_token=weak)
    strong = secrets.token_hex(32)
    assert Settings(environment="production", admin_token=strong).admin_token == strong
