"""ClickHouse as the store of sessions for analytics at scale (docs/scale-out.md).

``connection`` talks to the servers, ``schema`` creates the tables on every shard, ``store``
writes session versions from the write path, ``backfill`` copies what the SQL database holds,
``maintenance`` applies retention and purge on every shard. The executor that answers
questions from here is ``analytics.executors.clickhouse``.
"""
