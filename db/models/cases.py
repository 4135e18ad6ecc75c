"""Cases (非警务警情) and everything that hangs on them: parties, dispatches, events, follow-ups.

The level and status columns of `Case` are written only by services.cases.workflow.transition().
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.types import UTCDateTime


class Case(Base):
    __tablename__ = "dispute_case"
    __table_args__ = (
        Index("ix_dispute_case_township_status_received", "township_id", "status", "received_at", "id"),
        Index("ix_dispute_case_status_level", "status", "level"),
        # repeat disputes: the same incident address within 12 months (migration 0013_repeat_lookup)
        Index("ix_dispute_case_address_received", "address", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # 丰-2026-000123
    source: Mapped[str] = mapped_column(String(10))  # services.cases.intake.SOURCES
    police_incident_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # 110 警情编号
    police_officer: Mapped[str] = mapped_column(String(50), default="")
    police_station_id: Mapped[int | None] = mapped_column(ForeignKey("police_station.id"), index=True)
    hotline_order_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # 12345 工单号
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    address: Mapped[str] = mapped_column(String(200), default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("dispute_category.id"), index=True)
    complexity: Mapped[str] = mapped_column(String(10))  # simple / general / major
    description: Mapped[str] = mapped_column(Text)

    # routing
    mode: Mapped[str] = mapped_column(String(10), index=True)  # station (驻所) / village (住村)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_room.id"), index=True)
    after_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    route_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    route_note: Mapped[str] = mapped_column(String(200), default="")

    # ladder state (written only by transition())
    level: Mapped[str] = mapped_column(String(20))  # services.cases.ladder level codes
    status: Mapped[str] = mapped_column(String(20), index=True)  # services.cases.ladder STATUSES
    level_entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    level_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    current_mediator_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"), index=True)

    # dispatch clock (15 minutes from the first notification)
    first_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    arrival_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_arrival_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    police_arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    police_handover_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # outcome
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    settled_level: Mapped[str | None] = mapped_column(String(20))
    agreement_summary: Mapped[str] = mapped_column(Text, default="")
    agreement_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # terminated / litigation
    end_reason_code: Mapped[str] = mapped_column(String(20), default="")
    end_reason: Mapped[str] = mapped_column(Text, default="")
    court_name: Mapped[str] = mapped_column(String(100), default="")
    follow_up_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # the written agreement and its judicial confirmation (migration 0014_agreement)
    agreement_copies: Mapped[int | None] = mapped_column(Integer)
    agreement_effective_on: Mapped[dt.date | None] = mapped_column(Date)
    judicial_intent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    judicial_status: Mapped[str | None] = mapped_column(String(20))  # applied / confirmed / rejected
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    parties: Mapped[list["Party"]] = relationship(back_populates="case", order_by="Party.id",
                                                  cascade="all, delete-orphan")
    dispatches: Mapped[list["Dispatch"]] = relationship(back_populates="case", order_by="Dispatch.id",
                                                        cascade="all, delete-orphan")
    events: Mapped[list["CaseEvent"]] = relationship(back_populates="case", order_by="CaseEvent.id",
                                                     cascade="all, delete-orphan")
    follow_ups: Mapped[list["FollowUp"]] = relationship(back_populates="case", order_by="FollowUp.id",
                                                        cascade="all, delete-orphan")


class Party(Base):
    """当事人. Personal data: masked for roles that do not need it, never on public pages."""

    __tablename__ = "party"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    role: Mapped[str] = mapped_column(String(20))  # applicant / respondent / other
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    id_card: Mapped[str | None] = mapped_column(String(18), index=True)  # repeat disputes (0013)
    address: Mapped[str] = mapped_column(String(200), default="")
    # what the written agreement names (migration 0014_agreement); personal data like the rest
    sex: Mapped[str | None] = mapped_column(String(1))  # M / F
    ethnicity: Mapped[str] = mapped_column(String(20), default="", server_default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    occupation: Mapped[str] = mapped_column(String(100), default="", server_default="")

    case: Mapped[Case] = relationship(back_populates="parties")


class Dispatch(Base):
    """One person notified for a case: when, and when they arrived on site."""

    __tablename__ = "dispatch"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediator.id"), index=True)
    duty: Mapped[str] = mapped_column(String(20))  # grid_worker / village / station / duty_cadre / ...
    notified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(200), default="")

    case: Mapped[Case] = relationship(back_populates="dispatches")
    mediator = relationship("Mediator")


class CaseEvent(Base):
    """The case's timeline and audit trail: who, in which role, when, from, to, note."""

    __tablename__ = "case_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(30))
    from_level: Mapped[str | None] = mapped_column(String(20))
    to_level: Mapped[str | None] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class FollowUp(Base):
    """回访: after a settlement; dissatisfaction or a broken agreement reopens the case."""

    __tablename__ = "follow_up"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(10))  # phone / visit
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    by_name: Mapped[str] = mapped_column(String(50))
    agreement_holds: Mapped[bool] = mapped_column(Boolean)
    satisfaction: Mapped[str] = mapped_column(String(20))  # satisfied / basic / dissatisfied
    note: Mapped[str] = mapped_column(Text, default="")
    # each agreement term's answer: {term id (str): performed / pending / refused} (0014_agreement)
    term_performance: Mapped[dict | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship(back_populates="follow_ups")


class Counter(Base):
    """Yearly sequences (case numbers, document numbers, request numbers)."""

    __tablename__ = "counter"
    __table_args__ = (UniqueConstraint("kind", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer, default=0)


class DutyShift(Base):
    """A township's night duty: the cadre who takes over station-room cases after closing.

    `duty_date` is the local date on which the night begins; the shift runs from the
    station room's closing hour that evening to its opening hour the next morning.
    """

    __tablename__ = "duty_shift"
    __table_args__ = (UniqueConstraint("township_id", "duty_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"))
    duty_date: Mapped[dt.date] = mapped_column(Date, index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediator.id"), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")

    mediator = relationship("Mediator")
