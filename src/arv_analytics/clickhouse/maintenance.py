"""Retention and purge on every shard.

18.16 has neither TTL nor synchronous mutations: whole months past the retention limit are
dropped by partition (instant), the rest is deleted with ``ALTER TABLE … DELETE`` on each
shard's local table, and the command waits until ``system.mutations`` reports it done, so
that "deleted" means gone from every shard.

The aggregate tables follow (clickhouse/aggregates.py): a purge of a company, project or
content deletes their rows (they are keys of every row); any other delete counts the
counted days it touched again from the sessions that remain, and retention drops the days
wholly before its limit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from arv_analytics.clickhouse import aggregates
from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.store import micros


class MutationTimeout(RuntimeError):
    pass


def _wait(shard: ClickHouse, timeout: float, table: str | None = None) -> None:
    t = shard.target
    database, table = (table or t.local).split(".", 1)
    deadline = time.monotonic() + timeout
    while True:
        rows = shard.execute(
            "SELECT count() FROM system.mutations WHERE database = %(d)s AND table = %(t)s"
            " AND is_done = 0",
            {"d": database, "t": table},
        )
        if not rows[0][0]:
            return
        if time.monotonic() > deadline:
            raise MutationTimeout(f"a delete on {t.url} is still running after {timeout} s")
        time.sleep(0.1)


def delete(
    ch: ClickHouse,
    *,
    before: datetime | None = None,
    company_id: int | None = None,
    project_id: int | None = None,
    content_id: int | None = None,
    session_ids: Sequence[uuid.UUID] = (),
    timeout: float = 600.0,
) -> None:
    """Deletes every version of the matching sessions on every shard (all given must match)."""
    parts: list[str] = []
    params: dict[str, object] = {}
    if before is not None:
        parts.append("created_us < %(before)s")
        params["before"] = micros(before)
    for column, value in (
        ("company_id", company_id), ("project_id", project_id), ("ar_content_id", content_id),
    ):  # fmt: skip
        if value is not None:
            parts.append(f"{column} = %({column})s")
            params[column] = value
    if session_ids:
        parts.append("session_id IN %(ids)s")
        params["ids"] = tuple(session_ids)
    if not parts:
        raise ValueError("name what to delete")
    where = " AND ".join(parts)
    # The counted days these sessions are in, found before they are gone.
    mark = aggregates.watermark(ch)
    by_hierarchy = before is None and not session_ids
    days: list[date] = []
    if mark is not None and not by_hierarchy:
        rows = ch.execute(
            f"SELECT DISTINCT intDiv(created_us, 86400000000) FROM {ch.target.sessions}"  # noqa: S608
            f" WHERE {where}",
            params,
        )
        days = sorted(d for d in (_day(n) for (n,) in rows) if d <= mark)
    for shard in ch.shards():
        try:
            if before is not None and len(parts) == 1:
                _drop_months(shard, before)
                _drop_days(shard, before)
            shard.execute(f"ALTER TABLE {shard.target.local} DELETE WHERE {where}", params)
            _wait(shard, timeout)
            if by_hierarchy:
                for name in ("hours_local", "props_local"):
                    table = f"{shard.target.database}.{name}"
                    shard.execute(f"ALTER TABLE {table} DELETE WHERE {where}", params)
                    _wait(shard, timeout, table)
        finally:
            if shard is not ch:
                shard.close()
    # Counted again from what remains; days wholly before a retention limit were dropped.
    if before is not None and len(parts) == 1:
        days = [d for d in days if d >= before.date()]
    aggregates.count_days(ch, days)


def _day(number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(number))


def _drop_days(shard: ClickHouse, before: datetime) -> None:
    """Drops the aggregate days that lie wholly before ``before``."""
    database = shard.target.database
    limit = (before.date() - date(1970, 1, 1)).days
    rows = shard.execute(
        "SELECT DISTINCT table, partition FROM system.parts WHERE database = %(d)s"
        " AND table IN ('hours_local', 'props_local') AND active",
        {"d": database},
    )
    for name, partition in rows:
        if int(partition) < limit:
            shard.execute(f"ALTER TABLE {database}.{name} DROP PARTITION {int(partition)}")


def _drop_months(shard: ClickHouse, before: datetime) -> None:
    """Drops the monthly partitions that lie wholly before ``before``."""
    database, table = shard.target.local.split(".", 1)
    month = before.year * 100 + before.month
    rows = shard.execute(
        "SELECT DISTINCT partition FROM system.parts WHERE database = %(d)s AND table = %(t)s"
        " AND active",
        {"d": database, "t": table},
    )
    for (partition,) in rows:
        if partition.isdigit() and int(partition) < month:
            shard.execute(f"ALTER TABLE {shard.target.local} DROP PARTITION {int(partition)}")


def count(ch: ClickHouse) -> int:
    """Sessions stored (versions merged), for the commands' reports and tests."""
    rows = ch.execute(f"SELECT uniqExact(session_id) FROM {ch.target.sessions}")  # noqa: S608
    return int(rows[0][0])
