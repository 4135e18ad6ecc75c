"""Who is on duty (the 24-hour duty, docs/background.md): station-room hours, the township's night duty
cadre (值班干部), the duty calendar (week view, assign, copy last week, swap, gaps), and the
departments' stays in rooms or on cases (轮驻 / 随驻).

Station rooms serve from the opening to the closing hour (setting "station_room_hours",
08:00-22:00 by default); after closing, the township's duty cadre for that night takes over.
A night is named by the local date on which it begins: 01:30 on the 6th belongs to the 5th.
Village rooms (住村) are always on: their mediators live in the village.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Case, Department, DutyShift, MediationRoom, Mediator, Rotation, Township
from db.models.org import MEDIATOR_KINDS
from db.models.roster import ROTATION_MODES
from services import audit, clock, settings
from services.cases import ladder
from services.errors import ConcurrentEdit, NotFound, PermissionDenied, ValidationError
from services.roles import Actor, may, require
from services.validation import mask_phone

WEEKDAYS = "一二三四五六日"
GAP_DAYS = 14


# ------------------------------------------------------------------ hours and nights

def station_hours(session: Session) -> tuple[int, int]:
    h = settings.get(session, "station_room_hours")
    return int(h["open"]), int(h["close"])


def closed_at(at: dt.datetime, hours: tuple[int, int]) -> bool:
    """True when a station room with these (open, close) hours is closed at `at` (local time)."""
    open_h, close_h = hours
    return not (open_h <= clock.local(at).hour < close_h)


def is_after_hours(session: Session, at: dt.datetime) -> bool:
    """True when a station room is closed at `at` (local time), e.g. 22:00-08:00."""
    return closed_at(at, station_hours(session))


def night_over(session: Session, night: dt.date) -> bool:
    """The night that began on `night` has ended: the station rooms opened the next morning."""
    open_h, _ = station_hours(session)
    nxt = night + dt.timedelta(days=1)
    return clock.now() >= clock.local_dt(nxt.year, nxt.month, nxt.day, open_h)


def _night_ended(session: Session) -> str:
    return f"夜值班已结束（次日 {station_hours(session)[0]}:00 交班）"


def night_of(session: Session, at: dt.datetime) -> dt.date:
    """The local date on which the night containing `at` began (01:30 belongs to yesterday's night)."""
    return night_began(at, station_hours(session)[0])


def night_began(at: dt.datetime, open_h: int) -> dt.date:
    t = clock.local(at)
    return t.date() - dt.timedelta(days=1) if t.hour < open_h else t.date()


def active_on(day: dt.date):
    """SQL condition: the person is active and within their active dates on `day`."""
    return and_(Mediator.active.is_(True),
                or_(Mediator.active_from.is_(None), Mediator.active_from <= day),
                or_(Mediator.active_to.is_(None), Mediator.active_to >= day))


def person_active_on(person: Mediator | None, day: dt.date) -> bool:
    return (person is not None and person.active
            and (person.active_from is None or person.active_from <= day)
            and (person.active_to is None or person.active_to >= day))


def duty_cadre_for(session: Session, township_id: int, at: dt.datetime) -> Mediator | None:
    """The cadre on duty for the township at `at` if it is after hours and one is rostered."""
    if not is_after_hours(session, at):
        return None
    night = night_of(session, at)
    shift = session.scalar(select(DutyShift).where(DutyShift.township_id == township_id,
                                                   DutyShift.duty_date == night))
    if shift is None:
        return None
    person = session.get(Mediator, shift.mediator_id)
    return person if person_active_on(person, night) else None


def _phone(role: str | None, phone: str) -> str:
    return phone if role and may(role, "roster.view_phone") else mask_phone(phone)


# ------------------------------------------------------------------ the calendar

@dataclass
class Night:
    date: dt.date
    mediator_id: int | None
    name: str
    phone: str
    gap: bool
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.date:%m-%d} 周{WEEKDAYS[self.date.weekday()]}"


@dataclass
class WeekView:
    township_id: int
    township_name: str
    week_start: dt.date
    open_hour: int
    close_hour: int
    nights: list[Night]

    @property
    def hours(self) -> str:
        return f"驻所调解室 {self.open_hour:02d}:00–{self.close_hour:02d}:00 坐班，其余时段由值班干部接手"


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _township(session: Session, township_id: int | None) -> Township:
    t = session.get(Township, township_id) if township_id else None
    if t is None:
        raise NotFound("乡镇（街道）不存在。")
    return t


