"""Periods and time buckets in a time zone: what [since, until) a question covers, which
local bucket an instant falls in, and the period a comparison looks at.

Every instant is a timezone-aware UTC datetime. Local calendars come from ``zoneinfo`` (the
IANA database shipped with Python or the tzdata package), so day edges and buckets follow the
zone's DST changes; a local day can be 23 or 25 hours long.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NAMED_PERIODS = ("realtime", "today", "yesterday", "7d", "30d", "90d", "12mo", "month", "year",
                 "all")  # fmt: skip
REALTIME = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Period:
    name: str  # one of NAMED_PERIODS, "custom" or "days"
    since: datetime  # inclusive, UTC
    until: datetime  # exclusive, UTC


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (00:00 exists in every zone on every day we use;
    where a DST change skips midnight, zoneinfo resolves it forward)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def named(name: str, tz: ZoneInfo, now: datetime, first_seen: datetime | None) -> Period:
    """A named period, in whole local days ending with today (today included)."""
    today = now.astimezone(tz).date()
    end = local_midnight(today + timedelta(days=1), tz)
    if name == "realtime":
        return Period(name, now - REALTIME, now)
    if name == "today":
        return Period(name, local_midnight(today, tz), end)
    if name == "yesterday":
        return Period(
            name, local_midnight(today - timedelta(days=1), tz), local_midnight(today, tz)
        )
    if name.endswith("d"):
        days = int(name[:-1])
        return Period(name, local_midnight(today - timedelta(days=days - 1), tz), end)
    if name == "12mo":
        return Period(name, local_midnight(_month_start(today, 11), tz), end)
    if name == "month":
        return Period(name, local_midnight(_month_start(today), tz), end)
    if name == "year":
        return Period(name, local_midnight(date(today.year, 1, 1), tz), end)
    # "all": from the local day of the first view in scope (or today when there is none).
    first = first_seen.astimezone(tz).date() if first_seen else today
    return Period(name, local_midnight(min(first, today), tz), end)


def shift(period: Period, how: str, tz: ZoneInfo) -> Period:
    """The comparison period: the one just before, or the same local dates a year earlier."""
    if how == "previous_period":
        return Period("previous_period", period.since - (period.until - period.since), period.since)

    def back(moment: datetime) -> datetime:
        local = moment.astimezone(tz)
        try:
            earlier = local.replace(year=local.year - 1)
        except ValueError:  # 29 February
            earlier = local.replace(year=local.year - 1, day=28)
        return earlier.replace(tzinfo=tz).astimezone(UTC)

    return Period("year_over_year", back(period.since), back(period.until))


# Pure functions of their arguments, called for every day or hour of a period by the
# executors and the engine (a 12-month question walks 365 days, several times): memoized,
# they cost a dictionary lookup instead of a time-zone conversion and a strftime.
@functools.lru_cache(maxsize=65536)
def bucket_key(moment: datetime, granularity: str, tz: ZoneInfo) -> str:
    """The local bucket an instant falls in, as a string both executors produce:
    'YYYY-MM-DD HH' for hour/day/week/month starts, ISO weekday '1'..'7', or hour '00'..'23'."""
    local = moment.astimezone(tz)
    if granularity == "hour":
        return local.strftime("%Y-%m-%d %H")
    if granularity == "day":
        return local.strftime("%Y-%m-%d 00")
    if granularity == "week":
        return (local.date() - timedelta(days=local.weekday())).strftime("%Y-%m-%d 00")
    if granularity == "month":
        return local.strftime("%Y-%m-01 00")
    if granularity == "weekday":
        return str(local.isoweekday())
    if granularity == "weekday_hour":  # the heatmap's cell: ISO weekday and hour
        return f"{local.isoweekday()} {local.strftime('%H')}"
    return local.strftime("%H")  # hour_of_day


def bucket_start(key: str, tz: ZoneInfo) -> datetime:
    """The UTC instant a 'YYYY-MM-DD HH' bucket starts."""
    local = datetime.strptime(key, "%Y-%m-%d %H").replace(tzinfo=tz)
    return local.astimezone(UTC)


def all_buckets(period: Period, granularity: str, tz: ZoneInfo) -> list[str]:
    """Every bucket of the period, in order, so that empty ones can be reported as zeros."""
    if granularity == "weekday":
        return [str(d) for d in range(1, 8)]
    if granularity == "hour_of_day":
        return [f"{h:02d}" for h in range(24)]
    if granularity == "weekday_hour":
        return [f"{d} {h:02d}" for d in range(1, 8) for h in range(24)]
    keys: list[str] = []
    step = timedelta(hours=1) if granularity == "hour" else timedelta(days=1)
    local = period.since.astimezone(tz)
    cursor = local.replace(minute=0, second=0, microsecond=0)
    if granularity != "hour":
        cursor = cursor.replace(hour=0)
    # Walk in local wall time (hours: in UTC, so repeated/skipped DST hours come out right).
    if granularity == "hour":
        instant = period.since.replace(minute=0, second=0, microsecond=0)
        while instant < period.until:
            key = bucket_key(instant, granularity, tz)
            if not keys or keys[-1] != key:
                keys.append(key)
            instant += step
        return keys
    day = cursor.date()
    last = (period.until - timedelta(microseconds=1)).astimezone(tz).date()
    while day <= last:
        key = bucket_key(local_midnight(day, tz), granularity, tz)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += step
    return keys


def _offset(instant: datetime, tz: ZoneInfo) -> int:
    delta = instant.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


@functools.lru_cache(maxsize=1024)
def utc_offsets(since: datetime, until: datetime, tz: ZoneInfo) -> tuple[tuple[datetime, int], ...]:
    """The zone's UTC offset (seconds) over [since, until) as (from instant, offset) steps:
    the raw executor shifts timestamps by them in SQL. Scans days, then the 15-minute steps
    of a day whose offset changed (every zone's changes fall on quarter hours)."""
    start = since.replace(minute=0, second=0, microsecond=0)
    steps = [(start, _offset(start, tz))]
    day = start
    while day < until:
        following = day + timedelta(days=1)
        if _offset(following, tz) != steps[-1][1]:
            probe = day
            while probe <= following:
                offset = _offset(probe, tz)
                if offset != steps[-1][1]:
                    steps.append((probe, offset))
                probe += timedelta(minutes=15)
        day = following
    return tuple(steps)
