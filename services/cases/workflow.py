"""The one writer of a case: transition(), for every row of the MOVES table (services.cases.ladder).

Every call checks the role, the row, the payload and the version the user saw; the state
change itself is services.cases.case_state.apply (pure, shared with the demo); this module loads and
writes. Two people acting on the same case: the second gets ConcurrentEdit.
"""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from db.models import (AgreementTerm, Case, CaseEvent, Dispatch, FollowUp, JudicialConfirmation, MediationRoom,
                       MediationSession, Mediator, Party)
from services import audit, clock
from services.cases import case_state
from services.cases import ladder
from services.errors import ConcurrentEdit, NotFound, PermissionDenied, ValidationError
from services.roles import MEDIATOR, Actor, require

SATISFACTION = ladder.SATISFACTION
FOLLOW_UP_METHODS = ladder.FOLLOW_UP_METHODS


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


STATE_FIELDS = ("mode", "level", "status", "source", "received_at", "room_id", "followed_up_at", "satisfaction",
                "settled_at", "first_notified_at", "first_arrival_at", "reopen_count",
                "agreement_effective_on", "judicial_intent", "judicial_status", "police_arrived_at",
                "police_handover_at")


def state_of(session: Session, case: Case, actor: Actor | None = None) -> dict:
    """The case as services.cases.case_state reads it (its fields and who is still on the way);
    with `actor`, also the acting mediator's kind (`actor_kind`, for the settle row's guard)."""
    state = {name: getattr(case, name) for name in STATE_FIELDS}
    state["waiting_dispatches"] = session.scalar(select(func.count()).select_from(Dispatch).where(
        Dispatch.case_id == case.id, Dispatch.arrived_at.is_(None))) or 0
    if actor is not None and actor.role == MEDIATOR and actor.mediator_id is not None:
        state["actor_kind"] = session.scalar(select(Mediator.kind).where(Mediator.id == actor.mediator_id))
    return state


def default_court(session: Session) -> str:
    """The city's basic people's court, where a joint application for judicial confirmation goes."""
    from services.roster import org
    return f"{org.city(session).get('name', '丰城市')}人民法院"


def _agreement_payload(session: Session, case: Case, action: str, payload: dict) -> None:
    """What the written agreement's rows check against the database: the case's parties, its
    terms and their deadlines, the pending application's date, the default court."""
    if action in ("settle", "party_details"):
        payload["_party_ids"] = list(session.scalars(select(Party.id).where(Party.case_id == case.id)))
    elif action == "follow_up":
        payload["_terms"] = dict(session.execute(select(AgreementTerm.id, AgreementTerm.due_on).where(
            AgreementTerm.case_id == case.id)).all())
    elif action == "judicial_result":
        payload["_applied_on"] = session.scalar(select(JudicialConfirmation.applied_on).where(
            JudicialConfirmation.case_id == case.id).order_by(JudicialConfirmation.id.desc()).limit(1))
    elif action == "judicial_apply" and not (payload.get("applicants") or "").strip():
        names = list(session.scalars(select(Party.name).where(Party.case_id == case.id).order_by(Party.id)))
        payload["applicants"] = "、".join(names) + "（共同申请）"


def _write_agreement(session: Session, actor: Actor, case: Case, extra: dict, at: dt.datetime) -> None:
    """Store the written agreement's rows of an outcome (case_state.Outcome.extra)."""
    if "terms" in extra:  # a new settlement replaces the terms of an earlier one (a reopened case)
        for old in session.scalars(select(AgreementTerm).where(AgreementTerm.case_id == case.id)):
            session.delete(old)
        session.flush()
        for t in extra["terms"]:
            session.add(AgreementTerm(case_id=case.id, **t))
    if "session" in extra:
        session.add(MediationSession(case_id=case.id, recorded_by_id=actor.user_id, recorded_at=clock.now(),
                                     **extra["session"]))
    if "application" in extra:
        session.add(JudicialConfirmation(case_id=case.id, **extra["application"]))
    if "result" in extra:
        row = session.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == case.id)
                             .order_by(JudicialConfirmation.id.desc()).limit(1))
        for name, value in extra["result"].items():
            setattr(row, name, value)
    if "performance" in extra:
        for t in session.scalars(select(AgreementTerm).where(AgreementTerm.case_id == case.id)):
            if str(t.id) in extra["performance"]:
                t.performance, t.checked_at = extra["performance"][str(t.id)], at
    if "party" in extra:
        fields = dict(extra["party"])
        party = session.get(Party, fields.pop("id"))
        for name, value in fields.items():
            setattr(party, name, value)


