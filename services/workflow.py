"""The one writer of a case's level and status: transition().

Every call checks the role, the ladder (services.ladder), the payload and the version the
user saw; stamps the time; writes the case; and appends a CaseEvent, in the caller's
transaction. Two people acting on the same case: the second gets ConcurrentEdit.
"""
from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from db.models import Case, CaseEvent, Dispatch, FollowUp, MediationRoom, Mediator
from services import audit, cases, clock, ladder, settings
from services.errors import ConcurrentEdit, NotFound, PermissionDenied, ValidationError
from services.roles import MEDIATOR, Actor, require

PERMISSION = {
    "dispatch": "case.dispatch", "transfer": "case.mediate", "settle": "case.mediate",
    "terminate": "case.mediate", "litigate": "case.mediate", "follow_up": "case.follow_up",
    "close": "case.close", "reroute": "case.route_override", "add_dispatch": "case.dispatch",
    "arrive": "case.dispatch", "police": "case.dispatch",
}
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}
FOLLOW_UP_METHODS = {"phone": "电话回访", "visit": "上门回访"}


def load_for_update(session: Session, actor: Actor, case_id: int, expected_version: int | None) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件不存在。")
    if expected_version is not None and case.version != expected_version:
        raise ConcurrentEdit("该案件已被他人修改，请刷新页面后重新操作。")
    if actor.role == MEDIATOR and not in_mediator_scope(session, actor, case):
        raise PermissionDenied("该案件不在您的调解范围内。")
    return case


def in_mediator_scope(session: Session, actor: Actor, case: Case) -> bool:
    """A mediator acts on cases dispatched to them, at their level, or in their room."""
    if actor.mediator_id is None:
        return False
    if case.current_mediator_id == actor.mediator_id:
        return True
    if session.scalar(select(Dispatch.id).where(Dispatch.case_id == case.id,
                                                Dispatch.mediator_id == actor.mediator_id).limit(1)):
        return True
    room_id = session.scalar(select(Mediator.room_id).where(Mediator.id == actor.mediator_id))
    return room_id is not None and room_id == case.room_id


def _not_future(value: dt.datetime | None, field: str, label: str, errors: dict) -> None:
    if value is None:
        errors[field] = f"请填写{label}。"
    elif value > clock.now() + dt.timedelta(minutes=1):
        errors[field] = f"{label}不能晚于当前时间。"


def _event(session: Session, actor: Actor, case: Case, action: str, before: tuple[str, str], note: str = "",
           at: dt.datetime | None = None, **detail) -> None:
    session.add(CaseEvent(case_id=case.id, at=at or clock.now(), user_id=actor.user_id, username=actor.username,
                          role=actor.role, action=action, from_level=before[0], to_level=case.level,
                          from_status=before[1], to_status=case.status, note=note, detail=detail))
    changes = {label: [old, new] for label, old, new in (
        ("层级", ladder.LEVELS.get(before[0], before[0]), ladder.LEVELS.get(case.level, case.level)),
        ("状态", ladder.status_name(before[1]), ladder.status_name(case.status))) if old != new}
    audit.record(session, actor, f"case.{action}", "case", case.id, note, label=case.number, changes=changes)


