"""Who is on duty: station-room hours and the township's night duty cadre (值班干部)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import DutyShift, Mediator
from services import clock, settings


def station_hours(session: Session) -> tuple[int, int]:
    h = settings.get(session, "station_room_hours")
    return int(h["open"]), int(h["close"])


def is_after_hours(session: Session, at: dt.datetime) -> bool:
    """True when a station room is closed at `at` (local time), e.g. 22:00-08:00."""
    open_h, close_h = station_hours(session)
    t = clock.local(at)
    return not (open_h <= t.hour < close_h)


def night_of(session: Session, at: dt.datetime) -> dt.date:
    """The local date on which the night containing `at` began (01:30 belongs to yesterday's night)."""
    open_h, _ = station_hours(session)
    t = clock.local(at)
    return t.date() - dt.timedelta(days=1) if t.hour < open_h else t.date()


def duty_cadre_for(session: Session, township_id: int, at: dt.datetime) -> Mediator | None:
    """The cadre on duty for the township at `at` if it is after hours and one is rostered."""
    if not is_after_hours(session, at):
        return None
    shift = session.scalar(select(DutyShift).where(DutyShift.township_id == township_id,
                                                   DutyShift.duty_date == night_of(session, at)))
    if shift is None:
        return None
    person = session.get(Mediator, shift.mediator_id)
    return person if person is not None and person.active else None
