"""`arv-analytics backup` while tracking writes arrive, and `restore` of that backup.

SQLite only (PostgreSQL backups are pg_dump's business; the command says so). The copy must be
the database as of one commit: every session acknowledged before the backup began is in it,
its rollups agree with its raw sessions exactly (they were committed together), and it passes
PRAGMA integrity_check.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from tests.support import Database, LiveServer, client, make_content, new_database, settings_for

runner = CliRunner()


def _load(base: str, unique_id: str, stop: threading.Event, acked: list[tuple[float, str]]) -> None:
    with client(base, token=None) as c:
        while not stop.is_set():
            r = c.post("/api/analytics/ar-session", json={"ar_content_unique_id": unique_id})
            assert r.status_code == 200, r.text
            sid = r.json()["session_id"]
            acked.append((time.monotonic(), sid))
            end = c.post(f"/api/analytics/ar-session/{sid}/end", json={"duration_seconds": 7})
            assert end.status_code == 200, end.text


def _analytics(base: str, content_id: int) -> dict[str, Any]:
    with client(base) as c:
        overview = c.get("/api/analytics/overview").json()
        content = c.get(f"/api/analytics/ar-content/{content_id}").json()
    for answer in (overview, content):
        del answer["since"], answer["until"]  # "now" differs between two calls
    return {"overview": overview, "content": content}


def test_backup_during_tracking_load_restores_consistently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with new_database("sqlite", tmp_path) as source:
        with LiveServer(settings_for(source)) as live, client(live.url) as api:
            content = make_content(api)
            stop = threading.Event()
            acked: list[tuple[float, str]] = []
            workers = [
                threading.Thread(target=_load, args=(live.url, content["unique_id"], stop, acked))
                for _ in range(4)
            ]
            for w in workers:
                w.start()
            try:
                while len(acked) < 200:
                    time.sleep(0.05)
                began = time.monotonic()
                monkeypatch.setenv("ARV_DATABASE_URL", source.url)
                backup = tmp_path / "backup.db"
                result = runner.invoke(app, ["backup", str(backup)])
                finished = time.monotonic()
                time.sleep(0.3)  # load goes on after the copy
            finally:
                stop.set()
                for w in workers:
                    w.join()
            assert result.exit_code == 0, result.output
            assert "integrity_check ok" in result.output

        before = {sid for t, sid in acked if t < began}
        after = {sid for t, sid in acked if t > finished}
        assert after, "the load must go on past the backup for this test to mean anything"

        restored_url = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        monkeypatch.setenv("ARV_DATABASE_URL", restored_url)
        result = runner.invoke(app, ["restore", str(backup), "--yes"])
        assert result.exit_code == 0, result.output

    restored = tmp_path / "restored.db"
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT session_id FROM ar_view_sessions").fetchall()
    stored = {uuid.UUID(r[0]) for r in rows}
    # Everything acknowledged before the copy began is in it; what came after is not all in it.
    assert {uuid.UUID(s) for s in before} <= stored
    assert not {uuid.UUID(s) for s in after} <= stored

    # The restored database answers the same from its rollups as from its raw sessions: the
    # copy caught no transaction half-way.
    db = Database("sqlite", restored_url, f"sqlite:///{restored}")
    with (
        LiveServer(settings_for(db, analytics_source="rollups")) as rolled,
        LiveServer(settings_for(db, analytics_source="raw")) as raw,
    ):
        from_rollups = _analytics(rolled.url, content["id"])
        from_raw = _analytics(raw.url, content["id"])
    assert from_rollups == from_raw
    assert from_rollups["overview"]["total_views"] == len(stored)
    assert from_rollups["overview"]["total_views"] >= len(before) > 0


def test_backup_refuses_to_overwrite_and_restore_refuses_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with new_database("sqlite", tmp_path) as source:
        monkeypatch.setenv("ARV_DATABASE_URL", source.url)
        taken = tmp_path / "taken.db"
        taken.write_bytes(b"precious")
        result = runner.invoke(app, ["backup", str(taken)])
        assert result.exit_code == 1
        assert "exists" in result.output
        assert taken.read_bytes() == b"precious"
        garbage = tmp_path / "garbage.db"
        garbage.write_bytes(b"not a database" * 100)
        before = Path(source.url.split("///", 1)[1]).read_bytes()
        result = runner.invoke(app, ["restore", str(garbage), "--yes"])
        assert result.exit_code == 1, result.output
        assert Path(source.url.split("///", 1)[1]).read_bytes() == before


def test_postgresql_gets_pg_dump_advice_and_a_failing_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARV_DATABASE_URL", "postgresql+asyncpg://arv:s3cret@db.internal/arv")
    result = runner.invoke(app, ["backup", str(tmp_path / "x.dump")])
    assert result.exit_code == 2  # nothing was written: a cron job must notice
    assert "pg_dump --format=custom" in result.output
    assert "s3cret" not in result.output
    assert not (tmp_path / "x.dump").exists()
    result = runner.invoke(app, ["restore", str(tmp_path / "x.dump"), "--yes"])
    assert result.exit_code == 2
    assert "pg_restore" in result.output
