"""Local ClickHouse servers for tests and benchmarks: N shards on loopback, each with its own
config.xml, ports and data directory, and one ``remote_servers`` cluster naming all of them.

No ZooKeeper: each shard has one replica, and the Distributed table writes synchronously
(``insert_distributed_sync=1`` in the profile), so an insert returns only once every shard
that received rows stored them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVER = shutil.which("clickhouse-server") or (
    "/usr/sbin/clickhouse-server" if Path("/usr/sbin/clickhouse-server").exists() else None
)
CLUSTER = "arv_test"

_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/log/server.log</log>
    <errorlog>{dir}/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <interserver_http_port>{inter}</interserver_http_port>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
  <remote_servers><{cluster}>{shards}</{cluster}></remote_servers>
</yandex>
"""
_SHARD = (
    "<shard><internal_replication>false</internal_replication>"
    "<replica><host>127.0.0.1</host><port>{port}</port></replica></shard>"
)
_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default>
    <max_memory_usage>2000000000</max_memory_usage>
    <insert_distributed_sync>1</insert_distributed_sync>
    <log_queries>0</log_queries>
  </default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Shard:
    directory: Path
    tcp: int
    http: int
    inter: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"clickhouse://127.0.0.1:{self.tcp}/default"

    def start(self, timeout: float = 30.0) -> None:
        assert SERVER is not None
        log = open(self.directory / "log" / "stdout.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [SERVER, f"--config-file={self.directory / 'config.xml'}"],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited; see {self.directory}/log")
            try:
                with socket.create_connection(("127.0.0.1", self.tcp), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"clickhouse-server on port {self.tcp} did not start")

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing gets flushed."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


@dataclass
class LocalCluster:
    root: Path
    size: int = 2
    shards: list[Shard] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = [(free_port(), free_port(), free_port()) for _ in range(self.size)]
        shards_xml = "".join(_SHARD.format(port=tcp) for tcp, _, _ in ports)
        for i, (tcp, http, inter) in enumerate(ports):
            directory = self.root / f"shard{i}"
            for sub in ("data", "tmp", "log", "user_files", "format_schemas"):
                (directory / sub).mkdir(parents=True, exist_ok=True)
            (directory / "config.xml").write_text(
                _CONFIG.format(
                    dir=directory,
                    tcp=tcp,
                    http=http,
                    inter=inter,
                    cluster=CLUSTER,
                    shards=shards_xml,
                )
            )
            (directory / "users.xml").write_text(_USERS)
            self.shards.append(Shard(directory, tcp, http, inter))

    @property
    def url(self) -> str:
        """The first shard: the service connects to it and reaches the others through it."""
        return self.shards[0].url

    def start(self) -> None:
        for shard in self.shards:
            shard.start()

    def stop(self) -> None:
        for shard in self.shards:
            shard.stop()
