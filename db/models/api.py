"""The intake API of the 110 and 12345 platforms (docs/api.md): their keys and their calls.

A key's raw token is shown once, to the admin who creates it; the table keeps its SHA-256 and a
short prefix for lists. The key row also carries its rate limit's fixed window (the current
minute and the requests counted in it), so every replica of the portal counts against the same
row. `api_call` remembers each accepted call by the platform's own id: UNIQUE(source, external_id)
is what makes a repeated or concurrent post answer with the same case instead of a second one.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import UTCDateTime


class ApiKey(Base):
    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))  # 110 / 12345 (services.api_keys.PLATFORMS)
    name: Mapped[str] = mapped_column(String(30))  # what the admin calls it: 市公安局 110 指挥中心
    prefix: Mapped[str] = mapped_column(String(20))  # the token's first characters, shown in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)  # a demo key: refused in production mode
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # the rate limit: the minute being counted and the requests counted in it
    window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    window_count: Mapped[int] = mapped_column(Integer, default=0)


class ApiCall(Base):
    """One call accepted from a platform, by the platform's own id (接警单号 / 工单号)."""

    __tablename__ = "api_call"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    external_id: Mapped[str] = mapped_column(String(40))
    # set in the same transaction that claims the id (services.cases.calls.accept); never committed empty
    case_id: Mapped[int | None] = mapped_column(ForeignKey("dispute_case.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # when the portal accepted it
    new_case: Mapped[bool] = mapped_column(Boolean, default=True)  # False: linked to a case the form had registered
