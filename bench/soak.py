# ruff: noqa: S603, S608, S311, E501 - the project's own CLI; SQL from constants; random traffic
# is not cryptography; the figures table keeps one line per entry
"""Soak: every kind of traffic at once against `serve --workers 2` on PostgreSQL.

    .venv/bin/python bench/soak.py [--duration 600] [--viewers 64] [--readers 4] \
        [--out bench/results/soak-DATE.txt]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; --pg-admin to change) and the
project's venv. Also run, shortened, by tests/operations/test_soak.py.

1. A fresh database `arv_bench_soak_*`, `db upgrade`, `arv-analytics demo` (2 companies, 7
   contents, --aged-sessions sessions over 90 days: the data retention will delete), then
   through the admin API 3 more companies, each with a steady project (3 contents), a project
   whose contents are deactivated and activated one by one, and (one company) a project that
   is deactivated and activated as a whole; a company token per company.
2. `arv-analytics serve --workers 2` (rate limiting and in-process jobs off: the jobs are run
   from outside at known moments instead).
3. For --duration seconds, all at once, with httpx's async client:
   - --viewers viewers, each in a loop: a start (ar_content_id, unique id or portrait_id; JSON
     or text/plain; 5% crawler user agents, which are stored flagged), then 0-6 heartbeats
     with a growing visible time, the last one the end; 20% of ends are sent twice at the same
     moment over two separate connection pools (so about half of the pairs reach different
     workers). Every 200 is remembered with the largest acknowledged duration;
   - --readers readers: query API (series with comparison, breakdowns, placements), funnel,
     realtime, export, the four compatible reads, with the admin token and company tokens.
     Company answers are checked: only their company's rows, other companies' ids 404;
   - catalog churn every --churn-every seconds: one content (or the churn project) deactivated
     or activated again; every 10th round a new content is created and tracked from then on;
   - tokens every --token-every seconds: a company token created, used, revoked, used (401);
   - `arv-analytics jobs run retention` (ARV_RETENTION_DAYS=--retention-days) at 30% and 70%
     of the run and `jobs run salts` at 50%: a third process writing beside the two workers;
   - VmRSS of each worker every --rss-every seconds.
4. Then: the final analytics totals against SQL counts (server still up), SIGTERM, and
   - every acknowledged start stored, for the content it named, with at least the largest
     acknowledged duration;
   - every rollup table (rollup_* but rollup_state, and both *visitor_keys) equal, row for row, to
     a fresh recount: the database is copied (CREATE DATABASE … TEMPLATE), the copy's rollups
     emptied and recounted by `arv-analytics rollup`, and both compared;
   - no session older than the retention limit left, and retention did delete some;
   - no 5xx, no request without an answer, no unexpected status (a start refused with 404 is
     expected only while its content or project was inactive or changing, plus the catalog
     refresh interval; a start accepted well after a deactivation is a failure);
   - each worker's RSS slope over the last half of the run below --rss-slope MiB/min.
Prints a table of figures and the checks; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Server, descendants, free_port, start_process, stop

EXE_DIR = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
START = "/api/analytics/ar-session"
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
]
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PLACEMENTS = [None, "metro-12", "magazine-p4", "shop-window"]
SOURCES = [None, "instagram", "newsletter", "print"]
QUESTIONS: list[dict[str, Any]] = [
    {"period": "30d", "dimensions": ["time:day"], "comparison": "previous_period"},
    {"period": "7d", "dimensions": ["country"], "metrics": ["views", "video_play_rate"]},
    {"period": "today", "dimensions": ["time:hour"], "metrics": ["views", "unique_visitors"]},
    {"period": "90d", "dimensions": ["placement"], "metrics": ["views", "median_duration_seconds"]},
    {"period": "12mo", "dimensions": ["time:month"], "timezone": "Europe/Berlin"},
    {
        "period": "7d",
        "dimensions": ["browser"],
        "filters": [{"dimension": "device_type", "op": "is", "values": ["mobile"]}],
    },
    {"period": "30d", "dimensions": ["time:weekday_hour"], "timezone": "Europe/Berlin"},
]
ROLLUP_TABLES_SQL = (
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
    "((tablename LIKE 'rollup\\_%' AND tablename <> 'rollup_state') OR tablename LIKE '%visitor\\_keys') "
    "ORDER BY tablename"
)


@dataclass
class SoakConfig:
    duration: float = 600.0
    viewers: int = 64
    readers: int = 4
    heartbeat: float = 0.5  # mean seconds between a viewer's reports (the tracker's 15, sped up)
    churn_every: float = 3.0
    token_every: float = 5.0
    rss_every: float = 5.0
    rss_slope: float = 1.0  # MiB per minute over the last half, per worker
    retention_days: int = 45
    aged_sessions: int = 3000
    catalog_refresh: float = 2.0
    workers: int = 2
    pg_admin: str = PG_ADMIN
    log_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    keep: bool = False
    seed: int = 1
    progress: bool = True


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class SoakResult:
    figures: list[tuple[str, str]]
    checks: list[Check]
    report: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


# --- database -----------------------------------------------------------------------------


def _conninfo(admin: str, name: str) -> str:
    return admin.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/" + name


def _async_url(admin: str, name: str) -> str:
    return _conninfo(admin, name).replace("postgresql://", "postgresql+asyncpg://", 1)


def _admin_exec(admin: str, sql: str) -> None:
    with psycopg.connect(_conninfo(admin, "postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@contextlib.contextmanager
def _database(admin: str, keep: bool, template: str | None = None) -> Iterator[str]:
    name = f"arv_bench_soak_{uuid.uuid4().hex[:8]}"
    _admin_exec(
        admin, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    )
    try:
        yield name
    finally:
        if not keep:
            _admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE_DIR / "arv-analytics"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


COUNTERS_SQL = """
SELECT c.column_name FROM information_schema.columns c
WHERE c.table_schema = 'public' AND c.table_name = %s
  AND c.data_type IN ('integer', 'bigint', 'smallint', 'numeric', 'double precision', 'real')
  AND c.column_name NOT IN ('company_id', 'project_id')
  AND c.column_name NOT IN (
    SELECT k.column_name FROM information_schema.key_column_usage k
    JOIN information_schema.table_constraints t USING (constraint_schema, constraint_name)
    WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_name = %s)
