"""Each analytics statement is served by an index: PostgreSQL EXPLAIN, SQLite QUERY PLAN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, Select

from arv_analytics.analytics import queries
from tests.analytics.test_endpoints import random_sessions, seed_catalog, write
from tests.support import Database


def plan(db: Engine, stmt: Select[object]) -> str:
    compiled = stmt.compile(dialect=db.dialect)
    params = compiled.construct_params()
    processors = compiled._bind_processors
    bound = {k: processors[k](v) if k in processors else v for k, v in params.items()}
    with db.connect() as conn:
        if db.dialect.name == "postgresql":
            # With sequential scans priced out, the plan shows which index can serve the query.
            conn.exec_driver_sql("SET enable_seqscan = off")
            result = conn.exec_driver_sql("EXPLAIN " + str(compiled), bound)
            return "\n".join(r[0] for r in result)
        positional = tuple(bound[name] for name in compiled.positiontup or ())
        result = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional)
        return "\n".join(str(r[-1]) for r in result)


def test_each_statement_uses_an_index(database: Database, api: httpx.Client, db: Engine) -> None:
    contents = seed_catalog(api)
    write(db, random_sessions(contents, 3000, seed=1))
    with db.begin() as conn:
        conn.exec_driver_sql(
            "ANALYZE ar_view_sessions" if database.backend == "postgresql" else "ANALYZE"
        )
    since = datetime.now(UTC) - timedelta(days=30)
    c = contents[0]
    cases = {
        "overview": (queries.overview_stmt(since, None), "ix_ar_view_sessions_created_at"),
        "overview (company)": (
            queries.overview_stmt(since, c["company_id"]),
            "ix_ar_view_sessions_company_id_created_at",
        ),
        "company": (
            queries.entity_stmt(queries.COMPANY, c["company_id"], since, None),
            "ix_ar_view_sessions_company_id_created_at",
        ),
        "project": (
            queries.entity_stmt(queries.PROJECT, c["project_id"], since, None),
            "ix_ar_view_sessions_project_id_created_at",
        ),
        "content": (
            queries.entity_stmt(queries.CONTENT, c["id"], since, None),
            "ix_ar_view_sessions_ar_content_id_created_at",
        ),
    }
    for name, (stmt, index) in cases.items():
        text = plan(db, stmt)
        assert index in text, f"{name}:\n{text}"
        assert "Seq Scan on ar_view_sessions" not in text, f"{name}:\n{text}"
        assert "SCAN ar_view_sessions" not in text, f"{name}:\n{text}"