@concurrency_safe
def transition(session: Session, actor: Actor, case_id: int, action: str, expected_version: int | None,
               note: str = "", **payload) -> Case:
    """Apply one row of the MOVES table (services.cases.ladder) to a case: check the role, the row,
    the payload (the row's fields) and the version the user saw; write the case, its new
    dispatch/follow-up rows and a CaseEvent with its audit event, in the caller's transaction.

    Payload keys per action: see the table's `required` and `optional`; dispatch/add_dispatch
    take people=[(mediator_id, duty)]; transfer may name the next mediator_id; `at` backdates.
    """
    rule = ladder.rule(action)
    require(actor, rule.permission)
    case = load_for_update(session, actor, case_id, expected_version)
    state = state_of(session, case, actor)
    ladder.check(state, action)  # the move first: a form for a move no longer allowed says so
    payload = {**payload, "note": note}
    _agreement_payload(session, case, action, payload)
    errors: dict[str, str] = {}
    if action in ("dispatch", "add_dispatch"):
        people = payload.get("people") or []
        ids = [p[0] for p in people]
        found = {m.id: m for m in session.scalars(select(Mediator).where(Mediator.id.in_(ids)))} if ids else {}
        if any(mid not in found or not found[mid].active for mid in ids):
            errors["people"] = "所选人员不存在或已停用。"
    elif action in ("arrive", "depart", "handover"):
        d = session.get(Dispatch, payload.get("dispatch_id")) if payload.get("dispatch_id") else None
        if payload.get("dispatch_id") and (d is None or d.case_id != case.id):
            errors["dispatch_id"] = "调度记录不存在。"
        elif d is not None:
            payload["dispatch"] = {"id": d.id, "notified_at": d.notified_at, "due_at": d.due_at}
    elif action == "reroute" and payload.get("room_id") is not None:
        room = session.get(MediationRoom, payload["room_id"])
        if room is None:
            errors["room_id"] = "所选调解室不存在。"
        else:
            payload["room_kind"] = room.kind
    out = case_state.apply(state, action, payload, clock.now(), case_state.Limits.of(session), errors)
    for name, value in out.changes.items():
        setattr(case, name, value)
    for row in out.dispatches:
        session.add(Dispatch(case_id=case.id, **row))
    if out.follow_up is not None:
        session.add(FollowUp(case_id=case.id, by_user_id=actor.user_id,
                             **{**out.follow_up, "by_name": out.follow_up["by_name"] or actor.display_name
                                or actor.username}))
    if out.arrival is not None:
        session.get(Dispatch, out.arrival["dispatch_id"]).arrived_at = out.arrival["arrived_at"]
    _write_agreement(session, actor, case, out.extra, out.at or clock.now())
    _event(session, actor, case, out.rule.action, out.before, out.note, at=payload.get("at"), **out.detail)
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


# side actions: the same writer, under the names the pages call
def add_dispatch(session: Session, actor: Actor, case_id: int, expected_version: int | None,
                 people: list[tuple[int, str]], notified_at: dt.datetime | None = None) -> Case:
    """Notify more people on an open case (a department's on-demand stay, a lawyer...)."""
    return transition(session, actor, case_id, "add_dispatch", expected_version, people=people,
                      notified_at=notified_at)


def record_arrival(session: Session, actor: Actor, dispatch_id: int | None, arrived_at: dt.datetime | None,
                   expected_version: int | None = None) -> Case:
    d = session.get(Dispatch, dispatch_id) if dispatch_id is not None else None
    if dispatch_id is not None and d is None:
        raise NotFound("调度记录不存在。")
    if d is None:
        raise ValidationError({"dispatch_id": ladder.RULES["arrive"].required["dispatch_id"][1]})
    return transition(session, actor, d.case_id, "arrive", expected_version, dispatch_id=dispatch_id,
                      arrived_at=arrived_at)


def record_police(session: Session, actor: Actor, case_id: int, expected_version: int | None,
                  police_arrived_at: dt.datetime | None, handover_at: dt.datetime | None) -> Case:
    """110 cases: when the police arrived and when they handed the scene over to the mediators."""
    return transition(session, actor, case_id, "police", expected_version, police_arrived_at=police_arrived_at,
                      police_handover_at=handover_at)


def reroute(session: Session, actor: Actor, case_id: int, expected_version: int | None, room_id: int | None,
            reason: str) -> Case:
    """Staff override of the routing (驻所/住村 room) while the case is still on site."""
    return transition(session, actor, case_id, "reroute", expected_version, room_id=room_id, reason=reason)
