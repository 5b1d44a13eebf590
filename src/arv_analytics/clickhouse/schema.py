"""The ClickHouse tables, created on every shard by ``arv-analytics clickhouse init``.

A session is stored as versions: one row for its start and one for every end or heartbeat
that changed it, each a full copy of the session as the write path left it. ClickHouse
never updates, so readers merge the versions of a session figure by figure with the rules of
``ingest.merge`` (``merged_columns``); ``ReplacingMergeTree(version)`` lets background merges
drop superseded versions, which changes no answer (the newest version holds every figure's
merged value) but keeps storage near one row per session.

Every version of a session carries the session's immutable columns (hierarchy, created time,
properties of the start), so scope and time filters apply to versions before merging, and
the sorting key keeps a session's versions together. Sessions are sharded by a hash of
session_id: all versions of one session live on one shard, so per-session merging needs no
data from other shards. Partitions are calendar months of created_at (retention drops them).

Timestamps are kept as microseconds (``created_us``, ``updated_us``): 18.16 has no
DateTime64, and the SQL path compares periods to the microsecond.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.ingest.merge import END_RULES

# (column, type): the SQL session columns kept, in the SQL model's names.
IMMUTABLE: tuple[tuple[str, str], ...] = (
    ("ar_content_id", "Int64"),
    ("project_id", "Int64"),
    ("company_id", "Int64"),
    ("user_agent", "Nullable(String)"),
    ("device_type", "Nullable(String)"),
    ("browser", "Nullable(String)"),
    ("os", "Nullable(String)"),
    ("ip_address", "Nullable(String)"),
    ("country", "Nullable(String)"),
    ("city", "Nullable(String)"),
    ("is_bot", "UInt8"),
    ("visitor_hash", "Nullable(Int64)"),
    ("utm_source", "Nullable(String)"),
    ("utm_medium", "Nullable(String)"),
    ("utm_campaign", "Nullable(String)"),
    ("placement", "Nullable(String)"),
    ("referrer_host", "Nullable(String)"),
)
FIGURES: tuple[tuple[str, str], ...] = (
    ("duration_seconds", "Nullable(Int32)"),
    ("tracking_quality", "Nullable(String)"),
    ("video_played", "UInt8"),
    ("time_to_first_found_ms", "Nullable(Int32)"),
    ("tracked_seconds", "Nullable(Int32)"),
    ("target_losses", "Nullable(Int32)"),
    ("camera_outcome", "Nullable(String)"),
    ("camera_ms", "Nullable(Int32)"),
    ("engine_error", "Nullable(String)"),
    ("video_start_ms", "Nullable(Int32)"),
)
assert {name for name, _ in FIGURES} == set(END_RULES), "every merge rule has its column"
INSERTED = ("session_id", "version", "created_us", "updated_us",
            *(n for n, _ in IMMUTABLE), *(n for n, _ in FIGURES))  # fmt: skip


def _columns() -> str:
    parts = [
        "session_id UUID",
        "version UInt64",
        "created_us Int64",
        "updated_us Int64",
        # Derived, for the partition and the sorting key (second precision is enough there).
        "created_at DateTime DEFAULT toDateTime(intDiv(created_us, 1000000))",
        *(f"{name} {kind}" for name, kind in (*IMMUTABLE, *FIGURES)),
    ]
    return ",\n  ".join(parts)


def local_table_ddl(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n  {_columns()}\n)"
        " ENGINE = ReplacingMergeTree(version)"
        " PARTITION BY toYYYYMM(created_at)"
        " ORDER BY (company_id, created_at, session_id)"
    )


def distributed_ddl(table: str, cluster: str, database: str, local: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} AS {database}.{local}"
        f" ENGINE = Distributed({cluster}, {database}, {local},"
        " cityHash64(toString(session_id)))"
    )


def init(ch: ClickHouse) -> list[str]:
    """Creates the database and tables on every shard; safe to run again. Returns what was
    done, per shard, for the command's output."""
    from arv_analytics.clickhouse import aggregates  # it reads this module's columns

    t = ch.target
    done = []
    for shard in ch.shards():
        shard.execute(f"CREATE DATABASE IF NOT EXISTS {t.database}")
        shard.execute(local_table_ddl(t.local))
        if t.cluster:
            # On every shard, so any server can answer and take writes for the cluster.
            shard.execute(
                distributed_ddl(t.sessions, t.cluster, t.database, t.local.split(".", 1)[1])
            )
        aggregates.create(shard)
        done.append(urlsplit(shard.target.url).netloc.rsplit("@", 1)[-1])  # no password
        shard.close()
    return done


MERGED = ("created_us", "updated_us", *(n for n, _ in IMMUTABLE), *(n for n, _ in FIGURES))


def merged_columns() -> list[str]:
    """Per-session merge of a session's versions, as SELECT expressions (GROUP BY session_id),
    each named ``<column>_m`` (ClickHouse aliases are visible in the whole SELECT, so an
    alias named like its column would turn the WHERE clause into an aggregate).

    The immutable columns are the same in every version (the newest is taken); each figure
    follows its rule from ``ingest.merge.END_RULES``: max only grows, or stays true once
    true, first keeps the earliest reported value, last the newest reported value."""
    out = [f"argMax({name}, version) AS {name}_m" for name, _ in IMMUTABLE]
    out.append("argMax(created_us, version) AS created_us_m")
    out.append("max(updated_us) AS updated_us_m")
    for name, _ in FIGURES:
        rule = END_RULES[name]
        if rule in ("max", "or"):
            out.append(f"max({name}) AS {name}_m")
        elif rule == "first":
            out.append(f"argMinIf({name}, version, isNotNull({name})) AS {name}_m")
        else:
            out.append(f"argMaxIf({name}, version, isNotNull({name})) AS {name}_m")
    return out
