"""The test cluster itself: two shards that see each other through remote_servers."""

from __future__ import annotations

from tests.clickhouse.cluster import CLUSTER, LocalCluster


def test_two_shards_answer_as_one_cluster(clickhouse_cluster: LocalCluster) -> None:
    from clickhouse_driver import Client

    client = Client("127.0.0.1", port=clickhouse_cluster.shards[0].tcp)
    try:
        rows = client.execute(
            "SELECT shard_num, port FROM system.clusters WHERE cluster = %(c)s ORDER BY shard_num",
            {"c": CLUSTER},
        )
        assert [port for _, port in rows] == [s.tcp for s in clickhouse_cluster.shards]
        # A query over the cluster reaches both servers.
        seen = client.execute(f"SELECT count() FROM cluster('{CLUSTER}', system, one)")
        assert seen == [(2,)]
        sync = client.execute(
            "SELECT value FROM system.settings WHERE name = 'insert_distributed_sync'"
        )
        assert sync == [("1",)]
    finally:
        client.disconnect()
