"""Tokens never appear in logs or in error bodies, at any log level."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import (
    ADMIN_TOKEN,
    Database,
    LiveServer,
    client,
    make_content,
    rows,
    settings_for,
)


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


# uvicorn's access and error logs do not propagate to the root logger; listen to each.
LOGGERS = ["", "uvicorn", "uvicorn.access", "uvicorn.error", "sqlalchemy.engine", "arv_analytics"]


@pytest.fixture
def captured(database: Database) -> Iterator[tuple[LiveServer, Capture]]:
    capture = Capture()
    server = LiveServer(settings_for(database))  # configures uvicorn's loggers; adjust after
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        # Everything, SQL statements included. (sqlalchemy.engine at DEBUG would also dump
        # every result row, token hashes with the rest: an explicit data dump, not a log.)
        logger.setLevel(logging.INFO if name == "sqlalchemy.engine" else logging.DEBUG)
        logger.addHandler(capture)
    try:
        with server:
            yield server, capture
    finally:
        for logger, level in saved:
            logger.setLevel(level)
            logger.removeHandler(capture)


def test_no_token_or_salt_reaches_a_log_or_an_error_body(
    captured: tuple[LiveServer, Capture], api: httpx.Client, db: Engine
) -> None:
    server, capture = captured
    bodies: list[str] = []
    with client(server.url) as admin:
        content = make_content(admin)
        made = admin.post(
            "/api/tokens",
            json={"name": "dash", "role": "company", "company_id": content["company_id"]},
        )
        token = made.json()["token"]
        bodies += [admin.get("/api/tokens").text, admin.get("/api/audit").text]
        with client(server.url, token=token) as reader:
            assert reader.get("/api/analytics/overview").status_code == 200
            bodies.append(reader.get("/api/tokens").text)  # 403
            admin.delete(f"/api/tokens/{made.json()['id']}")
            refused = reader.get("/api/analytics/overview")
            assert refused.status_code == 401
            bodies.append(refused.text)
        with client(server.url, token=token + "x") as wrong:
            bodies.append(wrong.get("/api/analytics/overview").text)
        # Tracking makes (and uses) the day's salt, whose bytes must never be logged either.
        with client(server.url, token=None) as tracker:
            started = tracker.post("/api/analytics/ar-session", json={"portrait_id": content["id"]})
            assert started.status_code == 200
            bodies.append(started.text)
        # A secret sent where it does not belong is refused without being echoed.
        echoed = admin.post("/api/tokens", json={"name": "x", "role": "admin", "token": token})
        assert echoed.status_code == 422
        bodies.append(echoed.text)

    assert capture.lines, "nothing was logged: the capture is not working"
    assert any("SELECT" in line for line in capture.lines), "SQL was not logged"
    assert any("/api/tokens" in line for line in capture.lines), "access log missing"
    salts = [bytes(r["salt"]) for r in rows(db, "SELECT salt FROM daily_salts")]
    assert salts
    secrets = {
        token,
        ADMIN_TOKEN,
        *(salt.hex() for salt in salts),
        *(repr(salt)[2:-1] for salt in salts),
        hashlib.sha256(token.encode()).hexdigest(),
        hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
    }
    for secret in secrets:
        for line in capture.lines:
            assert secret not in line, line
        for body in bodies:
            assert secret not in body, body
