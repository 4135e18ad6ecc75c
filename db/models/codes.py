"""解纷码 (dispute codes), citizens' online service requests, and logged video links.

A DisputeCode's token is the only key of the public page: random (>= 128 bits from
`secrets`), never derived from the case number. One active (not revoked) code per case,
enforced by a partial unique index on both databases.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import UTCDateTime


class DisputeCode(Base):
    __tablename__ = "dispute_code"
    __table_args__ = (
        Index("ux_dispute_code_active_case", "case_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class OnlineRequest(Base):
    """A citizen's request from the public page: 远程视频调解, 线上法律咨询, 线上司法确认, 线上开庭, 催办."""

    __tablename__ = "online_request"
    __table_args__ = (
        Index("ix_online_request_status_due", "status", "sla_due_at", "id"),
        # one pending request per case and kind: the duplicate check that parallel posts cannot beat
        Index("ux_online_request_pending_kind", "case_id", "kind", unique=True,
              sqlite_where=text("status IN ('requested', 'accepted', 'scheduled')"),
              postgresql_where=text("status IN ('requested', 'accepted', 'scheduled')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # 丰线〔2026〕000123
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # services.codes.online_services.KINDS
    mobile: Mapped[str] = mapped_column(String(11))  # normalised; personal data, never public
    note: Mapped[str] = mapped_column(String(200), default="")  # the citizen's words, staff only
    status: Mapped[str] = mapped_column(String(20))  # services.codes.online_services.STATUSES
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    sla_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when the session takes place
    participants: Mapped[list] = mapped_column(JSON, default=list)  # [{"role": "lawyer", "name": "..."}]
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")  # shown on the public page
    declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str] = mapped_column(Text, default="")  # shown on the public page
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class VideoLink(Base):
    """视频连线: a remote session, asked for by a citizen or started by the city centre."""

    __tablename__ = "video_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    initiated_by: Mapped[str] = mapped_column(String(20))  # citizen / city_centre
    case_id: Mapped[int | None] = mapped_column(ForeignKey("dispute_case.id", ondelete="SET NULL"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("online_request.id", ondelete="SET NULL"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_room.id"), index=True)
    participants: Mapped[list] = mapped_column(JSON, default=list)  # ["room", "city_centre", "lawyer"]
    purpose: Mapped[str] = mapped_column(String(20))  # guidance / consultation / mediation
    result: Mapped[str] = mapped_column(Text, default="")
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    logged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
