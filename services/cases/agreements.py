"""The written agreement's rules, pure (no database, no clock): the structured terms of a
settlement, a mediation session (人民调解记录), the judicial confirmation (司法确认), each term's
performance at the follow-up, and the agreement fields of a party.

services.cases.case_state.apply() calls these for the MOVES rows settle, record_session,
judicial_apply, judicial_result, follow_up and party_details; each returns the normalised values
and adds its Chinese errors (one per field) to `errors`. The caller raises, so nothing is saved
unless every field is valid.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from services import clock

PERFORMANCE = {"performed": "已履行", "pending": "尚未履行", "refused": "拒绝履行"}
CHANNELS = {"online": "线上（解纷码）", "paper": "纸质申请"}
RESULTS = {"confirmed": "确认有效", "rejected": "不予确认"}
SEXES = {"M": "男", "F": "女"}
MAX_TERMS = 20
APPLY_WITHIN_DAYS = 30  # a joint application within 30 days of the agreement taking effect
WARN_AFTER_DAYS = 25  # the 超时预警 kind "司法确认临近30日" from day 25
# 民事裁定书 number: （2023）赣0981民特123号 (full-width or ASCII brackets)
RULING_NO = re.compile(r"^[（(]\d{4}[）)]\S{1,12}民特\S{0,4}\d{1,6}号$")


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def yuan(value, errors: dict, key: str, label: str = "金额") -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", "")).quantize(Decimal("0.01"))
        if amount < 0 or amount > Decimal(99999999):
            raise InvalidOperation
        return amount
    except (InvalidOperation, ValueError):
        errors[key] = f"{label}应为不小于 0 的数字（元）。"
        return None


def settlement(payload: Mapping, at: dt.datetime, received_at: dt.datetime, errors: dict) -> dict:
    """The settle row's agreement fields: terms, copies, effective date, judicial intent.

    payload: terms (list of {obligation, party_id, amount, manner, due_on}), agreement_copies,
    effective_on (default the settle date, Beijing), judicial_intent, _party_ids (the case's)."""
    settled_on = clock.local(at).date()
    parties = set(payload.get("_party_ids") or ())
    terms_in = [t for t in (payload.get("terms") or []) if any(_text(v) for v in t.values())]
    if len(terms_in) > MAX_TERMS:
        errors["terms"] = f"协议条款最多 {MAX_TERMS} 项。"
    terms = []
    for i, t in enumerate(terms_in[:MAX_TERMS]):
        n, key = i + 1, f"terms.{i}"
        obligation = _text(t.get("obligation"))
        if len(obligation) < 2:
            errors[f"{key}.obligation"] = f"请填写第 {n} 项条款的义务内容。"
        party_id = t.get("party_id")
        if party_id not in parties:
            errors[f"{key}.party_id"] = f"请选择第 {n} 项条款的义务人（本案当事人）。"
        amount = yuan(t.get("amount"), errors, f"{key}.amount", f"第 {n} 项条款的金额")
        manner = _text(t.get("manner"))
        if len(manner) > 200:
            errors[f"{key}.manner"] = f"第 {n} 项条款的履行方式不能超过 200 字。"
        due = t.get("due_on")
        if not isinstance(due, dt.date):
            errors[f"{key}.due_on"] = f"请填写第 {n} 项条款的履行期限。"
        elif due < settled_on:
            errors[f"{key}.due_on"] = f"第 {n} 项条款的履行期限不能早于调解成功日期。"
        terms.append({"position": n, "obligation": obligation, "party_id": party_id, "amount": amount,
                      "manner": manner, "due_on": due})
    copies = payload.get("agreement_copies")
    if copies in (None, ""):
        copies = max(2, len(parties)) + 1  # one for each party and one for the committee
    else:
        try:
            copies = int(copies)
            if not 1 <= copies <= 20:
                raise ValueError
        except (TypeError, ValueError):
            errors["agreement_copies"] = "协议份数应为 1 到 20 之间的整数。"
    effective = payload.get("effective_on") or settled_on
    if not isinstance(effective, dt.date):
        errors["effective_on"] = "请填写协议生效日期。"
    elif effective < clock.local(received_at).date():
        errors["effective_on"] = "协议生效日期不能早于接报日期。"
    elif effective > settled_on + dt.timedelta(days=30):
        errors["effective_on"] = "协议生效日期不能晚于调解成功后 30 日。"
    return {"terms": terms, "agreement_copies": copies, "agreement_effective_on": effective,
            "judicial_intent": bool(payload.get("judicial_intent"))}


def session_record(payload: Mapping, now: dt.datetime, received_at: dt.datetime, errors: dict) -> dict:
    """A mediation session: held_at, place, mediators, participants, process (调解经过), result."""
    held = payload.get("held_at")
    if not isinstance(held, dt.datetime):
        errors.setdefault("held_at", "请填写调解时间。")
    elif held > now + dt.timedelta(minutes=1):
        errors["held_at"] = "调解时间不能晚于当前时间。"
    elif held < received_at - dt.timedelta(minutes=1):
        errors["held_at"] = "调解时间不能早于接报时间。"
    out = {"held_at": held}
    for name, label, limit in (("place", "调解地点", 200), ("mediators", "调解人员", 200),
                               ("participants", "参加人员", 300)):
        out[name] = _text(payload.get(name))
        if len(out[name]) > limit:
            errors[name] = f"{label}不能超过 {limit} 字。"
    out["process"], out["result"] = _text(payload.get("process")), _text(payload.get("result"))
    return out


def _day(value, key: str, label: str, now: dt.datetime, errors: dict, earliest: dt.date | None = None,
         earliest_label: str = "") -> bool:
    """A date typed on a form: present, not after today (Beijing), not before `earliest`."""
    if not isinstance(value, dt.date):
        errors.setdefault(key, f"请填写{label}。")
    elif value > clock.local(now).date():
        errors[key] = f"{label}不能晚于今天。"
    elif earliest is not None and value < earliest:
        errors[key] = f"{label}不能早于{earliest_label}。"
    else:
        return True
    return False


def application(payload: Mapping, state: Mapping, now: dt.datetime, errors: dict) -> dict:
    """The joint application for judicial confirmation."""
    applied = payload.get("applied_on")
    effective = state.get("agreement_effective_on")
    if _day(applied, "applied_on", "申请日期", now, errors, effective, "协议生效日期") and effective is not None \
            and applied > effective + dt.timedelta(days=APPLY_WITHIN_DAYS):
        errors["applied_on"] = "已超过协议生效后 30 日的申请期限，法院不予受理；可引导当事人向法院起诉。"
    channel = payload.get("channel")
    if channel not in CHANNELS:
        errors["channel"] = "请选择申请方式。"
    court = _text(payload.get("court"))
    if len(court) > 100:
        errors["court"] = "法院名称不能超过 100 字。"
    applicants = _text(payload.get("applicants"))[:300]
    return {"applied_on": applied, "court": court, "channel": channel, "applicants": applicants,
            "online_request_id": payload.get("online_request_id")}


def court_result(payload: Mapping, now: dt.datetime, errors: dict) -> dict:
    """The court's result: confirmed with the ruling number, or rejected with the reason."""
    result = payload.get("result")
    if result not in RESULTS:
        errors["result"] = "请选择法院的确认结果。"
    on = payload.get("result_on")
    applied = payload.get("_applied_on")
    _day(on, "result_on", "裁定日期", now, errors, applied, "申请日期")
    ruling = re.sub(r"\s+", "", _text(payload.get("ruling_no")))
    reason = _text(payload.get("reject_reason"))
    if result == "confirmed" and not RULING_NO.match(ruling):
        errors["ruling_no"] = "请按“（2023）赣0981民特123号”的格式填写民事裁定书文号。"
    if result == "rejected" and len(reason) < 2:
        errors["reject_reason"] = "不予确认时，请填写法院的理由。"
    return {"result": result, "result_on": on, "ruling_no": ruling if result == "confirmed" else "",
            "reject_reason": reason if result == "rejected" else ""}


def performance(payload: Mapping, done_at: dt.datetime, errors: dict) -> dict[str, str] | None:
    """Each term's answer at a follow-up; a term refused, or not performed after its deadline,
    means the agreement is not holding. `_terms`: {term id: due date} of the case."""
    answers = payload.get("term_performance")
    if not answers:
        return None
    terms = payload.get("_terms") or {}
    out = {}
    for tid, answer in answers.items():
        if int(tid) not in terms:
            errors["term_performance"] = "协议条款不存在，请刷新页面。"
            continue
        if answer not in PERFORMANCE:
            errors[f"term_performance.{tid}"] = "请选择该条款的履行情况。"
            continue
        out[str(int(tid))] = answer
    missing = [t for t in terms if str(t) not in out]
    if missing and "term_performance" not in errors:
        errors["term_performance"] = "请逐项选择协议条款的履行情况。"
    day = clock.local(done_at).date()
    broken = any(a == "refused" or (a == "pending" and terms.get(int(t)) and terms[int(t)] < day)
                 for t, a in out.items())
    if broken and payload.get("agreement_holds") is True:
        errors["agreement_holds"] = "有条款拒绝履行或已过履行期限仍未履行，“协议是否履行”应选“未履行”。"
    return out


def party_fields(payload: Mapping, now: dt.datetime, errors: dict) -> dict:
    """The agreement fields of one party: sex, ethnicity (民族), date of birth, occupation."""
    if payload.get("party_id") not in set(payload.get("_party_ids") or ()):
        errors["party_id"] = "请选择本案的当事人。"
    sex = payload.get("sex") or None
    if sex is not None and sex not in SEXES:
        errors["sex"] = "请选择性别。"
    ethnicity = _text(payload.get("ethnicity"))
    if len(ethnicity) > 20:
        errors["ethnicity"] = "民族不能超过 20 字。"
    elif ethnicity and not ethnicity.endswith("族"):
        errors["ethnicity"] = "请填写民族全称，如“汉族”。"
    birth = payload.get("birth_date")
    if birth is not None and (not isinstance(birth, dt.date) or birth > clock.local(now).date()
                              or birth < dt.date(1900, 1, 1)):
        errors["birth_date"] = "出生日期应在 1900 年之后、今天之前。"
    occupation = _text(payload.get("occupation"))
    if len(occupation) > 100:
        errors["occupation"] = "职业或工作单位不能超过 100 字。"
    return {"sex": sex, "ethnicity": ethnicity, "birth_date": birth, "occupation": occupation}
