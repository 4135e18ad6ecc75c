"""Calls from the 110 and 12345 platforms (POST /api/v1/calls, web/api.py, docs/api.md).

A call's fields become an `intake.CaseInput` and go through `intake.register_case`, the form's own
service: the same validation, routing, numbering, dispute code, case event and audit record. This
module only translates: the platform's field names and codes in, Chinese messages per field out.

Idempotency: the platform's own id (接警单号 / 工单号) is claimed in `api_call`, UNIQUE(source,
external_id), in the same transaction as the registration, before it. A repeat finds the claim and
answers with the same case. Two posts of one id at the same moment: on PostgreSQL the second insert
waits for the first transaction and then fails on the unique index, its savepoint is rolled back and
it reads the winner's case; on SQLite BEGIN IMMEDIATE makes the second transaction wait until the
first has committed, so it finds the claim at once. Either way: one case.

The id is also the case's 警情编号 (110) or 工单号 (12345), so a clerk typing the same number into
the form later is told the case exists; and a call whose number a clerk registered first is linked
to that case (no second case, an `api.link` audit record).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import ApiCall, Case
from services import api_keys, audit, clock, refdata
from services.cases import intake, ladder
from services.errors import PermissionDenied, ValidationError

# the request's fields, in the order docs/api.md and the OpenAPI document list them
FIELDS: dict[str, str] = {
    "source": "来源平台",
    "external_id": "平台编号",
    "received_at": "接报时间",
    "caller_name": "来电人姓名",
    "caller_phone": "来电人手机号码",
    "township_code": "乡镇（街道）代码",
    "village_code": "村（社区）代码",
    "address": "发生地址",
    "service_code": "纠纷类别代码",
    "description": "简要案情",
}
EXTERNAL_ID_MAX = 40  # the form's 警情编号 / 工单号 columns
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")  # also a safe path segment
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
UNKNOWN_SHOWN = 5  # unknown fields named in one answer at most
# intake's field keys -> the request's
INTAKE_FIELDS = {"source": "source", "received_at": "received_at", "township_id": "township_code",
                 "village_id": "village_code", "grid_id": "village_code", "category_id": "service_code",
                 "description": "description", "address": "address", "police_incident_no": "external_id",
                 "hotline_order_no": "external_id", "parties": "caller_name", "party0.name": "caller_name",
                 "party0.mobile": "caller_phone"}


@dataclass(frozen=True)
class Accepted:
    body: dict  # what the platform is answered (view())
    created: bool  # True: this post registered the case (201); False: a repeat or a link (200)


# ---------------------------------------------------------------- reading
def services(session: Session) -> list[dict]:
    """The categories a call may name (Open311 GET services): the active dispute categories."""
    return [{"service_code": c.code, "service_name": c.name, "metadata": False, "type": "realtime",
             "group": "非警务警情"} for c in refdata.categories(session)]


def _iso(value: dt.datetime | None) -> str | None:
    return clock.local(value).isoformat(timespec="seconds") if value else None


def view(call: ApiCall, case: Case) -> dict:
    """What the platform may read back about its call: the case number and where it stands. No
    personal data, no description, no notes."""
    return {
        "source": call.source, "external_id": call.external_id, "case_number": case.number,
        "status": "open" if ladder.STATUSES[case.status][1] == ladder.OPEN else "closed",
        "portal_status": case.status, "portal_status_name": ladder.status_name(case.status),
        "level": case.level, "level_name": ladder.level_name(case.mode, case.level),
        "received_at": _iso(case.received_at), "accepted_at": _iso(call.received_at),
        "updated_at": _iso(case.updated_at),
    }


def _find(session: Session, source: str, external_id: str) -> tuple[ApiCall, Case] | None:
    row = session.execute(select(ApiCall, Case).join(Case, Case.id == ApiCall.case_id)
                          .where(ApiCall.source == source, ApiCall.external_id == external_id)).first()
    return (row[0], row[1]) if row else None


def status(session: Session, key: api_keys.KeyInfo, source: str, external_id: str) -> dict | None:
    """A call of the key's own platform, else None (another platform's calls are not there for it)."""
    if source != key.source:
        return None
    found = _find(session, source, external_id)
    return view(*found) if found else None


# ---------------------------------------------------------------- a new call
def _string(payload: dict, name: str, errors: dict) -> str:
    value = payload.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = f"{FIELDS[name]}应为字符串。"
        return ""
    return value.strip()


def _identity(payload: dict) -> tuple[str, str, dict]:
    """(source, external_id, errors)"""
    errors: dict[str, str] = {}
    source = _string(payload, "source", errors)
    if "source" not in errors and source not in api_keys.PLATFORMS:
        errors["source"] = "来源平台应为 \"110\" 或 \"12345\"。"
    external_id = _string(payload, "external_id", errors)
    if "external_id" not in errors:
        if not external_id:
            errors["external_id"] = "请填写平台编号（110 接警单号或 12345 工单号）。"
        elif not EXTERNAL_ID_RE.match(external_id):
            errors["external_id"] = (f"平台编号只能由字母、数字、点、横线和下划线组成，以字母或数字开头，"
                                     f"最长 {EXTERNAL_ID_MAX} 位。")
    return source, external_id, errors


def parse_time(value: str, errors: dict) -> dt.datetime | None:
    """ISO 8601 with an offset (2026-11-20T09:15:00+08:00, …Z), or without one meaning Beijing time."""
    if not value:
        errors["received_at"] = "请填写接报时间（ISO 8601，例如 2026-11-20T09:15:00+08:00）。"
        return None
    try:
        at = dt.datetime.fromisoformat(value) if TIME_RE.match(value) else None
    except ValueError:
        at = None
    if at is None:
        errors["received_at"] = "接报时间格式不正确，应为 ISO 8601，例如 2026-11-20T09:15:00+08:00。"
        return None
    return at.replace(tzinfo=clock.LOCAL_TZ) if at.tzinfo is None else at


def _named_in(candidates, address: str):
    """The candidates whose full name the address contains; a name inside another matched name
    (田社区 in 龙田社区) does not count."""
    hits = [c for c in candidates if c.name and c.name in address]
    return [c for c in hits if not any(c is not o and c.name in o.name for o in hits)]


def _place(session: Session, township_code: str, village_code: str, address: str,
           errors: dict) -> tuple[int | None, int | None]:
    """(township id, village id) from the codes, or from the names written in the address."""
    towns = refdata.townships(session)
    town = None
    if township_code:
        town = next((t for t in towns if t.code == township_code), None)
        if town is None:
            errors["township_code"] = "乡镇（街道）代码不存在，请核对（例如 T01）。"
            return None, None
    if village_code:
        village = next((v for t in towns for v in refdata.villages(session, t.id) if v.code == village_code), None)
        if village is None:
            errors["village_code"] = "村（社区）代码不存在，请核对（例如 T01-V01）。"
            return None, None
        if town is not None and village.parent_id != town.id:
            errors["village_code"] = "该村（社区）不属于所填乡镇（街道）。"
            return None, None
        return village.parent_id, village.id
    if not address:
        errors["village_code"] = ("请提供发生地：村（社区）代码 village_code，"
                                  "或写明乡镇（街道）和村（社区）名称的地址 address。")
        return None, None
    if town is None:
        found = _named_in(towns, address)
        if len(found) != 1:
            errors["address"] = ("未能从地址中识别乡镇（街道）：请在地址中写明乡镇（街道）全称，"
                                 "或提供 village_code。")
            return None, None
        town = found[0]
    villages = _named_in(refdata.villages(session, town.id), address)
    if len(villages) != 1:
        errors["address"] = f"未能从地址中识别{town.name}的村（社区）：请在地址中写明村（社区）全称，或提供 village_code。"
        return None, None
    return town.id, villages[0].id


def _category(session: Session, code: str, errors: dict) -> int | None:
    if not code:
        errors["service_code"] = "请填写纠纷类别代码（可用代码见 GET /api/v1/services）。"
        return None
    cat = next((c for c in refdata.categories(session) if c.code == code), None)
    if cat is None:
        errors["service_code"] = "纠纷类别代码不存在或已停用，可用代码见 GET /api/v1/services。"
        return None
    return cat.id


def _intake_errors(fields: dict[str, str]) -> dict[str, str]:
    """intake.validate's messages under the request's field names (the form's 当事人1： prefix dropped)."""
    out: dict[str, str] = {}
    for key, message in fields.items():
        out.setdefault(INTAKE_FIELDS.get(key, "_"), re.sub(r"^当事人1：", "", message))
    return out


def parse(session: Session, source: str, external_id: str, payload: dict) -> tuple[intake.CaseInput, dict]:
    """The call as the form's input, and the errors per request field (this module's own checks
    first, then intake.validate's: the same rules as the form)."""
    errors: dict[str, str] = {}
    unknown = sorted(k for k in payload if k not in FIELDS)
    for name in unknown[:UNKNOWN_SHOWN]:
        errors[str(name)[:40]] = "不支持的字段，请对照接口文档 /api/v1/openapi.json。"
    text = {name: _string(payload, name, errors) for name in FIELDS if name not in ("source", "external_id")}
    received = parse_time(text["received_at"], errors) if "received_at" not in errors else None
    if not text["caller_name"] and "caller_name" not in errors:
        errors["caller_name"] = "请填写来电人姓名。"
    if not text["caller_phone"] and "caller_phone" not in errors:
        errors["caller_phone"] = "请填写来电人手机号码。"
    if not text["description"] and "description" not in errors:
        errors["description"] = "请填写简要案情。"
    township_id, village_id = _place(session, text["township_code"], text["village_code"], text["address"], errors)
    category_id = _category(session, text["service_code"], errors) if "service_code" not in errors else None
    data = intake.CaseInput(
        source=source, received_at=received, township_id=township_id, village_id=village_id,
        address=text["address"], category_id=category_id, complexity="simple", description=text["description"],
        parties=[intake.PartyInput(name=text["caller_name"], role="applicant", mobile=text["caller_phone"])],
        police_incident_no=external_id if source == "110" else "",
        hotline_order_no=external_id if source == "12345" else "")
    try:
        data = intake.validate(session, data)
        checked: dict[str, str] = {}
    except ValidationError as exc:
        checked = _intake_errors(exc.fields)
        if township_id is None or village_id is None:  # the place's own message says what to send
            checked.pop("township_code", None)
            checked.pop("village_code", None)
    return data, {**checked, **errors}


def accept(session: Session, key: api_keys.KeyInfo, payload: dict) -> Accepted:
    """Register a platform's call once. A repeat of (source, external_id) answers the same case.
    Raises ValidationError (request field -> Chinese message) or PermissionDenied (another
    platform's source)."""
    source, external_id, errors = _identity(payload)
    if not errors and source != key.source:
        raise PermissionDenied(f"该接口密钥属于{api_keys.PLATFORMS[key.source]}，只能提交来源为 {key.source} 的警情。")
    if not errors:
        found = _find(session, source, external_id)
        if found:
            return Accepted(view(*found), created=False)
    data, more = parse(session, source if not errors.get("source") else key.source, external_id, payload)
    errors = {**more, **errors}
    if errors:  # in the order the document lists the fields; unknown ones last
        order = list(FIELDS)
        raise ValidationError(dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in FIELDS
                                          else len(order))))
    actor = key.actor
    call = ApiCall(source=source, external_id=external_id, key_id=key.id, received_at=clock.now(), new_case=True)
    try:
        with session.begin_nested():  # a concurrent post of the same id: only this savepoint is undone
            session.add(call)
            session.flush()
    except IntegrityError:
        found = _find(session, source, external_id)  # the winner has committed: its case
        if found:
            return Accepted(view(*found), created=False)
        raise
    try:
        case = intake.register_case(session, actor, data)
    except intake.DuplicateCase as dup:  # a clerk registered this 警情编号 / 工单号 through the form
        case = session.get(Case, dup.case_id)
        call.new_case = False
        audit.record(session, actor, "api.link", "case", case.id, label=case.number, source=source,
                     external_id=external_id)
    except ValidationError as exc:  # the rules changed between parse() and now (e.g. a category stopped)
        raise ValidationError(_intake_errors(exc.fields)) from None
    call.case_id = case.id
    session.flush()
    return Accepted(view(call, case), created=call.new_case)
