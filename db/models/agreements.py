"""The paper end of a settled case: the agreement's terms, the mediation sessions (人民调解记录) and
the judicial confirmation (司法确认). Written only by services.cases.workflow.transition() (the
MOVES rows settle, record_session, judicial_apply, judicial_result, follow_up)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import UTCDateTime


class AgreementTerm(Base):
    """One obligation of the mediation agreement: who owes what, how and by when, and whether the
    follow-up found it performed (services.cases.agreements.PERFORMANCE)."""

    __tablename__ = "agreement_term"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... as in the agreement
    obligation: Mapped[str] = mapped_column(Text)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id", ondelete="SET NULL"), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    manner: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    performance: Mapped[str | None] = mapped_column(String(20))  # latest follow-up's answer
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MediationSession(Base):
    """人民调解记录: one mediation session on a case."""

    __tablename__ = "mediation_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    held_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    mediators: Mapped[str] = mapped_column(String(200), default="")  # names of the mediators present
    participants: Mapped[str] = mapped_column(String(300), default="")
    process: Mapped[str] = mapped_column(Text)  # 调解经过
    result: Mapped[str] = mapped_column(Text)  # what was agreed / the result
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class JudicialConfirmation(Base):
    """司法确认: the joint application to the court and the court's result. The case's
    `judicial_status` says where it stands (applied / confirmed / rejected)."""

    __tablename__ = "judicial_confirmation"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    applied_on: Mapped[dt.date] = mapped_column(Date)
    court: Mapped[str] = mapped_column(String(100))
    applicants: Mapped[str] = mapped_column(String(300), default="")  # the parties, jointly
    channel: Mapped[str] = mapped_column(String(10))  # online (dispute code) / paper
    online_request_id: Mapped[int | None] = mapped_column(ForeignKey("online_request.id", ondelete="SET NULL"),
                                                          index=True)
    result: Mapped[str | None] = mapped_column(String(20))  # confirmed / rejected
    result_on: Mapped[dt.date | None] = mapped_column(Date)
    ruling_no: Mapped[str] = mapped_column(String(60), default="")  # 民事裁定书 number
    reject_reason: Mapped[str] = mapped_column(Text, default="")
