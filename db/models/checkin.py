"""Check-in links (签到链接): one personal link per dispatched person, the link being the credential.

The raw token is shown once, to the staff member who issues it; the table keeps only its SHA-256
(like login sessions). A link works while it is not revoked, younger than 24 hours, and its case
is still open at the level it was issued for (services.cases.checkin).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import UTCDateTime


class CheckinLink(Base):
    __tablename__ = "checkin_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatch.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(20))  # the case's level when issued; leaving it ends the link
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # the person's taps (server time); the arrival itself is Dispatch.arrived_at
    departed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
