"""The metric registry: every number the analytics engine reports is defined here, once.

Two kinds of entries:

- An **accumulator** is an additive count kept per rollup row. It is defined by how one session
  contributes to it (a Python function of the session row, used by the write path) and by the
  same count as an SQL aggregate over ``ar_view_sessions`` (used by the rollup recount and the
  raw executor). The write path keeps rollups exact by adding ``contribution(after) -
  contribution(before)`` for every start and end, so a rule written once serves both.
- A **metric** is what the API reports: a function of accumulators (a count, a ratio that is
  null when its denominator is 0, a mean, or a median read from a fixed histogram).

Adding a metric: add its accumulators and its Metric entry here, and a migration adding the
accumulator columns to ``rollup_stats`` (see migrations 0007); ``arv-analytics rollup`` or the
start-up recount fills them for past days.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_

from arv_analytics.vocabulary import TRACKING_QUALITIES

if TYPE_CHECKING:
    from arv_analytics.models.ar_view_session import ARViewSession

Row = Mapping[str, Any]


# The models import this registry (the rollup table has one column per accumulator), so the
# session table is reached lazily, when an SQL expression is built.
class _Sessions:
    def __getattr__(self, name: str) -> Any:
        from arv_analytics.models.ar_view_session import ARViewSession

        return getattr(ARViewSession, name)


S: type[ARViewSession] = _Sessions()  # type: ignore[assignment]


def count_if(condition: Any) -> ColumnElement[Any]:
    from arv_analytics.sql_functions import count_if as sql_count_if

    return sql_count_if(condition)


_EXPRESSIONS: dict[str, ColumnElement[Any]] = {}


@dataclass(frozen=True, slots=True)
class Accumulator:
    name: str
    python: Callable[[Row], int]  # one session's contribution
    build: Callable[[], ColumnElement[Any]]  # the same, summed over sessions

    def sql(self) -> ColumnElement[Any]:
        """The SQL aggregate, built once (expressions are immutable and reusable)."""
        expression = _EXPRESSIONS.get(self.name)
        if expression is None:
            expression = _EXPRESSIONS[self.name] = self.build()
        return expression


def _count(name: str, test: Callable[[Row], bool], cond: Callable[[], Any]) -> Accumulator:
    return Accumulator(name, lambda r: 1 if test(r) else 0, lambda: count_if(cond()))


def _sum(name: str, column: str) -> Accumulator:
    return Accumulator(
        name,
        lambda r: int(r.get(column) or 0),
        lambda: func.coalesce(func.sum(getattr(S, column)), 0),
    )


def _present(name: str, column: str) -> Accumulator:
    return _count(
        name, lambda r: r.get(column) is not None, lambda: getattr(S, column).is_not(None)
    )


def _equals(name: str, column: str, value: str) -> Accumulator:
    return _count(name, lambda r: r.get(column) == value, lambda: getattr(S, column) == value)


def _counted(cond: Callable[[], Any]) -> Callable[[], ColumnElement[Any]]:
    return lambda: count_if(cond())


@dataclass(frozen=True, slots=True)
class Histogram:
    """Fixed buckets of one column: bucket i holds values in [edges[i], edges[i+1])."""

    prefix: str
    column: str
    edges: tuple[int, ...]
    unit: str

    @property
    def names(self) -> list[str]:
        return [f"{self.prefix}_{i}" for i in range(len(self.edges))]

    def index(self, value: int) -> int:
        return max(0, bisect_right(self.edges, value) - 1)

    def accumulators(self) -> list[Accumulator]:
        out = []
        for i, name in enumerate(self.names):
            lo = self.edges[i]
            hi = self.edges[i + 1] if i + 1 < len(self.edges) else None

            def test(r: Row, i: int = i) -> bool:
                v = r.get(self.column)
                return v is not None and self.index(int(v)) == i

            def cond(lo: int = lo, hi: int | None = hi, first: bool = i == 0) -> Any:
                col = getattr(S, self.column)
                # Negative values cannot be stored (validated); bucket 0 starts at 0.
                parts = [col.is_not(None)] if first else [col >= lo]
                if hi is not None:
                    parts.append(col < hi)
                return and_(*parts)

            out.append(Accumulator(name, test, _counted(cond)))
        return out

    def median(self, counts: Sequence[int]) -> float | None:
        """The median, linearly interpolated inside its bucket; the last (open) bucket
        reports its lower edge. The same arithmetic for every executor, so answers match."""
        total = sum(counts)
        if total == 0:
            return None
        half = total / 2
        seen = 0
        for i, n in enumerate(counts):
            if n and seen + n >= half:
                lo = self.edges[i]
                if i + 1 == len(self.edges):
                    return float(lo)
                hi = self.edges[i + 1]
                return round(lo + (hi - lo) * (half - seen) / n, 2)
            seen += n
        return float(self.edges[-1])  # pragma: no cover - unreachable


DURATION_HIST = Histogram(
    "dur_h", "duration_seconds",
    (0, 1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600),
    "seconds",
)  # fmt: skip
MS_EDGES = (0, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 20000,
            30000, 60000)  # fmt: skip
FOUND_HIST = Histogram("ff_h", "time_to_first_found_ms", MS_EDGES, "ms")
CAMERA_HIST = Histogram("cam_h", "camera_ms", MS_EDGES, "ms")
VIDEO_HIST = Histogram("vid_h", "video_start_ms", MS_EDGES, "ms")
HISTOGRAMS = (DURATION_HIST, FOUND_HIST, CAMERA_HIST, VIDEO_HIST)


def _reported(r: Row) -> bool:
    return r.get("time_to_first_found_ms") is not None or r.get("tracked_seconds") is not None


ACCUMULATORS: tuple[Accumulator, ...] = (
    Accumulator("views", lambda r: 1, lambda: func.count(S.id)),
    # session_id is unique, so counting present ids is count(distinct session_id).
    _present("sessions", "session_id"),
    _sum("duration_sum", "duration_seconds"),
    _present("duration_n", "duration_seconds"),
    _count("plays", lambda r: bool(r.get("video_played")), lambda: S.video_played.is_(True)),
    *(_equals(f"q_{q}", "tracking_quality", q) for q in TRACKING_QUALITIES),
    _count("q_unknown", lambda r: r.get("tracking_quality") is None,
           lambda: S.tracking_quality.is_(None)),
    _present("found", "time_to_first_found_ms"),
    _sum("found_ms_sum", "time_to_first_found_ms"),
    _count("reports", _reported,
           lambda: or_(S.time_to_first_found_ms.is_not(None), S.tracked_seconds.is_not(None))),
    _sum("tracked_sum", "tracked_seconds"),
    _present("tracked_n", "tracked_seconds"),
    _sum("losses_sum", "target_losses"),
    _present("losses_n", "target_losses"),
    _present("camera_n", "camera_outcome"),
    _equals("camera_granted", "camera_outcome", "granted"),
    _present("video_started", "video_start_ms"),
    *(a for h in HISTOGRAMS for a in h.accumulators()),
)  # fmt: skip
ACCUMULATOR_NAMES = tuple(a.name for a in ACCUMULATORS)


_HISTOGRAM_NAMES = {n for h in HISTOGRAMS for n in h.names}
_SCALARS = tuple(a for a in ACCUMULATORS if a.name not in _HISTOGRAM_NAMES)


def contribution(row: Row) -> dict[str, int]:
    """What one session adds to the accumulators of the rows it belongs to: only the
    non-zero ones (the write path adds them to dozens of rows per session)."""
    out = {}
    for a in _SCALARS:
        value = a.python(row)
        if value:
            out[a.name] = value
    # One bucket per histogram (the same as each bucket accumulator's own test, faster).
    for h in HISTOGRAMS:
        measured = row.get(h.column)
        if measured is not None:
            out[h.names[h.index(int(measured))]] = 1
    return out


Kind = Literal["count", "rate", "mean", "median"]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: Kind
    description: str
    compute: Callable[[Mapping[str, int]], float | int | None]
    needs_visitors: bool = False

    @property
    def type(self) -> str:
        return "integer" if self.kind == "count" else "number"


def _ratio(num: str, den: str, digits: int = 4) -> Callable[[Mapping[str, int]], float | None]:
    return lambda a: round(a[num] / a[den], digits) if a[den] else None


def _median(h: Histogram) -> Callable[[Mapping[str, int]], float | None]:
    return lambda a: h.median([a[n] for n in h.names])


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("views", "count", "Views: viewer page loads that sent a start",
               lambda a: a["views"]),
        Metric("unique_sessions", "count", "count(distinct session_id)",
               lambda a: a["sessions"]),
        Metric("unique_visitors", "count",
               "Sum over UTC days of each day's distinct visitors (the visitor key uses a "
               "daily salt, so one person on three days counts three times)",
               lambda a: a["visitors"], needs_visitors=True),
        Metric("avg_duration_seconds", "mean",
               "Mean visible seconds over views that reported a duration; null without any",
               _ratio("duration_sum", "duration_n", 2)),
        Metric("median_duration_seconds", "median",
               "Median visible seconds (from fixed histogram buckets, interpolated)",
               _median(DURATION_HIST)),
        Metric("video_plays", "count", "Views whose video started playing",
               lambda a: a["plays"]),
        Metric("video_play_rate", "rate", "Views with video played ÷ views; null without views",
               _ratio("plays", "views")),
        Metric("target_found", "count", "Views whose target was found at least once",
               lambda a: a["found"]),
        Metric("target_found_rate", "rate",
               "Views whose target was found ÷ views with a tracker report; null without any",
               _ratio("found", "reports")),
        Metric("median_time_to_first_found_ms", "median",
               "Median visible ms from opening to the first target found (histogram)",
               _median(FOUND_HIST)),
        Metric("avg_tracked_seconds", "mean",
               "Mean visible seconds with the target tracked, over views reporting it",
               _ratio("tracked_sum", "tracked_n", 2)),
        Metric("target_losses_per_session", "mean",
               "Mean times the target was lost after being found, over views reporting it",
               _ratio("losses_sum", "losses_n", 2)),
        Metric("camera_granted", "count", "Views whose camera permission was granted",
               lambda a: a["camera_granted"]),
        Metric("camera_granted_rate", "rate",
               "Views with the camera granted ÷ views reporting a camera outcome; null without",
               _ratio("camera_granted", "camera_n")),
        Metric("median_camera_ms", "median",
               "Median visible ms from opening until the camera outcome was known (histogram)",
               _median(CAMERA_HIST)),
        Metric("median_video_start_ms", "median",
               "Median visible ms from opening until the video first played (histogram)",
               _median(VIDEO_HIST)),
    )
}  # fmt: skip
DEFAULT_METRICS = ("views", "unique_visitors")


class _Reads(dict[str, int]):
    """A mapping that records which accumulators a metric's formula reads."""

    def __missing__(self, key: str) -> int:
        self[key] = 1
        return 1


def _reads(metric: Metric) -> frozenset[str]:
    seen = _Reads()
    metric.compute(seen)
    return frozenset(seen)


# What each metric is computed from, read off its own formula (so it cannot drift from it).
METRIC_INPUTS: dict[str, frozenset[str]] = {name: _reads(m) for name, m in METRICS.items()}


@lru_cache(maxsize=256)
def accumulators_for(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The accumulators an answer with these metrics needs, in registry order: executors read
    only those (a two-metric question reads 2 of ~100 columns). ``views`` always: a group
    whose views are 0 (and no visitors) stands for no view at all."""
    wanted = {"views"}.union(*(METRIC_INPUTS[m] for m in metrics))
    return tuple(n for n in ACCUMULATOR_NAMES if n in wanted)


def finalize(acc: Mapping[str, int], names: Sequence[str]) -> dict[str, Any]:
    return {n: METRICS[n].compute(acc) for n in names}


def zero() -> dict[str, int]:
    return dict.fromkeys((*ACCUMULATOR_NAMES, "visitors"), 0)


def add_into(target: dict[str, int], source: Mapping[str, Any]) -> None:
    for k in target:
        v = source.get(k)
        if v:
            target[k] += int(v)
