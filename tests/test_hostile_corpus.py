# ruff: noqa: E501 - one request per line: the corpus reads as a table
"""A corpus of hostile requests against every public and management route, on both databases.

Each entry is one request a careless or malicious client could send: wrong types, sizes and
encodings, NUL and control characters, values one longer than their column, broken JSON,
wrong content types, path tricks, injection-looking strings in every parameter, header
tricks. For each: the documented status and error code, a JSON error body whose ``fields``
name only fields, and no table changed. Then the whole corpus again, at the same moment as
valid tracking traffic, which must all be acknowledged and stored: a hostile request is its
own problem only (before, a NUL in one start failed every start of its batch on PostgreSQL).
"""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import ADMIN_TOKEN, PHONE_UA, TABLES, client, make_content, rows

START = "/api/analytics/ar-session"
END = START + "/{session}/end"
UNSET: Any = object()
# A field is a name, or a dotted path of names and list indexes: never a character offset
# into the body, nor "body" itself. (An unknown query parameter is named as it was sent.)
NOT_A_FIELD = re.compile(r"^(\d+|body)$")
PAGE = "(the viewer's HTML page)"  # the viewer answers people, in HTML, not JSON
INJECTION = "1'; DROP TABLE companies; --"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # {company} {project} {content} {session} {token} are filled in
    status: int
    error: str
    json: Any = UNSET
    content: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    field: str | None = None  # the field a 422 must name


def _start(**body: Any) -> dict[str, Any]:
    return {"ar_content_id": "{content}", **body}


