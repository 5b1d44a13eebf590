"""Migrations run empty → head → base → head, and leave exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from arv_analytics import migrate
from arv_analytics.models import Base
from tests.support import new_database


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_up_down_up_matches_the_models(backend: str, tmp_path: Path) -> None:
    with new_database(backend, tmp_path, migrated=False) as db:
        migrate.upgrade(db.url)
        migrate.downgrade(db.url, "base")
        engine = db.engine()
        try:
            tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
            assert tables == set()
            migrate.upgrade(db.url)
            with engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                assert ctx.get_current_revision() == migrate.head_revision()
                assert compare_metadata(ctx, Base.metadata) == []
            insp = inspect(engine)
            session_cols = {c["name"]: c for c in insp.get_columns("ar_view_sessions")}
            # Every column of the seed, with its nullability.
            for name in ("ar_content_id", "project_id", "company_id"):
                assert session_cols[name]["nullable"] is False
            for name in (
                "session_id",
                "user_agent",
                "device_type",
                "browser",
                "os",
                "ip_address",
                "country",
                "city",
                "duration_seconds",
                "tracking_quality",
            ):
                assert session_cols[name]["nullable"] is True
            lengths = {
                "device_type": 50,
                "browser": 100,
                "os": 100,
                "ip_address": 64,
                "country": 100,
                "city": 100,
                "tracking_quality": 50,
            }
            for name, length in lengths.items():
                assert getattr(session_cols[name]["type"], "length", None) == length
            fks = {fk["referred_table"] for fk in insp.get_foreign_keys("ar_view_sessions")}
            assert fks == {"ar_content", "projects", "companies"}
            if backend == "postgresql":
                assert str(session_cols["id"]["type"]) == "BIGINT"
                assert session_cols["created_at"]["type"].timezone is True
        finally:
            engine.dispose()


def test_each_step_is_reversible_one_at_a_time(tmp_path: Path) -> None:
    with new_database("sqlite", tmp_path, migrated=False) as db:
        migrate.upgrade(db.url)
        while True:
            engine = db.engine()
            with engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
            engine.dispose()
            if current is None:
                break
            migrate.downgrade(db.url, "-1")


def test_concurrent_upgrades_on_postgresql_serialize(tmp_path: Path) -> None:
    """Three hosts running `serve --migrate` against one empty database at the same moment
    (processes, as on real hosts: Alembic's context is one per process)."""
    with new_database("postgresql", tmp_path, migrated=False) as fresh:
        code = f"from arv_analytics import migrate; migrate.upgrade({fresh.url!r})"
        procs = [
            subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        failures = [err for p in procs if (err := p.communicate(timeout=120)[1]) and p.returncode]
        assert failures == []
        with fresh.engine().connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v[0] for v in versions] == [migrate.head_revision()]


def test_schema_version_reads_the_revisions_alembic_reads() -> None:
    """serve learns the head and the known revisions from the files' syntax, not Alembic."""
    from alembic.script import ScriptDirectory

    from arv_analytics import schema_version

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite+aiosqlite://"))
    assert schema_version.head_revision() == script.get_current_head()
    assert schema_version.known_revisions() == {r.revision for r in script.walk_revisions()}
