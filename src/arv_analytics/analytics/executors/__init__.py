"""Executors answer a validated Query with plain rows of accumulators; nothing above this
package builds SQL. ``raw`` aggregates the sessions table (the reference); ``rollups`` reads
the pre-aggregated rows and asks ``raw`` only for what they cannot answer exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.query import Query

# (time bucket key or None, then one value per dimension in Query.dimensions order)
GroupKey = tuple[Any, ...]


@dataclass(slots=True)
class Answer:
    groups: dict[GroupKey, dict[str, int]]
    source: str  # "rollups", "raw", "rollups+raw" or "clickhouse"
    warnings: list[str] = field(default_factory=list)
    # Servers that did not answer a question that accepted a partial answer (ClickHouse
    # shards, by host:port); empty when the answer covers every session.
    unavailable: list[str] = field(default_factory=list)


class Executor(Protocol):
    name: str

    async def run(self, session: AsyncSession, q: Query) -> Answer: ...