def concurrency_safe(fn):
    """A version clash can surface at any flush, including autoflush before a query."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StaleDataError as exc:
            raise ConcurrentEdit("该案件已被他人修改，请刷新页面后重新操作。") from exc
    return wrapper


def followed_up_ok(case: Case) -> bool:
    return case.followed_up_at is not None and case.satisfaction in ("satisfied", "basic")


@concurrency_safe
def transition(session: Session, actor: Actor, case_id: int, action: str, expected_version: int | None,
               note: str = "", **payload) -> Case:
    """Apply one ladder move. See services.ladder for the moves; payload keys per action:

    dispatch:  people=[(mediator_id, duty)], notified_at
    transfer:  note (reason, required)
    settle:    agreement_summary (required), agreement_amount (optional, ≥ 0)
    terminate: reason_code (ladder.TERMINATION_REASONS), note (required)
    litigate:  court_name (required), note
    follow_up: method, done_at, agreement_holds, satisfaction, by_name, note
    close:     -
    """
    if action not in PERMISSION or action in ("reroute", "add_dispatch", "arrive", "police"):
        raise ValidationError(f"未知操作：{action}")
    require(actor, PERMISSION[action])
    case = load_for_update(session, actor, case_id, expected_version)
    move = ladder.check_move(case.mode, case.level, case.status, action, followed_up_ok(case))
    before = (case.level, case.status)
    now = clock.now()
    note = (note or "").strip()
    errors: dict[str, str] = {}
    detail: dict = {}

    if action == "dispatch":
        people = payload.get("people") or []
        notified_at = payload.get("notified_at") or now
        _not_future(notified_at, "notified_at", "通知时间", errors)
        if not people:
            errors["people"] = "请至少选择一名调度人员。"
        persons = {m.id: m for m in session.scalars(select(Mediator).where(Mediator.id.in_([p[0] for p in people])))}
        for mid, _duty in people:
            if mid not in persons or not persons[mid].active:
                errors["people"] = "所选人员不存在或已停用。"
        if notified_at is not None and notified_at < case.received_at:
            errors["notified_at"] = "通知时间不能早于接报时间。"
        if errors:
            raise ValidationError(errors)
        _add_dispatches(session, case, people, notified_at)
        case.current_mediator_id = next((mid for mid, d in people if d != "grid_worker"), people[0][0])
        detail["people"] = [{"mediator_id": mid, "duty": d} for mid, d in people]
    elif action == "transfer":
        if len(note) < 2:
            raise ValidationError({"note": "移送须填写调解不成功的原因。"})
        case.current_mediator_id = payload.get("mediator_id") or None
    elif action == "settle":
        summary = (payload.get("agreement_summary") or "").strip()
        if len(summary) < 2:
            errors["agreement_summary"] = "请填写调解协议要点。"
        amount = payload.get("agreement_amount")
        if amount not in (None, ""):
            try:
                amount = Decimal(str(amount)).quantize(Decimal("0.01"))
                if amount < 0 or amount > Decimal("99999999"):
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors["agreement_amount"] = "协议金额应为不小于 0 的数字（元）。"
        else:
            amount = None
        if errors:
            raise ValidationError(errors)
        case.agreement_summary = summary
        case.agreement_amount = amount
        case.settled_at = payload.get("at") or now
        case.settled_level = case.level
        case.follow_up_due_at = case.settled_at + dt.timedelta(days=int(settings.get(session, "follow_up_days")))
        case.followed_up_at = None
        case.satisfaction = None
    elif action == "terminate":
        code = payload.get("reason_code")
        if code not in ladder.TERMINATION_REASONS:
            errors["reason_code"] = "请选择终止原因。"
        if len(note) < 2:
            errors["note"] = "请填写终止说明。"
        if errors:
            raise ValidationError(errors)
        case.end_reason_code, case.end_reason, case.ended_at = code, note, payload.get("at") or now
    elif action == "litigate":
        court = (payload.get("court_name") or "").strip()
        if len(court) < 2:
            raise ValidationError({"court_name": "请填写引导诉讼的法院名称。"})
        case.court_name, case.end_reason, case.ended_at = court[:100], note, payload.get("at") or now
    elif action == "follow_up":
        move = _follow_up(session, actor, case, payload, note)
        detail["satisfaction"] = case.satisfaction
        detail["agreement_holds"] = payload.get("agreement_holds")
    elif action == "close":
        case.closed_at = payload.get("at") or now

    case.status = move.to_status
    # the case (re)enters a level when it moves up, or starts (dispatch) or restarts (reopen) mediating
    if move.to_level != before[0] or (move.to_status == "mediating" and before[1] != "mediating"):
        entered = payload.get("at") or now
        case.level = move.to_level
        case.level_entered_at = entered
        case.level_due_at = cases.level_due(session, case.level, entered)
    if case.status not in ladder.statuses_in(ladder.OPEN):
        case.level_due_at = None
    case.updated_at = now
    _event(session, actor, case, move.action, before, note, at=payload.get("at"), **detail)
    session.flush()
    return case


def follow_up_outcome(satisfaction: str | None, agreement_holds: bool | None, reopened: bool) -> str:
    """The follow-up in the words of the answer, e.g. "基本满意，协议未履行：案件重新调处"."""
    said = [SATISFACTION.get(satisfaction or "", "")]
    if agreement_holds is not None:
        said.append("协议已履行" if agreement_holds else "协议未履行")
    answer = "，".join(x for x in said if x)
    if reopened:
        return f"{answer}：案件重新进入调处" if answer else "案件重新进入调处"
    return answer


def _follow_up(session: Session, actor: Actor, case: Case, payload: dict, note: str) -> ladder.Move:
    errors: dict[str, str] = {}
    method = payload.get("method")
    if method not in FOLLOW_UP_METHODS:
        errors["method"] = "请选择回访方式。"
    satisfaction = payload.get("satisfaction")
    if satisfaction not in SATISFACTION:
        errors["satisfaction"] = "请选择满意度。"
    holds = payload.get("agreement_holds")
    if holds not in (True, False):
        errors["agreement_holds"] = "请选择协议是否履行。"
    done_at = payload.get("done_at") or clock.now()
    _not_future(done_at, "done_at", "回访时间", errors)
    if case.settled_at and done_at < case.settled_at:
        errors["done_at"] = "回访时间不能早于调解成功时间。"
    reopen = satisfaction == "dissatisfied" or holds is False
    if reopen and len(note) < 2:
        errors["note"] = "不满意或协议未履行时，须填写情况说明。"
    if errors:
        raise ValidationError(errors)
    by_name = (payload.get("by_name") or actor.display_name or actor.username).strip()[:50]
    session.add(FollowUp(case_id=case.id, done_at=done_at, method=method, by_user_id=actor.user_id, by_name=by_name,
                         agreement_holds=bool(holds), satisfaction=satisfaction, note=note))
    case.followed_up_at = done_at
    case.satisfaction = satisfaction
    if reopen:
        case.reopen_count += 1
        case.settled_at = None
        case.settled_level = None
        case.follow_up_due_at = None
        return ladder.Move("reopen", case.level, "mediating")
    return ladder.Move("follow_up", case.level, "settled")


def _add_dispatches(session: Session, case: Case, people: list[tuple[int, str]], notified_at: dt.datetime) -> None:
    minutes = int(settings.get(session, "arrival_minutes"))
    due = notified_at + dt.timedelta(minutes=minutes)
    for mid, duty_code in people:
        session.add(Dispatch(case_id=case.id, mediator_id=mid, duty=duty_code, notified_at=notified_at, due_at=due))
    if case.first_notified_at is None or notified_at < case.first_notified_at:
        case.first_notified_at = notified_at
        case.arrival_due_at = due


@concurrency_safe
def add_dispatch(session: Session, actor: Actor, case_id: int, expected_version: int | None,
                 people: list[tuple[int, str]], notified_at: dt.datetime | None = None) -> Case:
    """Notify more people on an open case (a department's on-demand stay, a lawyer...)."""
    require(actor, "case.dispatch")
    case = load_for_update(session, actor, case_id, expected_version)
    if case.status not in ladder.statuses_in(ladder.OPEN):
        raise ValidationError("案件已办结，不能再增派人员。")
    notified_at = notified_at or clock.now()
    errors: dict[str, str] = {}
    _not_future(notified_at, "notified_at", "通知时间", errors)
    if not people:
        errors["people"] = "请至少选择一名人员。"
    if errors:
        raise ValidationError(errors)
    _add_dispatches(session, case, people, notified_at)
    case.updated_at = clock.now()
    _event(session, actor, case, "add_dispatch", (case.level, case.status),
           people=[{"mediator_id": m, "duty": d} for m, d in people])
    session.flush()
    return case


@concurrency_safe
def record_arrival(session: Session, actor: Actor, dispatch_id: int, arrived_at: dt.datetime,
                   expected_version: int | None = None) -> Case:
    require(actor, "case.dispatch")
    d = session.get(Dispatch, dispatch_id)
    if d is None:
        raise NotFound("调度记录不存在。")
    case = load_for_update(session, actor, d.case_id, expected_version)
    errors: dict[str, str] = {}
    _not_future(arrived_at, "arrived_at", "到场时间", errors)
    if arrived_at is not None and arrived_at < d.notified_at:
        errors["arrived_at"] = "到场时间不能早于通知时间。"
    if errors:
        raise ValidationError(errors)
    d.arrived_at = arrived_at
    if case.first_arrival_at is None or arrived_at < case.first_arrival_at:
        case.first_arrival_at = arrived_at
    case.updated_at = clock.now()
    late = arrived_at > d.due_at
    _event(session, actor, case, "arrive", (case.level, case.status),
           f"{'超时' if late else '按时'}到场（{clock.fmt(arrived_at)}）", dispatch_id=d.id, late=late)
    session.flush()
    return case


@concurrency_safe
def record_police(session: Session, actor: Actor, case_id: int, expected_version: int | None,
                  police_arrived_at: dt.datetime, handover_at: dt.datetime) -> Case:
    """110 cases: when the police arrived and when they handed the scene over to the mediators."""
    require(actor, "case.dispatch")
    case = load_for_update(session, actor, case_id, expected_version)
    errors: dict[str, str] = {}
    _not_future(police_arrived_at, "police_arrived_at", "民警到场时间", errors)
    _not_future(handover_at, "police_handover_at", "移交时间", errors)
    if police_arrived_at and police_arrived_at < case.received_at:
        errors["police_arrived_at"] = "民警到场时间不能早于接报时间。"
    if police_arrived_at and handover_at and handover_at < police_arrived_at:
        errors["police_handover_at"] = "移交时间不能早于民警到场时间。"
    if errors:
        raise ValidationError(errors)
    case.police_arrived_at, case.police_handover_at = police_arrived_at, handover_at
    case.updated_at = clock.now()
    minutes = int((handover_at - case.received_at).total_seconds() // 60)
    _event(session, actor, case, "police", (case.level, case.status), f"民警处警用时 {minutes} 分钟")
    session.flush()
    return case


@concurrency_safe
def reroute(session: Session, actor: Actor, case_id: int, expected_version: int | None, room_id: int,
            reason: str) -> Case:
    """Staff override of the routing (驻所/住村 room) while the case is still on site."""
    require(actor, "case.route_override")
    case = load_for_update(session, actor, case_id, expected_version)
    if case.level != "onsite" or case.status not in ladder.statuses_in(ladder.OPEN):
        raise ValidationError("只有处于现场调解阶段的案件可以改派调解室。")
    room = session.get(MediationRoom, room_id)
    if room is None:
        raise ValidationError({"room_id": "所选调解室不存在。"})
    if len((reason or "").strip()) < 2:
        raise ValidationError({"reason": "改派须填写理由。"})
    old = case.room_id
    case.room_id, case.mode = room.id, room.kind
    case.route_overridden, case.route_note = True, f"人工改派：{reason.strip()}"[:200]
    case.updated_at = clock.now()
    _event(session, actor, case, "reroute", (case.level, case.status), reason.strip(), old_room_id=old,
           new_room_id=room.id)
    session.flush()
    return case
