"""Importing the original platform's ``ar_view_sessions`` (a PostgreSQL table or a CSV file).

Every row is mapped onto this installation's content: through a mapping file (old content id
→ our content id) or, from a database, through the content's public ``unique_id``. Project
and company always come from our content row, as for live tracking. Rows are rejected, with a
reason, when their content id is 0 or maps to no content here, or their time is unreadable.
A row without a session_id gets one derived from its old id, so that an import run twice
stores nothing the second time (duplicates are skipped by session_id).

What the old platform could not know is not invented: imported views have no visitor hash
(they count as views and sessions, not as visitors) and are not bot-flagged. Their IP
addresses are kept only with ``ARV_IP_MODE=full`` or ``truncate``; hashing them with today's
salt would mean nothing.
"""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.ingest import repository
from arv_analytics.models import TRACKING_QUALITIES, ARContent
from arv_analytics.privacy.hashing import IPMode, stored_ip
from arv_analytics.rollups import rebuild

SEED_COLUMNS = (
    "id", "ar_content_id", "project_id", "company_id", "session_id", "user_agent",
    "device_type", "browser", "os", "ip_address", "country", "city", "duration_seconds",
    "tracking_quality", "video_played", "created_at",
)  # fmt: skip
LENGTHS = {"device_type": 50, "browser": 100, "os": 100, "country": 100, "city": 100}
IMPORT_NAMESPACE = uuid.UUID("6f1c1f53-5a0e-4d3b-9f7e-2b8f6c1e4a10")
BATCH = 1_000


@dataclass
class Report:
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    project_id: int
    company_id: int


def read_csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def read_postgres(url: str) -> Iterator[dict[str, Any]]:
    """The seed's table, streamed with a server-side cursor (millions of rows, little memory)."""
    with psycopg.connect(url) as conn, conn.cursor("arv_import", row_factory=dict_row) as cur:
        cur.execute(f"SELECT {', '.join(SEED_COLUMNS)} FROM ar_view_sessions ORDER BY id")  # noqa: S608
        yield from cur


def unique_ids_of(url: str) -> dict[str, str]:
    """Old content id → its unique_id, from the old platform's ar_content table."""
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


def _text(value: Any, column: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    limit = LENGTHS.get(column)
    return text[:limit] if limit else text


def _time(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    # The old platform stored naive UTC (its datetimes were never aware).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "t", "true", "yes")


def convert(
    raw: Mapping[str, Any], targets: Mapping[str, Target], ip_mode: IPMode
) -> dict[str, Any]:
    """One old row as one of ours; raises ValueError with the reason to reject it."""
    old_content = str(raw.get("ar_content_id") or "0").strip()
    if old_content in ("", "0"):
        raise ValueError("ar_content_id is 0")
    target = targets.get(old_content)
    if target is None:
        raise ValueError("unknown content")
    try:
        created = _time(raw.get("created_at"))
    except (TypeError, ValueError):
        raise ValueError("unreadable created_at") from None
    sid = raw.get("session_id")
    try:
        session_id = uuid.UUID(str(sid)) if sid not in (None, "") else None
    except ValueError:
        raise ValueError("session_id is not a UUID") from None
    if session_id is None:
        session_id = uuid.uuid5(IMPORT_NAMESPACE, f"row:{raw.get('id')}")
    duration = raw.get("duration_seconds")
    duration = int(float(duration)) if duration not in (None, "") else None
    quality = _text(raw.get("tracking_quality"), "tracking_quality")
    ip = _text(raw.get("ip_address"), "ip_address")
    return {
        "ar_content_id": target.id,
        "project_id": target.project_id,
        "company_id": target.company_id,
        "session_id": session_id,
        "user_agent": _text(raw.get("user_agent"), "user_agent"),
        **{c: _text(raw.get(c), c) for c in ("device_type", "browser", "os", "country", "city")},
        "ip_address": stored_ip(ip, ip_mode, b"")
        if ip and ip_mode in ("full", "truncate")
        else None,
        "duration_seconds": duration if duration is not None and duration >= 0 else None,
        "tracking_quality": quality if quality in TRACKING_QUALITIES else None,
        "video_played": _flag(raw.get("video_played")),
        "is_bot": False,
        "visitor_hash": None,
        "created_at": created,
        "updated_at": created,
    }


async def import_rows(
    session: AsyncSession,
    rows: Iterable[Mapping[str, Any]],
    *,
    by_id: Mapping[str, str] | None = None,
    by_unique: Mapping[str, str] | None = None,
    ip_mode: IPMode = "hash",
    progress: Callable[[int], None] | None = None,
) -> Report:
    targets = await _targets(session, by_id, by_unique)
    report = Report()
    batch: list[dict[str, Any]] = []
    first: datetime | None = None
    last: datetime | None = None
    contents: set[int] = set()

    async def flush() -> None:
        nonlocal first, last
        if not batch:
            return
        new = await repository.insert_sessions(session, batch)
        await session.commit()
        report.loaded += len(new)
        report.duplicates += len(batch) - len(new)
        for row in batch:
            if row["session_id"] in new:
                contents.add(row["ar_content_id"])
                first = min(first or row["created_at"], row["created_at"])
                last = max(last or row["created_at"], row["created_at"])
        if progress:
            progress(len(batch))
        batch.clear()

    seen: set[uuid.UUID] = set()
    for raw in rows:
        report.read += 1
        try:
            row = convert(raw, targets, ip_mode)
        except ValueError as exc:
            report.rejected[str(exc)] += 1
            continue
        if row["session_id"] in seen:
            report.duplicates += 1
            continue
        seen.add(row["session_id"])
        batch.append(row)
        if len(batch) >= BATCH:
            await flush()
    await flush()
    if first is not None and last is not None:
        # Imported rows bypass the write path: recount the rollups of what they touched.
        await rebuild.rebuild(session, first.date(), last.date(), content_ids=sorted(contents))
    return report
