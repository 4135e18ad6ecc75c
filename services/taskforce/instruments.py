"""Risk notices (风险提示函) and supervision orders (督办单): the register, states and documents.

States: draft → issued → replied → closed. A draft gets its document number only when it is
issued (丰综治风提〔2026〕7号 / 丰综治督〔2026〕3号), from the yearly sequence of its kind
(services.numbering, counter kinds "risk_notice" / "supervision_order", year of the issue
date), so numbers have no gaps and stay unique when several people issue at once. The number's
format is the "doc_number" of templates/official/<kind>.json (see doc_number()); an issued
instrument keeps the number it was issued with. Only a
replied instrument can be closed (an unanswered one stays open and, past its deadline,
overdue). Overdue is computed, never stored: issued, no reply, deadline (a Beijing date)
before today. A reply dated after the deadline counts as a late reply.

Printing: the wording comes from templates/official/<kind>.json (services.documents);
the register's number (when issued) and issue date fill the template's. The templates have no slot for
the instrument's own required measures, so for a risk notice they are inserted as the first
paragraph under “三、工作要求” unless an admin adds a {measures} placeholder to the template;
for a supervision order they fill the optional {requirements} paragraph.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import PurePath

from sqlalchemy import and_, case, func, insert, select
from sqlalchemy.orm import Session

from db.models import (Case, DisputeCategory, Instrument, MediationRoom, Party, PoliceStation, Township, Village,
                       instrument_case)
from services import audit, clock, documents, numbering, records, settings
from services.cases import ladder
from services.errors import DomainError, PermissionDenied, ValidationError
from services.roles import ADMIN, LEADER, STAFF, TASKFORCE, TRAINER, Actor, person_name, require
from services.validation import masker_for, party_replacements, redact_text

KINDS = {"risk_notice": "风险提示函", "supervision_order": "督办单"}
STATES = {"draft": "草稿", "issued": "已发出", "replied": "已回复", "closed": "已办结"}
READERS = frozenset({ADMIN, STAFF, LEADER, TASKFORCE, TRAINER})
WRITE = "taskforce.issue"
MAX_FILE_BYTES = 10 * 1024 * 1024
FILE_TYPES = (".pdf", ".doc", ".docx", ".wps", ".ofd", ".txt", ".jpg", ".jpeg", ".png")
CONTACT_KEY = "taskforce_contact"
CONTACT_DEFAULT = {"person": "专班值班人员", "phone": "0795-6443110"}
DRAFT_SERIAL = "（待编）"
RECORD = records.wording("文书")  # 该文书不存在。/ 该文书已被他人修改，…


def can_read(actor: Actor) -> None:
    if actor.role not in READERS:
        raise PermissionDenied("您的角色无权查看专班文书。")


def overdue_condition(on: dt.date):
    """SQL: issued, not replied, deadline passed (the deadline day itself is not overdue)."""
    return and_(Instrument.state == "issued", Instrument.deadline < on)


def is_overdue(inst: Instrument, on: dt.date | None = None) -> bool:
    on = on or clock.today()
    return inst.state == "issued" and inst.deadline is not None and inst.deadline < on


def doc_number(kind: str, year: int, serial: int | str) -> str:
    """丰综治风提〔2026〕7号: the number as the "doc_number" of templates/official/<kind>.json
    writes it (the only place the format is kept; an admin may change it there)."""
    return documents.format_doc_number(kind, {"year": year, "serial": serial})


def contact(session: Session) -> dict:
    value = settings.get(session, CONTACT_KEY, CONTACT_DEFAULT) or CONTACT_DEFAULT
    return {"person": value.get("person", CONTACT_DEFAULT["person"]), "phone": value.get("phone", CONTACT_DEFAULT["phone"])}


@dataclass
class InstrumentInput:
    subject: str = ""
    addressee: str = ""
    facts: str = ""
    risk: str = ""
    measures: str = ""
    deadline: dt.date | None = None
    township_id: int | None = None
    room_id: int | None = None
    station_id: int | None = None
    contact_person: str = ""
    contact_phone: str = ""
    case_ids: list[int] = field(default_factory=list)


# ------------------------------------------------------------------ loading helpers
def _load(session: Session, instrument_id: int, expected_version: int | None) -> Instrument:
    return records.load_versioned(session, Instrument, instrument_id, expected_version, RECORD)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError({"kind": "文书类型应为风险提示函或督办单。"})


def _set_cases(session: Session, inst: Instrument, case_ids: list[int]) -> None:
    ids = list(dict.fromkeys(int(c) for c in case_ids or []))
    found = list(session.scalars(select(Case).where(Case.id.in_(ids)))) if ids else []
    if len(found) != len(ids):
        raise ValidationError({"case_ids": "所选案件不存在，请重新选择。"})
    inst.cases = sorted(found, key=lambda c: c.number)


def _clean(data: InstrumentInput) -> InstrumentInput:
    for name in ("subject", "addressee", "facts", "risk", "measures", "contact_person", "contact_phone"):
        setattr(data, name, (getattr(data, name) or "").strip())
    errors = {}
    for name, limit, label in (("subject", 200, "事项"), ("addressee", 200, "主送单位"), ("contact_person", 50, "联系人"),
                               ("contact_phone", 30, "联系电话")):
        if len(getattr(data, name)) > limit:
            errors[name] = f"{label}不能超过{limit}个字。"
    if errors:
        raise ValidationError(errors)
    return data


# ------------------------------------------------------------------ drafting
def create_draft(session: Session, actor: Actor, kind: str, data: InstrumentInput) -> Instrument:
    require(actor, WRITE)
    _check_kind(kind)
    data = _clean(data)
    now = clock.now()
    c = contact(session)
    inst = Instrument(kind=kind, state="draft", subject=data.subject, addressee=data.addressee, facts=data.facts,
                      risk=data.risk, measures=data.measures, deadline=data.deadline, township_id=data.township_id,
                      room_id=data.room_id, station_id=data.station_id,
                      contact_person=data.contact_person or c["person"], contact_phone=data.contact_phone or c["phone"],
                      created_by_id=actor.user_id, created_by_name=person_name(actor),
                      created_at=now, updated_at=now)
    session.add(inst)
    _set_cases(session, inst, data.case_ids)
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "instrument.draft", "instrument", inst.id, kind=kind,
                 cases=[x.number for x in inst.cases])
    return inst


def _attempts(mode: str, level: str) -> str:
    """'现场调解和驻所母舅调解室两级调处' from the levels a case has been through."""
    steps = ladder.LADDERS.get(mode, ())
    upto = steps[: steps.index(level) + 1] if level in steps else steps[:1]
    names = [ladder.level_name(mode, s) for s in upto if s != "court"]
    count = "一两三四五"[len(names) - 1] if 0 < len(names) <= 5 else str(len(names))
    return ("和".join(["、".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]) + f"{count}级调处"


def case_facts(session: Session, case_ids: list[int]) -> list[dict]:
    """The facts of the cases a draft is built from (no party names or phones)."""
    if not case_ids:
        return []
    q = (select(Case, Township.name.label("township"), Village.name.label("village"),
                DisputeCategory.name.label("category"), MediationRoom.name.label("room"),
                PoliceStation.name.label("station"), Township.police_station_id.label("station_id"))
         .join(Township, Case.township_id == Township.id)
         .outerjoin(Village, Case.village_id == Village.id)
         .join(DisputeCategory, Case.category_id == DisputeCategory.id)
         .outerjoin(MediationRoom, Case.room_id == MediationRoom.id)
         .outerjoin(PoliceStation, Township.police_station_id == PoliceStation.id)
         .where(Case.id.in_(case_ids)).order_by(Case.received_at))
    parties: dict[int, list] = {}
    for p in session.scalars(select(Party).where(Party.case_id.in_(case_ids)).order_by(Party.id)):
        parties.setdefault(p.case_id, []).append(p)
    out = []
    for r in session.execute(q):
        c = r.Case
        # the description is free text: the parties' names and numbers in it are masked, as for a leader
        description = redact_text(c.description, party_replacements(parties.get(c.id, []), c.address))
        out.append({"id": c.id, "number": c.number, "received": clock.local(c.received_at).date(),
                    "township_id": c.township_id, "township": r.township, "village": r.village or "",
                    "category": r.category, "complexity": c.complexity, "mode": c.mode, "level": c.level,
                    "status": c.status, "room_id": c.room_id, "room": r.room or "", "station": r.station or "",
                    "station_id": r.station_id,
                    "source": c.source, "description": description,
                    "attempts": _attempts(c.mode, c.level)})
    return out


def draft_from_case(session: Session, actor: Actor, kind: str, case_ids: list[int]) -> Instrument:
    """The two-click draft: the cases' facts fill subject, addressee, facts, risk and measures."""
    require(actor, WRITE)
    _check_kind(kind)
    facts = case_facts(session, list(case_ids or []))
    if not facts:
        raise ValidationError({"case_ids": "请至少选择一件案件。"})
    first = facts[0]
    place = first["township"] + (first["village"] or "")
    categories = "、".join(dict.fromkeys(f["category"] for f in facts))
    numbers = "、".join(f["number"] for f in facts)
    lines = [f"{f['received'].year}年{f['received'].month}月{f['received'].day}日，"
             f"{f['township']}{f['village']}发生{f['category']}（案件编号：{f['number']}，"
             f"复杂程度：{_complexity(f['complexity'])}），经{f['attempts']}，目前状态：{ladder.status_name(f['status'])}。"
             f"{f['description']}" for f in facts]
    if kind == "risk_notice":
        addressee = f"{first['township']}综治中心"
        subject = f"{place}{categories}"
        risk = (f"上述{len(facts)}件纠纷（{numbers}）" if len(facts) > 1 else f"该纠纷（{numbers}）") + \
            "经多级调处尚未彻底化解，当事人情绪不稳，存在矛盾激化、引发治安案件或群体性事件的风险。"
        measures = "请主要负责同志亲自过问，组织母舅、网格员和相关部门再次调处，落实每日走访稳控措施。"
    else:
        addressee = first["room"] or (f"{first['station']}" if first["station"] else f"{first['township']}综治中心")
        subject = f"{place}{categories}"
        risk = f"案件（{numbers}）已超过规定办理时限，至今未办结。"
        measures = "立即组织驻所（住村）母舅和网格员开展调处，限期办结并报送当事人回访满意情况。"
    station_id = first["station_id"] if kind == "supervision_order" and not first["room_id"] else None
    data = InstrumentInput(subject=subject[:200], addressee=addressee[:200], facts="\n".join(lines), risk=risk,
                           measures=measures, deadline=clock.today() + dt.timedelta(days=7 if kind == "risk_notice" else 5),
                           township_id=first["township_id"],
                           room_id=first["room_id"] if kind == "supervision_order" else None,
                           station_id=station_id, case_ids=[f["id"] for f in facts])
    return create_draft(session, actor, kind, data)


