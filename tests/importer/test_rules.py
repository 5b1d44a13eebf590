"""Imported history obeys the rules of live tracking, from a source shaped like the original's
current schema (its Alembic head): naive timestamps, NULL project/company on old rows,
varchar session ids, out-of-range durations, duplicates out of id order, content we lack.

Each test runs with a SQLite and a PostgreSQL target; the source is always PostgreSQL, as the
original platform's is. The analytics are checked against SQL run on the original data under
the documented rules (docs/import.md).
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from arv_analytics.cli.main import app
from arv_analytics.ingest import rules, schemas
from arv_analytics.models import TRACKING_QUALITIES
from tests.support import PHONE_UA, Database, new_database, rows

runner = CliRunner()
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
MAX = 14_400  # ARV_MAX_SESSION_SECONDS' default
U1, U2, U3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()  # old content 1, 2 (ours), 3 (not ours)
SID = {n: str(uuid.uuid4()) for n in range(40)}

# The original's ar_view_sessions at its Alembic head (initial schema, then 20260215_1000_idx
# and 20260219_1000_devmodel added columns at the end): session_id is a varchar, timestamps
# are naive, project_id and company_id are nullable.
ORIGINAL_SCHEMA = """
CREATE TABLE companies (id serial PRIMARY KEY, name varchar(255) NOT NULL);
CREATE TABLE projects (id serial PRIMARY KEY, company_id integer NOT NULL REFERENCES companies,
                       name varchar(255) NOT NULL);
CREATE TABLE ar_content (id serial PRIMARY KEY, project_id integer NOT NULL REFERENCES projects,
                         company_id integer NOT NULL REFERENCES companies,
                         unique_id uuid NOT NULL UNIQUE, order_number varchar(50) NOT NULL);
CREATE TABLE ar_view_sessions (
    id serial PRIMARY KEY,
    ar_content_id integer NOT NULL REFERENCES ar_content,
    session_id varchar(255) NOT NULL,
    user_agent varchar(500),
    ip_address varchar(45),
    duration_seconds integer,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    project_id integer REFERENCES projects,
    company_id integer REFERENCES companies,
    device_type varchar(50),
    browser varchar(100),
    os varchar(100),
    country varchar(100),
    city varchar(100),
    tracking_quality varchar(50),
    video_played boolean NOT NULL DEFAULT false,
    device_model varchar(120)
);
CREATE INDEX ix_ar_view_sessions_session_id ON ar_view_sessions (session_id);
"""
# id: (old content, session_id, user agent, duration, quality, video, days ago, device_type)
HISTORY: dict[int, tuple[Any, ...]] = {
    1: (1, SID[1], PHONE_UA, 30, "good", True, 1, "mobile"),
    2: (1, SID[2], ANDROID, 16_000, "fair", False, 2, "mobile"),
    3: (1, SID[3], PHONE_UA, 20, "good", True, 3, "mobile"),  # wins over 7
    4: (3, SID[9], PHONE_UA, 10, "good", True, 1, "mobile"),  # content not ours
    5: (2, SID[5], DESKTOP, 172_800, "poor", True, 2, "desktop"),
    6: (2, SID[6], PHONE_UA, -5, "excellent", False, 4, "mobile"),
    7: (1, SID[3], ANDROID, 99, "poor", False, 3, "mobile"),  # duplicate of 3
    8: (1, SID[8], "curl/8.4.0", 3, None, False, 1, "unknown"),
    9: (1, SID[9], PHONE_UA, 40, "good", True, 1, "mobile"),  # 4 is rejected: 9 is the view
    10: (2, SID[10], None, 12, None, False, 5, "unknown"),  # no user agent (a script)
    11: (1, "legacy-0001", PHONE_UA, 8, "good", False, 1, "mobile"),
    12: (2, SID[5].upper(), DESKTOP, 1, "good", False, 2, "desktop"),  # duplicate of 5
    13: (1, SID[13], PHONE_UA, 50, "good", True, 40, "mobile"),  # outside the 30 days
    14: (2, SID[14], GOOGLEBOT, 2, None, False, 2, "desktop"),
    27: (1, SID[27], PHONE_UA, MAX, "none", False, 6, "mobile"),
    28: (2, SID[28], ANDROID, None, None, True, 0.5, "mobile"),
    **{i: (3, SID[i], PHONE_UA, 5, "good", True, 1, "mobile") for i in range(15, 27)},
}
LOADED = {1, 2, 3, 5, 6, 8, 9, 10, 13, 14, 27, 28}

# The documented rules, written as SQL over the original table: the lowest id of each session
# (among rows of content we have, with a UUID session id), durations clamped, negatives
# unknown, qualities outside the vocabulary unknown, no user agent or a bot's one → a bot.
REFERENCE = """
WITH candidates AS (
    SELECT v.*, c.unique_id,
           row_number() OVER (PARTITION BY lower(v.session_id) ORDER BY v.id) AS n
    FROM ar_view_sessions v JOIN ar_content c ON c.id = v.ar_content_id
    WHERE c.unique_id = ANY(%(ours)s)
      AND v.session_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
), views AS (
    SELECT *,
           CASE WHEN duration_seconds >= 0 THEN LEAST(duration_seconds, %(max)s) END AS d,
           CASE WHEN tracking_quality IN ('none', 'poor', 'fair', 'good')
                THEN tracking_quality END AS q,
           user_agent IS NULL OR user_agent ~* 'bot|^curl/' AS bot
    FROM candidates WHERE n = 1
)
SELECT count(*) AS views,
       count(DISTINCT lower(session_id)) AS unique_sessions,
       round(avg(d), 2)::float AS avg_duration_seconds,
       count(d) AS sessions_with_duration,
       count(*) FILTER (WHERE video_played) AS video_plays,
       count(*) FILTER (WHERE q = 'none') AS q_none,
       count(*) FILTER (WHERE q = 'poor') AS q_poor,
       count(*) FILTER (WHERE q = 'fair') AS q_fair,
       count(*) FILTER (WHERE q = 'good') AS q_good,
       count(*) FILTER (WHERE q IS NULL) AS q_unknown
