"""Server-side enrichment over HTTP: places, client addresses, IP modes, visitors, bots."""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from sqlalchemy import Engine

from arv_analytics.ingest.client_ip import client_ip
from arv_analytics.ingest.geo import GeoLocator
from tests.conftest import LiveFactory
from tests.support import PHONE_UA, client, make_content, rows

START = "/api/analytics/ar-session"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36"
)

KNOWN_PLACES = [
    ("8.8.8.8", "US"),
    ("81.2.69.142", "GB"),
    ("193.99.144.80", "DE"),
    ("77.88.8.8", "RU"),
    ("1.1.1.1", "AU"),
    ("2001:4860:4860::8888", "US"),
    ("2a00:1450:4001:80b::200e", "DE"),
    ("2a01:e0a::1", "FR"),
    ("2a02:6b8::feed:0ff", "RU"),
    ("10.1.2.3", None),
    ("127.0.0.1", None),
    ("::1", None),
]


@pytest.fixture(scope="module")
def geo() -> GeoLocator:
    return GeoLocator()


@pytest.mark.parametrize(("ip", "country"), KNOWN_PLACES)
def test_countries_from_bundled_data(geo: GeoLocator, ip: str, country: str | None) -> None:
    assert geo.locate(ip).country == country


def test_city_from_a_maxmind_format_database(tmp_path: Path) -> None:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {"city": {"names": {"en": "London"}}, "country": {"iso_code": "GB"}},
    )
    writer.insert_network(
        IPSet(["2a01:e0a::/32"]),
        {"city": {"names": {"en": "Paris", "de": "Paris"}}, "country": {"iso_code": "FR"}},
    )
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    geo = GeoLocator(path)
    try:
        assert (geo.locate("81.2.69.142").country, geo.locate("81.2.69.142").city) == (
            "GB",
            "London",
        )
        assert geo.locate("2a01:e0a::1").city == "Paris"
        assert geo.locate("8.8.8.8").city is None
    finally:
        geo.close()


PROXY = [ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # an untrusted peer's headers are ignored
        ("203.0.113.9", {"x-forwarded-for": "8.8.8.8"}, "203.0.113.9"),
        # a trusted proxy: the rightmost address that is not a proxy
        ("10.0.0.2", {"x-forwarded-for": "8.8.8.8"}, "8.8.8.8"),
        ("10.0.0.2", {"x-forwarded-for": "1.2.3.4, 8.8.8.8, 10.0.0.7"}, "8.8.8.8"),
        (
            "10.0.0.2",
            {"forwarded": 'for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"'},
            "2001:db8::1",
        ),
        ("10.0.0.2", {"x-forwarded-for": "8.8.8.8:5353"}, "8.8.8.8"),
        # nothing forwarded, or garbage: the proxy itself
        ("10.0.0.2", {}, "10.0.0.2"),
        ("10.0.0.2", {"x-forwarded-for": "not-an-ip"}, "10.0.0.2"),
        # every hop a proxy: the leftmost
        ("10.0.0.2", {"x-forwarded-for": "10.9.9.9, 10.0.0.3"}, "10.9.9.9"),
    ],
)
def test_client_ip_honours_only_trusted_proxies(
    peer: str, headers: dict[str, str], expected: str
) -> None:
    assert client_ip(peer, headers, PROXY) == expected
    if peer.startswith("10."):
        assert client_ip(peer, headers, []) == peer  # nothing trusted by default


def _start(base_url: str, content: dict[str, Any], **headers: str) -> dict[str, Any]:
    with client(base_url, token=None) as c:
        r = c.post(START, json={"portrait_id": content["id"]}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_forwarded_address_is_used_only_behind_a_trusted_proxy(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    untrusted = live(ip_mode="full")
    trusted = live(ip_mode="full", trusted_proxies=["127.0.0.1/32"])
    _start(untrusted.url, content, **{"X-Forwarded-For": "81.2.69.142"})
    _start(trusted.url, content, **{"X-Forwarded-For": "81.2.69.142"})
    stored = rows(db, "SELECT ip_address, country FROM ar_view_sessions ORDER BY id")
    assert stored == [
        {"ip_address": "127.0.0.1", "country": None},
        {"ip_address": "81.2.69.142", "country": "GB"},
    ]


def _salt(db: Engine) -> bytes:
    [row] = rows(db, "SELECT salt FROM daily_salts")
    return bytes(row["salt"])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("full", "2a01:e0a::1"), ("truncate", "2a01:e0a::"), ("none", None)],
)
def test_ip_modes(
    api: httpx.Client, db: Engine, live: LiveFactory, mode: str, expected: str | None
) -> None:
    content = make_content(api)
    server = live(ip_mode=mode, trusted_proxies=["127.0.0.1/32"])
    _start(server.url, content, **{"X-Forwarded-For": "2a01:e0a::1"})
    _start(server.url, content, **{"X-Forwarded-For": "81.2.69.142"})
    stored = [
        r["ip_address"] for r in rows(db, "SELECT ip_address FROM ar_view_sessions ORDER BY id")
    ]
    v4 = {"full": "81.2.69.142", "truncate": "81.2.69.0", "none": None}[mode]
    assert stored == [expected, v4]
    countries = [r["country"] for r in rows(db, "SELECT country FROM ar_view_sessions ORDER BY id")]
    assert countries == ["FR", "GB"]  # the place comes from the address before it is masked