def _shifts(session: Session, township_id: int, first: dt.date, last: dt.date) -> dict[dt.date, tuple]:
    rows = session.execute(
        select(DutyShift.duty_date, DutyShift.mediator_id, DutyShift.note, Mediator)
        .join(Mediator, Mediator.id == DutyShift.mediator_id)
        .where(DutyShift.township_id == township_id, DutyShift.duty_date.between(first, last))).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def week_view(session: Session, township_id: int, week_start: dt.date, viewer_role: str | None = None) -> WeekView:
    """Seven nights from `week_start` with the rostered cadre; a night with nobody (or with a
    deactivated cadre) is a gap."""
    t = _township(session, township_id)
    open_h, close_h = station_hours(session)
    shifts = _shifts(session, t.id, week_start, week_start + dt.timedelta(days=6))
    nights = []
    for i in range(7):
        d = week_start + dt.timedelta(days=i)
        if d in shifts:
            mid, note, person = shifts[d]
            ok = person_active_on(person, d)
            nights.append(Night(d, mid, person.name + ("" if ok else "（已停用）"), _phone(viewer_role, person.phone),
                                not ok, note))
        else:
            nights.append(Night(d, None, "", "", True))
    return WeekView(t.id, t.name, week_start, open_h, close_h, nights)


def duty_cadres(session: Session, township_id: int, include_inactive: bool = False) -> list[Mediator]:
    """The township's duty cadres (值班干部), for the assign picker."""
    q = select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id == township_id)
    if not include_inactive:
        q = q.where(active_on(clock.today()))
    return list(session.scalars(q.order_by(Mediator.code)))


def _check_scope(actor: Actor, township_id: int) -> None:
    if actor.township_id is not None and actor.township_id != township_id:
        raise PermissionDenied("您只能安排本乡镇（街道）的值班。")


def _check_cadre(session: Session, township_id: int, mediator_id: int | None, day: dt.date) -> Mediator:
    person = session.get(Mediator, mediator_id) if mediator_id else None
    if person is None:
        raise ValidationError({"mediator_id": "请选择值班干部。"})
    if person.kind != "duty_cadre" or person.township_id != township_id:
        raise ValidationError({"mediator_id": "只能安排本乡镇（街道）的值班干部。"})
    if not person_active_on(person, day):
        raise ValidationError({"mediator_id": f"{person.name}已停用，不能安排值班。"})
    return person


def assign(session: Session, actor: Actor, township_id: int, duty_date: dt.date | None, mediator_id: int | None,
           note: str = "") -> DutyShift:
    """Put a cadre on a night (replacing whoever was there)."""
    require(actor, "duty.manage")
    t = _township(session, township_id)
    _check_scope(actor, t.id)
    if not isinstance(duty_date, dt.date):
        raise ValidationError({"duty_date": "请选择值班日期。"})
    if night_over(session, duty_date):
        raise ValidationError({"duty_date": f"该{_night_ended(session)}，不能再修改。"})
    person = _check_cadre(session, t.id, mediator_id, duty_date)
    shift = session.scalar(select(DutyShift).where(DutyShift.township_id == t.id, DutyShift.duty_date == duty_date))
    old = shift.mediator_id if shift else None
    if shift is None:
        shift = DutyShift(township_id=t.id, duty_date=duty_date, mediator_id=person.id, note=(note or "").strip()[:200])
        session.add(shift)
    else:
        shift.mediator_id, shift.note = person.id, (note or "").strip()[:200]
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ConcurrentEdit("该夜值班刚被他人安排，请刷新后查看。") from None
    audit.record(session, actor, "duty.assign", "duty_shift", shift.id, township=t.name,
                 date=duty_date.isoformat(), mediator_id=person.id, old_mediator_id=old)
    return shift