ORDER BY c.ordinal_position
"""


@dataclass
class RollupRows:
    rows: dict[str, collections.Counter[tuple[Any, ...]]]
    zero: dict[str, int]  # rows whose every counter is 0: they add nothing to any figure


def _rollup_rows(conninfo: str) -> RollupRows:
    """Every row of every rollup table, leaving out the all-zero ones: the write path keeps a
    row at zero when a view's value moves away from it (a quality changed by an end); the
    recount never writes one. Both give every figure the same value."""
    found = RollupRows({}, {})
    with psycopg.connect(conninfo) as conn:
        for (table,) in conn.execute(ROLLUP_TABLES_SQL).fetchall():
            counters = [r[0] for r in conn.execute(COUNTERS_SQL, (table, table))]
            nonzero = " OR ".join(f'"{c}" <> 0' for c in counters) or "true"
            rows = conn.execute(f'SELECT * FROM "{table}" WHERE {nonzero}')
            found.rows[table] = collections.Counter(tuple(r) for r in rows)
            zero = conn.execute(f'SELECT count(*) FROM "{table}" WHERE NOT ({nonzero})')
            found.zero[table] = zero.fetchone()[0]  # type: ignore[index]
    return found


# --- load ---------------------------------------------------------------------------------


@dataclass
class Content:
    id: int
    unique_id: str
    company_id: int
    project_id: int
    churn: str | None = None  # "content" or "project": what is toggled; None: always active


@dataclass
class Window:
    """One inactive spell of a content or project, as the client saw it."""

    off_sent: float
    off_acked: float = float("inf")
    on_sent: float = float("inf")
    on_acked: float = float("inf")


class Soak:
    def __init__(self, cfg: SoakConfig, base: str, admin: str) -> None:
        self.cfg, self.base, self.admin = cfg, base, admin
        self.rnd = random.Random(cfg.seed)
        self.contents: list[Content] = []
        self.company_tokens: dict[int, str] = {}
        self.company_contents: dict[int, set[int]] = collections.defaultdict(set)
        self.windows: dict[tuple[str, int], list[Window]] = collections.defaultdict(list)
        self.acked: dict[str, tuple[int, int]] = {}  # session_id -> (content id, duration)
        self.status: collections.Counter[tuple[str, int]] = collections.Counter()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.five_xx: list[str] = []
        self.no_answer: list[str] = []
        self.unexpected: list[str] = []
        self.isolation: list[str] = []
        self.refused_inactive = 0
        self.accepted_inactive: list[str] = []
        self.double_ends = 0
        self.pairs: collections.Counter[str] = collections.Counter()  # workers of double ends
        self.server_port = 0
        self.server_pid = 0
        self.jobs: list[tuple[str, float, int, str]] = []
        self.rss: list[tuple[float, dict[int, int]]] = []
        self.stop = asyncio.Event()
        self.t0 = 0.0

    # every request goes through here: statuses, latencies, 5xx, transport errors
    async def call(
        self,
        client: httpx.AsyncClient,
        kind: str,
        method: str,
        url: str,
        expect: tuple[int, ...] = (200,),
        **kw: Any,
    ) -> httpx.Response | None:
        t = time.monotonic()
        try:
            r = await client.request(method, url, **kw)
        except httpx.HTTPError as e:
            self.no_answer.append(f"{kind} {method} {url}: {type(e).__name__} {e}")
            return None
        self.latency[kind].append(time.monotonic() - t)
        # Our end of the connection, now: the pool may close it once it has been idle.
        try:
            r.extensions["client_port"] = _client_port(r)
        except OSError:
            r.extensions["client_port"] = None
        self.status[(kind, r.status_code)] += 1
        if r.status_code >= 500:
            self.five_xx.append(f"{kind} {method} {url}: {r.status_code} {r.text[:200]}")
        elif r.status_code not in expect:
            self.unexpected.append(f"{kind} {method} {url}: {r.status_code} {r.text[:200]}")
        return r

    def _flux(self, c: Content) -> list[Window]:
        if c.churn == "content":
            return self.windows[("content", c.id)]
        if c.churn == "project":
            return self.windows[("project", c.project_id)]
        return []

    def judge_start(self, c: Content, sent: float, done: float, status: int, sid: str) -> None:
        """A 404 is expected only around an inactive spell (plus the catalog refresh, during
        which some process may still hold the old state); a 200 well inside one is a bug."""
        lag = self.cfg.catalog_refresh + 3.0
        spells = self._flux(c)
        if status == 404:
            if any(w.off_sent <= done and sent <= w.on_acked + lag for w in spells):
                self.refused_inactive += 1
            else:
                self.unexpected.append(f"start {c.id} ({c.churn}): 404 while active")
        elif status == 200 and any(w.off_acked + lag < sent and done < w.on_sent for w in spells):
            self.accepted_inactive.append(f"start {sid} of content {c.id} ({c.churn})")

    async def viewer(self, a: httpx.AsyncClient, b: httpx.AsyncClient, n: int) -> None:
        rnd = random.Random(self.cfg.seed * 1000 + n)
        while not self.stop.is_set():
            c = rnd.choice(self.contents)
            sid = str(uuid.uuid4())
            agent = BOT_AGENT if rnd.random() < 0.05 else rnd.choice(AGENTS)
            key = rnd.choice(["ar_content_id", "ar_content_unique_id", "portrait_id"])
            body: dict[str, Any] = {
                key: c.id if key == "ar_content_id" else c.unique_id,
                "session_id": sid,
                "src": rnd.choice(PLACEMENTS),
                "utm_source": rnd.choice(SOURCES),
                "referrer": rnd.choice([None, "https://www.instagram.com/p/x", "news.example"]),
            }
            headers = {"User-Agent": agent}
            beacon = rnd.random() < 0.3  # what sendBeacon sends: text/plain, no preflight
            if beacon:
                headers["Content-Type"] = "text/plain;charset=UTF-8"
            sent = time.monotonic()
            kw: dict[str, Any] = {"headers": headers}
            if beacon:
                kw["content"] = _json(body)
            else:
                kw["json"] = body
            r = await self.call(a, "start", "POST", START, (200, 404), **kw)
            if r is None:
                continue
            self.judge_start(c, sent, time.monotonic(), r.status_code, sid)
            if r.status_code != 200:
                await asyncio.sleep(rnd.uniform(0, self.cfg.heartbeat))
                continue
            self.acked[sid] = (c.id, 0)
            duration = 0
            reports = rnd.choice([0, 1, 2, 3, 4, 5, 6])  # 0: a bounce, its end never arrives
            for i in range(reports):
                await asyncio.sleep(rnd.uniform(0, 2 * self.cfg.heartbeat))
                if self.stop.is_set():
                    break  # the run is over: this view ends unreported, like a lost phone
                duration += rnd.randint(1, 15)
                end = {
                    "duration_seconds": duration,
                    "tracked_seconds": duration // 2,
                    "video_played": duration > 10,
                    "tracking_quality": rnd.choice(["none", "poor", "fair", "good"]),
                    "camera_outcome": rnd.choice(["granted", "granted", "denied"]),
                    "target_losses": i,
                }
                url = f"{START}/{sid}/end"
                last = i == reports - 1
                if last and rnd.random() < 0.2:
                    # The end beacon and a late heartbeat at the same moment, over two
                    # connection pools: about half the pairs are answered by different workers.
                    other = {**end, "duration_seconds": duration + 1}
                    self.double_ends += 1
                    got = await asyncio.gather(
                        self.call(a, "end", "POST", url, json=end, headers=headers),
                        self.call(b, "end", "POST", url, json=other, headers=headers),
                    )
                    oks = [
                        d
                        for d, x in zip((duration, duration + 1), got, strict=True)
                        if x is not None and x.status_code == 200
                    ]
                    ports = [x.extensions.get("client_port") if x else None for x in got]
                    owners = (
                        socket_owners(self.server_port, self.server_pid, ports)  # type: ignore[arg-type]
                        if None not in ports
                        else [None]
                    )
                    if None in owners:
                        self.pairs["unknown"] += 1
                    else:
                        self.pairs["different" if owners[0] != owners[1] else "same"] += 1
                    if oks:
                        self.acked[sid] = (c.id, max(oks))
                else:
                    x = await self.call(a, "end", "POST", url, json=end, headers=headers)
                    if x is not None and x.status_code == 200:
                        self.acked[sid] = (c.id, duration)

    async def reader(self, client: httpx.AsyncClient, n: int) -> None:
        rnd = random.Random(self.cfg.seed * 2000 + n)
        companies = sorted(self.company_tokens)
        i = 0
        while not self.stop.is_set():
            i += 1
            as_company = rnd.random() < 0.6
            company = rnd.choice(companies)
            token = self.company_tokens[company] if as_company else self.admin
            h = {"Authorization": f"Bearer {token}"}
            other = rnd.choice([c for c in companies if c != company])
            pick = rnd.randrange(10)
            if pick <= 2:
                q = dict(rnd.choice(QUESTIONS))
                r = await self.call(client, "read", "POST", "/api/v1/query", json=q, headers=h)
                if as_company and r is not None and r.status_code == 200:
                    self._only_own(company, r.json(), q)
                if as_company:  # the same with another company in the dimensions
                    q = {"period": "all", "dimensions": ["company"], "metrics": ["views"]}
                    r = await self.call(client, "read", "POST", "/api/v1/query", json=q, headers=h)
                    if r is not None and r.status_code == 200:
                        self._only_own(company, r.json(), q)
                    q = {"period": "30d", "dimensions": ["content"], "metrics": ["views"]}
                    r = await self.call(client, "read", "POST", "/api/v1/query", json=q, headers=h)
                    if r is not None and r.status_code == 200:
                        self._only_own(company, r.json(), q)
            elif pick == 3:
                q = {"period": "7d", "dimensions": [rnd.choice(["os", "browser", "device_type"])]}
                await self.call(client, "read", "POST", "/api/v1/funnel", json=q, headers=h)
            elif pick == 4:
                await self.call(client, "read", "GET", "/api/v1/realtime", headers=h)
            elif pick == 5:
                r = await self.call(client, "read", "GET", "/api/analytics/overview", headers=h)
                ok = as_company and r is not None and r.status_code == 200
                if ok and r is not None and r.json().get("active_companies", 0) > 1:
                    self.isolation.append(f"overview of company {company}: {r.text[:200]}")
            elif pick == 6:
                target = company if as_company else other
                path = f"/api/analytics/companies/{target}?days={rnd.choice([1, 30, 366])}"
                await self.call(client, "read", "GET", path, headers=h)
            elif pick == 7:
                c = rnd.choice([x for x in self.contents if x.company_id == company])
                path = rnd.choice(
                    [f"/api/analytics/projects/{c.project_id}", f"/api/analytics/ar-content/{c.id}"]
                )
                await self.call(client, "read", "GET", path, headers=h)
            elif pick == 8 and as_company:
                # Another company's ids answer 404 to a company token, whichever route.
                for path in (
                    f"/api/analytics/companies/{other}",
                    f"/api/v1/query?company_id={other}",
                    f"/api/v1/realtime?company_id={other}",
                ):
                    r = await self.call(client, "isolation", "GET", path, (404,), headers=h)
                    if r is not None and r.status_code == 200:
                        self.isolation.append(f"company {company} read {path}: {r.text[:200]}")
            elif pick == 9 and i % 5 == 0:
                path = "/api/v1/export?period=7d"
                await self.call(client, "export", "GET", path, headers=h)
            await asyncio.sleep(rnd.uniform(0, 0.2))

    def _only_own(self, company: int, answer: dict[str, Any], q: dict[str, Any]) -> None:
        own = self.company_contents[company]
        for row in answer.get("results", []):
            dims = row.get("dimensions", {})
            if "company" in dims and dims["company"] != company:
                self.isolation.append(f"company {company} got company {dims['company']} ({q})")
            if "content" in dims and dims["content"] not in own:
                self.isolation.append(f"company {company} got content {dims['content']} ({q})")

    async def churn(self, client: httpx.AsyncClient) -> None:
        h = {"Authorization": f"Bearer {self.admin}"}
        flux: list[tuple[str, int]] = sorted(
            {("content", c.id) for c in self.contents if c.churn == "content"}
            | {("project", c.project_id) for c in self.contents if c.churn == "project"}
        )
        steady = [c for c in self.contents if c.churn is None]
        rounds = 0
        while not self.stop.is_set():
            await self._sleep(self.cfg.churn_every)
            if self.stop.is_set():
                return
            rounds += 1
            if rounds % 10 == 0:  # the catalog grows while it is tracked
                template = self.rnd.choice(steady)
                body = {"project_id": template.project_id, "title": f"Soak new {rounds}"}
                r = await self.call(
                    client, "catalog", "POST", "/api/ar-content", (201,), json=body, headers=h
                )
                if r is not None and r.status_code == 201:
                    asyncio.get_running_loop().create_task(self._adopt(r.json()))
                continue
            kind, ident = self.rnd.choice(flux)
            spells = self.windows[(kind, ident)]
            path = f"/api/{'ar-content' if kind == 'content' else 'projects'}/{ident}"
            if spells and spells[-1].on_sent == float("inf"):
                spells[-1].on_sent = time.monotonic()
                r = await self.call(
                    client, "catalog", "PATCH", path, json={"is_active": True}, headers=h
                )
                spells[-1].on_acked = time.monotonic()
                # Not acknowledged: it may or may not have happened; keep it open for good.
                if r is None or r.status_code != 200:
                    spells[-1].on_acked = float("inf")
            else:
                spell = Window(off_sent=time.monotonic())
                spells.append(spell)
                r = await self.call(client, "catalog", "DELETE", path, headers=h)
                if r is not None and r.status_code == 200:
                    spell.off_acked = time.monotonic()

    async def _adopt(self, body: dict[str, Any]) -> None:
        # Each worker sees a new content within the refresh interval; use it after that.
        await asyncio.sleep(self.cfg.catalog_refresh + 3.0)
        c = Content(body["id"], body["unique_id"], body["company_id"], body["project_id"])
        self.company_contents[c.company_id].add(c.id)
        self.contents.append(c)

    async def tokens(self, client: httpx.AsyncClient) -> None:
        h = {"Authorization": f"Bearer {self.admin}"}
        n = 0
        while not self.stop.is_set():
            await self._sleep(self.cfg.token_every)
            if self.stop.is_set():
                return
            n += 1
            company = self.rnd.choice(sorted(self.company_tokens))
            body = {"name": f"soak {n}", "role": "company", "company_id": company}
            r = await self.call(
                client, "token", "POST", "/api/tokens", (201,), json=body, headers=h
            )
            if r is None or r.status_code != 201:
                continue
            made = r.json()
            mine = {"Authorization": f"Bearer {made['token']}"}
            await self.call(client, "token", "GET", "/api/analytics/overview", headers=mine)
            await self.call(client, "token", "GET", f"/api/tokens?company_id={company}", headers=h)
            await self.call(client, "token", "DELETE", f"/api/tokens/{made['id']}", headers=h)
            # Revoked: it stops working at once, in both workers.
            for _ in range(2):
                await self.call(
                    client, "token", "GET", "/api/analytics/overview", (401,), headers=mine
                )

    async def job(self, at: float, name: str, env: dict[str, str]) -> None:
        await self._sleep(at)
        if self.stop.is_set():
            return
        t = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            str(EXE_DIR / "arv-analytics"),
            "jobs",
            "run",
            name,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        text = out.decode(errors="replace").strip().splitlines()
        self.jobs.append((name, time.monotonic() - t, proc.returncode or 0, (text or [""])[-1]))

    async def sample_rss(self, server: Server) -> None:
        while not self.stop.is_set():
            self.rss.append((time.monotonic() - self.t0, worker_rss(server.pid)))
            await self._sleep(self.cfg.rss_every)

    async def report_progress(self) -> None:
        while not self.stop.is_set():
            await self._sleep(30)
            if self.stop.is_set() or not self.cfg.progress:
                continue
            done = sum(self.status.values())
            rss = self.rss[-1][1] if self.rss else {}
            mib = " ".join(f"{v / 1024:.0f}" for v in rss.values())
            print(
                f"  {time.monotonic() - self.t0:5.0f} s  {done:8d} requests  "
                f"{len(self.acked):7d} sessions  5xx {len(self.five_xx)}  "
                f"RSS MiB {mib}  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


def _client_port(r: httpx.Response | None) -> int | None:
    stream = r.extensions.get("network_stream") if r is not None else None
    addr = stream.get_extra_info("client_addr") if stream is not None else None
    return int(addr[1]) if addr else None


def socket_owners(server_port: int, root: int, client_ports: list[int]) -> list[int | None]:
    """Which worker process holds the server end of each of our connections (by our local
    port): /proc/net/tcp gives the socket's inode, the workers' /proc/PID/fd name it."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, remote, inode = parts[1], parts[2], parts[9]
                if int(local.rsplit(":", 1)[1], 16) == server_port:
                    inodes[inode] = int(remote.rsplit(":", 1)[1], 16)
    owner: dict[int, int] = {}
    for pid in descendants(root)[1:]:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        owner[inodes[link[8:-1]]] = pid
    return [owner.get(p) for p in client_ports]