def test_hash_mode_stores_a_keyed_hash_never_the_address(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    content = make_content(api)
    server = live(trusted_proxies=["127.0.0.1/32"])  # ip_mode defaults to hash
    _start(server.url, content, **{"X-Forwarded-For": "81.2.69.142"})
    [row] = rows(db, "SELECT ip_address FROM ar_view_sessions")
    expected = hmac.new(_salt(db), b"ip\0" + b"81.2.69.142", hashlib.sha256).hexdigest()
    assert row["ip_address"] == expected
    assert len(row["ip_address"]) == 64
    assert "81.2.69" not in row["ip_address"]


def test_visitors_are_per_address_agent_and_company(
    api: httpx.Client, db: Engine, live: LiveFactory
) -> None:
    a = make_content(api)
    b = make_content(api, company="Other")
    server = live(trusted_proxies=["127.0.0.1/32"])
    other_ua = PHONE_UA.replace("17_5", "16_1")
    for content, ip, ua in [
        (a, "81.2.69.142", PHONE_UA),
        (a, "81.2.69.142", PHONE_UA),  # the same person again
        (a, "81.2.69.142", other_ua),  # another phone behind the same address
        (a, "8.8.8.8", PHONE_UA),
        (b, "81.2.69.142", PHONE_UA),  # the same person at another company
    ]:
        _start(server.url, content, **{"X-Forwarded-For": ip, "User-Agent": ua})
    hashes = [
        r["visitor_hash"] for r in rows(db, "SELECT visitor_hash FROM ar_view_sessions ORDER BY id")
    ]
    assert hashes[0] == hashes[1]
    assert len(set(hashes)) == 4
    body = api.get(f"/api/analytics/companies/{a['company_id']}").json()
    assert (body["views"], body["unique_sessions"], body["unique_visitors"]) == (4, 4, 3)
    assert api.get("/api/analytics/overview").json()["unique_visitors"] == 4


def test_bots_are_stored_flagged_and_left_out_of_analytics(
    api: httpx.Client, public: httpx.Client, db: Engine
) -> None:
    content = make_content(api)
    public.post(START, json={"portrait_id": content["id"]})
    public.post(START, json={"portrait_id": content["id"]}, headers={"User-Agent": HEADLESS})
    stored = rows(db, "SELECT is_bot, device_type FROM ar_view_sessions ORDER BY id")
    assert [(bool(r["is_bot"]), r["device_type"]) for r in stored] == [
        (False, "mobile"),
        (True, "bot"),
    ]
    path = f"/api/analytics/ar-content/{content['id']}"
    assert api.get(path).json()["views_30_days"] == 1
    with_bots = api.get(path, params={"include_bots": "true"}).json()
    assert (with_bots["views_30_days"], with_bots["include_bots"]) == (2, True)
    assert api.get("/api/analytics/overview").json()["total_views"] == 1
    overview = api.get("/api/analytics/overview", params={"include_bots": True}).json()
    assert overview["total_views"] == 2


def test_deny_lists_and_dropping_bots(api: httpx.Client, db: Engine, live: LiveFactory) -> None:
    content = make_content(api)
    server = live(
        store_bots=False,
        bot_user_agents=["acme-monitor"],
        bot_networks=["203.0.113.0/24"],
        trusted_proxies=["127.0.0.1/32"],
    )
    assert _start(server.url, content, **{"User-Agent": HEADLESS})["status"] == "ignored"
    assert (
        _start(server.url, content, **{"User-Agent": PHONE_UA + " acme-monitor/2"})["status"]
        == "ignored"
    )
    assert _start(server.url, content, **{"X-Forwarded-For": "203.0.113.77"})["status"] == "ignored"
    assert _start(server.url, content, **{"X-Forwarded-For": "81.2.69.142"})["status"] == "tracked"
    assert len(rows(db, "SELECT id FROM ar_view_sessions")) == 1
