"""Importing the original platform's ``ar_view_sessions`` (a PostgreSQL table or a CSV file).

Every row is mapped onto this installation's content: through a mapping file (old content id
→ our content id) or, from a database, through the content's public ``unique_id``. Project
and company always come from our content row, as for live tracking. Rows are rejected, with a
reason, when their content id is 0 or maps to no content here, their time is unreadable or
their session_id is not a UUID.

Every stored row obeys the rules of a live view, from the one definition in
``ingest/rules.py``: durations clamped to ``ARV_MAX_SESSION_SECONDS`` (negative or unreadable
ones stored as unknown), strings cut to the columns' widths, a tracking quality outside the
API's vocabulary stored as unknown, device type, browser, OS and the bot flag derived from the
stored user agent and address exactly as for a live start (bots dropped with
``ARV_STORE_BOTS=false``).

Duplicates (rows sharing a session_id) are resolved independently of row order: the row with
the lowest original ``id`` is the view; rows without an id come after all rows with one, the
earliest ``created_at`` first. So a ``--url`` import and a ``--csv`` export of the same table
in any order store the same rows. That needs two reads of the source: the first finds each
session's winning row (a few dozen bytes per session in memory), the second stores it.

What the old platform could not know is not invented: imported views have no visitor hash
(they count as views and sessions, not as visitors). Their IP addresses are kept only with
``ARV_IP_MODE=full`` or ``truncate``; hashing them with today's salt would mean nothing.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.config import Settings
from arv_analytics.importer.report import SHOWN_IDS, Report
from arv_analytics.ingest import repository
from arv_analytics.ingest.bots import BotRules
from arv_analytics.ingest.rules import (
    LIMITS,
    TRACKING_QUALITY_VALUES,
    cut,
    describe,
    known_quality,
    valid_duration,
    whole_seconds,
)
from arv_analytics.models import ARContent
from arv_analytics.privacy.hashing import IPMode, stored_ip
from arv_analytics.rollups import rebuild

SEED_COLUMNS = (
    "id", "ar_content_id", "project_id", "company_id", "session_id", "user_agent",
    "device_type", "browser", "os", "ip_address", "country", "city", "duration_seconds",
    "tracking_quality", "video_played", "created_at",
)  # fmt: skip
IMPORT_NAMESPACE = uuid.UUID("6f1c1f53-5a0e-4d3b-9f7e-2b8f6c1e4a10")
BATCH = 1_000
NO_ID = 2**63 - 1  # rows without an original id sort after every row with one
STORED = -1  # no row's key: marks a session whose winning row was taken


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    project_id: int
    company_id: int


@dataclass(frozen=True, slots=True)
class RowRules:
    """The settings the live write path applies, as the importer needs them."""

    max_seconds: int
    bots: BotRules
    store_bots: bool
    ip_mode: IPMode

    @classmethod
    def from_settings(cls, settings: Settings) -> RowRules:
        return cls(
            max_seconds=settings.max_session_seconds,
            bots=BotRules(settings.bot_user_agents, settings.bot_networks),
            store_bots=settings.store_bots,
            ip_mode=settings.ip_mode,
        )


class Rejected(ValueError):
    """A row that is not stored; the message is the reason printed in the report."""


@dataclass(frozen=True, slots=True)
class CsvRows:
    """The rows of a CSV file; iterable more than once (the importer reads it twice)."""

    path: Path

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self.path.open(newline="", encoding="utf-8") as fh:
            yield from csv.DictReader(fh)


@dataclass(frozen=True, slots=True)
class PostgresRows:
    """The seed's table, streamed with a server-side cursor (millions of rows, little memory)."""

    url: str

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import psycopg  # here, not at the top: `serve` loads this module (importer/catalog.py)
        from psycopg.rows import dict_row

        with (
            psycopg.connect(self.url) as conn,
            conn.cursor("arv_import", row_factory=dict_row) as cur,
        ):
            cur.execute(f"SELECT {', '.join(SEED_COLUMNS)} FROM ar_view_sessions ORDER BY id")  # noqa: S608
            yield from cur


def read_csv(path: Path) -> CsvRows:
    return CsvRows(path)


def read_postgres(url: str) -> PostgresRows:
    return PostgresRows(url)


