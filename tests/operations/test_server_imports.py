"""What a server process loads: heavy libraries that only some commands need stay out of
`serve` (every worker would carry them: docs/operations.md, "Sizing")."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("library", "needed_by"),
    [
        ("numpy", "arv-analytics demo (the generator)"),
        ("clickhouse_driver", "ARV_CLICKHOUSE_URL (imported on first connection)"),
        ("alembic", "db upgrade/downgrade (serve reads revisions with schema_version)"),
        (
            "psycopg",
            "the importers (import-catalog, import: they read the old platform's database)",
        ),
        ("redis", "ARV_REDIS_URL (the shared rate limit, imported when set)"),
    ],
)
def test_serve_does_not_import(library: str, needed_by: str) -> None:
    # A fresh interpreter: this test process has imported everything the suite uses.
    probe = (
        "import sys, arv_analytics.cli.main, arv_analytics.app\n"
        "app = arv_analytics.app.create_app()\n"
        f"print({library!r} in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"ARV_DATABASE_URL": "sqlite+aiosqlite:///:memory:", "PATH": ""},
    )
    assert found.stdout.strip() == "False", (
        f"{library} is loaded by serve; only {needed_by} needs it"
    )
