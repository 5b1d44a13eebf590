"""Where a view came from: utm_*, the placement (`src`) and the referrer host, set by the start."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from arv_analytics.ingest.sources import referrer_host
from tests.support import make_content, rows

START = "/api/analytics/ar-session"
SOURCES = "utm_source, utm_medium, utm_campaign, placement, referrer_host"


def start(api: httpx.Client, public: httpx.Client, **extra: Any) -> httpx.Response:
    content = make_content(api, company=f"C-{uuid.uuid4().hex[:8]}")
    return public.post(START, json={"ar_content_unique_id": content["unique_id"], **extra})


def sources(db: Engine) -> list[dict[str, Any]]:
    return rows(db, f"SELECT {SOURCES} FROM ar_view_sessions ORDER BY id")


@pytest.mark.parametrize(
    ("sent", "host"),
    [
        ("https://www.Instagram.com/p/Cx1?igsh=abc", "instagram.com"),
        ("http://l.facebook.com:8080/l.php?u=x", "l.facebook.com"),
        ("instagram.com", "instagram.com"),
        ("WWW.example.org", "example.org"),
        ("example.org/path#frag", "example.org"),
        ("//cdn.example.net/x", "cdn.example.net"),
        ("https://user:secret@news.example.com/", "news.example.com"),
        ("http://[2001:DB8::1]:8443/x", "2001:db8::1"),
        ("https://example.com./", "example.com"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("https://", None),
        ("", None),
        (None, None),
        ("x" * 300 + ".com", "x" * 100),
    ],
)
def test_referrer_host(sent: str | None, host: str | None) -> None:
    assert referrer_host(sent) == host


def test_start_stores_its_sources(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    r = start(
        api,
        public,
        utm_source="instagram",
        utm_medium="social",
        utm_campaign="spring-2026",
        src="metro-12",
        referrer="https://www.instagram.com/stories/studio/123",
    )
    assert r.status_code == 200, r.text
    assert sources(db) == [
        {
            "utm_source": "instagram",
            "utm_medium": "social",
            "utm_campaign": "spring-2026",
            "placement": "metro-12",
            "referrer_host": "instagram.com",
        }
    ]


def test_placement_is_another_name_for_src(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    assert start(api, public, placement="magazine-p4").status_code == 200
    assert start(api, public, placement="magazine-p4", src="metro-12").status_code == 200
    assert [r["placement"] for r in sources(db)] == ["magazine-p4", "metro-12"]


def test_absent_and_blank_sources_are_null(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    assert start(api, public).status_code == 200
    blank = {k: "" for k in ("utm_source", "utm_medium", "utm_campaign", "src", "referrer")}
    assert start(api, public, **blank, placement="   ").status_code == 200
    assert [set(r.values()) for r in sources(db)] == [{None}, {None}]


def test_an_end_never_changes_the_sources(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    sid = start(api, public, utm_source="qr", src="metro-12").json()["session_id"]
    r = public.post(
        f"{START}/{sid}/end",
        json={"duration_seconds": 3, "utm_source": "other", "src": "x", "referrer": "a.com"},
    )
    assert r.status_code == 200, r.text
    [row] = sources(db)
    assert (row["utm_source"], row["placement"], row["referrer_host"]) == ("qr", "metro-12", None)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"utm_source": "x" * 101}, "utm_source"),
        ({"utm_medium": 5}, "utm_medium"),
        ({"utm_campaign": "spring\n2026"}, "utm_campaign"),
        ({"src": ["metro-12"]}, "src"),
        ({"placement": "a\x00b"}, "placement"),
        ({"referrer": "https://example.com/a b"}, "referrer"),
        ({"referrer": "https://example.com/" + "a" * 2048}, "referrer"),
        ({"referrer": True}, "referrer"),
    ],
)
def test_invalid_sources_are_422_and_store_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, extra: dict[str, Any], field: str
) -> None:
    r = start(api, public, **extra)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert field in r.json()["detail"]
    assert sources(db) == []


def test_sources_and_camera_in_naive_mode(api: Any, db: Engine, live: Any) -> None:
    content = make_content(api)
    server = live(ingest_mode="naive")
    with httpx.Client(base_url=server.url) as c:
        r = c.post(
            START,
            json={"portrait_id": content["id"], "utm_source": "newsletter", "src": "mag-p4"},
        )
        assert r.status_code == 200, r.text
        end = f"{START}/{r.json()['session_id']}/end"
        for body in (
            {"duration_seconds": 2, "camera_outcome": "denied", "camera_ms": 1500},
            {"duration_seconds": 5, "camera_outcome": "granted", "camera_ms": 4000},
        ):
            assert c.post(end, json=body).status_code == 200
    [row] = sources(db)
    assert (row["utm_source"], row["placement"]) == ("newsletter", "mag-p4")
    [camera] = rows(db, "SELECT camera_outcome, camera_ms FROM ar_view_sessions")
    assert camera == {"camera_outcome": "granted", "camera_ms": 1500}
