"""All SQL of the write path."""

from __future__ import annotations

import typing
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.db import dialect_insert
from arv_analytics.ingest.merge import END_RULES, Rule
from arv_analytics.models import ARContent, ARViewSession, Company, Project
from arv_analytics.rollups import json_rows


@dataclass(frozen=True, slots=True)
class ContentRef:
    id: int
    unique_id: uuid.UUID
    project_id: int
    company_id: int
    trackable: bool


def content_refs() -> Select[int, uuid.UUID, int, int, bool]:
    """Content with its owners' ids, and whether it, its project and company are active."""
    return (
        select(
            ARContent.id,
            ARContent.unique_id,
            ARContent.project_id,
            ARContent.company_id,
            and_(ARContent.is_active, Project.is_active, Company.is_active),
        )
        .join(Project, Project.id == ARContent.project_id)
        .join(Company, Company.id == ARContent.company_id)
    )


def as_refs(rows: Any) -> list[ContentRef]:
    return [ContentRef(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


async def find_content(
    session: AsyncSession, *, content_id: int | None, unique_id: uuid.UUID | None
) -> ContentRef | None:
    stmt = content_refs()
    if content_id is not None:
        stmt = stmt.where(ARContent.id == content_id)
    if unique_id is not None:
        stmt = stmt.where(ARContent.unique_id == unique_id)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return ContentRef(row[0], row[1], row[2], row[3], bool(row[4]))


# --- batched writes (the write buffer) ---------------------------------------------------


async def insert_sessions(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Inserts many views; returns the session_ids that were new.

    One statement executed with many parameter sets: SQLAlchemy compiles it once (cached)
    and sends the rows as multi-row VALUES pages ("insertmanyvalues"). Building a
    ``.values(rows)`` statement instead costs a fresh compilation of every value of every
    batch, which the ingest profile showed as a third of the server's CPU.
    """
    dialect = session.get_bind().dialect.name
    table = _as_table(ARViewSession.__table__)
    conn = await session.connection()
    if dialect == "postgresql" and _uniform(rows):
        # The rows as one JSON parameter, one statement (rollups/json_rows.py says why).
        new = await json_rows.upsert(
            conn, table, rows, keys=_SID, counters=(), on_conflict="nothing", returning=_SID
        )
        return {sid for (sid,) in new}
    stmt = (
        dialect_insert(dialect)(table)
        .on_conflict_do_nothing(index_elements=["session_id"])
        .returning(table.c.session_id)
    )
    result = await conn.execute(stmt, rows)
    return {sid for sid in result.scalars() if sid is not None}


_SID = ("session_id",)
# Columns whose value SQLAlchemy fills in when a row lacks it (``default=``); raw SQL would not.
_PYTHON_DEFAULTS = frozenset(c.name for c in ARViewSession.__table__.c if c.default is not None)


def _uniform(rows: list[dict[str, Any]]) -> bool:
    """Every row names the same columns, among them every column with a Python default."""
    names = rows[0].keys()
    return names >= _PYTHON_DEFAULTS and all(r.keys() == names for r in rows)


def _as_table(table: Any) -> Table:
    return typing.cast(Table, table)


def _merged_value(column: str, rule: Rule, new: ColumnElement[Any]) -> ColumnElement[Any]:
    stored: ColumnElement[Any] = getattr(ARViewSession, column)
    if rule == "max":
        return case(
            (new.is_(None), stored),
            (or_(stored.is_(None), stored < new), new),
            else_=stored,
        )
    if rule == "or":
        return or_(stored, func.coalesce(new, false()))
    if rule == "first":
        return func.coalesce(stored, new)
    return func.coalesce(new, stored)


# What an end answers with, and what the rollups need to know of a change.
_RETURNED = (
    ARViewSession.session_id,
    ARViewSession.duration_seconds,
    ARViewSession.video_played,
    ARViewSession.tracking_quality,
    ARViewSession.time_to_first_found_ms,
    ARViewSession.tracked_seconds,
    ARViewSession.target_losses,
    ARViewSession.camera_outcome,
    ARViewSession.camera_ms,
    ARViewSession.engine_error,
    ARViewSession.video_start_ms,
)


def _stored(rows: Any) -> dict[uuid.UUID, dict[str, Any]]:
    found = {}
    for row in rows:
        values = dict(zip((c.key for c in _RETURNED[1:]), row[1:], strict=True))
        values["video_played"] = bool(values["video_played"])
        found[row[0]] = values
    return found


async def lock_states(
    session: AsyncSession, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The current state of sessions about to be changed, locked until the transaction ends,
    so the rollups can be given exactly the difference an end makes."""
    # The whole row: the rollups need every property the session is counted under.
    # ORDER BY: PostgreSQL locks the rows in this order, the one every writer uses.
    table = ARViewSession.__table__
    stmt = (
        select(table)
        .where(table.c.session_id.in_(session_ids))
        .order_by(table.c.session_id)
        .with_for_update()
    )
    rows = (await session.execute(stmt)).mappings()
    return {r["session_id"]: dict(r) for r in rows if r["session_id"] is not None}


async def apply_ends(
    session: AsyncSession, merged: dict[uuid.UUID, dict[str, Any]], *, now: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    """Applies one merged change per session; returns the stored values of those found."""
    if session.get_bind().dialect.name == "postgresql":
        return await _apply_ends_unnest(session, merged, now)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for sid, values in merged.items():
        changes = {
            col: _merged_value(col, rule, literal(values[col], S_TYPES[col]))
            for col, rule in END_RULES.items()
        }
        stmt = (
            update(ARViewSession)
            .where(ARViewSession.session_id == sid)
            .values(**changes, updated_at=now)
            .returning(*_RETURNED)
            .execution_options(synchronize_session=False)
        )
        found.update(_stored(await session.execute(stmt)))
    return found


async def _apply_ends_unnest(
    session: AsyncSession, merged: dict[uuid.UUID, dict[str, Any]], now: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    # One UPDATE … FROM unnest(arrays) for the whole batch: a round trip per batch, not per end.
    columns = ["session_id", *END_RULES]
    arrays = [
        cast(
            bindparam(
                f"p_{col}",
                [m.get(col) if col != "session_id" else sid for sid, m in merged.items()],
                type_=postgresql.ARRAY(S_TYPES[col]),
            ),
            postgresql.ARRAY(S_TYPES[col]),
        )
        for col in columns
    ]
    v = func.unnest(*arrays).table_valued(*columns).render_derived(name="v")
    changes = {col: _merged_value(col, rule, v.c[col]) for col, rule in END_RULES.items()}
    stmt = (
        update(ARViewSession)
        .where(ARViewSession.session_id == v.c.session_id)
        .values(**changes, updated_at=now)
        .returning(*_RETURNED)
        .execution_options(synchronize_session=False)
    )
    return _stored(await session.execute(stmt))


S_TYPES: dict[str, Any] = {c.name: c.type for c in ARViewSession.__table__.columns}