def _complexity(code: str) -> str:
    return {"simple": "简单", "general": "一般", "major": "重大"}.get(code, code)


def update_draft(session: Session, actor: Actor, instrument_id: int, expected_version: int | None,
                 data: InstrumentInput) -> Instrument:
    require(actor, WRITE)
    inst = _load(session, instrument_id, expected_version)
    if inst.state != "draft":
        raise DomainError("文书已发出，不能再修改；如需更正请另起草稿。")
    data = _clean(data)
    for name in ("subject", "addressee", "facts", "risk", "measures", "deadline", "township_id", "room_id",
                 "station_id", "contact_person", "contact_phone"):
        setattr(inst, name, getattr(data, name))
    _set_cases(session, inst, data.case_ids)
    inst.updated_at = clock.now()
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "instrument.edit", "instrument", inst.id, cases=[x.number for x in inst.cases])
    return inst


def discard_draft(session: Session, actor: Actor, instrument_id: int, expected_version: int | None) -> None:
    require(actor, WRITE)
    inst = _load(session, instrument_id, expected_version)
    if inst.state != "draft":
        raise DomainError("只有草稿可以删除。")
    audit.record(session, actor, "instrument.discard", "instrument", inst.id, subject=inst.subject)
    session.delete(inst)
    records.flush_versioned(session, RECORD)