CASES = [
    # --- tracking: start ----------------------------------------------------------------
    Case("start NUL in browser", "POST", START, 422, "validation_error", _start(browser="Safari\x00"), field="browser"),
    Case("start NUL in user_agent", "POST", START, 422, "validation_error", _start(user_agent="Mozilla\x00/5.0"), field="user_agent"),
    Case("start NUL in device_type", "POST", START, 422, "validation_error", _start(device_type="\x00"), field="device_type"),
    Case("start NUL in os", "POST", START, 422, "validation_error", _start(os="iOS\x0017"), field="os"),
    Case("start lone surrogate", "POST", START, 422, "validation_error", content=b'{"ar_content_id": 1, "browser": "\\ud800"}', content_type="application/json"),
    Case("start browser one too long", "POST", START, 422, "validation_error", _start(browser="b" * 101), field="browser"),
    Case("start device_type one too long", "POST", START, 422, "validation_error", _start(device_type="d" * 51), field="device_type"),
    Case("start user_agent one too long", "POST", START, 422, "validation_error", _start(user_agent="u" * 2049), field="user_agent"),
    Case("start not JSON", "POST", START, 422, "validation_error", content=b"hello", content_type="application/json"),
    Case("start truncated JSON", "POST", START, 422, "validation_error", content=b'{"ar_content_id": 1', content_type="text/plain"),
    Case("start invalid UTF-8", "POST", START, 422, "validation_error", content=b'{"browser": "\xff\xfe"}', content_type="application/json"),
    Case("start JSON array", "POST", START, 422, "validation_error", content=b"[1, 2]", content_type="application/json"),
    Case("start JSON string", "POST", START, 422, "validation_error", content=b'"start"', content_type="application/json"),
    Case("start empty body", "POST", START, 422, "validation_error", content=b"", content_type="application/json"),
    Case("start nested 4000 deep", "POST", START, 422, "validation_error", content=b"[" * 4000, content_type="application/json"),
    Case("start NaN", "POST", START, 422, "validation_error", content=b'{"ar_content_id": 1, "tracked_seconds": NaN}', content_type="application/json"),
    Case("start 1e999", "POST", START, 422, "validation_error", content=b'{"ar_content_id": 1, "tracked_seconds": 1e999}', content_type="application/json"),
    Case("start XML", "POST", START, 415, "unsupported_media_type", content=b"<start/>", content_type="application/xml"),
    Case("start form", "POST", START, 415, "unsupported_media_type", content=b"ar_content_id=1", content_type="application/x-www-form-urlencoded"),
    Case("start multipart", "POST", START, 415, "unsupported_media_type", content=b"--x--", content_type="multipart/form-data; boundary=x"),
    Case("start 17 KiB", "POST", START, 413, "payload_too_large", _start(browser="x" * 17_000)),
    Case("start id as string", "POST", START, 422, "validation_error", {"ar_content_id": "1"}, field="ar_content_id"),
    Case("start id 2**53", "POST", START, 422, "validation_error", {"ar_content_id": 2**53}, field="ar_content_id"),
    Case("start id negative", "POST", START, 422, "validation_error", {"ar_content_id": -1}, field="ar_content_id"),
    Case("start id injection", "POST", START, 422, "validation_error", {"ar_content_id": INJECTION}, field="ar_content_id"),
    Case("start session_id injection", "POST", START, 422, "validation_error", _start(session_id="' OR 1=1 --"), field="session_id"),
    Case("start quality injection", "POST", START, 422, "validation_error", _start(tracking_quality="good'; --"), field="tracking_quality"),
    Case("start video_played yes", "POST", START, 422, "validation_error", _start(video_played="yes"), field="video_played"),
    Case("start unknown content", "POST", START, 404, "not_found", {"ar_content_id": 987654321}),
    Case("start ids disagree", "POST", START, 404, "not_found", _start(portrait_id=987654321)),
    Case("start unknown query parameter", "POST", START + "?debug=1", 422, "validation_error", _start(), field="debug"),
    # --- tracking: end ------------------------------------------------------------------
    Case("end session id injection", "POST", START + "/' OR '1'='1/end", 422, "validation_error", {"duration_seconds": 1}, field="session_id"),
    Case("end session id dot-dot", "POST", START + "/%2e%2e/end", 422, "validation_error", {"duration_seconds": 1}, field="session_id"),
    Case("end duration string", "POST", END, 422, "validation_error", {"duration_seconds": "10"}, field="duration_seconds"),
    Case("end duration negative", "POST", END, 422, "validation_error", {"duration_seconds": -5}, field="duration_seconds"),
    Case("end duration NUL", "POST", END, 422, "validation_error", {"duration_seconds": "\x00"}, field="duration_seconds"),
    Case("end quality NUL", "POST", END, 422, "validation_error", {"duration_seconds": 1, "tracking_quality": "good\x00"}, field="tracking_quality"),
    Case("end unknown session", "POST", START + f"/{uuid.UUID(int=7)}/end", 404, "not_found", {"duration_seconds": 1}),
    Case("end not JSON", "POST", END, 422, "validation_error", content=b"duration=5", content_type="text/plain"),
    Case("end wrong media type", "POST", END, 415, "unsupported_media_type", content=b"{}", content_type="image/png"),
    # --- catalog ------------------------------------------------------------------------
    Case("company name NUL", "POST", "/api/companies", 422, "validation_error", {"name": "Acme\x00"}, field="name"),
    Case("company name only NUL", "POST", "/api/companies", 422, "validation_error", {"name": "\x00"}, field="name"),
    Case("company name lone surrogate", "POST", "/api/companies", 422, "validation_error", content=b'{"name": "A\\ud800"}', content_type="application/json", field="name"),
    Case("company name one too long", "POST", "/api/companies", 422, "validation_error", {"name": "n" * 256}, field="name"),
    Case("company name a number", "POST", "/api/companies", 422, "validation_error", {"name": 5}, field="name"),
    Case("company slug injection", "POST", "/api/companies", 422, "validation_error", {"name": "A", "slug": INJECTION}, field="slug"),
    Case("company slug NUL", "POST", "/api/companies", 422, "validation_error", {"name": "A", "slug": "a\x00"}, field="slug"),
    Case("company unknown key", "POST", "/api/companies", 422, "validation_error", {"name": "A", "id": 1}, field="id"),
    Case("company not JSON", "POST", "/api/companies", 400, "bad_request", content=b"name=Acme", content_type="application/json"),
    Case("company truncated JSON", "POST", "/api/companies", 400, "bad_request", content=b'{"name": "Ac', content_type="application/json"),
    Case("company invalid UTF-8", "POST", "/api/companies", 400, "bad_request", content=b'{"name": "\xc3\x28"}', content_type="application/json"),
    Case("company JSON array", "POST", "/api/companies", 422, "validation_error", [{"name": "A"}]),
    Case("company as text/plain", "POST", "/api/companies", 422, "validation_error", content=b'{"name": "A"}', content_type="text/plain"),
    Case("project company_id string", "POST", "/api/projects", 422, "validation_error", {"company_id": "1", "name": "P"}, field="company_id"),
    Case("project name NUL", "POST", "/api/projects", 422, "validation_error", {"company_id": 1, "name": "P\x00"}, field="name"),
    Case("content title NUL", "POST", "/api/ar-content", 422, "validation_error", {"project_id": 1, "title": "\x00T"}, field="title"),
    Case("content video javascript:", "POST", "/api/ar-content", 422, "validation_error", {"project_id": 1, "title": "T", "video_url": "javascript:alert(1)"}, field="video_url"),
    Case("content marker NUL", "POST", "/api/ar-content", 422, "validation_error", {"project_id": 1, "title": "T", "marker_url": "/m\x00.png"}, field="marker_url"),
    Case("content unique_id injection", "POST", "/api/ar-content", 422, "validation_error", {"project_id": 1, "title": "T", "unique_id": INJECTION}, field="unique_id"),
    Case("patch company name NUL", "PATCH", "/api/companies/{company}", 422, "validation_error", {"name": "B\x00"}, field="name"),
    Case("patch company not JSON", "PATCH", "/api/companies/{company}", 400, "bad_request", content=b"{name}", content_type="application/json"),
    Case("patch project active string", "PATCH", "/api/projects/{project}", 422, "validation_error", {"is_active": "false"}, field="is_active"),
    Case("patch content CRLF in URL", "PATCH", "/api/ar-content/{content}", 422, "validation_error", {"marker_url": "/m\r\nSet-Cookie: a=b"}, field="marker_url"),
    Case("get company id injection", "GET", "/api/companies/1%20OR%201=1", 422, "validation_error", field="company_id"),
    Case("get company id too big", "GET", "/api/companies/99999999999999999999", 422, "validation_error", field="company_id"),
    Case("delete company id zero", "DELETE", "/api/companies/0", 422, "validation_error", field="company_id"),
    Case("list limit NUL", "GET", "/api/companies?limit=%00", 422, "validation_error", field="limit"),
    Case("list limit twice", "GET", "/api/companies?limit=1&limit=2", 422, "validation_error", field="limit"),
    Case("list project_id injection", "GET", "/api/ar-content?project_id=1;DROP%20TABLE%20ar_content", 422, "validation_error", field="project_id"),
    Case("list unknown parameter NUL", "GET", "/api/projects?%00=1", 422, "validation_error", field="\x00"),
    # --- tokens and audit ---------------------------------------------------------------
    Case("token name NUL", "POST", "/api/tokens", 422, "validation_error", {"name": "t\x00", "role": "admin"}, field="name"),
    Case("token not JSON", "POST", "/api/tokens", 400, "bad_request", content=b"role=admin", content_type="application/json"),
    Case("token role injection", "POST", "/api/tokens", 422, "validation_error", {"name": "t", "role": INJECTION}, field="role"),
    Case("token company without id", "POST", "/api/tokens", 422, "validation_error", {"name": "t", "role": "company"}, field="company_id"),
    Case("token without role", "POST", "/api/tokens", 422, "validation_error", {"name": "t"}, field="role"),
    Case("tokens company_id text", "GET", "/api/tokens?company_id=abc", 422, "validation_error", field="company_id"),
    Case("revoke token id text", "DELETE", "/api/tokens/abc", 422, "validation_error", field="token_id"),
    Case("audit action NUL", "GET", "/api/audit?action=token%00", 422, "validation_error", field="action"),
    Case("audit action one too long", "GET", "/api/audit?action=" + "a" * 51, 422, "validation_error", field="action"),
    # --- analytics ----------------------------------------------------------------------
    Case("overview days NUL", "GET", "/api/analytics/overview?days=%00", 422, "validation_error", field="days"),
    Case("overview days huge", "GET", "/api/analytics/overview?days=1e9", 422, "validation_error", field="days"),
    Case("company analytics bots NUL", "GET", "/api/analytics/companies/{company}?include_bots=%00", 422, "validation_error", field="include_bots"),
    Case("content analytics id injection", "GET", "/api/analytics/ar-content/1'%20OR%20'1'='1", 422, "validation_error", field="content_id"),
    # --- headers and paths --------------------------------------------------------------
    Case("bearer injection", "GET", "/api/companies", 401, "unauthorized", headers={"Authorization": "Bearer ' OR 1=1 --"}),
    Case("bearer 8 KiB", "GET", "/api/companies", 401, "unauthorized", headers={"Authorization": "Bearer " + "a" * 8192}),
    Case("basic auth", "GET", "/api/tokens", 401, "unauthorized", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}),
    Case("viewer id traversal", "GET", "/ar/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
    Case("viewer id injection", "GET", "/ar/'%20OR%201=1", 404, PAGE),
    Case("viewer id NUL", "GET", "/ar/x%00", 404, PAGE),
    Case("static traversal", "GET", "/static/..%2F..%2Fpyproject.toml", 404, "not_found"),
    Case("unknown route", "GET", "/api/../../etc/passwd", 404, "not_found"),
]  # fmt: skip


