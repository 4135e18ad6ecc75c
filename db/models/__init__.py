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
from db.models.accounts import AuditEvent, Setting, User, UserSession  # noqa: F401
from db.models.cases import Case, CaseEvent, Counter, Dispatch, DutyShift, FollowUp, Party  # noqa: F401
from db.models.checkin import CheckinLink  # noqa: F401
from db.models.api import ApiCall, ApiKey  # noqa: F401
from db.models.agreements import AgreementTerm, JudicialConfirmation, MediationSession  # noqa: F401
from db.models.codes import DisputeCode, OnlineRequest, VideoLink  # noqa: F401
from db.models.roster import Department, Rotation  # noqa: F401
from db.models.assessment import (  # noqa: F401
    AssessmentResult, AssessmentRun, AwardEntry, CaseDayMix, CaseDayStat, CaseMonthMix, CaseMonthStat, PoliceCallTotal)
from db.models.taskforce import ActionItem, Bulletin, Instrument, Meeting, instrument_case, meeting_case  # noqa: F401

__all__ = ["Base"]
