"""The one state change of a case: apply(state, action, payload, now, limits) -> Outcome.

Pure: no database, no session, no clock. services.cases.workflow.transition() loads the case, checks
the role and what needs the database (the people and rooms exist), calls apply() and writes the
outcome; the demo (services.demo.cases) calls the same function on its rows, so the demo cannot
drift from the rules. The rules themselves (which action from where, to where, with which
fields) are the MOVES table in services.cases.ladder.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from services import clock
from services.cases import agreements, ladder
from services.errors import ValidationError

DEFAULT_LEVEL_DAYS = 7


@dataclass(frozen=True)
class Limits:
    """The time limits a move stamps (系统设置)."""
    arrival_minutes: int
    follow_up_days: int
    level_days: Mapping[str, int]

    @classmethod
    def of(cls, session) -> Limits:
        from services import settings
        return cls(int(settings.get(session, "arrival_minutes")), int(settings.get(session, "follow_up_days")),
                   dict(settings.get(session, "level_time_limits")))


def level_due(limits: Limits, level: str, entered: dt.datetime) -> dt.datetime:
    """When a level's time limit runs out: N days after entering, or the same day's end for 0."""
    days = int(limits.level_days.get(level, DEFAULT_LEVEL_DAYS))
    if days == 0:
        local = clock.local(entered)
        return local.replace(hour=23, minute=59, second=59, microsecond=0).astimezone(clock.UTC)
    return entered + dt.timedelta(days=days)


def registered(at: dt.datetime, limits: Limits) -> dict:
    """The fields of a case just registered (the table's "register" row)."""
    r = ladder.RULES["register"]
    level = r.from_levels[0]
    return {"level": level, "status": r.to_status, "level_entered_at": at, "level_due_at": level_due(limits, level, at),
            "reopen_count": 0}


@dataclass
class Outcome:
    rule: ladder.Rule  # the row applied (reopen, when a follow-up sends the case back)
    changes: dict  # case field -> new value
    before: tuple[str, str]  # (level, status)
    after: tuple[str, str]
    note: str = ""
    detail: dict = field(default_factory=dict)  # the event's detail
    dispatches: list[dict] = field(default_factory=list)  # new dispatch rows
    follow_up: dict | None = None  # a new follow-up row
    arrival: dict | None = None  # {"dispatch_id", "arrived_at", "late"} for an arrival
    at: dt.datetime | None = None  # when it happened (the event's time)
    # the written agreement's rows (services.cases.agreements): "terms" (settle), "session"
    # (record_session), "application" / "result" (judicial_apply / judicial_result), "performance"
    # (follow_up: {term id: answer}), "party" (party_details: the party's new fields)
    extra: dict = field(default_factory=dict)


def police_minutes(arrived: dt.datetime | None, handover: dt.datetime | None) -> int | None:
    """Police time on one incident: from the officers' arrival to their hand-over (never from the
    call's receipt: the minutes before the police arrived are not time spent on the scene)."""
    if arrived is None or handover is None:
        return None
    return int((handover - arrived).total_seconds() // 60)


def _text(value) -> str:
    return (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value))


def _missing(rule: ladder.Rule, payload: Mapping, note: str) -> dict[str, str]:
    errors = {}
    for name, (_label, message) in rule.required.items():
        value = note if name == "note" else payload.get(name)
        if value is None or value == [] or (isinstance(value, str) and len(value.strip()) < 2):
            errors[name] = message
    return errors


def _not_future(value, name: str, label: str, now: dt.datetime, errors: dict) -> None:
    if value is None:
        errors.setdefault(name, f"请填写{label}。")
    elif value > now + dt.timedelta(minutes=1):
        errors.setdefault(name, f"{label}不能晚于当前时间。")


def apply(state: Mapping, action: str, payload: Mapping, now: dt.datetime, limits: Limits,
          errors: dict[str, str] | None = None) -> Outcome:
    """Check the move against MOVES and the payload against its fields; return what changes.

    `state`: the case's fields (see ladder.refusal). `payload`: the action's fields (see the
    table's `required`/`optional`), `note`, and `at` (when it happened, default `now`).
    `errors`: field errors found by the caller (e.g. a chosen person who does not exist),
    reported together with these. Raises IllegalTransition or ValidationError (Chinese)."""
    rule = ladder.check(state, action)
    note = _text(payload.get("note"))
    errors = dict(errors or {})
    for name, message in _missing(rule, payload, note).items():
        errors.setdefault(name, message)
    at = payload.get("at") or now
    before = (state["level"], state["status"])
    ch: dict = {}
    out = Outcome(rule, ch, before, before, note)

    if action in ("dispatch", "add_dispatch"):
        notified = payload.get("notified_at") or now
        _not_future(notified, "notified_at", "通知时间", now, errors)
        if notified < state["received_at"]:
            errors.setdefault("notified_at", "通知时间不能早于接报时间。")
        people = list(payload.get("people") or [])
        if errors:
            raise ValidationError(errors)
        due = notified + dt.timedelta(minutes=limits.arrival_minutes)
        out.dispatches = [{"mediator_id": mid, "duty": duty, "notified_at": notified, "due_at": due}
                          for mid, duty in people]
        first = state.get("first_notified_at")
        if first is None or notified < first:
            ch["first_notified_at"], ch["arrival_due_at"] = notified, due
        if action == "dispatch":
            ch["current_mediator_id"] = next((mid for mid, d in people if d != "grid_worker"), people[0][0])
        out.detail["people"] = [{"mediator_id": mid, "duty": d} for mid, d in people]
    elif action == "transfer":
        if errors:
            raise ValidationError(errors)
        ch["current_mediator_id"] = payload.get("mediator_id") or None
    elif action == "settle":
        amount = payload.get("agreement_amount")
        if amount not in (None, ""):
            try:
                amount = Decimal(str(amount).replace(",", "")).quantize(Decimal("0.01"))
                if amount < 0 or amount > Decimal(99999999):
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors["agreement_amount"] = "协议金额应为不小于 0 的数字（元）。"
        else:
            amount = None
        paper = agreements.settlement(payload, at, state["received_at"], errors)
        if errors:
            raise ValidationError(errors)
        out.extra["terms"] = paper.pop("terms")
        ch.update(paper, judicial_status=None)
        out.detail.update(terms=len(out.extra["terms"]), judicial_intent=paper["judicial_intent"])
        ch.update(agreement_summary=_text(payload.get("agreement_summary")), agreement_amount=amount,
                  settled_at=at, settled_level=state["level"],
                  follow_up_due_at=at + dt.timedelta(days=limits.follow_up_days), followed_up_at=None,
                  satisfaction=None)
    elif action == "terminate":
        if payload.get("reason_code") not in ladder.TERMINATION_REASONS:
            errors["reason_code"] = rule.required["reason_code"][1]
        if errors:
            raise ValidationError(errors)
        ch.update(end_reason_code=payload["reason_code"], end_reason=note, ended_at=at)
    elif action == "litigate":
        if errors:
            raise ValidationError(errors)
        ch.update(court_name=_text(payload.get("court_name"))[:100], end_reason=note, ended_at=at)
    elif action == "follow_up":
        rule = _follow_up(state, payload, note, now, errors, out)
    elif action == "close":
        ch["closed_at"] = at
    elif action == "arrive":
        d = payload.get("dispatch") or {}
        arrived = payload.get("arrived_at")
        _not_future(arrived, "arrived_at", "到场时间", now, errors)
        if arrived is not None and d.get("notified_at") and arrived < d["notified_at"]:
            errors["arrived_at"] = "到场时间不能早于通知时间。"
        if errors:
            raise ValidationError(errors)
        first = state.get("first_arrival_at")
        if first is None or arrived < first:
            ch["first_arrival_at"] = arrived
        late = arrived > d["due_at"]
        out.arrival = {"dispatch_id": d.get("id"), "arrived_at": arrived, "late": late}
        out.note = f"{'超时' if late else '按时'}到场（{clock.fmt(arrived)}）"
        out.detail.update(dispatch_id=d.get("id"), late=late)
    elif action == "police":
        # a hand-over left empty keeps the one already recorded (e.g. by the 已移交 tap)
        arrived = payload.get("police_arrived_at")
        handover = payload.get("police_handover_at") or state.get("police_handover_at")
        _not_future(arrived, "police_arrived_at", "民警到场时间", now, errors)
        if handover is not None:  # optional: the 已移交 tap may record it later
            _not_future(handover, "police_handover_at", "移交时间", now, errors)
        if arrived and arrived < state["received_at"]:
            errors["police_arrived_at"] = "民警到场时间不能早于接报时间。"
        if arrived and handover and handover < arrived:
            errors["police_handover_at"] = "移交时间不能早于民警到场时间。"
        if errors:
            raise ValidationError(errors)
        ch.update(police_arrived_at=arrived, police_handover_at=handover)
        minutes = police_minutes(arrived, handover)
        out.note = f"民警处警用时 {minutes} 分钟" if minutes is not None else f"民警到场（{clock.fmt(arrived)}），尚未移交"
    elif action in ("depart", "handover"):
        d = payload.get("dispatch") or {}
        if not errors and d.get("id") is None:
            errors["dispatch_id"] = rule.required["dispatch_id"][1]
        if errors:
            raise ValidationError(errors)
        out.note = f"{rule.staff_label}（{clock.fmt(at)}）"
        out.detail.update(dispatch_id=d["id"], via="checkin_link")
        # 已移交 on a 110 call: the officers hand the scene over to the person who tapped, so the
        # police time on the incident (police arrival -> hand-over) ends here, unless staff already
        # recorded the hand-over (their form can still correct it)
        arrived = state.get("police_arrived_at")
        if (action == "handover" and state.get("source") == "110" and state.get("police_handover_at") is None
                and (arrived is None or arrived <= at)):
            ch.update(police_handover_at=at)
            out.detail.update(police_handover_at=True)
            minutes = police_minutes(arrived, at)
            if minutes is not None:
                out.note += f"；民警移交，处警用时 {minutes} 分钟"
    elif action == "reroute":
        reason = _text(payload.get("reason"))
        if errors:
            raise ValidationError(errors)
        ch.update(room_id=payload["room_id"], mode=payload["room_kind"], route_overridden=True,
                  route_note=f"人工改派：{reason}"[:200])
        out.note = reason
        out.detail.update(old_room_id=state.get("room_id"), new_room_id=payload["room_id"])
    elif action == "record_session":
        rec = agreements.session_record(payload, now, state["received_at"], errors)
        if errors:
            raise ValidationError(errors)
        out.extra["session"] = rec
        out.note = f"调解记录（{clock.fmt(rec['held_at'])}，{rec['place']}）"
    elif action == "judicial_apply":
        app = agreements.application(payload, state, now, errors)
        if errors:
            raise ValidationError(errors)
        out.extra["application"] = app
        ch["judicial_status"] = "applied"
        out.note = f"向{app['court']}申请司法确认（{agreements.CHANNELS[app['channel']]}）" + (f"；{note}" if note else "")
        out.detail.update(court=app["court"], channel=app["channel"], online_request_id=app["online_request_id"])
    elif action == "judicial_result":
        res = agreements.court_result(payload, now, errors)
        if errors:
            raise ValidationError(errors)
        out.extra["result"] = res
        ch["judicial_status"] = res["result"]
        out.note = (f"法院裁定确认调解协议有效，{res['ruling_no']}" if res["result"] == "confirmed"
                    else f"法院裁定不予确认：{res['reject_reason']}")
        out.detail.update(result=res["result"], ruling_no=res["ruling_no"])
        if res["result"] == "rejected":
            rule = ladder.RULES["judicial_rejected"]
    elif action == "party_details":
        fields = agreements.party_fields(payload, now, errors)
        if errors:
            raise ValidationError(errors)
        out.extra["party"] = {"id": payload["party_id"], **fields}
        # field names only: the values are personal data and the timeline is shown to more roles
        names = {"sex": "性别", "ethnicity": "民族", "birth_date": "出生日期", "occupation": "职业或工作单位"}
        out.note = "补充当事人信息：" + "、".join(names[k] for k, v in fields.items() if v)
        out.detail["party_id"] = payload["party_id"]
    elif errors:
        raise ValidationError(errors)

    out.rule = rule
    level = ladder.target_level(rule, state["mode"], state["level"])
    status = rule.to_status or state["status"]
    ch["status"] = status
    if rule.restarts_clock:
        ch.update(level=level, level_entered_at=at, level_due_at=level_due(limits, level, at))
    if status not in ladder.OPEN_STATUSES:
        ch["level_due_at"] = None
    ch["updated_at"] = now
    out.after = (level, status)
    out.at = at
    return out


def _follow_up(state: Mapping, payload: Mapping, note: str, now: dt.datetime, errors: dict,
               out: Outcome) -> ladder.Rule:
    """A follow-up: the answer decides whether the case stays settled or is mediated again."""
    method, satisfaction, holds = payload.get("method"), payload.get("satisfaction"), payload.get("agreement_holds")
    if method not in ladder.FOLLOW_UP_METHODS:
        errors["method"] = "请选择回访方式。"
    if satisfaction not in ladder.SATISFACTION:
        errors["satisfaction"] = "请选择满意度。"
    if holds not in (True, False):
        errors["agreement_holds"] = "请选择协议是否履行。"
    done_at = payload.get("done_at") or now
    _not_future(done_at, "done_at", "回访时间", now, errors)
    if state.get("settled_at") and done_at < state["settled_at"]:
        errors["done_at"] = "回访时间不能早于调解成功时间。"
    terms = agreements.performance(payload, done_at or now, errors)
    reopen = satisfaction == "dissatisfied" or holds is False
    if reopen and len(note) < 2:
        errors["note"] = "不满意或协议未履行时，须填写情况说明。"
    if errors:
        raise ValidationError(errors)
    if terms is not None:
        out.extra["performance"] = terms
    out.follow_up = {"done_at": done_at, "method": method, "agreement_holds": bool(holds),
                     "satisfaction": satisfaction, "note": note, "by_name": _text(payload.get("by_name"))[:50],
                     "term_performance": terms}
    out.changes.update(followed_up_at=done_at, satisfaction=satisfaction)
    out.detail.update(satisfaction=satisfaction, agreement_holds=holds)
    if reopen:
        # the agreement no longer stands: its judicial confirmation step ends with it (the rows stay)
        out.changes.update(reopen_count=(state.get("reopen_count") or 0) + 1, settled_at=None, settled_level=None,
                           follow_up_due_at=None, judicial_status=None, judicial_intent=False)
        return ladder.RULES["reopen"]
    return ladder.RULES["follow_up"]
