"""Every route, every kind of caller: the access rules of docs/security.md, enforced.

The route list comes from the app itself (its OpenAPI document and its route table), so a
route added later is walked too, and fails here until it is put in exactly one of the tables
below. Its path parameters must be ones the walker can fill with real ids (``IDS_OF``).

For each route the walker sends five requests: no token, a wrong token, a revoked token, a
company token of *another* company, and the right token (the owning company's token for
scoped reads, an admin token for everything else), with the path ids of company A.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import Engine
from starlette.routing import Mount, Route

from arv_analytics.app import create_app
from arv_analytics.config import Settings
from tests.dashboard.support import cookie_client, sign_in
from tests.support import ADMIN_TOKEN, client, make_content

# --- the classification: every route is in exactly one table ------------------------------

# Anyone may call these, with or without a token; a token is ignored.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/analytics/ar-session"),
    ("POST", "/api/analytics/ar-session/{session_id}/end"),
    ("GET", "/ar/{unique_id}"),  # the AR viewer page
    # The original platform's tracking paths (compat/), public like the two above.
    ("POST", "/api/analytics/mobile/sessions"),
    ("POST", "/api/analytics/mobile/analytics"),
    ("POST", "/api/mobile/sessions"),
    ("POST", "/api/mobile/analytics"),
    ("POST", "/api/analytics/ar-diagnostic"),
}

# Reads for admin and company tokens. A company token sees only its own company: another
# company's id answers 404, and lists and totals cover only its own rows.
COMPANY_SCOPED = {
    ("GET", "/api/analytics/overview"),
    ("GET", "/api/analytics/companies/{company_id}"),
    ("GET", "/api/analytics/projects/{project_id}"),
    ("GET", "/api/analytics/ar-content/{content_id}"),
    # The original platform's read paths (compat/): aliases of the four above.
    ("GET", "/api/analytics/summary"),
    ("GET", "/api/analytics/company/{company_id}"),
    ("GET", "/api/analytics/content/{content_id}"),
    ("GET", "/api/companies"),
    ("GET", "/api/companies/{company_id}"),
    ("GET", "/api/projects"),
    ("GET", "/api/projects/{project_id}"),
    ("GET", "/api/ar-content"),
    ("GET", "/api/ar-content/{content_id}"),
    ("POST", "/api/v1/query"),
    ("GET", "/api/v1/query"),
    ("POST", "/api/v1/funnel"),
    ("GET", "/api/v1/realtime"),
    ("GET", "/api/v1/schema"),
    ("GET", "/api/v1/export"),
}

# Company-scoped reads whose query parameters name the question's scope (not a list filter):
# another company's id there answers 404, exactly as in a path.
SCOPE_IN_QUERY = {
    ("GET", "/api/v1/query"),
    ("GET", "/api/v1/realtime"),
    ("GET", "/api/v1/export"),
}

# Admin tokens only; a company token gets 403 whatever the ids.
ADMIN_ONLY = {
    ("POST", "/api/companies"),
    ("PATCH", "/api/companies/{company_id}"),
    ("DELETE", "/api/companies/{company_id}"),
    ("POST", "/api/projects"),
    ("PATCH", "/api/projects/{project_id}"),
    ("DELETE", "/api/projects/{project_id}"),
    ("POST", "/api/ar-content"),
    ("PATCH", "/api/ar-content/{content_id}"),
    ("DELETE", "/api/ar-content/{content_id}"),
    ("POST", "/api/ar-content/bulk"),
    ("POST", "/api/tokens"),
    ("GET", "/api/tokens"),
    ("GET", "/api/tokens/{token_id}"),
    ("DELETE", "/api/tokens/{token_id}"),
    ("GET", "/api/audit"),
    ("POST", "/api/share-links"),
    ("GET", "/api/share-links"),
    ("GET", "/api/share-links/{link_id}"),
    ("DELETE", "/api/share-links/{link_id}"),
}

# Only ARV_METRICS_TOKEN opens these: no API token does, not even an admin's (a scraper's
# credential must not be one that can read or change data, and the reverse). The shared test
# servers set no metrics token, so here every caller gets 401; tests/observability checks 200.
OWN_TOKEN = {
    ("GET", "/metrics"),
}

# Routes outside the OpenAPI document, by path or mount prefix. All public.
UNDOCUMENTED_PUBLIC = {
    "/openapi.json",
    "/docs",
    "/docs/assets",
    "/ar/{unique_id}",
    "/api/ar-content/bulk",  # its other methods' 405 (POST is documented and classified)
    "/static",
    "/assets/vendor/{spec}/{path:path}",  # the viewer's local MindAR/three.js (make vendor)
    # The dashboard's sign-in page and its two forms: public, each form CSRF-protected
    # (tests/dashboard/test_sessions.py).
    "/dashboard",
    "/dashboard/sign-in",
    "/dashboard/sign-out",
    # A share link's page: its secret is the credential (tests/dashboard/test_share_links.py).
    "/share/{secret}",
}

# The dashboard's pages (HTML, outside the OpenAPI document): they need a dashboard session,
# made by signing in with a token. Without one they send the browser to sign in; a company
# session gets 404 for another company's ids; the overview is for admin sessions only.
DASHBOARD_PAGES = {
    "/dashboard/overview",
    "/dashboard/companies/{company_id}",
    "/dashboard/projects/{project_id}",
    "/dashboard/content/{content_id}",
    "/dashboard/share-links",  # admin sessions only: 404 for a company session
}

# Path and query parameters the walker fills with company A's ids.
IDS_OF = {
    "company_id": "company_id",
    "project_id": "project_id",
    "content_id": "content_id",
    "token_id": "token_id",
    "link_id": "link_id",
    "session_id": "session_id",
    "unique_id": "unique_id",
}

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@cache
def _spec() -> dict[str, Any]:
    # The app's own document, built without a database: what the server will publish.
    return create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()


def _operations() -> list[tuple[str, str]]:
    ops = []
    for path, item in _spec()["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete", "head", "options"}:
                ops.append((method.upper(), path))
    return sorted(ops)


OPERATIONS = _operations()


def test_every_documented_route_is_classified_once() -> None:
    tables = {
        "PUBLIC": PUBLIC,
        "COMPANY_SCOPED": COMPANY_SCOPED,
        "ADMIN_ONLY": ADMIN_ONLY,
        "OWN_TOKEN": OWN_TOKEN,
    }
    for op in OPERATIONS:
        homes = [name for name, table in tables.items() if op in table]
        assert len(homes) == 1, (
            f"{op[0]} {op[1]} is in {homes or 'no table'}: put it in exactly one of "
            "PUBLIC, COMPANY_SCOPED, ADMIN_ONLY, OWN_TOKEN in tests/tenancy/test_route_access.py "
            "(and make the route enforce that rule)"
        )


def test_every_undocumented_route_is_listed_as_public() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite://"))
    # iter_route_contexts flattens included routers into the routes that actually serve.
    contexts = list(iter_route_contexts(app.routes))
    documented = {path for _, path in OPERATIONS}
    assert {c.path for c in contexts} >= documented
    for context in contexts:
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            continue
        assert isinstance(route, Route | Mount), route
        assert context.path in UNDOCUMENTED_PUBLIC | DASHBOARD_PAGES, (
            f"{context.path} is not in the OpenAPI document; if it is public, add it to "
            "UNDOCUMENTED_PUBLIC, otherwise document it and classify it"
        )


# --- the world the walker runs in --------------------------------------------------------


@dataclass
class World:
    a: dict[str, Any]  # company A's ids: the ones put into every path
    b: dict[str, Any]  # company B's ids
    token_a: str  # company token of A
    token_b: str  # company token of B
    revoked: str  # an admin token, revoked


def _make_world(api: httpx.Client, public: httpx.Client) -> World:
    def company(name: str) -> dict[str, Any]:
        content = make_content(api, company=name)
        start = public.post(
            "/api/analytics/ar-session", json={"ar_content_unique_id": content["unique_id"]}
        )
        assert start.status_code == 200, start.text
        token = api.post(
            "/api/tokens",
            json={
                "name": f"{name} dashboard",
                "role": "company",
                "company_id": content["company_id"],
            },
        ).json()
        link = api.post(
            "/api/share-links", json={"name": f"{name} link", "company_id": content["company_id"]}
        ).json()
        return {
            "link_id": link["id"],
            "company_id": content["company_id"],
            "project_id": content["project_id"],
            "content_id": content["id"],
            "unique_id": content["unique_id"],
            "session_id": start.json()["session_id"],
            "token_id": token["id"],
            "token": token["token"],
        }

    a, b = company("Alpha"), company("Beta")
    revoked = api.post("/api/tokens", json={"name": "old admin", "role": "admin"}).json()
    assert api.delete(f"/api/tokens/{revoked['id']}").status_code == 200
    return World(a, b, a.pop("token"), b.pop("token"), revoked["token"])


def _url(path: str, ids: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in IDS_OF, f"teach the walker the path parameter {{{name}}} (IDS_OF)"
        return str(ids[IDS_OF[name]])

    return re.sub(r"\{(\w+)\}", fill, path)


def _query(method: str, path: str, ids: dict[str, Any]) -> dict[str, str]:
    # Filters named after ids get company A's: a company token must still see only its own.
    params = _spec()["paths"][path][method.lower()].get("parameters", [])
    return {
        p["name"]: str(ids[IDS_OF[p["name"]]])
        for p in params
        if p["in"] == "query" and p["name"] in IDS_OF
    }


def _call(
    base: str, token: str | None, method: str, path: str, ids: dict[str, Any]
) -> httpx.Response:
    with client(base, token=token) as c:
        body = {"json": {}} if method in WRITE_METHODS else {}
        return c.request(method, _url(path, ids), params=_query(method, path, ids), **body)


def _assert_unauthorized(r: httpx.Response, who: str, op: str) -> None:
    assert r.status_code == 401, f"{op} with {who}: {r.status_code} {r.text}"
    assert r.json()["error"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def _company_ids_in(body: Any) -> set[int]:
    """Every company id an answer mentions (`company_id` keys, and the ids of companies)."""
    found: set[int] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "company_id" and isinstance(value, int):
                found.add(value)
            found |= _company_ids_in(value)
        if "slug" in body and "project_id" not in body and "company_id" not in body:
            found.add(int(body["id"]))  # a company
    elif isinstance(body, list):
        for item in body:
            found |= _company_ids_in(item)
    return found


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_route_access(
    api: httpx.Client, public: httpx.Client, db: Engine, method: str, path: str
) -> None:
    op = f"{method} {path}"
    world = _make_world(api, public)
    base = str(api.base_url)
    wrong = "arv_" + secrets.token_urlsafe(32)

    def call(token: str | None, ids: dict[str, Any] | None = None) -> httpx.Response:
        return _call(base, token, method, path, ids or world.a)

    if (method, path) in PUBLIC:
        for who, token in [
            ("no token", None),
            ("a wrong token", wrong),
            ("B's token", world.token_b),
        ]:
            r = call(token)
            assert r.status_code not in (401, 403), f"{op} with {who}: {r.status_code}"
            assert r.status_code < 500, f"{op} with {who}: {r.text}"
        return

    if (method, path) in OWN_TOKEN:
        for who, token in [
            ("no token", None),
            ("a wrong token", wrong),
            ("B's token", world.token_b),
            ("an admin token", ADMIN_TOKEN),
        ]:
            _assert_unauthorized(call(token), who, op)
        return

    assert (method, path) in COMPANY_SCOPED | ADMIN_ONLY, f"{op} is not classified"
    _assert_unauthorized(call(None), "no token", op)
    _assert_unauthorized(call(wrong), "a wrong token", op)
    _assert_unauthorized(call(world.revoked), "a revoked token", op)
    _assert_unauthorized(call(world.token_a + "x"), "a token with one extra character", op)

    other = call(world.token_b)
    if (method, path) in ADMIN_ONLY:
        assert other.status_code == 403, f"{op} with a company token: {other.status_code}"
        assert other.json()["error"] == "forbidden"
        own = call(world.token_a)
        assert own.status_code == 403, f"{op} with A's own company token: {own.status_code}"
        r = call(ADMIN_TOKEN)
        assert r.status_code not in (401, 403), f"{op} with an admin token: {r.text}"
        assert r.status_code < 500, f"{op} with an admin token: {r.text}"
        return

    if (method, path) in SCOPE_IN_QUERY:
        assert other.status_code == 404, f"{op} with B's token on A's ids: {other.status_code}"
        assert other.json()["error"] == "not_found"
    elif "{" in path:
        # Another company's id looks exactly like an id that does not exist.
        assert other.status_code == 404, f"{op} with B's token on A's ids: {other.status_code}"
        assert other.json()["error"] == "not_found"
        unknown = {k: (10**12 if isinstance(v, int) else v) for k, v in world.a.items()}
        missing = call(world.token_b, unknown).json()["detail"]
        assert other.json()["detail"] == missing.replace(
            str(10**12), str(world.a[_first_param(path)])
        )
    else:
        assert other.status_code == 200, f"{op} with B's token: {other.text}"
        assert _company_ids_in(other.json()) <= {world.b["company_id"]}, (
            f"{op} showed B's token another company's rows: {other.text}"
        )

    own = call(world.token_a)
    assert own.status_code == 200, f"{op} with A's own token: {own.status_code} {own.text}"
    if own.headers["content-type"].startswith("application/json"):  # not the ZIP export
        assert _company_ids_in(own.json()) <= {world.a["company_id"]}, op
    assert call(ADMIN_TOKEN).status_code == 200, f"{op} with an admin token"


@pytest.mark.parametrize("path", sorted(DASHBOARD_PAGES))
def test_dashboard_page_access(api: httpx.Client, public: httpx.Client, path: str) -> None:
    world = _make_world(api, public)
    base = str(api.base_url)
    url = _url(path, world.a)
    with cookie_client(base) as nobody:
        r = nobody.get(url)
        assert r.status_code == 303, f"{path} without a session: {r.status_code}"
        assert r.headers["location"].startswith("/dashboard?next=")
        # A bearer token is not a dashboard session: pages ask for a sign-in.
        assert (
            nobody.get(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 303
        )
    admin_only = path in ("/dashboard/overview", "/dashboard/share-links")
    expected = {"admin": 200, "A": 404 if admin_only else 200, "B": 404}
    for who, token in (("admin", ADMIN_TOKEN), ("A", world.token_a), ("B", world.token_b)):
        with cookie_client(base) as web:
            assert sign_in(web, token).status_code == 303
            r = web.get(url)
            assert r.status_code == expected[who], f"{path} with {who}'s session: {r.status_code}"


def _first_param(path: str) -> str:
    name = re.search(r"\{(\w+)\}", path)
    assert name
    return IDS_OF[name.group(1)]


def test_lists_and_totals_of_a_company_token_are_its_own(
    api: httpx.Client, public: httpx.Client
) -> None:
    world = _make_world(api, public)
    base = str(api.base_url)
    with client(base, token=world.token_b) as reader:
        overview = reader.get("/api/analytics/overview").json()
        assert (overview["total_views"], overview["active_content"]) == (1, 1)
    overview = api.get("/api/analytics/overview").json()
    assert (overview["total_views"], overview["active_content"]) == (2, 2)
    for path in ("/api/companies", "/api/projects", "/api/ar-content"):
        with client(base, token=world.token_b) as reader:
            items = reader.get(path).json()["items"]
            assert len(items) == 1, path
            assert _company_ids_in(items) == {world.b["company_id"]}
            if path != "/api/companies":
                # Asking for A's rows by filter finds nothing rather than A's rows.
                mine = reader.get(path, params={"company_id": world.a["company_id"]})
                assert mine.json()["items"] == [], path


def test_a_wrong_bearer_scheme_is_unauthorized(api: httpx.Client) -> None:
    with client(str(api.base_url), token=None) as c:
        r = c.get("/api/analytics/overview", headers={"Authorization": f"Basic {ADMIN_TOKEN}"})
    assert r.status_code == 401


def test_a_uuid_is_not_a_token(api: httpx.Client) -> None:
    with client(str(api.base_url), token=str(uuid.uuid4())) as c:
        assert c.get("/api/analytics/overview").status_code == 401
