"""Recomputing rollups from the raw table: for `arv-analytics rollup`, bulk loads and purges.

Idempotent: a range is deleted and recomputed in one transaction per chunk of UTC days, so
running it twice, or over a range that is already right, changes nothing. Each rollup row is
computed by one ``INSERT … SELECT`` per level, grain and property (see ``rebuild_range``)
using the registry's SQL aggregates — the same definitions the write path's contributions
follow. On PostgreSQL the rollup tables are locked against concurrent writers for that
transaction, so a write that lands meanwhile waits and then adds its change on top of the
recomputed rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.analytics.dimensions import (
    ALL,
    BREAKDOWN_LEVELS,
    COMPANY,
    CONTENT,
    HOUR_LEVELS,
    LEVELS,
    PROJECT,
    PROPERTIES,
    ROLLUP_LEVELS,
    VISITOR_PROPERTIES,
    Level,
)
from arv_analytics.analytics.metrics import ACCUMULATOR_NAMES, ACCUMULATORS
from arv_analytics.models import (
    ARContent,
    ARViewSession,
    PropertyVisitorKey,
    RollupDailyVisitors,
    RollupDetail,
    RollupPropertyVisitors,
    VisitorKey,
    rollup_stats,
    utcnow,
)
from arv_analytics.sql_functions import utc_day, utc_day_start, utc_hour

S = ARViewSession
R = rollup_stats
UTC_MIDNIGHT = time(0, 0)
CHUNK_DAYS = 31  # days recounted per transaction


async def lock(session: AsyncSession) -> None:
    """Blocks concurrent rollup writers until the transaction ends (PostgreSQL only; SQLite
    has one writer at a time anyway). Tables in one fixed order, like every writer."""
    if session.get_bind().dialect.name == "postgresql":
        # LOCK TABLE takes the tables one after the other: in the write path's order
        # (ingest.writes), or a batch holding visitor_keys and waiting for
        # rollup_daily_visitors deadlocks with a recount holding the reverse.
        await session.execute(
            text(
                "LOCK TABLE rollup_stats, visitor_keys, rollup_daily_visitors, "
                "property_visitor_keys, rollup_property_visitors IN SHARE ROW EXCLUSIVE MODE"
            )
        )


def day_start(day: date) -> datetime:
    return datetime.combine(day, UTC_MIDNIGHT, tzinfo=UTC)


def _owners(level: Level, content_ids: Sequence[int]) -> Any:
    """The ids at ``level`` that hold one of the contents (from the catalog: asking the
    sessions table would scan it)."""
    if level.name == "content":
        return list(content_ids)
    column = ARContent.company_id if level.name == "company" else ARContent.project_id
    return select(column).where(ARContent.id.in_(content_ids)).distinct()


async def rebuild_range(
    session: AsyncSession, first: date, last: date, content_ids: Sequence[int] | None = None
) -> None:
    """Recomputes every rollup of the UTC days first..last (optionally only the rows that
    the given contents feed) in the caller's transaction.

    Counted from sessions: the content level's day totals, and the company and project levels'
    hours and per-property days (the layout of dimensions.HOUR_LEVELS / BREAKDOWN_LEVELS).
    Summed from those rows, which are far fewer than sessions and add up exactly (every
    accumulator is additive): the project and company day totals (from content days) and the
    whole "all" level (from company rows)."""
    start, end = day_start(first), day_start(last) + timedelta(days=1)
    await lock(session)
    in_range = and_(S.created_at >= start, S.created_at < end)
    for level in ROLLUP_LEVELS:
        gone = delete(R).where(R.c.level == level.name, R.c.bucket >= start, R.c.bucket < end)
        if content_ids is not None and level.session_column is not None:
            gone = gone.where(R.c.entity_id.in_(_owners(level, content_ids)))
        await session.execute(gone)
    contents, companies = in_range, in_range
    if content_ids is not None:
        contents = and_(in_range, S.ar_content_id.in_(list(content_ids)))
        companies = and_(in_range, S.company_id.in_(_owners(COMPANY, content_ids)))
    day = utc_day_start(S.created_at)
    await _count(session, CONTENT, "d", day, contents)
    for level in (PROJECT, COMPANY):
        await _derive(session, CONTENT, level, start, end, content_ids, day_totals=True)
    projects = in_range
    if content_ids is not None:
        projects = and_(in_range, S.project_id.in_(_owners(PROJECT, content_ids)))
    where = {COMPANY.name: companies, PROJECT.name: projects}
    for level in HOUR_LEVELS:
        if level.session_column is not None:  # "all": summed from the company rows below
            await _count(session, level, "h", utc_hour(S.created_at), where[level.name])
    for level in BREAKDOWN_LEVELS:
        if level.session_column is not None:  # "all": summed from the company rows below
            await _count_properties(session, level, where[level.name])
    for detailed in await _detailed(session, contents):
        await _count(session, CONTENT, "h", utc_hour(S.created_at), detailed)
        await _count_properties(session, CONTENT, detailed)
    await _derive(session, COMPANY, ALL, start, end, content_ids, day_totals=False)
    await _visitors(session, first, last, in_range, content_ids)
    await _property_visitors(session, first, last, in_range, content_ids)


async def _detailed(
    session: AsyncSession, contents: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    """The sessions of busy contents whose detail rows are due (models.RollupDetail): every
    day of a ready content, the days from ``detail_from`` on of one still being filled (its
    earlier days are the ``rollup-detail`` job's, once no end can change them)."""
    found = (await session.execute(select(RollupDetail))).scalars().all()
    ready = [d.content_id for d in found if d.ready]
    out = [and_(contents, S.ar_content_id.in_(ready))] if ready else []
    for d in found:
        if not d.ready:
            since = S.created_at >= day_start(d.detail_from)
            out.append(and_(contents, S.ar_content_id == d.content_id, since))
    return out


async def count_detail_before(session: AsyncSession, content_id: int, before: date) -> None:
    """A busy content's hour and per-property day rows for its days before ``before`` (the
    first day the write path kept them), counted from its sessions. Only once no end can
    change those sessions any more (rollups/detail.py): no writer touches these rows."""
    where = and_(S.ar_content_id == content_id, S.created_at < day_start(before))
    await _count(session, CONTENT, "h", utc_hour(S.created_at), where)
    await _count_properties(session, CONTENT, where)


async def _count_properties(
    session: AsyncSession, level: Level, where: ColumnElement[bool]
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await _count_properties_at_once(session, level, where)
        return
    day = utc_day_start(S.created_at)
    for prop in PROPERTIES.values():
        value = func.coalesce(func.substr(prop.session_column, 1, 100), "")
        await _count(session, level, "d", day, where, prop.name, value)


COUNTERS = ["company_id", "project_id", *ACCUMULATOR_NAMES]


def _counters() -> list[ColumnElement[Any]]:
    # NULL stands for 0 in the rollups (rollups/maintain.py says why).
    return [func.nullif(a.sql(), 0) for a in ACCUMULATORS]


def _parents(level: Level) -> list[Any]:
    return [
        func.min(S.company_id) if level.depth >= 1 else literal(0),
        func.min(S.project_id) if level.depth >= 2 else literal(0),
    ]


async def _count(
    session: AsyncSession,
    level: Level,
    grain: str,
    bucket: ColumnElement[Any],
    where: ColumnElement[bool],
    dimension: str = "",
    value: ColumnElement[Any] | None = None,
) -> None:
    """Rows of ``level`` (company or content) counted from the sessions."""
    value_expr: ColumnElement[Any] = value if value is not None else literal("", String)
    groups: list[Any] = [level.column, bucket, S.is_bot]
    if value is not None:
        groups.append(value)
    rows = (
        select(
            literal(level.name, String), level.column, literal(grain, String),
            literal(dimension, String), bucket, value_expr, S.is_bot, *_parents(level),
            *_counters(),
        )
        .where(where)
        .group_by(*groups)
    )  # fmt: skip
    await session.execute(insert(R).from_select([*KEY_COLUMNS, *COUNTERS], rows))


KEY_COLUMNS = ["level", "entity_id", "grain", "dimension", "bucket", "value", "is_bot"]


async def _count_properties_at_once(
    session: AsyncSession, level: Level, where: ColumnElement[bool]
) -> None:
    """PostgreSQL: every property's day rows in one scan, with GROUPING SETS (one set per
    property). Constants are rendered inline so that GROUPING() sees the very expressions
    the sets group by."""
    values = {
        name: func.coalesce(
            func.substr(p.session_column, literal_column("1"), literal_column("100")),
            literal_column("''"),
        )
        for name, p in PROPERTIES.items()
    }
    grouped = [(func.grouping(v) == 0, name, v) for name, v in values.items()]
    dimension = case(*((cond, literal_column(f"'{name}'")) for cond, name, _ in grouped))
    value = case(*((cond, v) for cond, _, v in grouped))
    day = utc_day_start(S.created_at)
    rows = (
        select(
            literal(level.name, String), level.column, literal("d", String), dimension, day,
            value, S.is_bot, *_parents(level), *_counters(),
        )
        .where(where)
        .group_by(
            level.column, day, S.is_bot,
            func.grouping_sets(*(tuple_(v) for v in values.values())),
        )
    )  # fmt: skip
    await session.execute(insert(R).from_select([*KEY_COLUMNS, *COUNTERS], rows))


async def _derive(
    session: AsyncSession,
    source_level: Level,
    level: Level,
    start: datetime,
    end: datetime,
    content_ids: Sequence[int] | None,
    *,
    day_totals: bool,
) -> None:
    """Rows of a parent ``level`` as sums of ``source_level`` rows: only the day totals
    (``day_totals``), or every row (hours, day totals and property days)."""
    source = and_(R.c.level == source_level.name, R.c.bucket >= start, R.c.bucket < end)
    if day_totals:
        source = and_(source, R.c.grain == "d", R.c.dimension == "")
    entity = {"all": literal(0), "company": R.c.company_id, "project": R.c.project_id}[level.name]
    if content_ids is not None and level.session_column is not None:
        parent = R.c.company_id if level.name == "company" else R.c.project_id
        source = and_(source, parent.in_(_owners(level, content_ids)))
    company = R.c.company_id if level.depth >= 1 else literal(0)
    project = R.c.project_id if level.depth >= 2 else literal(0)
    keys = (entity, R.c.grain, R.c.dimension, R.c.bucket, R.c.value, R.c.is_bot)
    rows = (
        select(
            literal(level.name, String), *keys,
            func.min(company) if level.depth >= 1 else literal(0),
            func.min(project) if level.depth >= 2 else literal(0),
            *(func.nullif(func.sum(R.c[n]), 0) for n in ACCUMULATOR_NAMES),
        )
        .where(source)
        .group_by(*(k for k in keys if not _is_literal(k)))
    )  # fmt: skip
    await session.execute(insert(R).from_select([*KEY_COLUMNS, *COUNTERS], rows))


def _is_literal(expr: Any) -> bool:
    return getattr(expr, "__visit_name__", "") == "bindparam"


async def _visitors(
    session: AsyncSession,
    first: date,
    last: date,
    in_range: ColumnElement[bool],
    content_ids: Sequence[int] | None,
) -> None:
    keep_from = utcnow().date() - timedelta(days=1)  # days that still take new views
    day = utc_day(S.created_at)
    V = RollupDailyVisitors  # noqa: N806 - the table, as in the other modules
    for level in LEVELS:
        column = level.column
        counters = delete(V).where(V.level == level.name, V.day >= first, V.day <= last)
        keys = delete(VisitorKey).where(
            VisitorKey.level == level.name, VisitorKey.day >= first, VisitorKey.day <= last
        )
        where = and_(in_range, S.visitor_hash.is_not(None))
        if content_ids is not None:
            owners = _owners(level, content_ids)
            counters = counters.where(V.entity_id.in_(owners))
            keys = keys.where(VisitorKey.entity_id.in_(owners))
            where = and_(where, column.in_(owners))
        await session.execute(counters)
        await session.execute(keys)
        human = S.is_bot.is_(False)
        rows = (
            select(
                literal(level.name, String), column, day,
                func.min(S.company_id),
                func.min(S.project_id) if level.depth >= 2 else literal(0),
                func.count(func.distinct(case((human, S.visitor_hash)))),
                func.count(func.distinct(S.visitor_hash)),
            )
            .where(where)
            .group_by(column, day)
        )  # fmt: skip
        await session.execute(
            insert(V).from_select(
                ["level", "entity_id", "day", "company_id", "project_id", "humans", "everyone"],
                rows,
            )
        )
        if level.name == "company":
            await _all_visitors(session, first, last)
        if last < keep_from:
            continue
        recent = and_(where, S.created_at >= day_start(max(first, keep_from)))
        for scope, condition in (("everyone", None), ("humans", human)):
            scoped = recent if condition is None else and_(recent, condition)
            key_rows = (
                select(day, literal(level.name, String), column, literal(scope, String),
                       S.visitor_hash)
                .where(scoped)
                .distinct()
            )  # fmt: skip
            await session.execute(
                insert(VisitorKey).from_select(
                    ["day", "level", "entity_id", "scope", "visitor_hash"], key_rows
                )
            )


async def _all_visitors(session: AsyncSession, first: date, last: date) -> None:
    """The "all" level's daily visitors: the sum of the company rows (a visitor is counted
    once per company and day), recounted after them."""
    V = RollupDailyVisitors  # noqa: N806 - the table, as in the other modules
    await session.execute(delete(V).where(V.level == ALL.name, V.day >= first, V.day <= last))
    rows = (
        select(
            literal(ALL.name, String), literal(0), V.day, literal(0), literal(0),
            func.sum(V.humans), func.sum(V.everyone),
        )
        .where(V.level == COMPANY.name, V.day >= first, V.day <= last)
        .group_by(V.day)
    )  # fmt: skip
    await session.execute(
        insert(V).from_select(
            ["level", "entity_id", "day", "company_id", "project_id", "humans", "everyone"], rows
        )
    )


async def _property_visitors(
    session: AsyncSession,
    first: date,
    last: date,
    in_range: ColumnElement[bool],
    content_ids: Sequence[int] | None,
) -> None:
    """Daily visitors per company and value of each VISITOR_PROPERTIES property (and their
    keys for the days that still take views), then the "all" rows as the companies' sums."""
    P, K = RollupPropertyVisitors, PropertyVisitorKey  # noqa: N806 - the tables
    keep_from = utcnow().date() - timedelta(days=1)
    counters = delete(P).where(P.level == COMPANY.name, P.day >= first, P.day <= last)
    keys = delete(K).where(K.day >= first, K.day <= last)
    where = and_(in_range, S.visitor_hash.is_not(None))
    if content_ids is not None:
        owners = _owners(COMPANY, content_ids)
        counters = counters.where(P.entity_id.in_(owners))
        keys = keys.where(K.company_id.in_(owners))
        where = and_(where, S.company_id.in_(owners))
    await session.execute(counters)
    await session.execute(keys)
    day, human = utc_day(S.created_at), S.is_bot.is_(False)
    recent = and_(where, S.created_at >= day_start(max(first, keep_from)))
    for prop in VISITOR_PROPERTIES:
        value = func.coalesce(func.substr(prop.session_column, 1, 100), "")
        rows = (
            select(
                literal(COMPANY.name, String), S.company_id, literal(prop.name, String), day,
                value, func.count(func.distinct(case((human, S.visitor_hash)))),
                func.count(func.distinct(S.visitor_hash)),
            )
            .where(where)
            .group_by(S.company_id, day, value)
        )  # fmt: skip
        names = ["level", "entity_id", "property", "day", "value", "humans", "everyone"]
        await session.execute(insert(P).from_select(names, rows))
        if last < keep_from:
            continue
        for scope, condition in (("everyone", None), ("humans", human)):
            scoped = recent if condition is None else and_(recent, condition)
            key_rows = (
                select(day, S.company_id, literal(prop.name, String), value,
                       literal(scope, String), S.visitor_hash)
                .where(scoped)
                .distinct()
            )  # fmt: skip
            await session.execute(
                insert(K).from_select(
                    ["day", "company_id", "property", "value", "scope", "visitor_hash"], key_rows
                )
            )
    await session.execute(delete(P).where(P.level == ALL.name, P.day >= first, P.day <= last))
    total = (
        select(
            literal(ALL.name, String), literal(0), P.property, P.day, P.value,
            func.sum(P.humans), func.sum(P.everyone),
        )
        .where(P.level == COMPANY.name, P.day >= first, P.day <= last)
        .group_by(P.property, P.day, P.value)
    )  # fmt: skip
    await session.execute(
        insert(P).from_select(
            ["level", "entity_id", "property", "day", "value", "humans", "everyone"], total
        )
    )


async def rebuild(
    session: AsyncSession,
    first: date,
    last: date,
    *,
    content_ids: Sequence[int] | None = None,
    progress: Callable[[date], None] | None = None,
) -> int:
    """Recomputes the rollups of every UTC day from ``first`` to ``last``, committing per
    chunk of days; returns the number of days. ``progress`` is called once per day."""
    day, days = first, 0
    while day <= last:
        chunk_last = min(last, day + timedelta(days=CHUNK_DAYS - 1))
        await rebuild_range(session, day, chunk_last, content_ids)
        await session.commit()
        while day <= chunk_last:
            if progress:
                progress(day)
            day += timedelta(days=1)
            days += 1
    return days


async def session_days(
    session: AsyncSession, where: ColumnElement[bool]
) -> tuple[date, date] | None:
    """The first and last UTC day holding matching sessions (what a rebuild must cover)."""
    row = (
        await session.execute(select(func.min(S.created_at), func.max(S.created_at)).where(where))
    ).one()
    if row[0] is None:
        return None
    return row[0].date(), row[1].date()


async def forget_before(session: AsyncSession, cutoff: datetime) -> None:
    """Drops rollups older than ``cutoff`` (retention) and recounts the day it falls in."""
    await lock(session)
    day = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
    await session.execute(delete(R).where(R.c.bucket < day))
    await session.execute(delete(RollupDailyVisitors).where(RollupDailyVisitors.day < day.date()))
    await session.execute(
        delete(RollupPropertyVisitors).where(RollupPropertyVisitors.day < day.date())
    )
    await rebuild_range(session, cutoff.date(), cutoff.date())
    await session.commit()


async def forget_visitor_keys(session: AsyncSession, today: date) -> int:
    """Visitor keys only matter while their day can still get views: keep today's and
    yesterday's (a view committed just after midnight belongs to yesterday)."""
    cutoff = today - timedelta(days=1)
    result = await session.execute(delete(VisitorKey).where(VisitorKey.day < cutoff))
    more = await session.execute(delete(PropertyVisitorKey).where(PropertyVisitorKey.day < cutoff))
    return int(result.rowcount or 0) + int(more.rowcount or 0)  # type: ignore[attr-defined]


async def rebuild_all(session: AsyncSession, progress: Callable[[date], None] | None = None) -> int:
    """Recounts every day holding sessions."""
    span = await session_days(session, S.id.is_not(None))
    if span is None:
        return 0
    return await rebuild(session, *span, progress=progress)
