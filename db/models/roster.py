"""Departments and their people's stays in mediation rooms or on single cases (轮驻 / 随驻).

A department person is a `Mediator` of kind "department" whose `department` names one of
these departments. A rotation (轮驻) puts them in a room for a date range; an on-demand
stay (随驻) attaches them to one case. While active, they can be dispatched for it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.types import UTCDateTime

ROTATION_MODES = {"rotating": "轮驻", "on_demand": "随驻"}


class Department(Base):
    """职能部门: 司法所, 人社局, 住建局, 市场监管局, 自然资源局, 信访局 ..."""

    __tablename__ = "department"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Rotation(Base):
    """One stay: a department person in a room for dates (轮驻), or on one case (随驻)."""

    __tablename__ = "rotation"
    __table_args__ = (
        CheckConstraint("(room_id IS NULL) <> (case_id IS NULL)", name="one_target"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("mediator.id"), index=True)
    mode: Mapped[str] = mapped_column(String(12))  # ROTATION_MODES
    room_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_room.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # inclusive; None = until ended
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship()
    mediator = relationship("Mediator")
