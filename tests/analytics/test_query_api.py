"""The query API over HTTP: answers checked against counts made here from the rows written,
its 422s, company scoping, CSV, the ZIP export, the funnel and realtime."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine

from tests.analytics.test_endpoints import seed_catalog, write
from tests.support import Database, client

QUERY = "/api/v1/query"


def _sessions(contents: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """A fixed history: 3 per day over 40 days, countries and devices cycling."""
    out = []
    for i in range(120):
        c = contents[i % len(contents)]
        created = now - timedelta(hours=8 * i + 1, minutes=7)
        out.append(
            {
                "ar_content_id": c["id"], "project_id": c["project_id"],
                "company_id": c["company_id"], "session_id": uuid.uuid4(),
                "country": ["DE", "AT", "US", None][i % 4],
                "device_type": ["mobile", "tablet", "desktop"][i % 3],
                "utm_source": ["poster", None][i % 2], "placement": "metro-12" if i % 5 else None,
                "duration_seconds": 10 * (i % 7), "video_played": i % 2 == 0,
                "camera_outcome": ["granted", "granted", "denied", None][i % 4],
                "camera_ms": 500 + i, "time_to_first_found_ms": 1000 + i if i % 3 else None,
                "tracked_seconds": 5 if i % 3 else 0, "visitor_hash": i % 9,
                "created_at": created, "updated_at": created,
            }
        )  # fmt: skip
    return out


@pytest.fixture
def history(
    api: httpx.Client, db: Engine, database: Database
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    contents = seed_catalog(api)
    sessions = _sessions(contents, datetime.now(UTC))
    write(db, sessions, database)
    return contents, sessions


def _in_period(s: dict[str, Any], days: int, tz: str = "UTC") -> bool:
    zone = ZoneInfo(tz)
    today = datetime.now(zone).date()
    return (today - s["created_at"].astimezone(zone).date()).days < days


def test_daily_series_has_every_day_and_equals_a_count(api: httpx.Client, history: Any) -> None:
    _, sessions = history
    body = api.post(
        QUERY,
        json={"period": "30d", "metrics": ["views", "video_plays"], "dimensions": ["time:day"],
              "comparison": "previous_period", "partial": True},
    ).json()  # fmt: skip
    # Partial answers are for ClickHouse shards; an SQL database answers whole or not at all.
    assert (body["meta"]["partial"], body["meta"]["unavailable_shards"]) == (False, [])
    days = [r["dimensions"]["time:day"] for r in body["results"]]
    assert len(days) == 30
    assert days == sorted(days)
    assert days == body["meta"]["time_labels"]
    expected = Counter(s["created_at"].date().isoformat() for s in sessions if _in_period(s, 30))
    assert {d: r["metrics"]["views"] for d, r in zip(days, body["results"], strict=True)} == {
        d: expected.get(d, 0) for d in days
    }
    assert body["totals"]["views"] == sum(expected.values())
    previous = [s for s in sessions if not _in_period(s, 30) and _in_period(s, 60)]
    assert body["comparison_totals"]["views"] == len(previous)
    assert body["meta"]["comparison"]["until"] == body["meta"]["period"]["since"]
    assert body["meta"]["source"] in ("rollups", "rollups+raw")


def test_breakdown_with_a_filter_and_labels(api: httpx.Client, history: Any) -> None:
    contents, sessions = history
    body = api.post(
        QUERY,
        json={"period": "90d", "metrics": ["views"], "dimensions": ["content"],
              "filters": [{"dimension": "country", "op": "is", "values": ["DE", "AT"]}]},
    ).json()  # fmt: skip
    counted = Counter(s["ar_content_id"] for s in sessions if s["country"] in ("DE", "AT"))
    got = {r["dimensions"]["content"]: r["metrics"]["views"] for r in body["results"]}
    assert got == dict(counted)
    titles = {c["id"]: c["title"] for c in contents}
    assert all(
        r["labels"]["content"] == titles[r["dimensions"]["content"]] for r in body["results"]
    )
    views = [r["metrics"]["views"] for r in body["results"]]
    assert views == sorted(views, reverse=True)  # default order: first metric, descending


def test_no_value_is_null_and_is_not_keeps_it(api: httpx.Client, history: Any) -> None:
    _, sessions = history
    body = api.get(
        QUERY, params={"period": "90d", "dimensions": "country", "filter": "country:is_not:US"}
    ).json()
    got = {r["dimensions"]["country"]: r["metrics"]["views"] for r in body["results"]}
    assert got == dict(Counter(s["country"] for s in sessions if s["country"] != "US"))


def test_two_properties_fall_back_to_raw_and_say_so(api: httpx.Client, history: Any) -> None:
    _, sessions = history
    body = api.post(
        QUERY,
        json={"period": "90d", "dimensions": ["country"], "metrics": ["views"],
              "filters": [{"dimension": "device_type", "op": "is", "values": ["mobile"]}]},
    ).json()  # fmt: skip
    assert "raw" in body["meta"]["source"]
    assert body["meta"]["warnings"]
    counted = Counter(s["country"] for s in sessions if s["device_type"] == "mobile")
    assert {r["dimensions"]["country"]: r["metrics"]["views"] for r in body["results"]} == dict(
        counted
    )


def test_a_projects_breakdown_comes_from_rollups_and_a_contents_from_raw(
    api: httpx.Client, history: Any
) -> None:
    """Per-property and hour rows exist down to projects (a campaign's page stays fast
    however busy it is); a content's breakdown reads that content's raw sessions, and says
    so."""
    contents, sessions = history
    for level, key in (("project", "project_id"), ("content", "ar_content_id")):
        ident = contents[0]["id" if level == "content" else "project_id"]
        body = api.post(
            QUERY,
            json={"period": "90d", "dimensions": ["country"], "metrics": ["views"],
                  "filters": [{"dimension": level, "op": "is", "values": [ident]}]},
        ).json()  # fmt: skip
        counted = Counter(s["country"] for s in sessions if s[key] == ident)
        got = {r["dimensions"]["country"]: r["metrics"]["views"] for r in body["results"]}
        assert got == dict(counted)
        if level == "project":
            assert body["meta"]["source"] == "rollups", body["meta"]
        else:
            assert "raw" in body["meta"]["source"]
            assert any("scoped by content" in w for w in body["meta"]["warnings"])
        # The weekday × hour heatmap: hour rows down to projects, a content's from raw.
        heat = api.post(
            QUERY,
            json={"period": "90d", "dimensions": ["time:weekday_hour"], "metrics": ["views"],
                  "filters": [{"dimension": level, "op": "is", "values": [ident]}]},
        ).json()  # fmt: skip
        cells = Counter(
            f"{s['created_at'].isoweekday()}-{s['created_at'].hour:02d}"
            for s in sessions
            if s[key] == ident
        )
        got = {r["dimensions"]["time:weekday_hour"]: r["metrics"]["views"] for r in heat["results"]}
        assert {k: v for k, v in got.items() if v} == dict(cells)
        assert ("raw" in heat["meta"]["source"]) == (level == "content"), heat["meta"]


def test_time_zone_moves_day_edges(api: httpx.Client, history: Any) -> None:
    _, sessions = history
    tz = "Pacific/Auckland"
    body = api.post(
        QUERY, json={"period": "7d", "timezone": tz, "dimensions": ["time:day"],
                     "metrics": ["views"]},
    ).json()  # fmt: skip
    zone = ZoneInfo(tz)
    expected = Counter(
        s["created_at"].astimezone(zone).date().isoformat()
        for s in sessions
        if _in_period(s, 7, tz)
    )
    got = {r["dimensions"]["time:day"]: r["metrics"]["views"] for r in body["results"]}
    assert got == {d: expected.get(d, 0) for d in got}
    assert sum(got.values()) == sum(expected.values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metrics": ["bogus"]}, "metrics"),
        ({"dimensions": ["colour"]}, "dimensions"),
        ({"dimensions": ["time:day", "time:hour"]}, "dimensions"),
        ({"filters": [{"dimension": "shoe", "op": "is", "values": ["x"]}]}, "filters"),
        ({"filters": [{"dimension": "content", "op": "contains", "values": ["1"]}]},
         "filters.content"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"from": "2999-01-01", "to": "2999-02-01"}, "from"),
        ({"from": "2026-01-10", "to": "2026-01-01"}, "to"),
        ({"period": "fortnight"}, "period"),
        ({"order_by": ["-nothing"]}, "order_by"),
        ({"limit": 10_001}, "limit"),
        ({"period": "all", "comparison": "previous_period"}, "comparison"),
    ],
)  # fmt: skip
def test_invalid_questions_are_422_naming_the_field(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    r = api.post(QUERY, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert any(f["field"].startswith(field) for f in r.json()["fields"]), r.json()


def test_company_token_sees_only_its_company(api: httpx.Client, history: Any) -> None:
    contents, sessions = history
    mine = contents[0]["company_id"]
    other = next(c for c in contents if c["company_id"] != mine)
    token = api.post(
        "/api/tokens", json={"name": "t", "role": "company", "company_id": mine}
    ).json()["token"]
    with client(str(api.base_url), token=token) as reader:
        body = reader.post(QUERY, json={"period": "90d", "dimensions": ["company"]}).json()
        assert {r["dimensions"]["company"] for r in body["results"]} == {mine}
        assert body["totals"]["views"] == sum(1 for s in sessions if s["company_id"] == mine)
        for scope in ({"company_id": other["company_id"]}, {"content_id": other["id"]}):
            r = reader.post(QUERY, json={"scope": scope})
            assert r.status_code == 404
            assert r.json()["error"] == "not_found"
        r = reader.post(
            QUERY,
            json={"filters": [{"dimension": "company", "op": "is",
                               "values": [other["company_id"]]}]},
        )  # fmt: skip
        assert r.json()["totals"]["views"] == 0  # a filter cannot widen the scope


def test_csv_by_parameter_and_by_accept(api: httpx.Client, history: Any) -> None:
    for r in (
        api.get(QUERY, params={"period": "90d", "dimensions": "country", "format": "csv"}),
        api.get(QUERY, params={"period": "90d", "dimensions": "country"},
                headers={"Accept": "text/csv"}),
    ):  # fmt: skip
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["country", "views", "unique_visitors"]
        assert sum(int(x[1]) for x in rows[1:]) == 120


def test_zip_export_has_the_series_and_every_dimension(api: httpx.Client, history: Any) -> None:
    r = api.get("/api/v1/export", params={"period": "90d"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(archive.namelist())
    assert {"time.csv", "content.csv", "country.csv", "placement.csv"} <= names
    rows = list(csv.reader(io.StringIO(archive.read("country.csv").decode())))
    assert rows[0][0] == "country"
    assert sum(int(x[1]) for x in rows[1:]) == 120


def test_funnel_steps_and_conversions(api: httpx.Client, history: Any) -> None:
    _, sessions = history
    body = api.post("/api/v1/funnel", json={"period": "90d"}).json()
    steps = {s["step"]: s for s in body["funnel"]}
    granted = sum(1 for s in sessions if s["camera_outcome"] == "granted")
    found = sum(1 for s in sessions if s["time_to_first_found_ms"] is not None)
    assert steps["opened"]["views"] == 120
    assert steps["camera_granted"]["views"] == granted
    assert steps["target_found"]["views"] == found
    assert steps["video_played"]["views"] == 60
    assert steps["target_found"]["conversion_from_previous"] == round(found / granted, 4)
    assert steps["video_played"]["conversion_from_start"] == 0.5
    by_device = api.post("/api/v1/funnel", json={"period": "90d", "dimensions": ["device_type"]})
    assert {r["dimensions"]["device_type"] for r in by_device.json()["results"]} == {
        "mobile",
        "tablet",
        "desktop",
    }


def test_realtime_counts_views_active_now(api: httpx.Client, public: httpx.Client) -> None:
    content = seed_catalog(api)[0]
    for _ in range(3):
        r = public.post("/api/analytics/ar-session", json={"ar_content_id": content["id"]})
        assert r.status_code == 200
    body = api.get("/api/v1/realtime").json()
    assert body["active_now"] == 3
    assert len(body["per_minute"]) == 30
    assert sum(m["views"] for m in body["per_minute"]) == 3
    scoped = api.get("/api/v1/realtime", params={"content_id": content["id"]}).json()
    assert scoped["active_now"] == 3


def test_schema_lists_metrics_and_dimensions(api: httpx.Client) -> None:
    body = api.get("/api/v1/schema").json()
    assert "median_duration_seconds" in body["metrics"]
    assert "placement" in body["dimensions"]
    assert "time:week" in body["dimensions"]
    assert body["histograms"]["duration_seconds"]["edges"][0] == 0