# ------------------------------------------------------------------ state changes
def issue(session: Session, actor: Actor, instrument_id: int, expected_version: int | None) -> Instrument:
    """Give the draft its number and send it. Refused without addressee, measures or a deadline
    (which may not be in the past)."""
    require(actor, WRITE)
    inst = _load(session, instrument_id, expected_version)
    if inst.state != "draft":
        raise DomainError(f"该文书已发出（{inst.doc_number}），不能重复发出。")
    on = clock.today()
    errors = {}
    if not inst.subject.strip():
        errors["subject"] = "请填写事项（用于标题）。"
    if not inst.addressee.strip():
        errors["addressee"] = "请填写主送单位。"
    if not inst.measures.strip():
        errors["measures"] = "请填写工作要求（需采取的措施）。"
    if inst.deadline is None:
        errors["deadline"] = "请填写反馈期限。"
    elif inst.deadline < on:
        errors["deadline"] = "反馈期限不能早于今天。"
    if errors:
        raise ValidationError(errors)
    serial = numbering.next_value(session, inst.kind, on.year)
    inst.year, inst.serial = on.year, serial
    inst.doc_number = doc_number(inst.kind, on.year, serial)
    inst.state = "issued"
    inst.issued_at = clock.now()
    inst.issue_date = on
    inst.issued_by_id = actor.user_id
    inst.issued_by_name = person_name(actor)
    inst.updated_at = inst.issued_at
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "instrument.issue", "instrument", inst.id, doc_number=inst.doc_number,
                 addressee=inst.addressee, cases=[x.number for x in inst.cases])
    return inst


