"""Citizens' online service requests (线上服务) and the staff queue that answers them.

A citizen asks from the public page (no account): 远程视频调解, 线上法律咨询, 线上司法确认
(only after 调解成功), 线上开庭 (only once guided to the courts) or 催办 (only while open).
Staff move each request along: requested → accepted → scheduled → done, or → declined from
any of the first three. A reminder may be marked done straight after accepting it (nothing to
schedule). The outcome and the decline reason are shown on the public page, so they must not
carry phone or ID numbers. SLA: answered within one working day (Saturday and Sunday skipped;
public holidays are not modelled).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Case, DisputeCode, OnlineRequest
from services import audit, clock, numbering, records
from services.cases import ladder
from services.roster import org
from services.errors import IllegalTransition, NotFound, ValidationError
from services.roles import Actor, require
from services import inputs
from services.redact import contains_personal_number

KINDS: dict[str, str] = {
    "video_mediation": "远程视频调解",
    "legal_consultation": "线上法律咨询",
    "judicial_confirmation": "线上司法确认",
    "online_hearing": "线上开庭",
    "reminder": "催办",
}
STATUSES: dict[str, str] = {
    "requested": "待受理",
    "accepted": "已受理",
    "scheduled": "已安排",
    "done": "已完成",
    "declined": "未予办理",
}
PUBLIC_STATUS: dict[str, str] = {
    "requested": "已提交，等待工作人员受理",
    "accepted": "工作人员已受理",
    "scheduled": "已安排时间",
    "done": "已办结",
    "declined": "未予办理",
}
PENDING = ("requested", "accepted", "scheduled")
PARTICIPANT_ROLES: dict[str, str] = {"mediator": "调解员", "lawyer": "律师", "judge_assistant": "法官助理"}
NOTE_MAX = 200
PUBLIC_TEXT_MAX = 300


@dataclass(frozen=True)
class CaseState:
    level: str
    status: str
    settled: bool  # has a settlement (settled, or closed after one)


def refusal(state: CaseState, kind: str) -> str | None:
    """Why this kind makes no sense for the case now (plain Chinese), or None when it may be asked."""
    if kind not in KINDS:
        return "请选择要申请的服务。"
    closed = state.status == "closed"
    if kind == "judicial_confirmation":
        if state.status == "settled" or (closed and state.settled):
            return None
        return "线上司法确认需在调解成功、达成调解协议后申请，本案目前尚未调解成功。"
    if kind == "online_hearing":
        if state.level == "court" or state.status == "litigation":
            return None
        return "线上开庭仅适用于已引导进入司法程序的案件，本案目前仍在调解阶段或已办结。"
    if kind == "reminder":
        if state.status in ladder.statuses_in(ladder.OPEN):
            return None
        return "本案已有办理结果，无需催办；如有疑问请拨打页面上的联系电话。"
    if closed:
        return "本案已办结归档，不能再申请该服务；如有新的纠纷，请拨打页面上的联系电话重新登记。"
    return None


def sla_due(requested_at: dt.datetime) -> dt.datetime:
    """One working day later: a request made at the weekend counts from Monday 00:00."""
    local = clock.local(requested_at)
    while local.weekday() >= 5:
        local = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    due = local + dt.timedelta(days=1)
    while due.weekday() >= 5:
        due += dt.timedelta(days=1)
    return due.astimezone(clock.UTC)


def request_number(session: Session, at: dt.datetime) -> str:
    year = clock.local(at).year
    value = numbering.next_value(session, "online_request", year)
    return f"{org.city(session).get('short', '丰')}线〔{year}〕{value:06d}"


def submit_public(session: Session, token: str, kind: str, mobile: str, note: str) -> OnlineRequest:
    """A citizen's request from the public page. No account: the token is the authority.

    Raises NotFound for an unknown/revoked token, ValidationError({field: message}) otherwise.
    """
    case_id = session.scalar(select(DisputeCode.case_id).where(DisputeCode.token == token,
                                                              DisputeCode.revoked_at.is_(None)))
    if case_id is None:
        raise NotFound("没有找到该解纷码")
    row = session.execute(select(Case.level, Case.status, Case.settled_at).where(Case.id == case_id)).one()
    errors: dict[str, str] = {}
    why = refusal(CaseState(row.level, row.status, row.settled_at is not None), kind)
    if why:
        errors["kind"] = why
    normalised = inputs.normalise_mobile(mobile)
    if normalised is None:
        errors["mobile"] = "请填写正确的 11 位手机号码，方便工作人员与您联系。"
    note = inputs.clean(note)
    if len(note) > NOTE_MAX:
        errors["note"] = f"说明请不超过 {NOTE_MAX} 字（现 {len(note)} 字）。"
    if errors:
        raise ValidationError(errors)
    pending = session.scalar(select(OnlineRequest.number).where(
        OnlineRequest.case_id == case_id, OnlineRequest.kind == kind, OnlineRequest.status.in_(PENDING)).limit(1))
    if pending:
        raise ValidationError({"kind": f"您已申请过“{KINDS[kind]}”（编号 {pending}），工作人员正在办理，请勿重复提交。"})
    now = clock.now()
    req = OnlineRequest(number=request_number(session, now), case_id=case_id, kind=kind, mobile=normalised,
                        note=note, status="requested", requested_at=now, sla_due_at=sla_due(now),
                        participants=[], updated_at=now)
    try:
        with session.begin_nested():  # the unique index decides when two posts race
            session.add(req)
            session.flush()
    except IntegrityError:
        pending = session.scalar(select(OnlineRequest.number).where(
            OnlineRequest.case_id == case_id, OnlineRequest.kind == kind,
            OnlineRequest.status.in_(PENDING)).limit(1)) or ""
        raise ValidationError({"kind": f"您已申请过“{KINDS[kind]}”（编号 {pending}），工作人员正在办理，请勿重复提交。"}) from None
    audit.record(session, None, "online.request", "online_request", req.id, case_id=case_id, kind=kind)
    return req


# ---------------------------------------------------------------------------- staff actions

RECORD = records.Wording("该线上服务申请不存在。", "该申请已被他人处理，请刷新后查看。")


def _load(session: Session, request_id: int, expected_status: str | None) -> OnlineRequest:
    """The request, as long as it still has the status the staff member acted on."""
    return records.load_versioned(session, OnlineRequest, request_id, expected_status, RECORD, field="status")


def _check_move(req: OnlineRequest, action: str) -> None:
    allowed = {
        "accept": ("requested",),
        "schedule": ("accepted", "scheduled"),
        "done": ("scheduled", "accepted") if req.kind == "reminder" else ("scheduled",),
        "decline": PENDING,
    }[action]
    if req.status not in allowed:
        names = {"accept": "受理", "schedule": "安排", "done": "办结", "decline": "不予办理"}
        hint = "；请先安排时间和参加人员" if action == "done" and req.status == "accepted" else ""
        raise IllegalTransition(f"该申请当前为“{STATUSES[req.status]}”，不能{names[action]}{hint}。")


def _public_text(value: str, field: str, label: str) -> str:
    """Staff text a citizen will read on the public page: cleaned, bounded, and refused when it
    holds a phone or ID number in any form (spaced, dashed, full-width, +86, landline)."""
    value = inputs.clean(value)
    if len(value) < 2:
        raise ValidationError({field: f"请填写{label}（将在解纷码页面向群众显示）。"})
    if len(value) > PUBLIC_TEXT_MAX:
        raise ValidationError({field: inputs.too_long(label, PUBLIC_TEXT_MAX, len(value))})
    if contains_personal_number(value):
        raise ValidationError({field: f"{label}会在解纷码页面公开显示，不能包含手机号码、电话号码或身份证号码"
                                      "（含带空格、横线或全角数字的写法），请删除后再保存。"})
    return value


def _save(session: Session, actor: Actor, req: OnlineRequest, action: str, **detail) -> OnlineRequest:
    req.handled_by_id = actor.user_id
    req.updated_at = clock.now()
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, f"online.{action}", "online_request", req.id, case_id=req.case_id,
                 status=req.status, **detail)
    return req


def accept(session: Session, actor: Actor, request_id: int, expected_status: str | None = None) -> OnlineRequest:
    require(actor, "online.handle")
    req = _load(session, request_id, expected_status)
    _check_move(req, "accept")
    req.status, req.accepted_at = "accepted", clock.now()
    if req.kind == "judicial_confirmation":
        _judicial_step(session, actor, req)
    return _save(session, actor, req, "accept")


def _judicial_step(session: Session, actor: Actor, req: OnlineRequest) -> None:
    """Accepting an online judicial confirmation records the case's application step (MOVES row
    judicial_apply, channel online, linked to the request), or links an application recorded on
    paper that has no request yet. A refusal of the step (e.g. past the 30 days) refuses the accept."""
    from db.models import JudicialConfirmation
    from services.cases import workflow
    current = session.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == req.case_id)
                             .order_by(JudicialConfirmation.id.desc()).limit(1))
    if current is not None and current.result is None:
        if current.online_request_id is None:
            current.online_request_id = req.id
        return
    workflow.transition(session, actor, req.case_id, "judicial_apply", None, applied_on=clock.today(),
                        court=workflow.default_court(session), channel="online", online_request_id=req.id)


def schedule(session: Session, actor: Actor, request_id: int, when: dt.datetime | None,
             participants: list[dict], expected_status: str | None = None) -> OnlineRequest:
    """Fix the time and who joins: [{"role": "mediator"|"lawyer"|"judge_assistant", "name": "..."}]."""
    require(actor, "online.handle")
    req = _load(session, request_id, expected_status)
    _check_move(req, "schedule")
    errors: dict[str, str] = {}
    if when is None or when.tzinfo is None:
        errors["when"] = "请选择安排的日期和时间。"
    elif when < clock.now() - dt.timedelta(minutes=5):
        errors["when"] = "安排的时间不能早于现在。"
    clean = []
    for p in participants or []:
        role, name = p.get("role"), inputs.clean(p.get("name"), multiline=False)
        if role not in PARTICIPANT_ROLES:
            errors["participants"] = "参加人员的身份只能是调解员、律师或法官助理。"
        elif not name or len(name) > 30:
            errors["participants"] = f"请填写参加的{PARTICIPANT_ROLES[role]}姓名（不超过 30 字）。"
        else:
            clean.append({"role": role, "name": name})
    if not clean and "participants" not in errors:
        errors["participants"] = "请至少选择一名参加人员（调解员、律师或法官助理）。"
    if errors:
        raise ValidationError(errors)
    req.status, req.scheduled_at, req.participants = "scheduled", when, clean
    if req.accepted_at is None:
        req.accepted_at = clock.now()
    return _save(session, actor, req, "schedule", at=when.isoformat(), participants=clean)


def complete(session: Session, actor: Actor, request_id: int, outcome: str,
             expected_status: str | None = None) -> OnlineRequest:
    return _end(session, actor, request_id, expected_status, "done", outcome)


def decline(session: Session, actor: Actor, request_id: int, reason: str,
            expected_status: str | None = None) -> OnlineRequest:
    return _end(session, actor, request_id, expected_status, "decline", reason)


# how a request ends: action -> (status, time column, text column, form field, what the text says)
_ENDINGS = {"done": ("done", "done_at", "outcome", "outcome", "办理结果"),
            "decline": ("declined", "declined_at", "decline_reason", "reason", "不予办理的原因")}


def _end(session: Session, actor: Actor, request_id: int, expected_status: str | None, action: str,
         text: str) -> OnlineRequest:
    """办结 or 不予办理, with the text the citizen will read on the public page."""
    require(actor, "online.handle")
    req = _load(session, request_id, expected_status)
    _check_move(req, action)
    status, at, column, field, label = _ENDINGS[action]
    setattr(req, column, _public_text(text, field, label))
    req.status = status
    setattr(req, at, clock.now())
    return _save(session, actor, req, action)


# ---------------------------------------------------------------------------- the queue

def queue(session: Session, status: str | None = None, kind: str | None = None, page: int = 0,
          page_size: int = 50) -> tuple[list[dict], int]:
    """One page of requests and the total count. status: a STATUSES code, "pending" (not finished:
    oldest SLA first) or None (all, newest first)."""
    q = select(OnlineRequest, Case.number).join(Case, Case.id == OnlineRequest.case_id)
    count = select(func.count()).select_from(OnlineRequest)
    if status == "pending":  # everything not finished yet
        q, count = q.where(OnlineRequest.status.in_(PENDING)), count.where(OnlineRequest.status.in_(PENDING))
    elif status:
        q, count = q.where(OnlineRequest.status == status), count.where(OnlineRequest.status == status)
    if kind:
        q, count = q.where(OnlineRequest.kind == kind), count.where(OnlineRequest.kind == kind)
    if status in PENDING or status == "pending":
        q = q.order_by(OnlineRequest.sla_due_at, OnlineRequest.id)
    else:
        q = q.order_by(OnlineRequest.requested_at.desc(), OnlineRequest.id.desc())
    now = clock.now()
    rows = []
    for req, case_number in session.execute(q.limit(page_size).offset(page * page_size)):
        hours = (now - req.requested_at).total_seconds() / 3600
        rows.append({
            "id": req.id, "number": req.number, "case_number": case_number, "kind": KINDS.get(req.kind, req.kind),
            "kind_code": req.kind, "status": req.status, "status_name": STATUSES.get(req.status, req.status),
            "age": f"{int(hours // 24)} 天 {int(hours % 24)} 小时" if hours >= 24 else f"{int(hours)} 小时",
            "age_hours": int(hours),  # the export's number (the words above are for the screen)
            "requested_at": clock.fmt(req.requested_at), "sla_due": clock.fmt(req.sla_due_at),
            "overdue": req.status == "requested" and now > req.sla_due_at,
            "scheduled_at": clock.fmt(req.scheduled_at),
            "participants": "、".join(f"{PARTICIPANT_ROLES.get(p.get('role'), '')}{p.get('name', '')}"
                                     for p in req.participants or []),
            "note": req.note, "outcome": req.outcome or req.decline_reason,
        })
    return rows, session.scalar(count) or 0


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(OnlineRequest.status, func.count()).group_by(OnlineRequest.status)).all()
    return {s: n for s, n in rows}


def overdue_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OnlineRequest).where(
        OnlineRequest.status == "requested", OnlineRequest.sla_due_at < clock.now())) or 0


def contact(session: Session, actor: Actor, request_id: int) -> dict:
    """The citizen's mobile and note for one request; the mobile, and any number in the note, masked
    for roles without personal access."""
    from services.roles import may
    from services.validation import mask_phone, redact_text
    req = _load(session, request_id, None)
    if may(actor.role, "case.view_personal"):
        return {"mobile": req.mobile, "note": req.note, "status": req.status, "kind": req.kind}
    return {"mobile": mask_phone(req.mobile), "note": redact_text(req.note), "status": req.status, "kind": req.kind}


def public_confirmation(session: Session, token: str, number: str) -> dict | None:
    """The confirmation a citizen reloads after posting (POST/redirect/GET): the request `number`
    made through this dispute code, with the mobile masked; None when the pair does not match."""
    from services.redact import mask_phone
    row = session.execute(
        select(OnlineRequest.number, OnlineRequest.kind, OnlineRequest.mobile)
        .join(DisputeCode, DisputeCode.case_id == OnlineRequest.case_id)
        .where(DisputeCode.token == token, DisputeCode.revoked_at.is_(None), OnlineRequest.number == number)
        .limit(1)).first()
    if row is None:
        return None
    return {"number": row.number, "kind": row.kind, "mobile": mask_phone(row.mobile)}
