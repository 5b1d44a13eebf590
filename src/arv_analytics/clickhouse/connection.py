"""Connections to ClickHouse over the native protocol (clickhouse-driver).

A ``Client`` must not be shared between threads, and the driver blocks: queries run in worker
threads, each with a client taken from a small pool. Every connection opens the ``default``
database and every statement names its tables in full, so a database that does not exist yet
(before ``init``) fails only the statements that need it, not the connection.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from arv_analytics.errors import Unavailable

if TYPE_CHECKING:
    from clickhouse_driver import Client


def _client_class() -> type[Client]:
    """clickhouse-driver's Client, imported on first use: importing the driver costs a
    process ~25 MB (its date columns' lookup tables), which a server without ClickHouse
    (the default) should not carry."""
    driver = importlib.import_module("clickhouse_driver")
    return driver.Client  # type: ignore[no-any-return]


# Server error codes that mean "a server is away or busy", not "this statement is wrong".
_AWAY_CODES = {159, 202, 209, 210, 279, 236, 394}


class ShardUnavailable(Unavailable):
    """A ClickHouse server (a shard) is not answering: nothing was stored or read."""

    code = "clickhouse_unavailable"

    def __init__(self, detail: str = "a ClickHouse shard is not answering; retry shortly") -> None:
        super().__init__(detail)


def is_away(exc: BaseException) -> bool:
    # A driver error can only exist once the driver was imported.
    errors: Any = sys.modules.get("clickhouse_driver.errors")
    if errors is None:
        return isinstance(exc, OSError | EOFError)
    if isinstance(exc, errors.ServerException):
        return exc.code in _AWAY_CODES
    return isinstance(exc, errors.NetworkError | errors.SocketTimeoutError | OSError | EOFError)


@dataclass(frozen=True, slots=True)
class Target:
    """Where and what: the server URL (database part removed) and the names used."""

    url: str  # clickhouse://user:password@host:port/default
    database: str
    cluster: str | None

    @classmethod
    def parse(cls, url: str, cluster: str | None) -> Target:
        parts = urlsplit(url)
        database = parts.path.strip("/") or "arv"
        if not database.replace("_", "").isalnum():
            raise ValueError(f"ClickHouse database name {database!r}: letters, digits and _")
        return cls(urlunsplit(parts._replace(path="/default")), database, cluster)

    @property
    def sessions(self) -> str:
        """The table questions and writes go to (Distributed over the cluster, if any)."""
        return f"{self.database}.sessions"

    @property
    def local(self) -> str:
        """Each shard's own table (the same as ``sessions`` without a cluster)."""
        return f"{self.database}.sessions_local" if self.cluster else self.sessions


class ClickHouse:
    def __init__(self, target: Target, *, pool_size: int = 8) -> None:
        self.target = target
        self._pool: list[Client] = []
        self._lock = threading.Lock()
        self._pool_size = pool_size

    @classmethod
    def from_settings(cls, url: str, cluster: str | None) -> ClickHouse:
        return cls(Target.parse(url, cluster))

    @contextmanager
    def client(self) -> Iterator[Client]:
        """A client of the pool for one statement; one that failed is not reused half-read."""
        with self._lock:
            client = self._pool.pop() if self._pool else _client_class().from_url(self.target.url)
        try:
            yield client
        except BaseException:
            client.disconnect()
            raise
        with self._lock:
            keep = len(self._pool) < self._pool_size
            if keep:
                self._pool.append(client)
        if not keep:
            client.disconnect()

    def execute(
        self, sql: str, params: Any = None, *, settings: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        try:
            with self.client() as client:
                rows = client.execute(sql, params, settings=settings or {})
        except Exception as exc:
            if is_away(exc):
                raise ShardUnavailable() from exc
            raise
        return list(rows) if isinstance(rows, list) else []

    def insert(self, sql: str, rows: Sequence[dict[str, Any]]) -> None:
        """A synchronous insert: with a cluster, it returns only when every shard that
        received rows has stored them (a shard down fails it)."""
        self.execute(sql, list(rows), settings={"insert_distributed_sync": 1})

    async def aexecute(
        self, sql: str, params: Any = None, *, settings: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self.execute, sql, params, settings=settings)

    async def ainsert(self, sql: str, rows: Sequence[dict[str, Any]]) -> None:
        await asyncio.to_thread(self.insert, sql, rows)

    def shards(self) -> list[ClickHouse]:
        """One connection per server of the cluster, every replica of every shard (the
        server itself without a cluster): what ``init``, retention and purge reach."""
        return [server for replicas in self.replica_sets() for server in replicas]

    def replica_sets(self) -> list[list[ClickHouse]]:
        """The cluster's servers grouped by shard: a shard answers while one of its
        replicas does."""
        if not self.target.cluster:
            return [[self]]
        rows = self.execute(
            "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = %(c)s "
            "ORDER BY shard_num, replica_num",
            {"c": self.target.cluster},
        )
        if not rows:
            raise ValueError(f"cluster {self.target.cluster!r} is not in remote_servers")
        parts = urlsplit(self.target.url)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        out: dict[int, list[ClickHouse]] = {}
        for shard, host, port in rows:
            host_text = f"[{host}]" if ":" in host else host
            url = urlunsplit(parts._replace(netloc=f"{auth}{host_text}:{port}"))
            target = Target(url, self.target.database, self.target.cluster)
            out.setdefault(int(shard), []).append(ClickHouse(target))
        return list(out.values())

    @property
    def address(self) -> str:
        """host:port, for messages (never the password)."""
        return urlsplit(self.target.url).netloc.rsplit("@", 1)[-1]

    def answers(self, timeout: float = 2.0) -> bool:
        """Whether this server answers a trivial query now, waiting at most ``timeout``
        seconds to connect (a fresh connection: the pool's may be stale)."""
        parts = urlsplit(self.target.url)
        url = urlunsplit(parts._replace(query=f"connect_timeout={timeout}"))
        client = _client_class().from_url(url)
        try:
            client.execute("SELECT 1")
        except Exception as exc:
            if is_away(exc):
                return False
            raise
        finally:
            client.disconnect()
        return True

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, []
        for client in pool:
            client.disconnect()
