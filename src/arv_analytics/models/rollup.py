"""Pre-aggregated tables that answer the analytics engine.

They are kept exact by the write path itself: the transaction that stores a start or applies
an end also adds its change to these rows, so a rollup never lags behind, or disagrees with,
the raw table. `arv-analytics rollup` recomputes any range from the raw rows. Their counters
are the accumulators of the metric registry (analytics/metrics.py), one column each.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from arv_analytics.analytics.metrics import ACCUMULATOR_NAMES
from arv_analytics.models.base import Base, UTCDateTime

# One row per grain × UTC bucket × level × entity × bot flag × dimension value:
# - grain "d" (UTC day) at every level, totals (dimension "") and, at the levels "all",
#   "company" and "project", one row per breakdown property value (value "" standing for
#   "no value");
#   grain "h" (UTC hour; totals only) at the levels "all", "company" and "project"
#   (dimensions.py says why: per-content hour and property rows would hold about one view
#   each in a big catalog), and both for the busy contents of rollup_detail;
# - level "all" (entity 0), "company", "project" or "content", with the parents of the entity
#   (company_id, project_id; 0 where none) so that a scope or a child-level breakdown is a
#   range scan, not a join. Reading the "all" or "company" level keeps an overview's cost
#   independent of how many contents the catalog holds.
# - the counters are NULL where 0: most of them are 0 in a row, and PostgreSQL stores a NULL
#   as one bit of the row's null bitmap (rollups/maintain.py keeps them that way).
rollup_stats = Table(
    "rollup_stats",
    Base.metadata,
    Column("grain", String(1), nullable=False),
    Column("level", String(8), nullable=False),
    Column("entity_id", BigInteger, nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("bucket", UTCDateTime, nullable=False),
    Column("value", String(100), nullable=False),
    Column("is_bot", Boolean, nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("project_id", BigInteger, nullable=False),
    *(Column(name, BigInteger, nullable=True) for name in ACCUMULATOR_NAMES),
    PrimaryKeyConstraint(
        "level", "entity_id", "grain", "dimension", "bucket", "value", "is_bot",
        name="pk_rollup_stats",
    ),
    Index("ix_rollup_stats_company", "company_id", "level", "grain", "dimension", "bucket"),
    Index("ix_rollup_stats_project", "project_id", "level", "grain", "dimension", "bucket"),
)  # fmt: skip
ROLLUP_KEYS = ("level", "entity_id", "grain", "dimension", "bucket", "value", "is_bot")


class RollupDailyVisitors(Base):
    """Unique visitors per UTC day × level (company, project, content) × entity, and per day
    at the level "all" (entity 0: the sum of the companies' rows, a visitor key being per
    company).

    ``humans`` counts visitors among non-bot views, ``everyone`` among all views. The parents
    (company_id, project_id) allow scoped child-level breakdowns without a join.
    """

    __tablename__ = "rollup_daily_visitors"
    __table_args__ = (
        Index(None, "company_id", "level", "day"),
        Index(None, "project_id", "level", "day"),
    )

    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    company_id: Mapped[int] = mapped_column(BigInteger)
    project_id: Mapped[int] = mapped_column(BigInteger)
    humans: Mapped[int] = mapped_column(Integer, default=0)
    everyone: Mapped[int] = mapped_column(Integer, default=0)


class VisitorKey(Base):
    """Which visitors today's (and yesterday's) counters have already counted.

    Only needed while a day can still receive views; the salts job deletes older keys, so the
    table holds about two days of visitors, not the whole history.
    """

    __tablename__ = "visitor_keys"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "humans" or "everyone"
    visitor_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class RollupPropertyVisitors(Base):
    """Unique visitors per UTC day × level ("company", and "all" as the sum of the company
    rows) × entity × property × value, for the properties a session gets at its start and
    keeps (dimensions.VISITOR_PROPERTIES). A breakdown by such a property with unique
    visitors reads these rows instead of the sessions. The primary key serves every read:
    a company-scoped question is ``level = 'company' AND entity_id = <company>``.
    """

    __tablename__ = "rollup_property_visitors"

    level: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    property: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    humans: Mapped[int] = mapped_column(Integer, default=0)
    everyone: Mapped[int] = mapped_column(Integer, default=0)


class PropertyVisitorKey(Base):
    """Which visitors today's (and yesterday's) per-value counters have already counted,
    kept and dropped like ``visitor_keys``."""

    __tablename__ = "property_visitor_keys"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    company_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    property: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "humans" or "everyone"
    visitor_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class RollupState(Base):
    """Which version of the rollup layout the stored rows were counted with.

    When the code's ROLLUP_VERSION is newer (a metric or dimension was added), `serve`
    recounts every day before the rollups answer anything; until then the raw executor does.
    """

    __tablename__ = "rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class RollupDetail(Base):
    """A busy content that also gets content-level hour and per-property day rows.

    Those rows would cost a 10,000-content catalog about one row per session (dimensions.py),
    so only contents whose traffic passes ARV_ROLLUP_DETAIL_VIEWS get them, promoted by the
    ``rollup-detail`` job (rollups/detail.py). The write path keeps them for sessions that
    start on or after ``detail_from`` (the UTC day after the promotion: every batch reads
    this table, so no writer can have missed it by then); the job counts the days before
    from the raw sessions once no end can change them, and sets ``ready``. Only then does
    the engine read them.
    """

    __tablename__ = "rollup_detail"

    content_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ar_content.id", ondelete="CASCADE"), primary_key=True
    )
    detail_from: Mapped[date] = mapped_column(Date)
    ready: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