FROM views
WHERE unique_id = %(uid)s AND (%(bots)s OR NOT bot)
  AND created_at >= (now() AT TIME ZONE 'utc') - interval '30 days'
"""


def run(*args: str) -> str:
    result = runner.invoke(app, ["import", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def cli_db(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("ARV_DATABASE_URL", database.url)
    return database


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The original platform's database, its rows inserted out of id order."""
    with new_database("postgresql", tmp_path_factory.mktemp("original"), migrated=False) as src:
        conninfo = src.sync_url.replace("postgresql+psycopg://", "postgresql://")
        now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the original stored it
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(ORIGINAL_SCHEMA)
            conn.execute("INSERT INTO companies VALUES (1, 'Acme'), (2, 'Beta')")
            conn.execute("INSERT INTO projects VALUES (1, 1, 'P1'), (2, 2, 'P2')")
            conn.execute(
                "INSERT INTO ar_content VALUES (1, 1, 1, %s, 'a'), (2, 2, 2, %s, 'b'),"
                " (3, 1, 1, %s, 'c')",
                (U1, U2, U3),
            )
            order = sorted(HISTORY, reverse=True)  # 28 first … 1 last
            for i in order:
                content, sid, ua, duration, quality, video, days, device = HISTORY[i]
                at = now - timedelta(days=days)
                old = i < 10  # the oldest rows predate project_id/company_id: NULL
                conn.execute(
                    "INSERT INTO ar_view_sessions (id, ar_content_id, session_id, user_agent,"
                    " ip_address, duration_seconds, created_at, updated_at, project_id,"
                    " company_id, device_type, browser, os, tracking_quality, video_played)"
                    " VALUES (%s, %s, %s, %s, '81.2.69.142', %s, %s, %s, %s, %s, %s,"
                    " 'unknown', 'unknown', %s, %s)",
                    (i, content, sid, ua, duration, at, at, None if old else (content % 2) + 1,
                     None if old else (content % 2) + 1, device, quality, video),
                )  # fmt: skip
            # An update moves a row to the end of the heap: \copy order is not id order.
            conn.execute("UPDATE ar_view_sessions SET updated_at = updated_at WHERE id = 3")
        yield conninfo


def csv_export(conninfo: str, path: Path, seed: int) -> None:
    """``\\copy ar_view_sessions TO … CSV HEADER``, its data lines then shuffled."""
    buf = io.BytesIO()
    with (
        psycopg.connect(conninfo) as conn,
        conn.cursor() as cur,
        cur.copy("COPY ar_view_sessions TO STDOUT WITH CSV HEADER") as copy,
    ):
        for data in copy:
            buf.write(data)
    header, *lines = buf.getvalue().decode().splitlines(keepends=True)
    random.Random(seed).shuffle(lines)
    path.write_text(header + "".join(lines))


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    found = rows(
        engine,
        "SELECT s.session_id, c.unique_id, s.duration_seconds, s.tracking_quality, s.is_bot,"
        " s.device_type, s.browser, s.os, s.user_agent, s.video_played, s.created_at"
        " FROM ar_view_sessions s JOIN ar_content c ON c.id = s.ar_content_id",
    )
    out = []
    for r in found:
        ids = [str(uuid.UUID(str(r[k]))) for k in ("session_id", "unique_id")]
        out.append((
            *ids, r["duration_seconds"], r["tracking_quality"], bool(r["is_bot"]),
            r["device_type"], r["browser"], r["os"], r["user_agent"], bool(r["video_played"]),
            utc(r["created_at"]),
        ))  # fmt: skip
    return sorted(out)


