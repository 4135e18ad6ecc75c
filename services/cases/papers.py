"""Plain data for a settled case's paperwork (调解协议书, 司法确认申请书, 人民调解记录, the dossier):
case_papers(). The documents themselves are made by services.documents from this dict.

FULL personal data: only roles with case.view_personal may call it (a mediator only for a case in
their scope, as everywhere); the caller must not cache it across users.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (AgreementTerm, Case, CaseEvent, Dispatch, DisputeCategory, FollowUp, GovernanceCentre,
                       JudicialConfirmation, MediationRoom, MediationSession, Mediator, Party, Township, Village)
from services.cases import agreements, intake, ladder, workflow
from services import personal_data
from services.roles import Actor


def _committee(session: Session, c: Case) -> str:
    """Who settled it: the room for a settlement on site or in a room, else the centre of the level."""
    level = c.settled_level or c.level
    if level in ("township", "city"):
        q = select(GovernanceCentre.name).where(GovernanceCentre.level == level)
        if level == "township":
            q = q.where(GovernanceCentre.township_id == c.township_id)
        name = session.scalar(q.limit(1))
        if name:
            return name
        return ladder.level_name(c.mode, level)
    return session.scalar(select(MediationRoom.name).where(MediationRoom.id == c.room_id)) or ""


def case_papers(session: Session, actor: Actor, case_id: int) -> dict:
    """Everything the written documents of a case need, as plain data (no masking).

    Raises PermissionDenied for roles without case.view_personal (and for a mediator outside the
    case), NotFound for an unknown case. Dates are datetime.date, times aware UTC datetimes
    (format them with services.clock), amounts Decimal or None; text as typed. Keys:

    - number (str, 丰-2023-000123), category (str), category_code (str), complexity (str, 简易/一般/重大)
    - received_at, settled_at, closed_at, ended_at (datetime or None)
    - township, village (str, "" if none), address (str, the incident address)
    - mode (str, 驻所/住村), settled_level (str, level name, "" if never settled), status (str, status name)
    - committee (str): the mediation room or centre that settled it (the 调解委员会 of the documents)
    - mediators (list[str]): names of everyone dispatched and the current mediator, in order, unique
    - parties (list[dict]): id, name, role (申请人/被申请人/其他当事人), sex (男/女/""), ethnicity,
      birth_date (date or None), occupation, mobile, id_card ("" if none), address
    - facts (str): the description; disputed_matters (str): the category and the description's first sentence
    - agreement_summary (str), agreement_amount (Decimal or None)
    - terms (list[dict]): position (1..n), obligation, party_id, party_name, amount (Decimal or None),
      manner, due_on (date), performance (performed/pending/refused or None),
      performance_name (已履行/尚未履行/拒绝履行/"")
    - copies (int or None), effective_on (date or None), judicial_intent (bool)
    - sessions (list[dict], oldest first): held_at (datetime), place, mediators, participants,
      process (调解经过), result
    - confirmation (dict or None, the latest application): applied_on (date), court, applicants,
      channel (online/paper), channel_name, online_request_id (int or None), result
      (confirmed/rejected/None), result_name (确认有效/不予确认/待裁定), result_on (date or None),
      ruling_no (民事裁定书 number or ""), reject_reason
    - follow_ups (list[dict], oldest first): method (电话回访/上门回访), done_at (datetime), by (str),
      satisfaction (满意/基本满意/不满意), agreement_holds (bool), note, terms (list of
      {position, obligation, performance, performance_name} for the terms answered at that follow-up)
    - outcome (str): the stage in words (调解成功 / 已闭环 / 已终止 / 已引导诉讼 ...), court_name (str,
      for a case guided to court), end_reason (str)
    - events (list[dict], oldest first): at (datetime), action (code), action_name (str), who (str),
      note (str)
    """
    c = personal_data._case(session, actor, case_id)  # case.view_personal, a mediator's scope

    def name_of(model, id_):
        return session.scalar(select(model.name).where(model.id == id_)) or "" if id_ else ""

    parties = list(session.scalars(select(Party).where(Party.case_id == c.id).order_by(Party.id)))
    party_names = {p.id: p.name for p in parties}
    dispatched = list(session.scalars(select(Mediator.name).join(Dispatch, Dispatch.mediator_id == Mediator.id)
                                      .where(Dispatch.case_id == c.id).order_by(Dispatch.id)))
    if c.current_mediator_id:
        dispatched.append(name_of(Mediator, c.current_mediator_id))
    terms = list(session.scalars(select(AgreementTerm).where(AgreementTerm.case_id == c.id)
                                 .order_by(AgreementTerm.position)))
    by_id = {str(t.id): t for t in terms}
    conf = session.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == c.id)
                          .order_by(JudicialConfirmation.id.desc()).limit(1))
    cat = session.get(DisputeCategory, c.category_id)
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)))
    from services.cases.case_queries import _event_name, _user_names, person_name
    names = _user_names(session, events)
    return {
        "number": c.number, "category": cat.name if cat else "", "category_code": cat.code if cat else "",
        "complexity": intake.COMPLEXITY.get(c.complexity, c.complexity),
        "received_at": c.received_at, "settled_at": c.settled_at, "closed_at": c.closed_at, "ended_at": c.ended_at,
        "township": name_of(Township, c.township_id), "village": name_of(Village, c.village_id),
        "address": c.address, "mode": ladder.MODE_NAMES.get(c.mode, c.mode),
        "settled_level": ladder.level_name(c.mode, c.settled_level) if c.settled_level else "",
        "status": ladder.status_name(c.status), "committee": _committee(session, c),
        "mediators": list(dict.fromkeys(n for n in dispatched if n)),
        "parties": [{"id": p.id, "name": p.name, "role": intake.PARTY_ROLES.get(p.role, p.role),
                     "sex": agreements.SEXES.get(p.sex or "", ""), "ethnicity": p.ethnicity or "",
                     "birth_date": p.birth_date, "occupation": p.occupation or "", "mobile": p.mobile,
                     "id_card": p.id_card or "", "address": p.address} for p in parties],
        "facts": c.description,
        "disputed_matters": f"{cat.name if cat else ''}：{c.description.split('。')[0]}",
        "agreement_summary": c.agreement_summary, "agreement_amount": c.agreement_amount,
        "terms": [{"position": t.position, "obligation": t.obligation, "party_id": t.party_id,
                   "party_name": party_names.get(t.party_id, ""), "amount": t.amount, "manner": t.manner,
                   "due_on": t.due_on, "performance": t.performance,
                   "performance_name": agreements.PERFORMANCE.get(t.performance or "", "")} for t in terms],
        "copies": c.agreement_copies, "effective_on": c.agreement_effective_on,
        "judicial_intent": bool(c.judicial_intent),
        "sessions": [{"held_at": m.held_at, "place": m.place, "mediators": m.mediators,
                      "participants": m.participants, "process": m.process, "result": m.result}
                     for m in session.scalars(select(MediationSession).where(MediationSession.case_id == c.id)
                                              .order_by(MediationSession.held_at, MediationSession.id))],
        "confirmation": None if conf is None else {
            "applied_on": conf.applied_on, "court": conf.court, "applicants": conf.applicants,
            "channel": conf.channel, "channel_name": agreements.CHANNELS.get(conf.channel, conf.channel),
            "online_request_id": conf.online_request_id, "result": conf.result,
            "result_name": agreements.RESULTS.get(conf.result or "", "待裁定"), "result_on": conf.result_on,
            "ruling_no": conf.ruling_no, "reject_reason": conf.reject_reason},
        "follow_ups": [{"method": workflow.FOLLOW_UP_METHODS.get(f.method, f.method), "done_at": f.done_at,
                        "by": f.by_name, "satisfaction": workflow.SATISFACTION.get(f.satisfaction, f.satisfaction),
                        "agreement_holds": f.agreement_holds, "note": f.note,
                        "terms": [{"position": by_id[k].position, "obligation": by_id[k].obligation,
                                   "performance": v, "performance_name": agreements.PERFORMANCE.get(v, "")}
                                  for k, v in (f.term_performance or {}).items() if k in by_id]}
                       for f in session.scalars(select(FollowUp).where(FollowUp.case_id == c.id)
                                                .order_by(FollowUp.id))],
        "outcome": ladder.stage_label(c.mode, c.level, c.status), "court_name": c.court_name,
        "end_reason": c.end_reason,
        "events": [{"at": e.at, "action": e.action, "action_name": _event_name(e),
                    "who": person_name(names, e.user_id, e.username), "note": e.note} for e in events],
    }