@dataclass
class World:
    company: int
    project: int
    content: int
    session: str
    token: int

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            named = {k: str(v) for k, v in vars(self).items()}
            if value.strip("{}") in named and value.startswith("{"):
                whole = named[value.strip("{}")]
                return int(whole) if whole.isdigit() else whole
            for key, text in named.items():
                value = value.replace("{" + key + "}", text)
            return value
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


def _world(api: httpx.Client) -> World:
    content = make_content(api)
    with client(str(api.base_url), token=None) as public:
        sid = public.post(START, json={"ar_content_id": content["id"]}).json()["session_id"]
    token = api.post("/api/tokens", json={"name": "reader", "role": "admin"}).json()["id"]
    return World(content["company_id"], content["project_id"], content["id"], sid, token)


def _snapshot(db: Engine) -> dict[str, list[str]]:
    return {t: sorted(repr(sorted(r.items())) for r in rows(db, f"SELECT * FROM {t}")) for t in TABLES}  # fmt: skip


def _send(c: httpx.Client, case: Case, world: World) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", **case.headers}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    kwargs: dict[str, Any] = {"headers": headers}
    if case.json is not UNSET:
        kwargs["json"] = world.fill(case.json)
    elif case.content is not None:
        kwargs["content"] = case.content
    return c.request(case.method, world.fill(case.path), **kwargs)