def _short(rows: collections.Counter[tuple[Any, ...]]) -> list[str]:
    return [", ".join(map(str, r[:10])) + ", …" for r in list(rows)[:3]]


def worker_rss(root: int) -> dict[int, int]:
    """VmRSS (KiB) of every worker process below the server (not the supervisor, not
    multiprocessing's resource tracker)."""
    found: dict[int, int] = {}
    for pid in descendants(root)[1:]:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"resource_tracker" in cmdline:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[pid] = int(line.split()[1])
    return found


def slope_mib_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, KiB) points, in MiB per minute."""
    n = len(points)
    if n < 3:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return (sxy / sxx) * 60 / 1024 if sxx else 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


# --- the run ------------------------------------------------------------------------------


def _api(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def build_catalog(soak: Soak, base: str, admin: str) -> None:
    with _api(base, admin) as api:
        demo = api.get("/api/ar-content?limit=100").raise_for_status().json()["items"]
        for item in demo:
            soak.contents.append(
                Content(item["id"], item["unique_id"], item["company_id"], item["project_id"])
            )
        for i in range(3):
            co = api.post("/api/companies", json={"name": f"Soak Co {i}"}).raise_for_status()
            cid = co.json()["id"]
            plan = [("steady", None, 3), ("churn", "content", 2)]
            if i == 0:
                plan.append(("whole", "project", 2))
            for pname, churn, n in plan:
                p = api.post("/api/projects", json={"company_id": cid, "name": f"{pname} {i}"})
                pid = p.raise_for_status().json()["id"]
                for k in range(n):
                    body = {"project_id": pid, "title": f"{pname} {i}.{k}"}
                    a = api.post("/api/ar-content", json=body).raise_for_status().json()
                    soak.contents.append(Content(a["id"], a["unique_id"], cid, pid, churn))
        for c in soak.contents:
            soak.company_contents[c.company_id].add(c.id)
        for company in sorted(soak.company_contents):
            body = {"name": f"soak reader {company}", "role": "company", "company_id": company}
            made = api.post("/api/tokens", json=body).raise_for_status().json()
            soak.company_tokens[company] = made["token"]
    # Both workers refresh their content cache on their own: wait until starts of every
    # content are taken, several times each so that both processes answered some.
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=base, headers={"User-Agent": AGENTS[0]}, timeout=30) as c:
        for content in soak.contents:
            ok = 0
            while ok < 6:
                sid = str(uuid.uuid4())
                r = c.post(START, json={"ar_content_id": content.id, "session_id": sid})
                if r.status_code == 200:
                    ok += 1
                    soak.acked[sid] = (content.id, 0)
                else:
                    assert time.monotonic() < deadline, f"content never trackable: {r.text}"
                    time.sleep(0.2)


async def drive(soak: Soak, server: Server, job_env: dict[str, str]) -> None:
    cfg = soak.cfg
    # uvicorn closes a connection idle for 5 s. A client that keeps it as long (httpx's
    # default) sometimes sends a request just as the server closes it and gets no answer: a
    # race of the client's, which browsers retry. Dropping idle connections after 1 s avoids it.
    limits = httpx.Limits(
        max_connections=cfg.viewers + 8, max_keepalive_connections=cfg.viewers, keepalive_expiry=1
    )
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as a,
        httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as b,
        httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as reads,
    ):
        soak.t0 = time.monotonic()
        tasks = [asyncio.create_task(soak.viewer(a, b, i)) for i in range(cfg.viewers)]
        tasks += [asyncio.create_task(soak.reader(reads, i)) for i in range(cfg.readers)]
        tasks += [
            asyncio.create_task(soak.churn(reads)),
            asyncio.create_task(soak.tokens(reads)),
            asyncio.create_task(soak.sample_rss(server)),
            asyncio.create_task(soak.report_progress()),
            asyncio.create_task(soak.job(0.3 * cfg.duration, "retention", job_env)),
            asyncio.create_task(soak.job(0.5 * cfg.duration, "salts", job_env)),
            asyncio.create_task(soak.job(0.7 * cfg.duration, "retention", job_env)),
        ]
        await asyncio.sleep(cfg.duration)
        soak.stop.set()
        soak.rss.append((time.monotonic() - soak.t0, worker_rss(server.pid)))
        await asyncio.gather(*tasks)


def final_totals(soak: Soak, base: str, conninfo: str) -> list[str]:
    """With the load stopped: the engine's all-time views (bots included) against SQL."""
    wrong: list[str] = []
    q = "/api/v1/query?period=all&metrics=views&include_bots=true"
    with psycopg.connect(conninfo) as conn:
        total = conn.execute("SELECT count(*) FROM ar_view_sessions").fetchone()
        per_company = dict(
            conn.execute("SELECT company_id, count(*) FROM ar_view_sessions GROUP BY 1").fetchall()
        )
    with _api(base, soak.admin) as api:
        got = api.get(q).raise_for_status().json()["totals"]["views"]
        if total is None or got != total[0]:
            wrong.append(f"admin: API {got} views, SQL {total}")
    for company, token in soak.company_tokens.items():
        with _api(base, token) as api:
            got = api.get(q).raise_for_status().json()["totals"]["views"]
            if got != per_company.get(company, 0):
                wrong.append(f"company {company}: API {got}, SQL {per_company.get(company, 0)}")
    return wrong