def record_reply(session: Session, actor: Actor, instrument_id: int, expected_version: int | None,
                 reply_date: dt.date | None, summary: str, filename: str = "", content: bytes | None = None) -> Instrument:
    require(actor, WRITE)
    inst = _load(session, instrument_id, expected_version)
    if inst.state == "draft":
        raise DomainError("未发出的文书不能登记回复。")
    if inst.state != "issued":
        raise DomainError("该文书已登记回复。")
    errors = {}
    summary = (summary or "").strip()
    if reply_date is None:
        errors["reply_date"] = "请填写回复日期。"
    elif reply_date > clock.today():
        errors["reply_date"] = "回复日期不能晚于今天。"
    elif inst.issue_date and reply_date < inst.issue_date:
        errors["reply_date"] = "回复日期不能早于发文日期。"
    if not summary:
        errors["reply_summary"] = "请填写回复内容摘要。"
    if content:
        name = PurePath(filename or "").name
        if len(content) > MAX_FILE_BYTES:
            errors["reply_file"] = f"附件不能超过 {MAX_FILE_BYTES // (1024 * 1024)} MB。"
        elif not name or PurePath(name).suffix.lower() not in FILE_TYPES:
            errors["reply_file"] = "附件格式应为 " + "、".join(t.lstrip(".") for t in FILE_TYPES) + "。"
    if errors:
        raise ValidationError(errors)
    inst.state = "replied"
    inst.reply_date = reply_date
    inst.reply_summary = summary
    if content:
        inst.reply_file, inst.reply_filename, inst.reply_size = content, PurePath(filename).name[:200], len(content)
    inst.replied_at = clock.now()
    inst.replied_by_name = person_name(actor)
    inst.updated_at = inst.replied_at
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "instrument.reply", "instrument", inst.id, doc_number=inst.doc_number,
                 reply_date=reply_date.isoformat(), late=bool(inst.deadline and reply_date > inst.deadline),
                 file=inst.reply_filename, size=inst.reply_size)
    return inst


def close(session: Session, actor: Actor, instrument_id: int, expected_version: int | None, note: str = "") -> Instrument:
    """Close (办结) a replied instrument. An unanswered one cannot be closed."""
    require(actor, WRITE)
    inst = _load(session, instrument_id, expected_version)
    if inst.state != "replied":
        raise DomainError("只有已回复的文书才能办结。" if inst.state != "closed" else "该文书已办结。")
    inst.state = "closed"
    inst.closed_at = clock.now()
    inst.close_note = (note or "").strip()
    inst.updated_at = inst.closed_at
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "instrument.close", "instrument", inst.id, doc_number=inst.doc_number)
    return inst


# ------------------------------------------------------------------ reading
@dataclass
class Filters:
    kind: str | None = None
    state: str | None = None
    overdue: bool = False
    unit: str = ""


def _row(inst: Instrument, on: dt.date) -> dict:
    return {"id": inst.id, "kind": inst.kind, "kind_name": KINDS[inst.kind], "doc_number": inst.doc_number or "",
            "state": inst.state, "state_name": STATES[inst.state], "subject": inst.subject,
            "addressee": inst.addressee, "deadline": inst.deadline, "issue_date": inst.issue_date,
            "reply_date": inst.reply_date, "overdue": is_overdue(inst, on),
            "late_reply": bool(inst.reply_date and inst.deadline and inst.reply_date > inst.deadline),
            "cases": [c.number for c in inst.cases], "version": inst.version}


