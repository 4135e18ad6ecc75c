"""Assessment (考核): ranking snapshots, the award/sanction register, monthly 110 totals, and the
daily rollup the leaders' dashboard reads.

A ranking run stores the weights it used and its results, so an old period's ranking never
changes when the weights change later. The rollup tables are derived data: rebuilt from the
case rows by services.metrics.dashboard.refresh_rollup(), never edited by hand.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.models.cases import Case, FollowUp, Party
from db.types import UTCDateTime

# Indexes on the case table that the dashboard and the rollup refresh need (declared here so the
# case model stays untouched; they are created by migration 0005).
Index("ix_dispute_case_updated_at", Case.updated_at)
Index("ix_dispute_case_ended_at", Case.ended_at)
Index("ix_dispute_case_followed_up_at", Case.followed_up_at)
Index("ix_dispute_case_received_at_id", Case.received_at, Case.id)
Index("ix_follow_up_done_at", FollowUp.done_at)
# open cases only: the "open now / overdue now" tiles touch a few hundred rows, not the table
Index("ix_dispute_case_open_due", Case.township_id, Case.level_due_at,
      postgresql_where=text("status IN ('registered', 'mediating')"),
      sqlite_where=text("status IN ('registered', 'mediating')"))

# Substring search of the case list (number, 110/12345 numbers, party name: ILIKE '%…%') on
# PostgreSQL: trigram GIN indexes (pg_trgm). On SQLite these are plain indexes.
for _col in (Case.number, Case.police_incident_no, Case.hotline_order_no, Party.name):
    Index(f"ix_{_col.table.name}_{_col.key}_trgm", _col, postgresql_using="gin",
          postgresql_ops={_col.key: "gin_trgm_ops"})

UNIT_STATION = "station"
UNIT_ROOM = "room"
UNIT_TYPES = {UNIT_STATION: "派出所", UNIT_ROOM: "调解室"}


class PoliceCallTotal(Base):
    """110 接警总量 for one month (entered by centre staff or the task force)."""

    __tablename__ = "police_call_total"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, unique=True)  # first day of the month
    total: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entered_by_name: Mapped[str] = mapped_column(String(50), default="")
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AssessmentRun(Base):
    """One computed ranking for a period: the weights used and who computed it, frozen."""

    __tablename__ = "assessment_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, index=True)
    period_end: Mapped[dt.date] = mapped_column(Date, index=True)
    label: Mapped[str] = mapped_column(String(50))
    weights: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_name: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    results: Mapped[list["AssessmentResult"]] = relationship(
        back_populates="run", order_by="AssessmentResult.id", cascade="all, delete-orphan")


class AssessmentResult(Base):
    """One unit's figures in one run (the unit's name is copied so renames do not rewrite history)."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("run_id", "unit_type", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assessment_run.id", ondelete="CASCADE"), index=True)
    unit_type: Mapped[str] = mapped_column(String(10))  # UNIT_TYPES
    unit_id: Mapped[int] = mapped_column(Integer)
    unit_name: Mapped[str] = mapped_column(String(80))
    cases: Mapped[int] = mapped_column(Integer, default=0)
    settled: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    success_rate: Mapped[float | None] = mapped_column(Float)
    satisfaction_rate: Mapped[float | None] = mapped_column(Float)
    quick_rate: Mapped[float | None] = mapped_column(Float)
    follow_up_rate: Mapped[float | None] = mapped_column(Float)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int | None] = mapped_column(Integer)
    prev_rank: Mapped[int | None] = mapped_column(Integer)

    run: Mapped[AssessmentRun] = relationship(back_populates="results")


class AwardEntry(Base):
    """奖惩登记: a reward, an admonition interview, a supervision link or a 'snail'-type award."""

    __tablename__ = "award_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # services.metrics.assessment.AWARD_KINDS
    unit_type: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(Integer)
    unit_name: Mapped[str] = mapped_column(String(80))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_run.id"))
    reason: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # 奖励 (元)
    interview_date: Mapped[dt.date | None] = mapped_column(Date)  # 约谈
    interview_who: Mapped[str] = mapped_column(String(200), default="")
    agreed_fixes: Mapped[str] = mapped_column(Text, default="")
    supervision_order_no: Mapped[str] = mapped_column(String(60), default="")  # 督办单号
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_by_name: Mapped[str] = mapped_column(String(50), default="")
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class _Measures:
    """The counts behind every dashboard figure (services.metrics.dashboard.MEASURE_NAMES defines each)."""

    received: Mapped[int] = mapped_column(Integer, default=0)
    from110: Mapped[int] = mapped_column(Integer, default=0)
    settled: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    litigated: Mapped[int] = mapped_column(Integer, default=0)
    settled_onsite: Mapped[int] = mapped_column(Integer, default=0)
    settled_room: Mapped[int] = mapped_column(Integer, default=0)
    settled_township: Mapped[int] = mapped_column(Integer, default=0)
    settled_city: Mapped[int] = mapped_column(Integer, default=0)
    settle_d0: Mapped[int] = mapped_column(Integer, default=0)
    settle_d1: Mapped[int] = mapped_column(Integer, default=0)
    settle_d3: Mapped[int] = mapped_column(Integer, default=0)
    settle_d7: Mapped[int] = mapped_column(Integer, default=0)
    settle_d15: Mapped[int] = mapped_column(Integer, default=0)
    followed: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    settled_followed: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[int] = mapped_column(Integer, default=0)
    quick: Mapped[int] = mapped_column(Integer, default=0)


class CaseDayStat(_Measures, Base):
    """Rollup: per local day × township × mode, the counts behind every dashboard figure.

    Each count is anchored on its own event's day (received, settled, ended, followed up);
    see services.metrics.dashboard for the exact definition of each column.
    """

    __tablename__ = "case_day_stat"
    __table_args__ = (UniqueConstraint("day", "township_id", "mode"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    township_id: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10))


class CaseMonthStat(_Measures, Base):
    """Rollup: CaseDayStat summed per calendar month (a period's whole months read this)."""

    __tablename__ = "case_month_stat"
    __table_args__ = (UniqueConstraint("month", "township_id", "mode"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)  # first day of the month
    township_id: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10))


class CaseDayMix(Base):
    """Rollup: cases received per local day × township by category and by source."""

    __tablename__ = "case_day_mix"
    __table_args__ = (UniqueConstraint("day", "township_id", "dim", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    township_id: Mapped[int] = mapped_column(Integer)
    dim: Mapped[str] = mapped_column(String(10))  # category / source
    key: Mapped[str] = mapped_column(String(30))  # category id or source code
    received: Mapped[int] = mapped_column(Integer, default=0)


class CaseMonthMix(Base):
    """Rollup: the same as CaseDayMix summed per calendar month (full months of a period read
    this; the period's partial months read the daily rows)."""

    __tablename__ = "case_month_mix"
    __table_args__ = (UniqueConstraint("month", "township_id", "dim", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)  # first day of the month
    township_id: Mapped[int] = mapped_column(Integer)
    dim: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(30))
    received: Mapped[int] = mapped_column(Integer, default=0)