def run_soak(cfg: SoakConfig) -> SoakResult:
    say = functools.partial(print, flush=True) if cfg.progress else (lambda *a, **k: None)
    admin = "soak-admin-" + uuid.uuid4().hex
    figures: list[tuple[str, str]] = []
    checks: list[Check] = []
    load0 = os.getloadavg()
    with _database(cfg.pg_admin, cfg.keep) as name:
        url = _async_url(cfg.pg_admin, name)
        conninfo = _conninfo(cfg.pg_admin, name)
        env = {
            "ARV_DATABASE_URL": url,
            "ARV_ADMIN_TOKEN": admin,
            "ARV_RATE_LIMIT_PER_MINUTE": "0",
            "ARV_JOBS_ENABLED": "false",
            "ARV_CATALOG_REFRESH_SECONDS": f"{cfg.catalog_refresh:g}",
            "ARV_RETENTION_DAYS": str(cfg.retention_days),
        }
        for args in (
            ("db", "upgrade"),
            ("demo", "--sessions", str(cfg.aged_sessions), "--days", "90"),
        ):
            done = _cli(env, *args)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
        cutoff_sql = f"created_at < now() - interval '{cfg.retention_days} days'"
        with psycopg.connect(conninfo) as conn:
            aged = conn.execute(f"SELECT count(*) FROM ar_view_sessions WHERE {cutoff_sql}")
            aged_before = aged.fetchone()[0]  # type: ignore[index]
        log = cfg.log_dir / f"soak-{name}.log"
        port = free_port()
        argv = [str(EXE_DIR / "arv-analytics"), "serve", "--port", str(port)]
        argv += ["--workers", str(cfg.workers)]
        # A busy machine (load 10+ on 2 cores) takes over a minute to start two workers.
        server = start_process(argv, env, log, port, wait=300)
        say(f"database {name}, server log {log}, {aged_before} sessions past retention")
        soak = Soak(cfg, server.base, admin)
        soak.server_port, soak.server_pid = port, server.pid
        try:
            build_catalog(soak, server.base, admin)
            time.sleep(1)
            pids0 = sorted(worker_rss(server.pid))
            say(
                f"catalog: {len(soak.contents)} contents; workers {pids0}; load for {cfg.duration:g} s"
            )
            t_load = time.monotonic()
            asyncio.run(drive(soak, server, env))
            elapsed = time.monotonic() - t_load
            load1 = os.getloadavg()
            pids1 = sorted(worker_rss(server.pid))
            totals_wrong = final_totals(soak, server.base, conninfo)
        finally:
            stop(server)
        log_text = log.read_text(errors="replace")
        tracebacks = log_text.count("Traceback")
        errors = sum(1 for line in log_text.splitlines() if " ERROR " in line or '"ERROR"' in line)

        # Every acknowledged write is there, with at least what was acknowledged.
        ids = list(soak.acked)
        stored: dict[str, tuple[int, int | None]] = {}
        with psycopg.connect(conninfo) as conn:
            for i in range(0, len(ids), 20_000):
                chunk = ids[i : i + 20_000]
                for sid, content, duration in conn.execute(
                    "SELECT session_id::text, ar_content_id, duration_seconds "
                    "FROM ar_view_sessions WHERE session_id = ANY(%s::uuid[])",
                    (chunk,),
                ):
                    stored[sid] = (content, duration)
            left_aged = conn.execute(f"SELECT count(*) FROM ar_view_sessions WHERE {cutoff_sql}")
            aged_after = left_aged.fetchone()[0]  # type: ignore[index]
            rows_total = conn.execute("SELECT count(*) FROM ar_view_sessions").fetchone()[0]  # type: ignore[index]
        missing = [s for s in ids if s not in stored]
        wrong_content = [s for s in ids if s in stored and stored[s][0] != soak.acked[s][0]]
        short = [
            s
            for s in ids
            if s in stored and soak.acked[s][1] > 0 and (stored[s][1] or 0) < soak.acked[s][1]
        ]
        ends_acked = sum(1 for v in soak.acked.values() if v[1] > 0)

        # Every rollup equals a fresh recount: on a copy, emptied and recounted by the CLI.
        kept = _rollup_rows(conninfo)
        t = time.monotonic()
        with _database(cfg.pg_admin, False, template=name) as copy:
            copy_info = _conninfo(cfg.pg_admin, copy)
            with psycopg.connect(copy_info) as conn:
                conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in kept.rows))
            recount = _cli({**env, "ARV_DATABASE_URL": _async_url(cfg.pg_admin, copy)}, "rollup")
            if recount.returncode != 0:
                raise RuntimeError(f"rollup recount failed: {recount.stdout}{recount.stderr}")
            fresh = _rollup_rows(copy_info)
        recount_s = time.monotonic() - t
        rollup_diff: list[str] = []
        rollup_rows = 0
        for table in sorted(set(kept.rows) | set(fresh.rows)):
            empty: collections.Counter[tuple[Any, ...]] = collections.Counter()
            a, b = kept.rows.get(table, empty), fresh.rows.get(table, empty)
            rollup_rows += sum(a.values())
            extra, lacking = a - b, b - a
            if extra or lacking:
                rollup_diff.append(
                    f"{table}: {sum(extra.values())} rows only kept, {sum(lacking.values())} "
                    f"only recounted; e.g. kept {_short(extra)} recounted {_short(lacking)}"
                )
        zero_rows = ", ".join(f"{t} {n}" for t, n in kept.zero.items() if n) or "none"

    # RSS per worker over the last half.
    rss_lines: list[str] = []
    leaks: list[str] = []
    half = soak.cfg.duration / 2
    for pid in pids0:
        points = [(t, s[pid]) for t, s in soak.rss if pid in s]
        late = [p for p in points if p[0] >= half]
        slope = slope_mib_per_min(late)
        first = points[0][1] / 1024 if points else 0
        mid = late[0][1] / 1024 if late else 0
        end = points[-1][1] / 1024 if points else 0
        peak = max((p[1] for p in points), default=0) / 1024
        rss_lines.append(
            f"worker {pid}: {first:.0f} → {mid:.0f} (half) → {end:.0f} MiB, peak {peak:.0f}, "
            f"last-half slope {slope:+.2f} MiB/min over {len(late)} samples"
        )
        if abs(slope) > cfg.rss_slope:
            leaks.append(f"worker {pid} {slope:+.2f} MiB/min")

    requests = sum(soak.status.values())
    by_kind: collections.Counter[str] = collections.Counter()
    for (kind, _), n in soak.status.items():
        by_kind[kind] += n
    figures += [
        ("duration", f"{elapsed:.0f} s (asked {cfg.duration:g} s)"),
        (
            "machine",
            f"{os.cpu_count()} CPUs; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end (1 min)",
        ),
        (
            "server",
            f"arv-analytics serve --workers {cfg.workers}, PostgreSQL, catalog refresh {cfg.catalog_refresh:g} s",
        ),
        (
            "load",
            f"{cfg.viewers} viewers, {cfg.readers} readers, heartbeat mean {cfg.heartbeat:g} s",
        ),
        ("requests", f"{requests} ({requests / elapsed:.0f}/s)"),
    ]
    for kind in sorted(by_kind):
        lat = soak.latency[kind]
        codes = ", ".join(f"{s}: {n}" for (k, s), n in sorted(soak.status.items()) if k == kind)
        figures.append(
            (
                f"  {kind}",
                f"{by_kind[kind]}  p50 {pct(lat, 0.5) * 1000:.0f} ms  "
                f"p99 {pct(lat, 0.99) * 1000:.0f} ms  max {max(lat, default=0) * 1000:.0f} ms  [{codes}]",
            )
        )
    figures += [
        (
            "sessions acknowledged",
            f"{len(ids)} (with an acknowledged end/heartbeat: {ends_acked}; double ends {soak.double_ends})",
        ),
        (
            "double ends by worker",
            f"{soak.pairs['different']} pairs answered by two different workers, "
            f"{soak.pairs['same']} by one, {soak.pairs['unknown']} not traced",
        ),
        ("sessions stored (all)", str(rows_total)),
        (
            "starts refused: inactive",
            f"{soak.refused_inactive} (404, content or project deactivated)",
        ),
        (
            "catalog spells",
            f"{sum(len(v) for v in soak.windows.values())} deactivations over {len(soak.windows)} contents/projects",
        ),
        (
            "jobs",
            "; ".join(f"{n} rc={rc} {s:.1f} s: {out}" for n, s, rc, out in soak.jobs) or "none ran",
        ),
        (
            "retention",
            f"{aged_before} sessions past {cfg.retention_days} days before, {aged_after} after",
        ),
        (
            "rollups",
            f"{rollup_rows} rows in {len(kept.rows)} tables; recount of the copy {recount_s:.1f} s; "
            f"all-zero rows left aside: {zero_rows}",
        ),
        ("server log", f"{tracebacks} tracebacks, {errors} ERROR lines"),
    ]
    figures += [("RSS", line) for line in rss_lines]
    # What the limit rules out: a leak of this many bytes per request, each worker answering
    # half of the requests (the kernel spreads connections over the workers).
    per_worker_min = requests / elapsed * 60 / max(cfg.workers, 1)
    figures.append(
        (
            "RSS limit",
            f"{cfg.rss_slope:g} MiB/min per worker = a leak of "
            f"{cfg.rss_slope * 2**20 / max(per_worker_min, 1):,.0f} bytes per request at this load",
        )
    )
    checks += [
        Check("no 5xx", not soak.five_xx, f"{len(soak.five_xx)} 5xx; {soak.five_xx[:3]}"),
        Check(
            "every request answered",
            not soak.no_answer,
            f"{len(soak.no_answer)}; {soak.no_answer[:3]}",
        ),
        Check(
            "no unexpected status",
            not soak.unexpected,
            f"{len(soak.unexpected)}; {soak.unexpected[:3]}",
        ),
        Check(
            "acknowledged starts stored",
            not missing and not wrong_content,
            f"{len(missing)} missing, {len(wrong_content)} with another content, of {len(ids)}",
        ),
        Check(
            "acknowledged durations stored",
            not short,
            f"{len(short)} below the acknowledged duration, of {ends_acked}",
        ),
        Check(
            "rollups == recount",
            not rollup_diff,
            "; ".join(rollup_diff) or f"{rollup_rows} rows identical",
        ),
        Check(
            "analytics totals == SQL",
            not totals_wrong,
            "; ".join(totals_wrong) or "admin and every company token",
        ),
        Check(
            "company tokens see only their company",
            not soak.isolation,
            f"{len(soak.isolation)}; {soak.isolation[:3]}",
        ),
        Check(
            "deactivated content refused",
            not soak.accepted_inactive,
            f"{len(soak.accepted_inactive)} starts accepted > refresh+3 s after a deactivation; {soak.accepted_inactive[:3]}",
        ),
        Check(
            "retention ran and deleted",
            aged_after == 0
            and aged_before > 0
            and len([j for j in soak.jobs if j[2] == 0]) == len(soak.jobs) >= 1,
            f"{aged_before} → {aged_after}; {len(soak.jobs)} job runs",
        ),
        Check(
            "workers never restarted",
            pids0 == pids1 and len(pids0) == cfg.workers,
            f"{pids0} → {pids1}",
        ),
        Check(
            f"RSS flat (|slope| ≤ {cfg.rss_slope:g} MiB/min)",
            not leaks,
            "; ".join(leaks) or "every worker",
        ),
    ]
    width = max(len(k) for k, _ in figures)
    lines = [f"{k:<{width}}  {v}" for k, v in figures]
    lines.append("")
    lines += [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks]
    report = "\n".join(lines)
    return SoakResult(figures, checks, report)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    d = SoakConfig()
    p.add_argument("--duration", type=float, default=d.duration, help="seconds of load")
    p.add_argument("--viewers", type=int, default=d.viewers)
    p.add_argument("--readers", type=int, default=d.readers)
    p.add_argument("--heartbeat", type=float, default=d.heartbeat, help="mean s between reports")
    p.add_argument("--churn-every", type=float, default=d.churn_every)
    p.add_argument("--token-every", type=float, default=d.token_every)
    p.add_argument("--rss-every", type=float, default=d.rss_every)
    p.add_argument("--rss-slope", type=float, default=d.rss_slope, help="MiB/min, per worker")
    p.add_argument("--retention-days", type=int, default=d.retention_days)
    p.add_argument("--aged-sessions", type=int, default=d.aged_sessions)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--pg-admin", default=d.pg_admin, help="libpq URL of the postgres database")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--out", type=Path, help="also write the report to this file")
    a = p.parse_args()
    cfg = SoakConfig(
        duration=a.duration,
        viewers=a.viewers,
        readers=a.readers,
        heartbeat=a.heartbeat,
        churn_every=a.churn_every,
        token_every=a.token_every,
        rss_every=a.rss_every,
        rss_slope=a.rss_slope,
        retention_days=a.retention_days,
        aged_sessions=a.aged_sessions,
        workers=a.workers,
        pg_admin=a.pg_admin,
        keep=a.keep,
    )
    # SIGTERM (a background job ignores SIGINT) ends the run through the finally blocks:
    # server stopped, databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC)
    result = run_soak(cfg)
    header = f"bench/soak.py {' '.join(sys.argv[1:])}  started {started:%Y-%m-%d %H:%M} UTC"
    print("\n" + header + "\n" + result.report)
    if a.out:
        a.out.write_text(header + "\n" + result.report + "\n")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