def utc(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite's driver answers text here)."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def make_ours(api: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our content for the original's contents 1 and 2 (with their unique_ids); 3 is absent."""
    made = []
    for name, uid in (("Acme", U1), ("Beta", U2)):
        company = api.post("/api/companies", json={"name": name}).json()
        project = api.post("/api/projects", json={"company_id": company["id"], "name": "P"})
        body = {"project_id": project.json()["id"], "title": name, "unique_id": str(uid)}
        content = api.post("/api/ar-content", json=body)
        assert content.status_code == 201, content.text
        made.append(content.json())
    return made[0], made[1]


def test_url_and_shuffled_csv_store_the_same_rows_under_live_rules(
    cli_db: Database, api: httpx.Client, db: Engine, original: str, tmp_path: Path
) -> None:
    a, b = make_ours(api)
    out = run("--url", original, "--sessions-only")  # the catalog is made here by hand
    assert "read 28, loaded 12, skipped 2 already present, rejected 14" in out
    assert (
        "rejected 13: unknown content; rows 4, 15, 16, 17, 18, 19, 20, 21, 22, 23, "
        "… (first 10 of 13; --verbose lists all)"
    ) in out
    assert "rejected 1: session_id is not a UUID; rows 11" in out
    assert "skipped 2: duplicate session_id: another row of it was kept; rows 7, 12" in out
    clamped = f"duration_seconds above ARV_MAX_SESSION_SECONDS ({MAX}): clamped"
    assert f"changed 2: {clamped}; rows 2, 5" in out
    assert "changed 1: duration_seconds negative or not a number: stored as unknown; rows 6" in out
    assert "changed 1: tracking_quality not one of none, poor, fair, good" in out
    assert "changed 3: is_bot: a bot by its user agent (or none) or address; rows 8, 10, 14" in out

    by_url = stored(db)
    assert len(by_url) == len(LOADED) == 12
    values = {sid: r for sid, *r in by_url}
    assert values[SID[2]][1] == MAX  # clamped
    assert values[SID[5]][1] == MAX
    assert values[SID[27]][1] == MAX  # exactly the maximum: kept
    assert values[SID[6]][1:3] == [None, None]  # negative and "excellent": unknown
    assert values[SID[3]][1:3] == [20, "good"]  # the lowest id of the session, not id 7
    assert values[SID[9]][0] == str(U1)  # id 4 (content we lack) did not hide id 9
    assert values[SID[5]][0] == str(U2)
    # Device, browser and OS come from the user agent, as for a live start.
    assert values[SID[1]][3:6] == [False, "mobile", "Mobile Safari"]
    assert values[SID[5]][3:5] == [False, "desktop"]
    assert values[SID[8]][3:5] == [True, "bot"]  # curl
    assert values[SID[10]][3:5] == [True, "bot"]  # no user agent
    assert values[SID[14]][3:5] == [True, "bot"]  # Googlebot
    when = values[SID[13]][-1]
    assert datetime.now(UTC) - timedelta(days=40, minutes=5) < when  # naive read as UTC
    assert when < datetime.now(UTC) - timedelta(days=39, hours=23)

    # The analytics equal SQL over the original data under the documented rules.
    with psycopg.connect(original) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        for content, uid in ((a, U1), (b, U2)):
            for bots in (False, True):
                cur.execute(REFERENCE, {"ours": [U1, U2], "max": MAX, "uid": uid, "bots": bots})
                want = cur.fetchone()
                assert want is not None
                got = api.get(
                    f"/api/analytics/ar-content/{content['id']}",
                    params={"include_bots": str(bots).lower()},
                ).json()
                quality = got.pop("tracking_quality")
                assert {k: got[k] for k in list(want)[:5]} == dict(list(want.items())[:5])
                assert quality == {q: want[f"q_{q}"] for q in (*TRACKING_QUALITIES, "unknown")}
    # One view's 172,800 s no longer swamps the average (the report).
    assert api.get(f"/api/analytics/ar-content/{b['id']}").json()["avg_duration_seconds"] <= MAX

    # The same table exported by \copy and shuffled, imported elsewhere: the same rows.
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"old,new\n1,{a['id']}\n2,{b['id']}\n")
    for seed in (1, 2):
        export = tmp_path / f"sessions-{seed}.csv"
        csv_export(original, export, seed)
        with new_database(cli_db.backend, tmp_path) as other:
            engine = other.engine()
            try:
                with engine.begin() as conn:  # the same content (ids and unique ids) there
                    for table in ("companies", "projects", "ar_content"):
                        for r in rows(db, f"SELECT * FROM {table}"):
                            cols = ", ".join(r)
                            marks = ", ".join(f":{c}" for c in r)
                            insert = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
                            conn.execute(text(insert), r)
                result = runner.invoke(
                    app,
                    ["import", "--csv", str(export), "--content-map", str(mapping)],
                    env={"ARV_DATABASE_URL": other.url},
                )
                assert result.exit_code == 0, result.output
                assert "read 28, loaded 12, skipped 2 already present, rejected 14" in result.output
                assert stored(engine) == by_url
            finally:
                engine.dispose()

    again = run("--url", original, "--sessions-only", "--verbose")
    assert "read 28, loaded 0, skipped 14 already present, rejected 14" in again
    every = ", ".join(str(i) for i in (4, *range(15, 27)))
    assert f"rejected 13: unknown content; rows {every}\n" in again


def test_import_follows_the_configured_limits(
    cli_db: Database, api: httpx.Client, db: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """ARV_MAX_SESSION_SECONDS and ARV_STORE_BOTS bind imports as they bind live tracking;
    strings longer than the columns are cut to the same widths."""
    a, _ = make_ours(api)
    monkeypatch.setenv("ARV_MAX_SESSION_SECONDS", "600")
    monkeypatch.setenv("ARV_STORE_BOTS", "false")
    long_ua = PHONE_UA + " x" * 1_500
    columns = ["id", "ar_content_id", "session_id", "user_agent", "duration_seconds",
               "created_at", "country", "city", "tracking_quality", "video_played"]  # fmt: skip
    data = [
        [1, 1, SID[30], long_ua, 601, "2026-01-02 03:04:05", "GB" * 60, "", "Good", "t"],
        [2, 1, SID[31], "Googlebot/2.1", 5, "2026-01-02 03:04:05", "", "", "", "f"],
        [3, 1, SID[32], PHONE_UA, 599.5, "2026-01-02 03:04:05.5+02:00", "", "", "good", "f"],
        [4, 1, SID[33], PHONE_UA, "NaN", "2026-01-02 03:04:05", "", "", "", "f"],
    ]
    source = tmp_path / "s.csv"
    with source.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(data)
    mapping = tmp_path / "map.csv"
    mapping.write_text(f"1,{a['id']}\n")
    out = run("--csv", str(source), "--content-map", str(mapping))
    assert "read 4, loaded 3, skipped 0 already present, rejected 1" in out
    assert "rejected 1: bot, not stored (ARV_STORE_BOTS=false); rows 2" in out
    assert "changed 1: duration_seconds above ARV_MAX_SESSION_SECONDS (600): clamped; rows 1" in out
    assert "changed 1: user_agent longer than 2048 characters: cut; rows 1" in out
    assert "changed 1: country longer than 100 characters: cut; rows 1" in out
    assert "changed 1: duration_seconds negative or not a number: stored as unknown; rows 4" in out
    got = {
        str(uuid.UUID(str(r["session_id"]))): r
        for r in rows(
            db,
            "SELECT session_id, user_agent, duration_seconds, country,"
            " tracking_quality, created_at FROM ar_view_sessions",
        )
    }
    assert got[SID[30]]["duration_seconds"] == 600
    assert got[SID[30]]["user_agent"] == long_ua[: rules.MAX_USER_AGENT]
    assert got[SID[30]]["country"] == ("GB" * 60)[:100]
    assert got[SID[30]]["tracking_quality"] is None  # the API's enum is case-sensitive too
    assert got[SID[32]]["duration_seconds"] == 600  # 599.5 rounds as a live end does
    assert utc(got[SID[32]]["created_at"]) == datetime(
        2026, 1, 2, 1, 4, 5, 500_000, tzinfo=UTC
    )  # an offset is honoured
    assert got[SID[33]]["duration_seconds"] is None


def test_live_and_import_share_one_definition() -> None:
    """The API's schemas take their limits and vocabularies from ingest/rules.py."""
    assert get_args(schemas.TrackingQuality) == rules.TRACKING_QUALITY_VALUES == TRACKING_QUALITIES
    assert schemas.TrackingQuality is rules.TrackingQuality
    for seconds in (-0.5, float("inf"), float("nan"), 0.0, 12.5):
        try:
            schemas.EndEvent(duration_seconds=seconds)
            live = True
        except ValueError:
            live = False
        assert live == rules.valid_duration(seconds), seconds
    assert schemas.MAX_USER_AGENT is rules.MAX_USER_AGENT
    assert rules.whole_seconds(10**9, 600) == 600