def unique_ids_of(url: str) -> dict[str, str]:
    """Old content id → its unique_id, from the old platform's ar_content table."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, unique_id FROM ar_content").fetchall()
    return {str(old): str(uid) for old, uid in rows}


def read_mapping(path: Path) -> dict[str, str]:
    """A CSV of ``old_ar_content_id,ar_content_id`` (a header line is allowed)."""
    mapping = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) >= 2 and row[0].strip().isdigit() and row[1].strip().isdigit():
                mapping[row[0].strip()] = row[1].strip()
    return mapping


async def _targets(
    session: AsyncSession, by_id: Mapping[str, str] | None, by_unique: Mapping[str, str] | None
) -> dict[str, Target]:
    """Old content id → our content (with its project and company)."""
    rows = (await session.execute(
        select(ARContent.id, ARContent.unique_id, ARContent.project_id, ARContent.company_id)
    )).all()  # fmt: skip
    ours_by_id = {str(r[0]): Target(r[0], r[2], r[3]) for r in rows}
    ours_by_unique = {str(r[1]): Target(r[0], r[2], r[3]) for r in rows}
    targets: dict[str, Target] = {}
    for old, new in (by_id or {}).items():
        if new in ours_by_id:
            targets[old] = ours_by_id[new]
    for old, uid in (by_unique or {}).items():
        if old not in targets and uid in ours_by_unique:
            targets[old] = ours_by_unique[uid]
    return targets


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _time(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    # The old platform stored naive UTC (its datetimes were never aware).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "t", "true", "yes")


def original_id(raw: Mapping[str, Any]) -> int | None:
    text = str(raw.get("id") or "").strip()
    return int(text) if text.isdigit() else None


def _session_id(raw: Mapping[str, Any], old_id: int | None) -> uuid.UUID:
    sid = raw.get("session_id")
    if sid not in (None, ""):
        try:
            return uuid.UUID(str(sid).strip())
        except ValueError:
            raise Rejected("session_id is not a UUID") from None
    # Derived from the row itself, so that an import run twice stores nothing the second time.
    if old_id is not None:
        return uuid.uuid5(IMPORT_NAMESPACE, f"row:{old_id}")
    values = sorted((str(k), str(v)) for k, v in raw.items())
    return uuid.uuid5(IMPORT_NAMESPACE, f"values:{values!r}")


def _duration(value: Any, max_seconds: int, changed: list[str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not valid_duration(seconds):
        changed.append("duration_seconds negative or not a number: stored as unknown")
        return None
    if seconds > max_seconds:
        changed.append(f"duration_seconds above ARV_MAX_SESSION_SECONDS ({max_seconds}): clamped")
    return whole_seconds(seconds, max_seconds)


def _stored_ip(ip: str | None, mode: IPMode, changed: list[str]) -> str | None:
    if ip is None or mode not in ("full", "truncate"):
        return None
    try:
        ip = str(ip_address(ip.strip()))
    except ValueError:
        changed.append("ip_address not an address: not stored")
        return None
    return stored_ip(ip, mode, b"")


def convert(
    raw: Mapping[str, Any], targets: Mapping[str, Target], rules: RowRules
) -> tuple[dict[str, Any], list[str]]:
    """One old row as one of ours, and what the rules changed in it.

    Raises ``Rejected`` with the reason when the row is not to be stored.
    """
    old_content = str(raw.get("ar_content_id") or "0").strip()
    if old_content in ("", "0"):
        raise Rejected("ar_content_id is 0")
    target = targets.get(old_content)
    if target is None:
        raise Rejected("unknown content")
    try:
        created = _time(raw.get("created_at"))
    except (TypeError, ValueError):
        raise Rejected("unreadable created_at") from None
    session_id = _session_id(raw, original_id(raw))
    changed: list[str] = []
    text = {c: _text(raw.get(c)) for c in ("user_agent", "browser", "os", "country", "city")}
    for column, value in text.items():
        # The old browser and os are used only without a user agent (as the client's are).
        ignored = column in ("browser", "os") and text["user_agent"] is not None
        if value is not None and len(value) > LIMITS[column] and not ignored:
            changed.append(f"{column} longer than {LIMITS[column]} characters: cut")
    ip = _text(raw.get("ip_address"))
    device = describe(
        text["user_agent"],
        ip=ip,
        client_browser=text["browser"],
        client_os=text["os"],
        bots=rules.bots,
    )
    if device.is_bot:
        if not rules.store_bots:
            raise Rejected("bot, not stored (ARV_STORE_BOTS=false)")
        changed.append("is_bot: a bot by its user agent (or none) or address")
    quality = _text(raw.get("tracking_quality"))
    if quality is not None and known_quality(quality) is None:
        changed.append(
            f"tracking_quality not one of {', '.join(TRACKING_QUALITY_VALUES)}: stored as unknown"
        )
    row = {
        "ar_content_id": target.id,
        "project_id": target.project_id,
        "company_id": target.company_id,
        "session_id": session_id,
        "user_agent": cut(text["user_agent"], "user_agent"),
        "device_type": device.device_type,
        "browser": device.browser,
        "os": device.os,
        "country": cut(text["country"], "country"),
        "city": cut(text["city"], "city"),
        "ip_address": _stored_ip(ip, rules.ip_mode, changed),
        "duration_seconds": _duration(raw.get("duration_seconds"), rules.max_seconds, changed),
        "tracking_quality": known_quality(quality),
        "video_played": _flag(raw.get("video_played")),
        "is_bot": device.is_bot,
        "visitor_hash": None,
        "created_at": created,
        "updated_at": created,
    }
    return row, changed


def precedence(raw: Mapping[str, Any], row: Mapping[str, Any]) -> int:
    """Order of rows sharing a session_id; the smallest is stored (see the module's doc).

    One int (original id, then created_at in µs, then a digest of the stored values), so
    that millions of sessions fit in memory: the digest breaks ties between rows that agree
    on id and time, so that even then the choice does not depend on the order of the source.
    """
    old_id = original_id(raw)
    old_id = NO_ID if old_id is None or old_id > NO_ID else old_id
    created: datetime = row["created_at"]
    micros = int(created.timestamp() * 1_000_000) + 2**62  # every datetime: 0 < micros < 2**63
    values = "\x1f".join([repr(row[column]) for column in sorted(row)]).encode()
    digest = int.from_bytes(hashlib.blake2b(values, digest_size=8).digest(), "big")
    return (old_id << 128) | (micros << 64) | digest


def _winners(
    rows: Iterable[Mapping[str, Any]], targets: Mapping[str, Target], rules: RowRules
) -> dict[int, int]:
    """First read: each session's winning row among the rows that pass the rules
    (session_id as an int → the winner's precedence)."""
    best: dict[int, int] = {}
    for raw in rows:
        try:
            row, _ = convert(raw, targets, rules)
        except Rejected:
            continue
        key, sid = precedence(raw, row), row["session_id"].int
        if key < best.get(sid, key + 1):
            best[sid] = key
    return best


async def import_rows(
    session: AsyncSession,
    rows: Iterable[Mapping[str, Any]],
    *,
    rules: RowRules,
    by_id: Mapping[str, str] | None = None,
    by_unique: Mapping[str, str] | None = None,
    verbose: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Stores the old rows; ``rows`` is read twice, so it must not be a one-shot iterator."""
    if iter(rows) is rows:
        raise TypeError("import_rows reads its rows twice: pass a list, CsvRows or PostgresRows")
    targets = await _targets(session, by_id, by_unique)
    best = _winners(rows, targets, rules)
    report = Report(keep_refs=None if verbose else SHOWN_IDS)
    batch: list[tuple[str, dict[str, Any]]] = []
    first: datetime | None = None
    last: datetime | None = None
    contents: set[int] = set()

    async def flush() -> None:
        nonlocal first, last
        if not batch:
            return
        new = await repository.insert_sessions(session, [row for _, row in batch])
        await session.commit()
        for ref, row in batch:
            if row["session_id"] not in new:
                report.present += 1
                report.note(report.skipped, "session_id already stored here", ref)
                continue
            report.loaded += 1
            contents.add(row["ar_content_id"])
            first = min(first or row["created_at"], row["created_at"])
            last = max(last or row["created_at"], row["created_at"])
        if progress:
            progress(len(batch))
        batch.clear()

    for raw in rows:
        report.read += 1
        old_id = original_id(raw)
        ref = str(old_id) if old_id is not None else f"#{report.read}"
        try:
            row, changed = convert(raw, targets, rules)
        except Rejected as exc:
            report.note(report.rejected, str(exc), ref)
            continue
        sid, key = row["session_id"].int, precedence(raw, row)
        # A session first seen now (the source changed between the reads) is its own winner.
        if best.get(sid, key) != key:
            report.duplicates += 1
            report.note(report.skipped, "duplicate session_id: another row of it was kept", ref)
            continue
        best[sid] = STORED
        for reason in changed:
            report.note(report.changed, reason, ref)
        batch.append((ref, row))
        if len(batch) >= BATCH:
            await flush()
    await flush()
    if first is not None and last is not None:
        # Imported rows bypass the write path: recount the rollups of what they touched.
        await rebuild.rebuild(session, first.date(), last.date(), content_ids=sorted(contents))
    return report