def unassign(session: Session, actor: Actor, township_id: int, duty_date: dt.date) -> None:
    """Remove a night's cadre (the night becomes a gap and is warned about)."""
    require(actor, "duty.manage")
    t = _township(session, township_id)
    _check_scope(actor, t.id)
    shift = session.scalar(select(DutyShift).where(DutyShift.township_id == t.id, DutyShift.duty_date == duty_date))
    if shift is None:
        raise NotFound("该夜没有排班。")
    if night_over(session, duty_date):
        raise ValidationError({"duty_date": f"该{_night_ended(session)}，不能再修改。"})
    old = shift.mediator_id
    session.delete(shift)
    session.flush()
    audit.record(session, actor, "duty.unassign", "duty_shift", None, township=t.name,
                 date=duty_date.isoformat(), old_mediator_id=old)


@dataclass
class CopyResult:
    copied: list[dt.date] = field(default_factory=list)
    skipped: list[tuple[dt.date, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"已复制 {len(self.copied)} 夜"
        if self.skipped:
            text += "；跳过 " + "，".join(f"{d:%m-%d}（{why}）" for d, why in self.skipped)
        return text


def copy_last_week(session: Session, actor: Actor, township_id: int, week_start: dt.date) -> CopyResult:
    """Fill this week's empty nights from the same weekday last week; never overwrite."""
    require(actor, "duty.manage")
    t = _township(session, township_id)
    _check_scope(actor, t.id)
    this = _shifts(session, t.id, week_start, week_start + dt.timedelta(days=6))
    last = _shifts(session, t.id, week_start - dt.timedelta(days=7), week_start - dt.timedelta(days=1))
    result = CopyResult()
    for i in range(7):
        d = week_start + dt.timedelta(days=i)
        src = last.get(d - dt.timedelta(days=7))
        if d in this:
            result.skipped.append((d, "已有排班"))
        elif night_over(session, d):
            result.skipped.append((d, "已过去"))
        elif src is None:
            result.skipped.append((d, "上周无排班"))
        elif not person_active_on(src[2], d):
            result.skipped.append((d, f"{src[2].name}已停用"))
        else:
            session.add(DutyShift(township_id=t.id, duty_date=d, mediator_id=src[0], note=src[1]))
            result.copied.append(d)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ConcurrentEdit("本周值班刚被他人修改，请刷新后重试。") from None
    audit.record(session, actor, "duty.copy_week", "township", t.id, township=t.name, week=week_start.isoformat(),
                 copied=[d.isoformat() for d in result.copied],
                 skipped=[(d.isoformat(), why) for d, why in result.skipped])
    return result


def swap(session: Session, actor: Actor, township_id: int, date_a: dt.date | None, date_b: dt.date | None) -> None:
    """Exchange the cadres of two nights (both must be rostered)."""
    require(actor, "duty.manage")
    t = _township(session, township_id)
    _check_scope(actor, t.id)
    errors = {}
    if not isinstance(date_a, dt.date):
        errors["swap_a"] = "请选择第一个日期。"
    if not isinstance(date_b, dt.date):
        errors["swap_b"] = "请选择第二个日期。"
    elif date_a == date_b:
        errors["swap_b"] = "请选择两个不同的日期。"
    if errors:
        raise ValidationError(errors)
    shifts = {s.duty_date: s for s in session.scalars(select(DutyShift).where(
        DutyShift.township_id == t.id, DutyShift.duty_date.in_([date_a, date_b])))}
    for key, d in (("swap_a", date_a), ("swap_b", date_b)):
        if d not in shifts:
            errors[key] = f"{d:%m-%d} 没有排班，请直接安排值班干部。"
        elif night_over(session, d):
            errors[key] = f"{d:%m-%d} {_night_ended(session)}，不能再调换。"
    if errors:
        raise ValidationError(errors)
    a, b = shifts[date_a], shifts[date_b]
    a.mediator_id, b.mediator_id = b.mediator_id, a.mediator_id
    session.flush()
    audit.record(session, actor, "duty.swap", "township", t.id, township=t.name,
                 nights={date_a.isoformat(): a.mediator_id, date_b.isoformat(): b.mediator_id})


@dataclass
class Gap:
    township_id: int
    township_name: str
    date: dt.date
    reason: str

    @property
    def text(self) -> str:
        return f"{self.township_name} {self.date:%Y-%m-%d}（周{WEEKDAYS[self.date.weekday()]}）夜间{self.reason}"


def gaps(session: Session, township_id: int | None = None, start: dt.date | None = None,
         days: int = GAP_DAYS) -> list[Gap]:
    """Nights without a usable cadre from tonight on (no shift, or the cadre is deactivated)."""
    start = start or night_of(session, clock.now())
    last = start + dt.timedelta(days=days - 1)
    tq = select(Township.id, Township.name).order_by(Township.code)
    if township_id is not None:
        tq = tq.where(Township.id == township_id)
    towns = session.execute(tq).all()
    sq = (select(DutyShift.township_id, DutyShift.duty_date, Mediator)
          .join(Mediator, Mediator.id == DutyShift.mediator_id).where(DutyShift.duty_date.between(start, last)))
    if township_id is not None:
        sq = sq.where(DutyShift.township_id == township_id)
    have = {(tid, d): m for tid, d, m in session.execute(sq)}
    out = []
    for tid, name in towns:
        for i in range(days):
            d = start + dt.timedelta(days=i)
            m = have.get((tid, d))
            if m is None:
                out.append(Gap(tid, name, d, "无值班干部（未排班）"))
            elif not person_active_on(m, d):
                out.append(Gap(tid, name, d, f"值班干部{m.name}已停用"))
    return out


# ------------------------------------------------------------------ who is on duty now

@dataclass
class OnDuty:
    place: str
    at: dt.datetime
    mode: str  # hours / after_hours / village
    night: dt.date | None
    people: list[dict]
    gap: bool = False
    warning: str = ""

    @property
    def mode_name(self) -> str:
        return {"hours": "驻所调解室坐班时段", "after_hours": "夜间（值班干部接手）", "village": "住村工作室（全天候）"}[self.mode]


def _person_row(m: Mediator, role: str | None, why: str) -> dict:
    return {"mediator_id": m.id, "name": m.name, "kind": m.kind, "kind_name": MEDIATOR_KINDS.get(m.kind, m.kind),
            "phone": _phone(role, m.phone), "why": why}


def station_room_of(session: Session, township_id: int) -> MediationRoom | None:
    t = _township(session, township_id)
    return session.scalar(select(MediationRoom).where(MediationRoom.kind == "station",
                                                      MediationRoom.police_station_id == t.police_station_id)
                          .order_by(MediationRoom.code))


def room_choices(session: Session, township_id: int) -> list[MediationRoom]:
    """The township's station room first, then its village rooms."""
    station = station_room_of(session, township_id)
    villages = list(session.scalars(select(MediationRoom).where(MediationRoom.kind == "village",
                                                                MediationRoom.township_id == township_id)
                                    .order_by(MediationRoom.code)))
    return ([station] if station is not None else []) + villages


def who_is_on_duty(session: Session, at: dt.datetime, township_id: int | None = None, room_id: int | None = None,
                   viewer_role: str | None = None) -> OnDuty:
    """Who takes a case at `at`: a station room during its hours → its active station mediators
    (and department people rotating there); after hours → the township's duty cadre, or a gap
    warning (never someone else); a village room → its mediators, always."""
    if room_id is not None:
        room = session.get(MediationRoom, room_id)
        if room is None:
            raise NotFound("调解室不存在。")
        township = session.get(Township, room.township_id)
    else:
        township = _township(session, township_id)
        room = station_room_of(session, township.id)
    day = clock.local(at).date()
    if room is not None and room.kind == "village":
        people = [_person_row(m, viewer_role, "住村母舅") for m in _room_people(session, room.id, "village", day)]
        people += [_person_row(m, viewer_role, "部门轮驻") for m in rotation_people(session, room.id, at)]
        warning = "" if people else f"{room.name}没有在岗母舅，请联系{township.name}综治中心。"
        return OnDuty(room.name, at, "village", None, people, not people, warning)
    place = room.name if room is not None else f"{township.name}"
    if not is_after_hours(session, at):
        people = []
        if room is not None:
            people = [_person_row(m, viewer_role, "驻所母舅") for m in _room_people(session, room.id, "station", day)]
            people += [_person_row(m, viewer_role, "部门轮驻") for m in rotation_people(session, room.id, at)]
        warning = "" if people else f"{place}当前没有在岗的驻所母舅。"
        return OnDuty(place, at, "hours", None, people, not people, warning)
    night = night_of(session, at)
    cadre = duty_cadre_for(session, township.id, at)
    if cadre is None:
        return OnDuty(place, at, "after_hours", night, [], True,
                      f"值班空档：{township.name} {night:%Y-%m-%d} 夜间没有可用的值班干部，"
                      "请立即安排值班干部，或由乡镇综治中心负责人接手。")
    return OnDuty(place, at, "after_hours", night, [_person_row(cadre, viewer_role, f"{township.name}值班干部")])


def _room_people(session: Session, room_id: int, kind: str, day: dt.date) -> list[Mediator]:
    return list(session.scalars(select(Mediator).where(Mediator.room_id == room_id, Mediator.kind == kind,
                                                       active_on(day)).order_by(Mediator.code)))


# ------------------------------------------------------------------ departments and stays (轮驻 / 随驻)

DEFAULT_DEPARTMENTS = ("司法所", "人社局", "住建局", "市场监管局", "自然资源局", "信访局")


def departments(session: Session, active_only: bool = True) -> list[Department]:
    q = select(Department).order_by(Department.sort_order, Department.id)
    if active_only:
        q = q.where(Department.active.is_(True))
    return list(session.scalars(q))


def department_people(session: Session) -> list[Mediator]:
    """Active department people (部门轮驻/随驻人员), for the stay picker."""
    return list(session.scalars(select(Mediator).where(Mediator.kind == "department", active_on(clock.today()))
                                .order_by(Mediator.department, Mediator.code)))


def add_department(session: Session, actor: Actor, name: str) -> Department:
    require(actor, "roster.manage")
    name = (name or "").strip()
    if not 2 <= len(name) <= 50:
        raise ValidationError({"dept_name": "部门名称应为 2–50 个字。"})
    if session.scalar(select(Department.id).where(Department.name == name)):
        raise ValidationError({"dept_name": f"部门“{name}”已存在。"})
    n = len(departments(session, active_only=False))
    dept = Department(name=name, sort_order=n, active=True)
    session.add(dept)
    session.flush()
    audit.record(session, actor, "department.add", "department", dept.id, name=name)
    return dept


def add_rotation(session: Session, actor: Actor, mediator_id: int | None, mode: str,
                 start_date: dt.date | None = None, end_date: dt.date | None = None,
                 room_id: int | None = None, case_id: int | None = None, note: str = "",
                 case_number: str = "") -> Rotation:
    """A department person joins a room for dates (轮驻) or one case (随驻, by id or case number)."""
    require(actor, "duty.manage")
    errors: dict[str, str] = {}
    if case_id is None and (case_number or "").strip():
        case_id = session.scalar(select(Case.id).where(Case.number == case_number.strip()))
        if case_id is None and mode == "on_demand":
            raise ValidationError({"rot_case": f"案件编号“{case_number.strip()}”不存在。"})
    person = session.get(Mediator, mediator_id) if mediator_id else None
    dept = None
    start_date = start_date or clock.today()
    if person is None:
        errors["rot_person"] = "请选择部门人员。"
    elif person.kind != "department":
        errors["rot_person"] = "只有“部门轮驻/随驻人员”可以安排轮驻或随驻。"
    else:
        dept = session.scalar(select(Department).where(Department.name == person.department))
        if dept is None:
            errors["rot_person"] = f"该人员所属部门“{person.department}”未登记。"
        elif not person_active_on(person, start_date):
            errors["rot_person"] = f"{person.name}已停用。"
    if mode not in ROTATION_MODES:
        errors["rot_mode"] = "请选择轮驻或随驻。"
    elif mode == "rotating":
        room = session.get(MediationRoom, room_id) if room_id else None
        if room is None:
            errors["rot_room"] = "请选择轮驻的调解室。"
        else:
            _check_scope(actor, room.township_id)
        if end_date is not None and end_date < start_date:
            errors["rot_end"] = "结束日期不能早于开始日期。"
        if person is not None and room is not None and not errors:
            overlap = session.scalar(select(Rotation.id).where(
                Rotation.mediator_id == person.id, Rotation.mode == "rotating",
                or_(Rotation.end_date.is_(None), Rotation.end_date >= start_date),
                Rotation.start_date <= (end_date or dt.date.max)).limit(1))
            if overlap:
                errors["rot_person"] = f"{person.name}在该期间已有轮驻安排。"
        case_id = None
    else:
        case = session.get(Case, case_id) if case_id else None
        if case is None:
            errors["rot_case"] = "请选择随驻的案件。"
        else:
            _check_scope(actor, case.township_id)
            if case.status not in ladder.statuses_in(ladder.OPEN):
                errors["rot_case"] = "案件已办结，不能再安排随驻。"
            elif person is not None and session.scalar(select(Rotation.id).where(
                    Rotation.case_id == case.id, Rotation.mediator_id == person.id).limit(1)):
                errors["rot_person"] = f"{person.name}已随驻该案件。"
        room_id, end_date = None, None
    if errors:
        raise ValidationError(errors)
    rot = Rotation(department_id=dept.id, mediator_id=person.id, mode=mode, room_id=room_id, case_id=case_id,
                   start_date=start_date, end_date=end_date, note=(note or "").strip()[:200],
                   created_by_id=actor.user_id, created_at=clock.now())
    session.add(rot)
    session.flush()
    audit.record(session, actor, "rotation.add", "rotation", rot.id, mode=mode, mediator_id=person.id,
                 department=dept.name, room_id=room_id, case_id=case_id, start=start_date.isoformat(),
                 end=end_date.isoformat() if end_date else None)
    return rot


def end_rotation(session: Session, actor: Actor, rotation_id: int, end_date: dt.date | None = None) -> Rotation:
    require(actor, "duty.manage")
    rot = session.get(Rotation, rotation_id)
    if rot is None:
        raise NotFound("轮驻/随驻记录不存在。")
    end_date = max(end_date or clock.today(), rot.start_date)
    if rot.end_date is not None and rot.end_date <= end_date:
        raise ValidationError({"rot_end": "该安排已结束。"})
    rot.end_date = end_date
    session.flush()
    audit.record(session, actor, "rotation.end", "rotation", rot.id, end=end_date.isoformat())
    return rot


def rotation_people(session: Session, room_id: int | None, at: dt.datetime) -> list[Mediator]:
    """Department people rotating (轮驻) in the room on `at`'s local date: dispatchable for its cases."""
    if not room_id:
        return []
    day = clock.local(at).date()
    ids = select(Rotation.mediator_id).where(Rotation.mode == "rotating", Rotation.room_id == room_id,
                                             Rotation.start_date <= day,
                                             or_(Rotation.end_date.is_(None), Rotation.end_date >= day))
    return list(session.scalars(select(Mediator).where(Mediator.id.in_(ids), active_on(day)).order_by(Mediator.code)))


def case_people(session: Session, case_id: int) -> list[Mediator]:
    """Department people on an on-demand stay (随驻) for this case and not ended."""
    day = clock.today()
    ids = select(Rotation.mediator_id).where(Rotation.mode == "on_demand", Rotation.case_id == case_id,
                                             or_(Rotation.end_date.is_(None), Rotation.end_date >= day))
    return list(session.scalars(select(Mediator).where(Mediator.id.in_(ids), active_on(day)).order_by(Mediator.code)))


def list_rotations(session: Session, township_id: int | None = None, current_only: bool = False,
                   limit: int = 100) -> list[dict]:
    """Stays, newest first, with department, person, room or case and a status word."""
    today = clock.today()
    q = (select(Rotation, Department.name, Mediator.name, MediationRoom.name, Case.number)
         .join(Department, Department.id == Rotation.department_id)
         .join(Mediator, Mediator.id == Rotation.mediator_id)
         .outerjoin(MediationRoom, MediationRoom.id == Rotation.room_id)
         .outerjoin(Case, Case.id == Rotation.case_id))
    if township_id is not None:
        q = q.where(or_(MediationRoom.township_id == township_id, Case.township_id == township_id))
    if current_only:
        q = q.where(Rotation.start_date <= today, or_(Rotation.end_date.is_(None), Rotation.end_date >= today))
    out = []
    for rot, dept, person, room, number in session.execute(
            q.order_by(Rotation.start_date.desc(), Rotation.id.desc()).limit(limit)):
        if rot.start_date > today:
            status = "未开始"
        elif rot.end_date is not None and rot.end_date < today:
            status = "已结束"
        else:
            status = "进行中"
        out.append({"id": rot.id, "方式": ROTATION_MODES[rot.mode], "部门": dept, "人员": person,
                    "调解室/案件": room or number or "", "开始": rot.start_date,
                    "结束": rot.end_date, "状态": status, "备注": rot.note})
    return out

