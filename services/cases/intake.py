"""Case intake (案件登记), routing (分流) and dispatch suggestions (调度建议)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import (Case, CaseEvent, Dispatch, DisputeCategory, Grid, MediationRoom, Mediator, Party,
                       PoliceStation, Township, Village)
from services import audit, clock, inputs, numbering, settings
from services.cases import case_state
from services.codes import dispute_codes
from services.roster import duty
from services.cases import ladder
from services.roster import org
from services.errors import DomainError, NotFound, ValidationError
from services.roles import Actor, require
from services.validation import normalise_id_card, normalise_mobile

SOURCES = {"110": "110 接警", "12345": "12345 热线", "grid": "网格排查", "walk_in": "来访", "self": "群众自行申报"}
DESCRIPTION_MAX = 2000
SINGLE_LINES = (("address", "发生地址", 200), ("police_incident_no", "警情编号", 40),  # field, label, most characters
                ("hotline_order_no", "工单号", 40), ("police_officer", "处警民警", 50))
COMPLEXITY = {"simple": "简单", "general": "一般", "major": "重大"}
PARTY_ROLES = {"applicant": "申请人", "respondent": "被申请人", "other": "其他"}
DUTIES = {"grid_worker": "网格员", "village": "住村母舅", "station": "驻所母舅", "duty_cadre": "值班干部",
          "city_brand": "市级品牌母舅", "lawyer": "律师", "department": "部门人员", "township": "乡镇干部"}


class DuplicateCase(DomainError):
    """The 110 incident or 12345 order is already a case; the page links to it."""

    def __init__(self, case_id: int, number: str, what: str):
        super().__init__(f"该{what}已登记为案件 {number}，请勿重复登记，可直接打开该案件。")
        self.case_id = case_id
        self.number = number


@dataclass
class PartyInput:
    name: str = ""
    role: str = "applicant"
    mobile: str = ""
    id_card: str = ""
    address: str = ""


@dataclass
class CaseInput:
    source: str = ""
    received_at: dt.datetime | None = None
    township_id: int | None = None
    village_id: int | None = None
    grid_id: int | None = None
    address: str = ""
    category_id: int | None = None
    complexity: str = "simple"
    description: str = ""
    parties: list[PartyInput] = field(default_factory=list)
    police_incident_no: str = ""
    police_officer: str = ""
    police_station_id: int | None = None
    hotline_order_no: str = ""


@dataclass
class Route:
    mode: str
    room_id: int | None
    after_hours: bool
    note: str = ""


EARLIEST_RECEIVED = dt.datetime(2000, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a typo, not a case


def validate(session: Session, data: CaseInput) -> CaseInput:
    """Check everything; raise ValidationError with one message per field. Returns normalised input."""
    e: dict[str, str] = {}
    if data.source not in SOURCES:
        e["source"] = "请选择案件来源。"
    if data.received_at is None:
        e["received_at"] = "请填写接报时间。"
    elif data.received_at.tzinfo is None:
        e["received_at"] = "接报时间缺少时区。"
    elif data.received_at > clock.now() + dt.timedelta(minutes=1):
        e["received_at"] = "接报时间不能晚于当前时间。"
    elif data.received_at < EARLIEST_RECEIVED:
        e["received_at"] = f"接报时间不能早于 {clock.local(EARLIEST_RECEIVED):%Y-%m-%d}。"
    township = session.get(Township, data.township_id) if data.township_id else None
    if township is None:
        e["township_id"] = "请选择发生地乡镇（街道）。"
    village = session.get(Village, data.village_id) if data.village_id else None
    if village is None:
        e["village_id"] = "请选择发生地村（社区）。"
    elif township is not None and village.township_id != township.id:
        e["village_id"] = "所选村（社区）不属于该乡镇（街道）。"
    if data.grid_id:
        grid = session.get(Grid, data.grid_id)
        if grid is None or (village is not None and grid.village_id != village.id):
            e["grid_id"] = "所选网格不属于该村（社区）。"
    cat = session.get(DisputeCategory, data.category_id) if data.category_id else None
    if cat is None or not cat.active:
        e["category_id"] = "请选择纠纷类别。"
    if data.complexity not in COMPLEXITY:
        e["complexity"] = "请选择复杂程度。"
    data.description = inputs.clean(data.description)
    if len(data.description) < 5:
        e["description"] = "请填写简要案情（至少 5 个字）。"
    elif len(data.description) > DESCRIPTION_MAX:
        e["description"] = inputs.too_long("案情描述", DESCRIPTION_MAX, len(data.description))
    for name, label, limit in SINGLE_LINES:
        value = inputs.clean(getattr(data, name), multiline=False)
        setattr(data, name, value)
        if len(value) > limit:
            e[name] = inputs.too_long(label, limit, len(value))
    if data.source == "110" and not data.police_incident_no:
        e["police_incident_no"] = "110 来源须填写警情编号。"
    if data.source == "12345" and not data.hotline_order_no:
        e["hotline_order_no"] = "12345 来源须填写工单号。"
    if data.police_station_id is not None and session.get(PoliceStation, data.police_station_id) is None:
        e["police_station_id"] = "处警派出所不存在。"
    parties = [p for p in data.parties
               if (p.name or "").strip() or (p.mobile or "").strip() or (p.id_card or "").strip()]
    if not parties:
        e["parties"] = "至少登记一名当事人。"
    for i, p in enumerate(parties):
        p.name = inputs.clean(p.name, multiline=False)
        if not p.name:
            e[f"party{i}.name"] = f"当事人{i + 1}：请填写姓名。"
        elif len(p.name) > 50:
            e[f"party{i}.name"] = f"当事人{i + 1}：" + inputs.too_long("姓名", 50, len(p.name))
        if p.role not in PARTY_ROLES:
            e[f"party{i}.role"] = f"当事人{i + 1}：请选择身份。"
        mobile = normalise_mobile(p.mobile)
        if mobile is None:
            e[f"party{i}.mobile"] = f"当事人{i + 1}：手机号码应为 11 位，以 13–19 开头（可带 +86）。"
        else:
            p.mobile = mobile
        if (p.id_card or "").strip():
            idn = normalise_id_card(p.id_card)
            if idn is None:
                e[f"party{i}.id_card"] = (f"当事人{i + 1}：身份证号码应为 18 位且校验位正确，"
                                          "出生日期须真实且不晚于今天。")
            else:
                p.id_card = idn
        else:
            p.id_card = ""
        p.address = inputs.clean(p.address, multiline=False)
        if len(p.address) > 200:
            e[f"party{i}.address"] = f"当事人{i + 1}：" + inputs.too_long("住址", 200, len(p.address))
    data.parties = parties
    if e:
        raise ValidationError(e)
    return data


def route_for(session: Session, township_id: int, village_id: int | None, at: dt.datetime) -> Route:
    """The place decides the mode: urban → the covering station's room; rural → the village's room."""
    township = session.get(Township, township_id)
    station_room = session.scalar(select(MediationRoom).where(
        MediationRoom.kind == "station", MediationRoom.police_station_id == township.police_station_id))
    if township.mode == "village":
        room = session.scalar(select(MediationRoom).where(MediationRoom.kind == "village",
                                                          MediationRoom.village_id == village_id))
        if room is not None:
            return Route("village", room.id, False)
        return Route("station", station_room.id if station_room else None, duty.is_after_hours(session, at),
                     "该村未设住村工作室，转驻所调解室")
    return Route("station", station_room.id if station_room else None, duty.is_after_hours(session, at))


def level_due(session: Session, level: str, entered: dt.datetime) -> dt.datetime:
    return case_state.level_due(case_state.Limits.of(session), level, entered)


def find_duplicate(session: Session, data: CaseInput) -> DuplicateCase | None:
    if data.police_incident_no:
        hit = session.execute(select(Case.id, Case.number).where(Case.police_incident_no == data.police_incident_no)).first()
        if hit:
            return DuplicateCase(hit.id, hit.number, f"110 警情（{data.police_incident_no}）")
    if data.hotline_order_no:
        hit = session.execute(select(Case.id, Case.number).where(Case.hotline_order_no == data.hotline_order_no)).first()
        if hit:
            return DuplicateCase(hit.id, hit.number, f"12345 工单（{data.hotline_order_no}）")
    return None


def register_case(session: Session, actor: Actor, data: CaseInput, override_room_id: int | None = None,
                  override_reason: str = "") -> Case:
    """Validate, route, number and save a case with its parties; append the 'register' event."""
    require(actor, ladder.RULES["register"].permission)
    data = validate(session, data)
    duplicate = find_duplicate(session, data)
    if duplicate:
        raise duplicate
    route = route_for(session, data.township_id, data.village_id, data.received_at)
    if override_room_id is not None and override_room_id != route.room_id:
        require(actor, "case.route_override")
        room = session.get(MediationRoom, override_room_id)
        if room is None:
            raise ValidationError({"override_room_id": "所选调解室不存在。"})
        if len((override_reason or "").strip()) < 2:
            raise ValidationError({"override_reason": "改变分流须填写理由。"})
        route = Route(room.kind, room.id, duty.is_after_hours(session, data.received_at) if room.kind == "station" else False,
                      f"人工改派：{override_reason.strip()}")
    now = clock.now()
    start = case_state.registered(now, case_state.Limits.of(session))
    year = clock.local(data.received_at).year
    seq = numbering.next_value(session, "case", year)
    case = Case(
        number=numbering.case_number(org.city(session).get("short", "丰"), year, seq),
        source=data.source, police_incident_no=data.police_incident_no or None,
        police_officer=data.police_officer, police_station_id=data.police_station_id,
        hotline_order_no=data.hotline_order_no or None, received_at=data.received_at,
        township_id=data.township_id, village_id=data.village_id, grid_id=data.grid_id or None,
        address=data.address, category_id=data.category_id, complexity=data.complexity,
        description=data.description, mode=route.mode, room_id=route.room_id, after_hours=route.after_hours,
        route_overridden=override_room_id is not None and route.note.startswith("人工改派"), route_note=route.note,
        **start, created_by_id=actor.user_id, created_at=now, updated_at=now,
    )
    case.parties = [Party(name=p.name, role=p.role, mobile=p.mobile, id_card=p.id_card or None, address=p.address)
                    for p in data.parties]
    try:
        with session.begin_nested():  # on a clash only this savepoint (and the new rows) is undone
            session.add(case)
            session.flush()
    except IntegrityError:
        # another clerk registered the same 110/12345 number a moment ago
        duplicate = find_duplicate(session, data)
        if duplicate:
            raise duplicate from None
        raise
    session.add(CaseEvent(case_id=case.id, at=now, user_id=actor.user_id, username=actor.username, role=actor.role,
                          action="register", to_level=start["level"], to_status=start["status"],
                          note=route.note, detail={"source": data.source, "mode": route.mode, "room_id": route.room_id}))
    dispute_codes.issue_for_case(session, case.id)  # every case gets its 解纷码 when registered
    audit.record(session, actor, "case.register", "case", case.id, route.note, label=case.number)
    session.flush()
    return case


def open_caseload(session: Session, mediator_ids: list[int]) -> dict[int, int]:
    """Open cases per person (dispatched to them or mediating at their level), one GROUP BY."""
    if not mediator_ids:
        return {}
    rows = session.execute(
        select(Dispatch.mediator_id, func.count(func.distinct(Dispatch.case_id)))
        .join(Case, Case.id == Dispatch.case_id)
        .where(Dispatch.mediator_id.in_(mediator_ids), Case.status.in_(ladder.statuses_in(ladder.OPEN)))
        .group_by(Dispatch.mediator_id)).all()
    return {mid: n for mid, n in rows}


def suggest_dispatch(session: Session, case_id: int) -> list[dict]:
    """Who to notify: the place's grid worker; the room's mediators (matching specialty first,
    then the lighter open caseload), then department people rotating (轮驻) in the room today; after closing time at a station room, the township's duty cadre.
    While a station room is closed (now, at dispatch time) its mediators carry "suggested": False."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在。")
    cat_code = session.scalar(select(DisputeCategory.code).where(DisputeCategory.id == case.category_id))
    out: list[dict] = []
    grid = session.get(Grid, case.grid_id) if case.grid_id else None
    if grid is None and case.village_id:
        grid = session.scalar(select(Grid).where(Grid.village_id == case.village_id).order_by(Grid.code))
    if grid is not None and grid.grid_worker_id:
        gw = session.get(Mediator, grid.grid_worker_id)
        if gw is not None and gw.active:
            out.append({"mediator_id": gw.id, "name": gw.name, "duty": "grid_worker",
                        "reason": f"{grid.name}网格员，{settings.phrase(session, 'arrival_minutes')}内到场"})
    cadre = None
    now = clock.now()
    closed_now = case.mode == "station" and duty.is_after_hours(session, now)  # past the room's closing hour
    if case.mode == "station" and (case.after_hours or closed_now):
        # whoever is on duty now; failing that, whoever was on duty when the after-hours call came in
        if closed_now:
            cadre = duty.duty_cadre_for(session, case.township_id, now)
        if cadre is None and case.after_hours:
            cadre = duty.duty_cadre_for(session, case.township_id, case.received_at)
        if cadre is not None:
            out.append({"mediator_id": cadre.id, "name": cadre.name, "duty": "duty_cadre",
                        "reason": f"{duty.station_hours(session)[1]:02d}:00 后由乡镇值班干部会同派出所处置"})
    if case.room_id:
        people = list(session.scalars(select(Mediator).where(
            Mediator.room_id == case.room_id, Mediator.active.is_(True), Mediator.kind.in_(("station", "village")))))
        load = open_caseload(session, [m.id for m in people])
        people.sort(key=lambda m: (cat_code not in (m.specialties or []), load.get(m.id, 0), m.code))
        for m in people:
            why = []
            if cat_code in (m.specialties or []):
                why.append("擅长该类纠纷")
            why.append(f"在办 {load.get(m.id, 0)} 件")
            off = closed_now and m.kind == "station"  # listed, but not preselected while the room is closed
            if off:
                why.insert(0, "调解室已闭室")
            out.append({"mediator_id": m.id, "name": m.name, "duty": m.kind, "reason": "，".join(why),
                        "open_cases": load.get(m.id, 0), "suggested": not off})
    out += _rotation_suggestions(session, case, now, {x["mediator_id"] for x in out})
    return out


