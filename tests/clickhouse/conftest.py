"""Two real ClickHouse servers on loopback for the whole session (tests/clickhouse/cluster.py),
and a fresh database on them for each test.

Skipped only when ``clickhouse-server`` is not installed and CI is not set: in CI (``.ci/run``
installs Debian's package) a missing server fails the run instead.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clickhouse_driver import Client

from tests.clickhouse.cluster import CLUSTER, SERVER, LocalCluster
from tests.support import IN_CI


@dataclass
class ClickHouseTarget:
    cluster: LocalCluster
    database: str

    @property
    def url(self) -> str:
        return f"clickhouse://127.0.0.1:{self.cluster.shards[0].tcp}/{self.database}"

    @property
    def name(self) -> str:
        return CLUSTER

    def shard_client(self, index: int) -> Client:
        return Client("127.0.0.1", port=self.cluster.shards[index].tcp, database="default")


@pytest.fixture(scope="session")
def clickhouse_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    if SERVER is None:
        message = "clickhouse-server is not installed (apt-get install clickhouse-server)"
        if IN_CI:
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    # On tmpfs when there is one: every insert writes a new part (a file per column), which
    # costs 250+ ms on this machine's loaded disk and ~5 ms in memory. A killed server keeps
    # its files either way (the restart tests kill processes, not the machine).
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="arv-clickhouse-", dir=shm)) if shm.is_dir() else None
    cluster = LocalCluster(root or tmp_path_factory.mktemp("clickhouse"), size=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def clickhouse(clickhouse_cluster: LocalCluster) -> Iterator[ClickHouseTarget]:
    """A database name of its own on every shard (created by ``init``), dropped afterwards."""
    for shard in clickhouse_cluster.shards:
        if shard.process is None:  # a test killed it; the next one gets it back
            shard.start()
    target = ClickHouseTarget(clickhouse_cluster, f"arv_{uuid.uuid4().hex[:10]}")
    yield target
    for i, shard in enumerate(clickhouse_cluster.shards):
        if shard.process is None:
            shard.start()
        client = target.shard_client(i)
        try:
            client.execute(f"DROP DATABASE IF EXISTS {target.database}")
        finally:
            client.disconnect()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ClickHouse tests run once, beside the SQLite database: what they test is the
    ClickHouse store and executor (the SQL executors agree with each other on both databases
    in tests/rollups), and running them twice would double the suite's ClickHouse time."""
    here = Path(__file__).parent
    drop = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database") if callspec else None
        if backend == "postgresql" and here in item.path.parents:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if i not in drop]
