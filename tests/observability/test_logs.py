"""The scrubbing filter every log line passes (observability/logs.py): no token, share-link
secret or full address is written, whichever logger the line comes from."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from arv_analytics.observability.logs import JsonFormatter, Scrub
from arv_analytics.observability.requests import ACCESS_LOGGER, _log_access

SHARE_SECRET = "Zk3vQ9rT2mW8xY4pL6nB"
TOKEN = "arv_" + "a1B2c3D4e5F6g7H8i9J0kLmN"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Scrub())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(ACCESS_LOGGER), logging.getLogger("arv_analytics.test")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def _written(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _scope(path: str) -> dict[str, object]:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


def test_the_access_line_hides_a_share_links_secret_and_keeps_other_paths(
    lines: io.StringIO,
) -> None:
    _log_access(_scope(f"/share/{SHARE_SECRET}/analytics"), 200, 0.0012)
    tracked = "/api/analytics/ar-session/0b8c4f0e-8d5e-4b8f-9c59-1a2b3c4d5e6f/end"
    _log_access(_scope(tracked), 200, 0.0021)
    share, track = _written(lines)
    assert SHARE_SECRET not in json.dumps(share)
    assert share["message"] == "GET /share/[redacted]/analytics 200 1.2ms"
    assert share["path"] == "/share/[redacted]/analytics"
    assert track["message"] == f"GET {tracked} 200 2.1ms"
    assert track["path"] == tracked


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("client 203.0.113.57 refused", "client 203.0.113.x refused"),
        (
            "client 2001:db8:85a3:8d3:1319:8a2e:370:7348 refused",
            "client 2001:db8:85a3::/48 refused",
        ),
        ("header Authorization: Bearer abc.def", "header Authorization: Bearer [redacted]"),
        ("header AUTHORIZATION: BEARER abc.def", "header AUTHORIZATION: BEARER [redacted]"),
        (f"token {TOKEN} used", "token arv_[redacted] used"),
        ("batch of 12 written at 10:04:31", "batch of 12 written at 10:04:31"),
    ],
)
def test_any_line_loses_addresses_and_secrets(lines: io.StringIO, said: str, written: str) -> None:
    logging.getLogger("arv_analytics.test").info("%s", said)
    (line,) = _written(lines)
    assert line["message"] == written
