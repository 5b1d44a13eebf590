"""Analytics read endpoints, checked against numbers computed here from the rows we wrote."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert

from arv_analytics.models import ARViewSession
from tests.support import Database, client, make_content, rebuild_rollups

QUALITIES = ["none", "poor", "fair", "good", None]


def seed_catalog(api: httpx.Client) -> list[dict[str, Any]]:
    """3 companies × 2 projects × 2 content items, all through the API."""
    contents = []
    for c in range(3):
        company = api.post("/api/companies", json={"name": f"Company {c}"}).json()
        for p in range(2):
            project = api.post(
                "/api/projects", json={"company_id": company["id"], "name": f"P{p}"}
            ).json()
            for a in range(2):
                contents.append(
                    api.post(
                        "/api/ar-content", json={"project_id": project["id"], "title": f"A{a}"}
                    ).json()
                )
    return contents


def random_sessions(contents: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for _ in range(n):
        c = rng.choice(contents)
        # Whole days back plus 1–22 hours: never within an hour of any window edge.
        created = now - timedelta(days=rng.randrange(0, 100), hours=rng.uniform(1, 22))
        reported = rng.random() < 0.7  # older trackers and non-AR pages report no figures
        out.append(
            {
                "ar_content_id": c["id"],
                "project_id": c["project_id"],
                "company_id": c["company_id"],
                "session_id": uuid.uuid4(),
                "duration_seconds": rng.choice([None, rng.randrange(0, 600)]),
                "tracking_quality": rng.choice(QUALITIES),
                "video_played": rng.random() < 0.6,
                "time_to_first_found_ms": rng.choice([None, rng.randrange(0, 30_000)]),
                "tracked_seconds": rng.randrange(0, 300) if reported else None,
                "target_losses": rng.randrange(0, 12) if reported else None,
                "created_at": created,
                "updated_at": created,
            }
        )
    return out


def write(db: Engine, sessions: list[dict[str, Any]], database: Database) -> None:
    with db.begin() as conn:
        conn.execute(insert(ARViewSession.__table__), sessions)
    rebuild_rollups(database)


def mean_of(window: list[dict[str, Any]], key: str) -> tuple[float | None, int]:
    values = [s[key] for s in window if s.get(key) is not None]
    return (round(sum(values) / len(values), 2) if values else None), len(values)


def expected(sessions: Iterable[dict[str, Any]], days: int) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=days)
    window = [s for s in sessions if s["created_at"] >= since]
    avg_found, n_found = mean_of(window, "time_to_first_found_ms")
    avg_tracked, n_tracked = mean_of(window, "tracked_seconds")
    durations = [s["duration_seconds"] for s in window if s["duration_seconds"] is not None]
    plays = sum(1 for s in window if s["video_played"])
    quality = {q or "unknown": 0 for q in QUALITIES}
    for s in window:
        quality[s["tracking_quality"] or "unknown"] += 1
    return {
        "views": len(window),
        "unique_sessions": len({s["session_id"] for s in window}),
        "avg_duration_seconds": round(sum(durations) / len(durations), 2) if durations else None,
        "sessions_with_duration": len(durations),
        "video_plays": plays,
        "video_play_rate": round(plays / len(window), 4) if window else None,
        "tracking_quality": quality,
        "avg_time_to_first_found_ms": avg_found,
        "sessions_with_target_found": n_found,
        "avg_tracked_seconds": avg_tracked,
        "avg_target_losses": mean_of(window, "target_losses")[0],
        "sessions_with_tracking_figures": n_tracked,
    }


def figures(body: dict[str, Any], views_key: str = "views") -> dict[str, Any]:
    keys = [
        "unique_sessions",
        "avg_duration_seconds",
        "sessions_with_duration",
        "video_plays",
        "video_play_rate",
        "tracking_quality",
        "avg_time_to_first_found_ms",
        "sessions_with_target_found",
        "avg_tracked_seconds",
        "avg_target_losses",
        "sessions_with_tracking_figures",
    ]
    return {"views": body[views_key], **{k: body[k] for k in keys}}


@pytest.mark.parametrize("days", [None, 1, 7, 30, 90, 366])
def test_every_level_matches_an_independent_count(
    api: httpx.Client, db: Engine, database: Database, days: int | None
) -> None:
    contents = seed_catalog(api)
    sessions = random_sessions(contents, 600, seed=days or 0)
    write(db, sessions, database)
    window = days or 30
    params = {"days": days} if days else {}

    body = api.get("/api/analytics/overview", params=params).json()
    assert figures(body, "total_views") == expected(sessions, window)
    assert body["window_days"] == window
    assert body["active_content"] == len(contents)

    levels: list[tuple[str, str, Callable[[dict[str, Any]], int]]] = [
        ("companies", "company_id", lambda c: c["company_id"]),
        ("projects", "project_id", lambda c: c["project_id"]),
        ("ar-content", "ar_content_id", lambda c: c["id"]),
    ]
    for path, key, ident_of in levels:
        for ident in sorted({ident_of(c) for c in contents}):
            mine = [s for s in sessions if s[key] == ident]
            r = api.get(f"/api/analytics/{path}/{ident}", params=params)
            assert r.status_code == 200
            got = r.json()
            assert got[key] == ident
            assert got["views_30_days"] == got["views"]
            assert figures(got) == expected(mine, window), (path, ident)


def test_window_edges_are_timezone_aware_utc(api: httpx.Client, db: Engine) -> None:
    body = api.get("/api/analytics/overview", params={"days": 7}).json()
    since = datetime.fromisoformat(body["since"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(body["until"].replace("Z", "+00:00"))
    assert since.utcoffset() == timedelta(0)
    assert until - since == timedelta(days=7)
    assert abs(datetime.now(UTC) - until) < timedelta(minutes=1)


def test_empty_entities_report_zero_and_nulls(api: httpx.Client) -> None:
    content = make_content(api)
    body = api.get(f"/api/analytics/ar-content/{content['id']}").json()
    assert body["views_30_days"] == 0
    assert body["unique_sessions"] == 0
    assert body["avg_duration_seconds"] is None
    assert body["video_play_rate"] is None
    assert body["tracking_quality"] == {"none": 0, "poor": 0, "fair": 0, "good": 0, "unknown": 0}
    assert body["avg_time_to_first_found_ms"] is None
    assert body["avg_tracked_seconds"] is None
    assert body["avg_target_losses"] is None
    assert body["sessions_with_tracking_figures"] == 0
    assert (body["project_id"], body["company_id"]) == (
        content["project_id"],
        content["company_id"],
    )


def test_tracked_sessions_show_up(api: httpx.Client, public: httpx.Client) -> None:
    content = make_content(api)
    for dur, played, quality in [(10, True, "good"), (20, False, "poor"), (None, False, None)]:
        sid = public.post("/api/analytics/ar-session", json={"portrait_id": content["id"]}).json()[
            "session_id"
        ]
        if dur is not None:
            public.post(
                f"/api/analytics/ar-session/{sid}/end",
                json={"duration_seconds": dur, "video_played": played, "tracking_quality": quality},
            )
    body = api.get(f"/api/analytics/projects/{content['project_id']}").json()
    assert body["views_30_days"] == 3
    assert body["avg_duration_seconds"] == 15.0
    assert body["sessions_with_duration"] == 2
    assert body["video_play_rate"] == round(1 / 3, 4)
    assert body["tracking_quality"]["good"] == 1
    assert body["tracking_quality"]["unknown"] == 1


def test_active_content_counts_only_fully_active_content(api: httpx.Client) -> None:
    a = make_content(api)
    b = make_content(api, company="B")
    c = make_content(api, company="C")
    make_content(api, company="D")
    api.delete(f"/api/ar-content/{a['id']}")
    api.delete(f"/api/projects/{b['project_id']}")
    api.delete(f"/api/companies/{c['company_id']}")
    assert api.get("/api/analytics/overview").json()["active_content"] == 1


@pytest.mark.parametrize("path", ["companies", "projects", "ar-content"])
def test_unknown_ids_are_404(api: httpx.Client, path: str) -> None:
    r = api.get(f"/api/analytics/{path}/777777")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


@pytest.mark.parametrize("days", ["0", "367", "-1", "abc", "1.5"])
def test_days_out_of_range_is_422(api: httpx.Client, days: str) -> None:
    r = api.get("/api/analytics/overview", params={"days": days})
    assert r.status_code == 422
    assert "days" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/analytics/overview",
        "/api/analytics/companies/1",
        "/api/analytics/projects/1",
        "/api/analytics/ar-content/1",
    ],
)
def test_reads_need_a_token(api: httpx.Client, path: str) -> None:
    for token in (None, "nope"):
        with client(str(api.base_url), token=token) as anon:
            r = anon.get(path)
        assert r.status_code == 401
        assert r.json()["error"] == "unauthorized"


def test_company_token_sees_only_its_company(
    api: httpx.Client, db: Engine, database: Database
) -> None:
    mine = make_content(api, company="Mine")
    theirs = make_content(api, company="Theirs")
    write(db, [s for c in (mine, theirs) for s in random_sessions([c], 20, seed=c["id"])], database)
    token = "company-token-" + uuid.uuid4().hex
    with db.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO api_tokens (name, token_hash, role, company_id, created_at) "
            f"VALUES ('t', '{hashlib.sha256(token.encode()).hexdigest()}', 'company', "
            f"{mine['company_id']}, CURRENT_TIMESTAMP)"
        )
    with client(str(api.base_url), token=token) as reader:
        overview = reader.get("/api/analytics/overview", params={"days": 366}).json()
        assert overview["total_views"] == 20
        assert overview["active_content"] == 1
        assert reader.get(f"/api/analytics/companies/{mine['company_id']}").status_code == 200
        assert reader.get(f"/api/analytics/ar-content/{mine['id']}").status_code == 200
        for path in (
            f"companies/{theirs['company_id']}",
            f"projects/{theirs['project_id']}",
            f"ar-content/{theirs['id']}",
        ):
            r = reader.get(f"/api/analytics/{path}")
            assert r.status_code == 404, path
        # The catalog reads are scoped the same way; management stays admin-only.
        listed = reader.get("/api/companies").json()
        assert [c["id"] for c in listed["items"]] == [mine["company_id"]]
        assert reader.post("/api/companies", json={"name": "X"}).status_code == 403
