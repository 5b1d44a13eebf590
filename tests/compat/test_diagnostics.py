"""POST /api/analytics/ar-diagnostic: validated, rate-limited, counted per day; never a 5xx."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from arv_analytics.compat import service
from tests.conftest import LiveFactory
from tests.support import client, make_content, rows

PATH = "/api/analytics/ar-diagnostic"
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def counts(db: Engine) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM ar_diagnostics_daily ORDER BY stage, error, browser")


def test_timings_and_failures_are_counted_per_day_stage_error_browser(
    api: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    uid = content["unique_id"]
    with client(str(api.base_url), token=None, user_agent=ANDROID_CHROME) as phone:
        for ms in (800, 2_500, 45_000):
            r = phone.post(
                PATH, json={"event": "mindar_start", "duration_ms": ms, "ar_content_unique_id": uid}
            )
            assert r.status_code == 200, r.text
            assert r.json() == {"status": "ok"}
        failure = {
            "stage": "mindar_start",
            "ar_content_unique_id": uid,
            "error": "NotAllowedError: Permission denied at https://cdn.example/x.js:12:7\n  at y",
            "user_agent": "ignored: the header wins",
        }
        assert phone.post(PATH, json=failure).json() == {"status": "ok"}
        assert phone.post(PATH, content=json.dumps(failure), headers={"Content-Type": "text/plain"})
    [ok, failed] = counts(db)
    assert (ok["stage"], ok["error"], ok["browser"], ok["os"]) == (
        "mindar_start", "", "Chrome Mobile", "Android"
    )  # fmt: skip
    assert (ok["ar_content_id"], ok["project_id"], ok["company_id"]) == (
        content["id"], content["project_id"], content["company_id"]
    )  # fmt: skip
    assert (ok["events"], ok["duration_count"], ok["duration_sum_ms"]) == (3, 3, 48_300)
    histogram = [ok[f"ms_le_{e}"] for e in (1000, 3000, 10000, 30000)] + [ok["ms_gt_30000"]]
    assert histogram == [1, 1, 0, 0, 1]
    assert failed["error"] == "NotAllowedError: Permission denied at <url>"
    assert (failed["events"], failed["duration_count"]) == (2, 0)


def test_the_body_user_agent_is_used_without_a_header(api: httpx.Client, db: Engine) -> None:
    content = make_content(api)
    body = {
        "event": "x",
        "ar_content_unique_id": content["unique_id"],
        "user_agent": ANDROID_CHROME,
    }
    with httpx.Client(base_url=str(api.base_url)) as bare:
        # httpx always sends its own User-Agent; an empty one counts as none.
        r = bare.post(PATH, json=body, headers={"User-Agent": ""})
    assert r.json() == {"status": "ok"}
    assert counts(db)[0]["os"] == "Android"


def test_distinct_errors_and_stages_per_day_are_bounded(
    api: httpx.Client, public: httpx.Client, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_ERRORS_PER_DAY", 3)
    monkeypatch.setattr(service, "MAX_STAGES_PER_DAY", 2)
    uid = make_content(api)["unique_id"]
    for i in range(6):
        body = {"event": "start", "ar_content_unique_id": uid, "error": f"Error kind {'abcdef'[i]}"}
        assert public.post(PATH, json=body).status_code == 200
    # Numbers are folded: these are one error, not many.
    for n in range(5):
        body = {"event": "start", "ar_content_unique_id": uid, "error": f"timeout after {n} ms"}
        assert public.post(PATH, json=body).status_code == 200
    for stage in ("a", "b", "c"):
        assert public.post(PATH, json={"event": stage, "ar_content_unique_id": uid}).status_code
    errors = {r["error"] for r in counts(db)}
    assert errors == {"", "Error kind a", "Error kind b", "Error kind c", "other"}
    stages = {r["stage"] for r in counts(db)}
    assert stages == {"start", "a", "other"}
    assert sum(r["events"] for r in counts(db)) == 14


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ar_content_unique_id"),
        ({"duration_ms": 5, "ar_content_unique_id": "U"}, "body"),  # neither event nor stage
        ({"event": "", "ar_content_unique_id": "U"}, "event"),
        ({"event": "a b", "ar_content_unique_id": "U"}, "event"),
        ({"stage": "x" * 65, "ar_content_unique_id": "U"}, "stage"),
        ({"event": "e", "ar_content_unique_id": "nope"}, "ar_content_unique_id"),
        ({"event": "e", "ar_content_unique_id": "U", "duration_ms": "5"}, "duration_ms"),
        ({"event": "e", "ar_content_unique_id": "U", "duration_ms": -1}, "duration_ms"),
        ({"event": "e", "ar_content_unique_id": "U", "duration_ms": 1e12}, "duration_ms"),
        ({"event": "e", "ar_content_unique_id": "U", "error": {"a": 1}}, "error"),
        ({"event": "e", "ar_content_unique_id": "U", "error": "x" * 5000}, "error"),
    ],
)
def test_bad_input_is_422_and_counts_nothing(
    api: httpx.Client, public: httpx.Client, db: Engine, body: dict[str, Any], field: str
) -> None:
    uid = make_content(api)["unique_id"]
    sent = {k: (uid if v == "U" else v) for k, v in body.items()}
    r = public.post(PATH, json=sent)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    if field == "body":  # about the body as a whole: said in detail; fields name only fields
        assert "fields" not in r.json()
        assert r.json()["detail"].startswith("body: ")
    else:
        assert r.json()["fields"][0]["field"].split(".")[0] == field
    assert counts(db) == []


def test_unknown_or_inactive_content_is_404(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    r = public.post(PATH, json={"event": "e", "ar_content_unique_id": str(uuid.uuid4())})
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "detail": "ar content not found"}
    api.delete(f"/api/companies/{content['company_id']}")
    r = public.post(PATH, json={"event": "e", "ar_content_unique_id": content["unique_id"]})
    assert r.status_code == 404
    assert counts(db) == []


def test_bots_and_gpc_are_not_counted(api: httpx.Client, public: httpx.Client, db: Engine) -> None:
    body = {"event": "e", "ar_content_unique_id": make_content(api)["unique_id"]}
    with client(str(api.base_url), token=None, user_agent="curl/8.0") as script:
        assert script.post(PATH, json=body).json() == {"status": "ignored"}
    assert public.post(PATH, json=body, headers={"Sec-GPC": "1"}).json() == {"status": "ignored"}
    assert counts(db) == []


def test_rate_limited_like_tracking(api: httpx.Client, db: Engine, live: LiveFactory) -> None:
    body = {"event": "e", "ar_content_unique_id": make_content(api)["unique_id"]}
    server = live(rate_limit_per_minute=1000, rate_limit_burst=3)
    with client(server.url, token=None) as c:
        codes = [c.post(PATH, json=body).status_code for _ in range(6)]
        # One budget for all tracking routes of a client.
        blocked = c.post("/api/mobile/sessions", json={})
    assert codes.count(429) >= 2, codes
    assert blocked.status_code == 429
    assert sum(r["events"] for r in counts(db)) == codes.count(200)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(
    ["event", "stage", "duration_ms", "user_agent", "ar_content_unique_id", "error"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        JSON,
        st.dictionaries(KEYS, JSON, max_size=6),
        st.binary(max_size=40).map(lambda b: b),
    )
)
def test_no_body_is_a_server_error(public: httpx.Client, body: object) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = public.post(PATH, content=raw, headers={"Content-Type": "text/plain"})
    assert r.status_code in (200, 404, 413, 422), r.text
    assert set(r.json()) >= ({"status"} if r.status_code == 200 else {"error", "detail"})
