"""All models, imported so Base.metadata is complete (Alembic and tests rely on it)."""
from db.base import Base
from db.models.org import (  # noqa: F401
    DisputeCategory,
    GovernanceCentre,
    Grid,
    MediationRoom,
    Mediator,
    PoliceStation,
    Township,
    Village,
)
from db.models.accounts import AuditEvent, Setting, User  # noqa: F401
from db.models.cases import Case, CaseEvent, Counter, Dispatch, DutyShift, FollowUp, Party  # noqa: F401

__all__ = ["Base"]
