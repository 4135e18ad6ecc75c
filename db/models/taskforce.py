"""Task-force instruments (专班): risk notices (风险提示函) and supervision orders (督办单),
coordination meetings (协调会) with action items, and work bulletins (工作专报).

Overdue is never stored: an instrument is overdue when it was issued, has no reply and its
reply deadline (a Beijing-time date) has passed; an action item when it is open past its
deadline. services.taskforce.instruments / services.taskforce.meetings hold the SQL expressions for both.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Column, Date, ForeignKey, Index, Integer, LargeBinary, String, Table, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.types import UTCDateTime

# instrument <-> case, meeting <-> case: a case page lists its instruments and meetings.
instrument_case = Table(
    "instrument_case", Base.metadata,
    Column("instrument_id", ForeignKey("instrument.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", ForeignKey("dispute_case.id", ondelete="CASCADE"), primary_key=True, index=True),
)
meeting_case = Table(
    "meeting_case", Base.metadata,
    Column("meeting_id", ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", ForeignKey("dispute_case.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Instrument(Base):
    """风险提示函 (kind risk_notice) or 督办单 (kind supervision_order).

    States: draft → issued → replied → closed. `doc_number`, `year` and `serial` are given at
    issue time from the yearly sequence of the kind (counter kinds "risk_notice" and
    "supervision_order").
    """

    __tablename__ = "instrument"
    __table_args__ = (
        UniqueConstraint("kind", "year", "serial"),
        Index("ix_instrument_state_deadline", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    state: Mapped[str] = mapped_column(String(10))
    doc_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    year: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(Integer)

    subject: Mapped[str] = mapped_column(String(200), default="")       # 事项 (in the title)
    addressee: Mapped[str] = mapped_column(String(200), default="", index=True)  # 主送单位
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_room.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("police_station.id"))
    facts: Mapped[str] = mapped_column(Text, default="")       # 基本情况 (drafted from the cases)
    risk: Mapped[str] = mapped_column(Text, default="")        # 风险或问题
    measures: Mapped[str] = mapped_column(Text, default="")    # 工作要求 / 督办要求
    deadline: Mapped[dt.date | None] = mapped_column(Date)     # 反馈（办结）期限
    contact_person: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")

    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    issued_by_name: Mapped[str] = mapped_column(String(50), default="")
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issue_date: Mapped[dt.date | None] = mapped_column(Date, index=True)

    reply_date: Mapped[dt.date | None] = mapped_column(Date)
    reply_summary: Mapped[str] = mapped_column(Text, default="")
    reply_filename: Mapped[str] = mapped_column(String(200), default="")
    reply_size: Mapped[int] = mapped_column(Integer, default=0)
    reply_file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    replied_by_name: Mapped[str] = mapped_column(String(50), default="")

    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    close_note: Mapped[str] = mapped_column(Text, default="")

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_name: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    cases = relationship("Case", secondary=instrument_case, order_by="Case.number", lazy="selectin")


class Meeting(Base):
    """协调会 (kind coordination) or 月度例会 (kind monthly_review, with the period's figures)."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(100), default="")
    convened_by: Mapped[str] = mapped_column(String(100), default="")
    topic: Mapped[str] = mapped_column(String(200))
    attending_units: Mapped[list] = mapped_column(JSON, default=list)
    attendees: Mapped[list] = mapped_column(JSON, default=list)
    decisions: Mapped[str] = mapped_column(Text, default="")
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    figures: Mapped[dict | None] = mapped_column(JSON)
    serial: Mapped[int | None] = mapped_column(Integer)  # 期号 within the year of held_on, fixed when recorded
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_name: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    cases = relationship("Case", secondary=meeting_case, order_by="Case.number", lazy="selectin")
    items: Mapped[list["ActionItem"]] = relationship(back_populates="meeting", order_by="ActionItem.id",
                                                     cascade="all, delete-orphan")


class ActionItem(Base):
    """A measure fixed by a meeting: task, responsible unit, deadline; done needs evidence."""

    __tablename__ = "action_item"
    __table_args__ = (Index("ix_action_item_status_deadline", "status", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(Text)
    responsible_unit: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open / done
    evidence: Mapped[str] = mapped_column(Text, default="")
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    done_by_name: Mapped[str] = mapped_column(String(50), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    meeting: Mapped[Meeting] = relationship(back_populates="items")


class Bulletin(Base):
    """工作专报. `issue_no` (第N期) is one running sequence across years, given at issue time."""

    __tablename__ = "bulletin"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_no: Mapped[int | None] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(10))  # draft / issued
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.date] = mapped_column(Date, index=True)
    period_end: Mapped[dt.date] = mapped_column(Date)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)       # headline figures snapshot
    rankings: Mapped[dict] = mapped_column(JSON, default=dict)      # {"top": [...], "bottom": [...], "note": ""}
    notable: Mapped[list] = mapped_column(JSON, default=list)       # notable cases
    instruments: Mapped[list] = mapped_column(JSON, default=list)   # notices / orders of the period
    meetings: Mapped[list] = mapped_column(JSON, default=list)      # meetings of the period
    commentary: Mapped[str] = mapped_column(Text, default="")       # 存在问题 / 专班评述
    next_steps: Mapped[str] = mapped_column(Text, default="")       # 下步工作
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_name: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    issued_by_name: Mapped[str] = mapped_column(String(50), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