def _check(case: Case, r: httpx.Response) -> None:
    if case.error == PAGE:
        assert r.status_code == case.status
        assert r.headers["content-type"].startswith("text/html")
        return
    assert (r.status_code, r.headers.get("content-type")) == (case.status, "application/json"), r.text  # fmt: skip
    body = r.json()
    assert body["error"] == case.error, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    names = [f["field"] for f in body.get("fields") or []]
    assert not any(NOT_A_FIELD.match(n) for n in names), f"fields name something else: {names}"
    if case.field is not None:
        assert case.field in names, body


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_request_is_refused_and_changes_nothing(
    api: httpx.Client, db: Engine, case: Case
) -> None:
    world = _world(api)
    before = _snapshot(db)
    _check(case, _send(api, case, world))
    assert _snapshot(db) == before, "a refused request changed a table"


def test_hostile_requests_beside_valid_traffic_harm_no_one(api: httpx.Client, db: Engine) -> None:
    world = _world(api)
    acknowledged: list[str] = []
    lock = threading.Lock()

    def valid(i: int) -> None:
        with client(str(api.base_url), token=None, user_agent=PHONE_UA) as c:
            sid = str(uuid.uuid4())
            r = c.post(START, json={"ar_content_id": world.content, "session_id": sid, "browser": f"B{i}"})  # fmt: skip
            assert r.status_code == 200, r.text
            r = c.post(f"{START}/{sid}/end", json={"duration_seconds": i % 50})
            assert r.status_code == 200, r.text
            with lock:
                acknowledged.append(sid)

    def hostile(case: Case) -> None:
        with client(str(api.base_url), token=None) as c:
            _check(case, _send(c, case, world))

    tracking = [c for c in CASES if c.path.startswith(START)]
    with ThreadPoolExecutor(12) as pool:
        # Interleaved: each hostile tracking request lands among valid starts and ends, so
        # they share write batches.
        futures = [pool.submit(valid, i) for i in range(len(tracking) * 3)]
        futures += [pool.submit(hostile, case) for case in CASES + tracking * 2]
        for f in futures:
            f.result()
    stored = {
        str(uuid.UUID(str(r["session_id"]))): r["duration_seconds"]
        for r in rows(db, "SELECT session_id, duration_seconds FROM ar_view_sessions")
    }
    assert set(acknowledged) | {world.session} == set(stored)
    browsers = {r["browser"] for r in rows(db, "SELECT browser FROM ar_view_sessions")}
    assert not any("\x00" in (b or "") for b in browsers)
