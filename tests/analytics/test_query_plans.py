"""Each analytics statement is served by an index: PostgreSQL EXPLAIN, SQLite QUERY PLAN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, Select

from arv_analytics.analytics import sql
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
    write(db, random_sessions(contents, 3000, seed=1), database)
    with db.begin() as conn:
        conn.exec_driver_sql(
            "ANALYZE ar_view_sessions" if database.backend == "postgresql" else "ANALYZE"
        )
    now = datetime.now(UTC)
    since = now - timedelta(days=30)
    c = contents[0]

    def q(level: sql.Level | None, ident: int | None, company: int | None = None) -> sql.Query:
        return sql.Query(level, ident, company, False, since, now)

    cases = {
        "overview": (q(None, None), "ix_ar_view_sessions_created_at"),
        "overview (company)": (
            q(None, None, c["company_id"]),
            "ix_ar_view_sessions_company_id_created_at",
        ),
        "company": (q(sql.COMPANY, c["company_id"]), "ix_ar_view_sessions_company_id_created_at"),
        "project": (q(sql.PROJECT, c["project_id"]), "ix_ar_view_sessions_project_id_created_at"),
        "content": (q(sql.CONTENT, c["id"]), "ix_ar_view_sessions_ar_content_id_created_at"),
    }
    for name, (query, index) in cases.items():
        for rollups in (False, True):
            stmt = (
                sql.overview_statement(query, rollups=rollups)
                if query.level is None
                else sql.entity_statement(query, rollups=rollups)
            )
            text = plan(db, stmt)
            where = f"{name}, {'rollups' if rollups else 'raw'}:\n{text}"
            # The raw table is only ever searched by index, in both designs.
            assert index in text, where
            for table in ("ar_view_sessions", "rollup_hourly", "rollup_daily_visitors"):
                assert f"Seq Scan on {table}" not in text, where
                assert f"SCAN {table}" not in text.replace(f"SCAN {table} USING", ""), where
