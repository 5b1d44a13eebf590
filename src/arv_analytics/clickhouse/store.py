"""Writes session versions to ClickHouse from the write path.

The write buffer applies a batch to the SQL database (which still decides what is new, what
an end changes and what it answers), then calls :meth:`SessionStore.store` with the rows the
batch created or changed, before it commits. The versions go out in one synchronous
distributed insert; if a shard is down the insert fails, the SQL transaction is rolled back
and every write of the batch answers 503 — nothing is acknowledged that is not stored in
both. A retry stores the versions again; readers merge a session's versions, so a repeated
version changes no answer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.schema import FIGURES, IMMUTABLE, INSERTED

_UINT8 = {"is_bot", "video_played"}


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a UTC instant (naive values are UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


class Versions:
    """Version numbers that grow within a process even when the clock repeats itself."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


def version_row(row: Mapping[str, Any], version: int) -> dict[str, Any]:
    """A session row (SQL column names) as a ClickHouse version row."""
    out: dict[str, Any] = {
        "session_id": row["session_id"],
        "version": version,
        "created_us": micros(row["created_at"]),
        "updated_us": micros(row.get("updated_at") or row["created_at"]),
    }
    for name, _ in (*IMMUTABLE, *FIGURES):
        value = row.get(name)
        if name in _UINT8:
            value = 1 if value else 0
        out[name] = value
    return out


class SessionStore:
    def __init__(self, ch: ClickHouse) -> None:
        self.ch = ch
        self.versions = Versions()
        self.insert_statement = f"INSERT INTO {ch.target.sessions} ({', '.join(INSERTED)}) VALUES"

    async def store(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Stores one version of each row (the session as it is after this batch)."""
        batch = [version_row(r, self.versions.next()) for r in rows]
        if batch:
            await self.ch.ainsert(self.insert_statement, batch)

    def store_sync(self, rows: Iterable[Mapping[str, Any]], version: int | None = None) -> int:
        batch = [version_row(r, version or self.versions.next()) for r in rows]
        if batch:
            self.ch.insert(self.insert_statement, batch)
        return len(batch)

    async def known(self, session_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        ids = tuple(session_ids)
        if not ids:
            return set()
        rows = await self.ch.aexecute(
            f"SELECT DISTINCT session_id FROM {self.ch.target.sessions} "  # noqa: S608
            "WHERE session_id IN %(ids)s",
            {"ids": ids},
        )
        return {r[0] for r in rows}
