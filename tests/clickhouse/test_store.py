"""The ClickHouse store behind the real service: writes over HTTP land on the shards, a shard
down answers 503 without duplicates after retries, a killed shard loses nothing acknowledged,
init is idempotent, and the answers equal the SQL executors' answers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import Engine
from typer.testing import CliRunner

from arv_analytics.cli.main import app as cli
from arv_analytics.clickhouse import maintenance
from tests.clickhouse.conftest import ClickHouseTarget
from tests.clickhouse.support import connect
from tests.conftest import LiveFactory
from tests.support import client, make_content, rows

QUESTION = {
    "period": "7d",
    "metrics": ["views", "unique_sessions", "avg_duration_seconds", "video_plays"],
    "dimensions": ["time:day", "content"],
}


def _server(live: LiveFactory, target: ClickHouseTarget) -> Any:
    return live(clickhouse_url=target.url, clickhouse_cluster=target.name)


def _start(tracker: httpx.Client, content: dict[str, Any], sid: uuid.UUID) -> httpx.Response:
    body = {"ar_content_id": content["id"], "session_id": str(sid)}
    return tracker.post("/api/analytics/ar-session", json=body)


def _end(tracker: httpx.Client, sid: uuid.UUID, seconds: int) -> httpx.Response:
    body = {"duration_seconds": seconds, "video_played": True}
    return tracker.post(f"/api/analytics/ar-session/{sid}/end", json=body)


def _per_shard(target: ClickHouseTarget, shards: list[int] | None = None) -> list[int]:
    counts = []
    for i in range(len(target.cluster.shards)) if shards is None else shards:
        c = target.shard_client(i)
        try:
            counts.append(
                c.execute(f"SELECT uniqExact(session_id) FROM {target.database}.sessions_local")[0][
                    0
                ]
            )
        finally:
            c.disconnect()
    return counts


def _answer(api: httpx.Client) -> Any:
    r = api.post("/api/v1/query", json=QUESTION)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["results"], body["totals"]


def test_writes_reach_every_shard_and_answers_equal_sql(
    live: LiveFactory, api: httpx.Client, clickhouse: ClickHouseTarget, db: Engine
) -> None:
    connect(clickhouse).close()
    server = _server(live, clickhouse)
    content = make_content(api)
    ids = [uuid.uuid4() for _ in range(24)]
    with client(server.url, token=None) as tracker, client(server.url) as reader:
        for i, sid in enumerate(ids):
            assert _start(tracker, content, sid).status_code in (200, 201)
            if i % 3:
                assert _end(tracker, sid, 10 + i).status_code == 200
                # A heartbeat with less time later changes nothing (duration only grows).
                assert _end(tracker, sid, 5).json()["duration_seconds"] == 10 + i
        assert sum(_per_shard(clickhouse)) == len(ids)
        assert all(n > 0 for n in _per_shard(clickhouse))
        clicked = _answer(reader)
    assert reader is not None
    # The shared server answers from the SQL database: the same numbers.
    assert clicked == _answer(api)
    assert clicked[1]["views"] == len(ids)
    sql = rows(db, "SELECT count(*) AS n FROM ar_view_sessions")
    assert sql[0]["n"] == len(ids)


def test_a_shard_down_answers_503_and_retries_add_no_duplicates(
    live: LiveFactory, api: httpx.Client, clickhouse: ClickHouseTarget
) -> None:
    connect(clickhouse).close()
    server = _server(live, clickhouse)
    content = make_content(api)
    ids = [uuid.uuid4() for _ in range(16)]
    down = clickhouse.cluster.shards[1]
    down.kill()
    statuses = {}
    with client(server.url, token=None) as tracker, client(server.url) as reader:
        for sid in ids:
            r = _start(tracker, content, sid)
            statuses[sid] = r.status_code
            if r.status_code == 503:
                assert r.json()["error"] == "clickhouse_unavailable", r.text
                assert r.headers["Retry-After"]
        assert set(statuses.values()) <= {200, 201, 503}
        assert 503 in statuses.values(), "no session was sharded to the stopped server"
        # Reads need every shard: a clear 503 naming the shard, not a partial answer...
        r = reader.post("/api/v1/query", json=QUESTION)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "clickhouse_unavailable"
        assert f"127.0.0.1:{down.tcp}" in r.json()["detail"], r.text
        assert r.headers["Retry-After"]
        # ... unless the question accepts the figures of the shards that are up.
        for r in (
            reader.post("/api/v1/query", json={**QUESTION, "partial": True}),
            reader.get("/api/v1/query", params={"metrics": "views", "partial": "true"}),
        ):
            assert r.status_code == 200, r.text
            meta = r.json()["meta"]
            assert meta["partial"] is True
            assert meta["unavailable_shards"] == [f"127.0.0.1:{down.tcp}"]
            assert any("partial answer" in w for w in meta["warnings"])
            assert r.json()["totals"]["views"] == _per_shard(clickhouse, [0])[0]
        down.start()
        # The tracker retries what failed, and (lost answers) some of what succeeded.
        for sid in ids:
            assert _start(tracker, content, sid).status_code in (200, 201)
            assert _end(tracker, sid, 30).status_code == 200
        for sid in ids[:4]:
            assert _start(tracker, content, sid).status_code in (200, 201)
            assert _end(tracker, sid, 30).status_code == 200
        assert sum(_per_shard(clickhouse)) == len(ids)
        clicked = _answer(reader)
        # Every shard up: a question that accepts a partial answer gets the whole one.
        whole = reader.post("/api/v1/query", json={**QUESTION, "partial": True}).json()
        assert (whole["meta"]["partial"], whole["meta"]["unavailable_shards"]) == (False, [])
        assert (whole["results"], whole["totals"]) == clicked
    assert clicked[1]["views"] == len(ids)
    assert clicked[1]["avg_duration_seconds"] == 30
    assert clicked == _answer(api)


def test_a_killed_shard_loses_nothing_acknowledged(
    live: LiveFactory, api: httpx.Client, clickhouse: ClickHouseTarget
) -> None:
    connect(clickhouse).close()
    server = _server(live, clickhouse)
    content = make_content(api)
    acknowledged = []
    with client(server.url, token=None) as tracker:
        for i in range(30):
            sid = uuid.uuid4()
            if _start(tracker, content, sid).status_code in (200, 201):
                acknowledged.append(sid)
            if i == 15:
                clickhouse.cluster.shards[0].kill()  # SIGKILL: a crash, mid-traffic
            if i == 20:
                clickhouse.cluster.shards[0].start()
    for shard in clickhouse.cluster.shards:
        shard.kill()
        shard.start()
    ch = connect(clickhouse, create=False)
    try:
        stored = {r[0] for r in ch.execute(f"SELECT session_id FROM {ch.target.sessions}")}
    finally:
        ch.close()
    assert len(acknowledged) >= 20
    assert set(acknowledged) <= stored


def test_init_is_idempotent_and_creates_every_shard(clickhouse: ClickHouseTarget) -> None:
    env = {"ARV_CLICKHOUSE_URL": clickhouse.url, "ARV_CLICKHOUSE_CLUSTER": clickhouse.name}
    for _ in range(2):
        result = CliRunner().invoke(cli, ["clickhouse", "init"], env=env)
        assert result.exit_code == 0, result.output
        for shard in clickhouse.cluster.shards:
            assert f"ready: {clickhouse.database} on 127.0.0.1:{shard.tcp}" in result.output
    for i in range(2):
        c = clickhouse.shard_client(i)
        try:
            names = {r[0] for r in c.execute(f"SHOW TABLES FROM {clickhouse.database}")}
        finally:
            c.disconnect()
        assert {"sessions", "sessions_local"} <= names


def test_purge_and_retention_reach_every_shard(
    live: LiveFactory, api: httpx.Client, clickhouse: ClickHouseTarget
) -> None:
    ch = connect(clickhouse)
    server = _server(live, clickhouse)
    a, b = make_content(api, company="A"), make_content(api, company="B")
    with client(server.url, token=None) as tracker:
        for i in range(12):
            assert _start(tracker, a if i % 2 else b, uuid.uuid4()).status_code in (200, 201)
    try:
        assert maintenance.count(ch) == 12
        maintenance.delete(ch, content_id=a["id"])
        assert maintenance.count(ch) == 6
        assert all(n > 0 for n in _per_shard(clickhouse)) or sum(_per_shard(clickhouse)) == 6
        from arv_analytics.models import utcnow

        maintenance.delete(ch, before=utcnow())  # retention with a limit of 0 days
        assert maintenance.count(ch) == 0
    finally:
        ch.close()
