"""/healthz, /readyz, /metrics and request ids, over real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from arv_analytics import migrate
from tests.conftest import LiveFactory
from tests.support import (
    Database,
    LiveServer,
    client,
    free_port,
    make_content,
    new_database,
    settings_for,
)

METRICS_TOKEN = secrets.token_hex(32)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(base: str) -> str:
    with client(base, token=METRICS_TOKEN) as c:
        r = c.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def test_healthz_and_readyz(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok", "version": "0.1.0"}
    ready = api.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["schema_revision"] == migrate.head_revision()
    assert body["write_queue_capacity"] == 20_000
    assert 0 <= body["write_queue_depth"] < 20_000


def test_readyz_refuses_a_schema_behind_the_code(database: Database, tmp_path: Path) -> None:
    # As after a new version's workers started while another host has not migrated yet.
    with new_database(database.backend, tmp_path, migrated=False) as other:
        migrate.upgrade(other.url, "0005")
        with LiveServer(settings_for(other)) as live, client(live.url, token=None) as c:
            assert c.get("/healthz").status_code == 200  # alive, but …
            r = c.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "not_ready"
    assert r.json()["detail"].startswith("migrations:")
    assert r.headers["retry-after"]


def test_readyz_accepts_a_schema_ahead_of_the_code(
    live: LiveFactory, api: httpx.Client, db: Engine
) -> None:
    # A newer version on another host migrated further (a rolling upgrade): this older
    # process keeps taking traffic until it is replaced.
    server = live()
    with db.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
    try:
        with client(server.url, token=None) as c:
            r = c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["schema_revision"] == "9999_newer"
    finally:
        with db.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :v"),
                {"v": migrate.head_revision()},
            )


def test_metrics_need_their_own_token(live: LiveFactory) -> None:
    server = live(metrics_token=METRICS_TOKEN)
    for token in (None, "x" * 40, METRICS_TOKEN + "x"):
        with client(server.url, token=token) as c:
            r = c.get("/metrics")
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthorized"
    # The admin token is a different credential: it opens the API, not the metrics.
    with client(server.url) as c:
        assert c.get("/metrics").status_code == 401
    assert "arv_http_requests_total" in scrape(server.url)


def test_metrics_count_tracking_writes_and_batches(live: LiveFactory, api: httpx.Client) -> None:
    server = live(metrics_token=METRICS_TOKEN)
    content = make_content(api)
    before = scrape(server.url)
    with client(server.url, token=None) as c:
        for _ in range(3):
            r = c.post(
                "/api/analytics/ar-session", json={"ar_content_unique_id": content["unique_id"]}
            )
            assert r.status_code == 200, r.text
        sid = r.json()["session_id"]
        assert (
            c.post(f"/api/analytics/ar-session/{sid}/end", json={"duration_seconds": 5}).status_code
            == 200
        )
        bad = c.post("/api/analytics/ar-session", json={"ar_content_unique_id": "nope"})
        assert bad.status_code == 422
        unknown = c.post(
            "/api/analytics/ar-session", json={"ar_content_unique_id": str(uuid.uuid4())}
        )
        assert unknown.status_code == 404
    after = scrape(server.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    start = "/api/analytics/ar-session"
    assert delta("arv_http_requests_total", route=start, method="POST", status="200") == 3
    assert delta("arv_http_requests_total", route=start, method="POST", status="422") == 1
    end = "/api/analytics/ar-session/{session_id}/end"
    assert delta("arv_http_requests_total", route=end, method="POST", status="200") == 1
    assert delta("arv_http_request_duration_seconds_count", route=start, method="POST") == 5
    assert delta("arv_tracking_writes_total", outcome="accepted") == 4
    assert delta("arv_tracking_writes_total", outcome="rejected") == 2
    # Four committed writes: at least one batch, at most four, four writes in all.
    assert 1 <= delta("arv_write_batch_size_count") <= 4
    assert delta("arv_write_batch_size_sum") == 4
    assert delta("arv_write_commit_seconds_count") == delta("arv_write_batch_size_count")
    # This app's live state, read at scrape time.
    assert value(after, "arv_write_queue_depth") == 0
    assert value(after, "arv_write_queue_capacity") == 20_000
    assert value(after, "arv_rollup_lag_seconds") == 0
    assert value(after, "arv_catalog_cache_entries") >= 1
    # Unknown paths share one label instead of one series per path.
    with client(server.url, token=None) as c:
        c.get(f"/no/such/{uuid.uuid4()}")
    assert (
        value(
            scrape(server.url),
            "arv_http_requests_total",
            route="unmatched",
            method="GET",
            status="404",
        )
        >= 1
    )


def test_metrics_on_their_own_port(live: LiveFactory) -> None:
    port = free_port()
    server = live(metrics_port=port)
    with client(server.url, token=None) as c:
        assert c.get("/healthz").status_code == 200
        main = c.get("/metrics")
    assert main.status_code == 401  # no token configured: not on the main port
    assert f"on port {port}" in main.json()["detail"]
    r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200
    assert value(r.text, "arv_write_queue_capacity") == 20_000
    assert 'route="/healthz"' in r.text


def test_job_runs_are_counted(live: LiveFactory, db: Engine) -> None:
    with db.begin() as conn:  # another test's server may have claimed this period already
        conn.execute(text("DELETE FROM job_runs"))
    before = value(
        scrape(live(metrics_token=METRICS_TOKEN).url),
        "arv_job_runs_total",
        job="salts",
        outcome="ok",
    )
    server = live(metrics_token=METRICS_TOKEN, jobs_enabled=True)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if value(scrape(server.url), "arv_job_runs_total", job="salts", outcome="ok") > before:
            return
        time.sleep(0.2)
    pytest.fail("the salts job ran at start-up but no run was counted")


def test_request_ids(api: httpx.Client) -> None:
    r = api.get("/api/analytics/overview")
    assert len(r.headers["x-request-id"]) == 32
    assert api.get("/healthz").headers["x-request-id"] != r.headers["x-request-id"]
    # A proxy's id is kept (so the two logs join); a malformed one is replaced.
    assert (
        api.get("/healthz", headers={"X-Request-ID": "nginx-0123456789abcdef"}).headers[
            "x-request-id"
        ]
        == "nginx-0123456789abcdef"
    )
    odd = api.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["x-request-id"]
    assert odd != "<script>"
    assert len(odd) == 32