def list_instruments(session: Session, actor: Actor, filters: Filters | None = None, page: int = 1,
                     page_size: int = 20) -> dict:
    """One page of the register (newest first), paginated in SQL, with the total."""
    can_read(actor)
    f = filters or Filters()
    on = clock.today()
    conds = []
    if f.kind:
        conds.append(Instrument.kind == f.kind)
    if f.state:
        conds.append(Instrument.state == f.state)
    if f.overdue:
        conds.append(overdue_condition(on))
    if f.unit.strip():
        conds.append(Instrument.addressee.contains(f.unit.strip(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(Instrument).where(*conds)) or 0
    q = (select(Instrument).where(*conds)
         .order_by(case((Instrument.state == "draft", 0), else_=1), Instrument.issue_date.desc(),
                   Instrument.serial.desc(), Instrument.id.desc())
         .limit(page_size).offset(max(page - 1, 0) * page_size))
    found = list(session.scalars(q))
    # as on the notice itself: leaders and trainers read the parties of the cases masked (one
    # masker for the page: two queries, not two per row)
    mask = masker_for(session, actor, [c.id for inst in found for c in inst.cases])
    rows = [_row(inst, on) for inst in found]
    for row in rows:
        row["subject"] = mask(row["subject"])
    return {"rows": rows, "total": int(total)}


def get(session: Session, actor: Actor, instrument_id: int) -> dict:
    can_read(actor)
    inst = _load(session, instrument_id, None)
    row = _row(inst, clock.today())
    row.update({name: getattr(inst, name) for name in (
        "facts", "risk", "measures", "township_id", "room_id", "station_id", "contact_person", "contact_phone",
        "issued_by_name", "reply_summary", "reply_filename", "reply_size", "replied_by_name", "close_note",
        "created_by_name")})
    row["case_ids"] = [c.id for c in inst.cases]
    mask = masker_for(session, actor, row["case_ids"])  # leaders and trainers: masked free text
    for name in ("subject", "facts", "risk", "measures", "reply_summary", "close_note"):
        if name in row:
            row[name] = mask(row[name])
    return row


def reply_file(session: Session, actor: Actor, instrument_id: int) -> tuple[str, bytes] | None:
    can_read(actor)
    r = session.execute(select(Instrument.reply_filename, Instrument.reply_file)
                        .where(Instrument.id == instrument_id)).one_or_none()
    if r is None or not r.reply_file:
        return None
    return r.reply_filename, bytes(r.reply_file)


def overdue_by_unit(session: Session, on: dt.date | None = None) -> list[dict]:
    """Per addressee unit (GROUP BY): issued, overdue now (no reply past the deadline), and
    replied late. Units with an overdue instrument first. Feeds the assessment's sanctions."""
    on = on or clock.today()
    q = (select(Instrument.addressee,
                func.count().label("issued"),
                func.coalesce(func.sum(case((overdue_condition(on), 1), else_=0)), 0).label("overdue"),
                func.coalesce(func.sum(case((Instrument.reply_date > Instrument.deadline, 1), else_=0)), 0)
                .label("late_replies"))
         .where(Instrument.state != "draft")
         .group_by(Instrument.addressee))
    rows = [{"unit": r.addressee, "issued": int(r.issued), "overdue": int(r.overdue),
             "late_replies": int(r.late_replies)} for r in session.execute(q)]
    return sorted(rows, key=lambda r: (-r["overdue"], -r["late_replies"], -r["issued"], r["unit"]))


def overdue_list(session: Session, limit: int = 20) -> list[dict]:
    on = clock.today()
    q = select(Instrument).where(overdue_condition(on)).order_by(Instrument.deadline, Instrument.id).limit(limit)
    return [_row(i, on) for i in session.scalars(q)]


def counts(session: Session) -> dict:
    """Register totals by state, plus overdue now (one GROUP BY)."""
    on = clock.today()
    out = {s: 0 for s in STATES}
    for state, n in session.execute(select(Instrument.state, func.count()).group_by(Instrument.state)):
        out[state] = int(n)
    out["overdue"] = int(session.scalar(select(func.count()).select_from(Instrument).where(overdue_condition(on))) or 0)
    return out


def for_case(session: Session, case_id: int) -> list[dict]:
    on = clock.today()
    q = (select(Instrument).join(instrument_case, instrument_case.c.instrument_id == Instrument.id)
         .where(instrument_case.c.case_id == case_id).order_by(Instrument.id))
    return [_row(i, on) for i in session.scalars(q)]


def search_cases(session: Session, term: str, limit: int = 20) -> list[tuple[int, str]]:
    """Cases by (part of) their number, newest first, for the draft picker: (id, label)."""
    term = (term or "").strip()
    q = (select(Case.id, Case.number, Township.name, DisputeCategory.name.label("category"), Case.complexity)
         .join(Township, Case.township_id == Township.id)
         .join(DisputeCategory, Case.category_id == DisputeCategory.id))
    if term:
        q = q.where(Case.number.contains(term, autoescape=True))
    q = q.order_by(Case.received_at.desc()).limit(limit)
    return [(r.id, f"{r.number} · {r.name} · {r.category} · {_complexity(r.complexity)}") for r in session.execute(q)]


def case_labels(session: Session, case_ids: list[int]) -> list[tuple[int, str]]:
    if not case_ids:
        return []
    q = select(Case.id, Case.number).where(Case.id.in_(case_ids)).order_by(Case.number)
    return [(r.id, r.number) for r in session.execute(q)]


# ------------------------------------------------------------------ documents
def _values(session: Session, inst: Instrument, mask=lambda text: text) -> dict:
    facts = case_facts(session, [c.id for c in inst.cases])
    numbers = "、".join(f["number"] for f in facts) or "未关联案件"
    first = facts[0] if facts else None
    deadline = documents.format_date_cn(inst.deadline) if inst.deadline else ""
    issue_date = inst.issue_date or clock.today()
    values = {
        "serial": inst.serial if inst.serial else DRAFT_SERIAL, "subject": mask(inst.subject), "addressee": inst.addressee,
        "case_number": numbers, "deadline": deadline, "date": issue_date,
        "contact_person": inst.contact_person, "contact_phone": inst.contact_phone,
        "location": (first["township"] + first["village"]) if first else "相关村（社区）",
        "dispute_type": "、".join(dict.fromkeys(f["category"] for f in facts)) or "矛盾纠纷",
        "attempts": first["attempts"] if first else "多级调处",
        "situation": mask(inst.facts or inst.risk), "risk_assessment": mask(inst.risk),
        "requirements": mask(inst.measures), "measures": mask(inst.measures),
        "case_source": (f"{first['received'].year}年{first['received'].month}月{first['received'].day}日"
                        f"{_source(first['source'])}") if first else "专班跟踪发现",
    }
    return values


def _source(code: str) -> str:
    return {"110": "110转办", "12345": "12345热线转办", "grid": "网格排查发现", "walk_in": "群众来访",
            "self": "群众自行申报"}.get(code, "转办")


def document(session: Session, actor: Actor, instrument_id: int) -> documents.OfficialDocument:
    """The instrument as an official document (drafts print “（待编）” in place of the serial)."""
    can_read(actor)
    inst = _load(session, instrument_id, None)
    values = _values(session, inst, masker_for(session, actor, [c.id for c in inst.cases]))
    doc = documents.fill_template(inst.kind, values)  # a draft's number has “（待编）” for the serial
    if inst.doc_number:  # the number it was issued with, even if the template's format changed since
        doc.doc_number = inst.doc_number
    if inst.kind == "risk_notice" and inst.measures and "measures" not in documents.template_fields(inst.kind):
        at = next((i for i, b in enumerate(doc.body) if b.kind == "h1" and "工作要求" in b.text), None)
        block = documents.Block("p", values["measures"])
        doc.body.insert(at + 1 if at is not None else len(doc.body), block)
    return doc


def file_stem(instrument_id: int, kind: str, doc_number: str | None) -> str:
    """风险提示函_丰综治风提〔2026〕3号 (a draft: 风险提示函_草稿7): the downloaded file's name without extension."""
    return f"{KINDS[kind]}_{doc_number or '草稿' + str(instrument_id)}"


def render(session: Session, actor: Actor, instrument_id: int, fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of the DOCX or PDF."""
    doc = document(session, actor, instrument_id)
    inst = session.get(Instrument, instrument_id)
    name = f"{file_stem(inst.id, inst.kind, inst.doc_number)}.{fmt}"
    data = documents.render_docx(doc) if fmt == "docx" else documents.render_pdf(doc)
    return name, data


# ------------------------------------------------------------------ bulk (demo)
def bulk_insert(session: Session, rows: list[dict], links: list[tuple[int, list[int]]] | None = None) -> list[int]:
    """Insert instrument rows as they are (demo data); `links` = (row index, case ids)."""
    ids = list(session.scalars(insert(Instrument).returning(Instrument.id, sort_by_parameter_order=True), rows))
    pairs = [{"instrument_id": ids[i], "case_id": cid} for i, cids in (links or []) for cid in cids]
    if pairs:
        session.execute(insert(instrument_case), pairs)
    return ids