def _rotation_suggestions(session: Session, case: Case, now, taken: set[int]) -> list[dict]:
    """Department people on a rotating stay (轮驻) in the case's room today: suggested after the
    room's own people, with their open caseload, but not preselected (they join when staff add them)."""
    people = [m for m in duty.rotation_people(session, case.room_id, now) if m.id not in taken]
    load = open_caseload(session, [m.id for m in people])
    return [{"mediator_id": m.id, "name": m.name, "duty": "department", "reason": f"今日轮驻本调解室，在办 {load.get(m.id, 0)} 件",
             "open_cases": load.get(m.id, 0), "suggested": True, "preselect": False} for m in people]


def dispatchable_people(session: Session, case_id: int) -> list[Mediator]:
    """Everyone staff may choose instead of the suggestion: active people of the case's township,
    its room, the city centre (brand mediators, lawyers) and department staff staying in the room."""
    case = session.get(Case, case_id)
    room_ids = [case.room_id] if case.room_id else []
    people = list(session.scalars(select(Mediator).where(
        Mediator.active.is_(True),
        (Mediator.township_id == case.township_id) | (Mediator.room_id.in_(room_ids)) | (Mediator.centre_id.isnot(None)),
    ).order_by(Mediator.kind, Mediator.code)))
    # department staff on a rotating (轮驻) stay in the room, or an on-demand (随驻) stay for this case
    extra = duty.rotation_people(session, case.room_id, clock.now()) + duty.case_people(session, case.id)
    return people + [m for m in extra if m not in people]
