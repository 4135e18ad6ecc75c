"""Coordination meetings (协调会) and monthly review meetings (月度例会) with tracked action items.

A meeting's minutes: date, place, convened by, topic, attending units and people, the cases
discussed (linked both ways through meeting_case), decisions, and action items (task,
responsible unit, deadline). An item is open or done; marking it done needs an evidence note
(落实情况). Overdue is computed: open and its deadline (a Beijing date) before today. A monthly
review stores the period's figures as a snapshot (services.metrics.dashboard.period_figures).

Minutes print as a 会议纪要 (DOCX or PDF) from templates/official/meeting_minutes.json: `document()`
builds it, `render()` prints it. The 期号 (`Meeting.serial`) is drawn from the year's counter when the
meeting is recorded and never changes afterwards (a meeting dated earlier but recorded later gets the
next number, it does not renumber minutes already issued); the document is dated the day of the meeting.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from db.models import ActionItem, Case, Meeting, meeting_case
from services import audit, clock, documents, numbering, records
from services.metrics import dashboard
from services.errors import ValidationError
from services.taskforce.instruments import WRITE, can_read
from services.roles import Actor, person_name, require
from services.validation import masker_for

KINDS = {"coordination": "协调会", "monthly_review": "月度例会"}
ITEM_STATUSES = {"open": "未完成", "done": "已完成"}
MINUTES_FORMATS = {"docx": "Word", "pdf": "PDF"}
NO_RATE = "暂无数据"  # a rate in the minutes' running text when there was nothing to divide


def item_overdue_condition(on: dt.date):
    return and_(ActionItem.status == "open", ActionItem.deadline < on)


MEETING = records.Wording("该会议不存在。", "该会议纪要已被他人修改，请刷新页面后重新操作。")
ITEM = records.Wording("该事项不存在。", "该事项已被他人更新，请刷新页面后重新操作。")
RECORD = records.wording("记录")  # a clash found on saving: 该记录已被他人修改，…


@dataclass
class ActionInput:
    task: str = ""
    responsible_unit: str = ""
    deadline: dt.date | None = None


@dataclass
class MeetingInput:
    kind: str = "coordination"
    held_on: dt.date | None = None
    place: str = ""
    convened_by: str = ""
    topic: str = ""
    attending_units: list[str] = field(default_factory=list)
    attendees: list[str] = field(default_factory=list)
    decisions: str = ""
    case_ids: list[int] = field(default_factory=list)
    period_start: dt.date | None = None
    period_end: dt.date | None = None


def split_list(text: str) -> list[str]:
    """'A、B，C\nD' -> ['A', 'B', 'C', 'D'] (for the attending units and people text boxes)."""
    for sep in ("，", ",", "；", ";", "\n"):
        text = (text or "").replace(sep, "、")
    return [t.strip() for t in text.split("、") if t.strip()]


def _check_item(item: ActionInput, held_on: dt.date | None, prefix: str = "") -> dict:
    errors = {}
    if not (item.task or "").strip():
        errors[prefix + "task"] = "请填写任务内容。"
    if not (item.responsible_unit or "").strip():
        errors[prefix + "responsible_unit"] = "请填写责任单位。"
    if item.deadline is None:
        errors[prefix + "deadline"] = "请填写完成时限。"
    elif held_on and item.deadline < held_on:
        errors[prefix + "deadline"] = "完成时限不能早于会议日期。"
    return errors


def _check_meeting(data: MeetingInput) -> dict:
    errors = {}
    if data.kind not in KINDS:
        errors["kind"] = "会议类型应为协调会或月度例会。"
    if data.held_on is None:
        errors["held_on"] = "请填写会议日期。"
    elif data.held_on > clock.today():
        errors["held_on"] = "会议日期不能晚于今天（纪要在会后登记）。"
    for name, label in (("topic", "会议议题"), ("place", "会议地点"), ("convened_by", "召集人")):
        if not (getattr(data, name) or "").strip():
            errors[name] = f"请填写{label}。"
    if len((data.topic or "").strip()) > 200:
        errors["topic"] = "会议议题不能超过200个字。"
    if data.kind == "monthly_review" and data.period_start and data.period_end and data.period_end < data.period_start:
        errors["period_end"] = "统计期结束日期不能早于开始日期。"
    return errors


def _cases(session: Session, case_ids: list[int]) -> list[Case]:
    ids = list(dict.fromkeys(int(c) for c in case_ids or []))
    found = list(session.scalars(select(Case).where(Case.id.in_(ids)))) if ids else []
    if len(found) != len(ids):
        raise ValidationError({"case_ids": "所选案件不存在，请重新选择。"})
    return found


def _review_period(data: MeetingInput) -> tuple[dt.date, dt.date]:
    if data.period_start and data.period_end:
        return data.period_start, data.period_end
    last = data.held_on.replace(day=1) - dt.timedelta(days=1)  # the month before the meeting
    return last.replace(day=1), last


def create_meeting(session: Session, actor: Actor, data: MeetingInput, items: list[ActionInput] | None = None) -> Meeting:
    require(actor, WRITE)
    errors = _check_meeting(data)
    for i, item in enumerate(items or []):
        errors.update(_check_item(item, data.held_on, prefix=f"item{i}_"))
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    m = Meeting(kind=data.kind, held_on=data.held_on, place=data.place.strip(), convened_by=data.convened_by.strip(),
                topic=data.topic.strip(), attending_units=list(data.attending_units), attendees=list(data.attendees),
                decisions=(data.decisions or "").strip(), created_by_id=actor.user_id,
                created_by_name=person_name(actor), created_at=now, updated_at=now)
    m.cases = _cases(session, data.case_ids)
    if data.kind == "monthly_review":
        m.period_start, m.period_end = _review_period(data)
        m.figures = dashboard.period_figures(session, m.period_start, m.period_end)
    m.serial = numbering.next_value(session, "minutes", data.held_on.year)
    session.add(m)
    for item in items or []:
        m.items.append(ActionItem(task=item.task.strip(), responsible_unit=item.responsible_unit.strip(),
                                  deadline=item.deadline, status="open", updated_at=now))
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "meeting.create", "meeting", m.id, kind=m.kind, topic=m.topic, items=len(m.items),
                 cases=[c.number for c in m.cases])
    return m


def update_meeting(session: Session, actor: Actor, meeting_id: int, expected_version: int | None,
                   data: MeetingInput) -> Meeting:
    require(actor, WRITE)
    m = records.load_versioned(session, Meeting, meeting_id, expected_version, MEETING)
    data.kind = m.kind
    errors = _check_meeting(data)
    if errors:
        raise ValidationError(errors)
    m.held_on, m.place, m.convened_by, m.topic = data.held_on, data.place.strip(), data.convened_by.strip(), data.topic.strip()
    m.attending_units, m.attendees = list(data.attending_units), list(data.attendees)
    m.decisions = (data.decisions or "").strip()
    m.cases = _cases(session, data.case_ids)
    m.updated_at = clock.now()
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "meeting.edit", "meeting", m.id, topic=m.topic)
    return m


def add_item(session: Session, actor: Actor, meeting_id: int, item: ActionInput) -> ActionItem:
    require(actor, WRITE)
    m = records.load_versioned(session, Meeting, meeting_id, None, MEETING)
    errors = _check_item(item, m.held_on)
    if errors:
        raise ValidationError(errors)
    row = ActionItem(meeting_id=m.id, task=item.task.strip(), responsible_unit=item.responsible_unit.strip(),
                     deadline=item.deadline, status="open", updated_at=clock.now())
    session.add(row)
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "action_item.add", "action_item", row.id, meeting_id=m.id, task=row.task)
    return row


def update_item(session: Session, actor: Actor, item_id: int, expected_version: int | None, status: str,
                evidence: str = "", done_on: dt.date | None = None) -> ActionItem:
    """Mark an item done (evidence note required) or open again."""
    require(actor, WRITE)
    row = records.load_versioned(session, ActionItem, item_id, expected_version, ITEM)
    evidence = (evidence or "").strip()
    if status not in ITEM_STATUSES:
        raise ValidationError({"status": "状态应为未完成或已完成。"})
    if status == "done":
        done_on = done_on or clock.today()
        errors = {}
        if not evidence:
            errors["evidence"] = "标记完成须填写落实情况（佐证说明）。"
        if done_on > clock.today():
            errors["done_on"] = "完成日期不能晚于今天。"
        if errors:
            raise ValidationError(errors)
        row.status, row.evidence, row.done_on = "done", evidence, done_on
        row.done_by_name = person_name(actor)
    else:
        row.status, row.done_on, row.done_by_name = "open", None, ""
        if evidence:
            row.evidence = evidence
    row.updated_at = clock.now()
    records.flush_versioned(session, RECORD)
    audit.record(session, actor, "action_item.update", "action_item", row.id, status=status, evidence=evidence)
    return row


# ------------------------------------------------------------------ reading
def _item_row(item: ActionItem, meeting: Meeting | None, on: dt.date) -> dict:
    overdue = item.status == "open" and item.deadline < on
    return {"id": item.id, "meeting_id": item.meeting_id, "task": item.task, "responsible_unit": item.responsible_unit,
            "deadline": item.deadline, "status": item.status, "status_name": "已超期" if overdue else ITEM_STATUSES[item.status],
            "overdue": overdue, "evidence": item.evidence, "done_on": item.done_on, "version": item.version,
            "meeting_topic": meeting.topic if meeting else "", "meeting_date": meeting.held_on if meeting else None}


def list_meetings(session: Session, actor: Actor, kind: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    can_read(actor)
    on = clock.today()
    conds = [Meeting.kind == kind] if kind else []
    total = session.scalar(select(func.count()).select_from(Meeting).where(*conds)) or 0
    stats = (select(ActionItem.meeting_id, func.count().label("n_items"),
                    func.sum(case((ActionItem.status == "open", 1), else_=0)).label("open"),
                    func.sum(case((item_overdue_condition(on), 1), else_=0)).label("overdue"))
             .group_by(ActionItem.meeting_id).subquery())
    q = (select(Meeting, stats.c.n_items, stats.c.open, stats.c.overdue)
         .outerjoin(stats, stats.c.meeting_id == Meeting.id).where(*conds)
         .order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(page_size).offset(max(page - 1, 0) * page_size))
    rows = [{"id": m.id, "kind": m.kind, "kind_name": KINDS[m.kind], "held_on": m.held_on, "topic": m.topic,
             "place": m.place, "convened_by": m.convened_by, "items": int(items or 0), "open": int(open_ or 0),
             "overdue": int(overdue or 0), "cases": [c.number for c in m.cases]}
            for m, items, open_, overdue in session.execute(q)]
    return {"rows": rows, "total": int(total)}


def get(session: Session, actor: Actor, meeting_id: int) -> dict:
    can_read(actor)
    m = records.load_versioned(session, Meeting, meeting_id, None, MEETING)
    on = clock.today()
    mask = masker_for(session, actor, [c.id for c in m.cases])
    items = [_item_row(i, m, on) for i in m.items]
    for row in items:
        row.update(task=mask(row["task"]), evidence=mask(row["evidence"]), meeting_topic=mask(row["meeting_topic"]))
    return {"id": m.id, "kind": m.kind, "kind_name": KINDS[m.kind], "held_on": m.held_on, "place": mask(m.place),
            "convened_by": m.convened_by, "topic": mask(m.topic), "attending_units": list(m.attending_units or []),
            "attendees": list(m.attendees or []), "decisions": mask(m.decisions), "figures": m.figures,
            "period_start": m.period_start, "period_end": m.period_end, "version": m.version,
            "cases": [(c.id, c.number) for c in m.cases], "items": items}


def open_items(session: Session, overdue_only: bool = False, limit: int = 50) -> list[dict]:
    """Open action items (overdue first, then by deadline), for the task force's home page."""
    on = clock.today()
    cond = item_overdue_condition(on) if overdue_only else ActionItem.status == "open"
    q = (select(ActionItem, Meeting).join(Meeting, ActionItem.meeting_id == Meeting.id).where(cond)
         .order_by(ActionItem.deadline, ActionItem.id).limit(limit))
    return [_item_row(i, m, on) for i, m in session.execute(q)]


def item_counts(session: Session) -> dict:
    on = clock.today()
    r = session.execute(select(func.sum(case((ActionItem.status == "open", 1), else_=0)),
                               func.sum(case((item_overdue_condition(on), 1), else_=0)))).one()
    return {"open": int(r[0] or 0), "overdue": int(r[1] or 0)}


def items_for_case(session: Session, case_id: int, open_only: bool = True) -> list[dict]:
    """Action items of the meetings that discussed the case."""
    on = clock.today()
    q = (select(ActionItem, Meeting).join(Meeting, ActionItem.meeting_id == Meeting.id)
         .join(meeting_case, meeting_case.c.meeting_id == Meeting.id).where(meeting_case.c.case_id == case_id))
    if open_only:
        q = q.where(ActionItem.status == "open")
    return [_item_row(i, m, on) for i, m in session.execute(q.order_by(ActionItem.deadline, ActionItem.id))]


def meetings_for_case(session: Session, case_id: int) -> list[dict]:
    q = (select(Meeting).join(meeting_case, meeting_case.c.meeting_id == Meeting.id)
         .where(meeting_case.c.case_id == case_id).order_by(Meeting.held_on))
    return [{"id": m.id, "kind_name": KINDS[m.kind], "held_on": m.held_on, "topic": m.topic} for m in session.scalars(q)]


def in_period(session: Session, start: dt.date, end: dt.date) -> list[dict]:
    q = select(Meeting).where(Meeting.held_on.between(start, end)).order_by(Meeting.held_on, Meeting.id)
    return [{"id": m.id, "kind": m.kind, "kind_name": KINDS[m.kind], "held_on": m.held_on.isoformat(),
             "topic": m.topic} for m in session.scalars(q)]


# ------------------------------------------------------------------ minutes as a document (会议纪要)
_HEADING_NO = re.compile(r"^[一二三四五六七八九十]+、")


def minutes_serial(session: Session, meeting: Meeting) -> int:
    """The meeting's 期号 (第N期), fixed when it was recorded."""
    if meeting.serial is None:  # rows written in bulk (the demo) before assign_serials ran
        assign_serials(session)
        session.refresh(meeting)
    return int(meeting.serial)


def minutes_number(meeting: Meeting) -> str:
    """2026年第3期: the 期号 as the "doc_number" of meeting_minutes.json writes it (the year of the meeting)."""
    return documents.format_doc_number("meeting_minutes", {"year": meeting.held_on.year, "serial": meeting.serial})


def assign_serials(session: Session) -> None:
    """Number the meetings that have no 期号 yet, in date order, after their year's last number."""
    rows = session.execute(select(Meeting.id, Meeting.held_on).where(Meeting.serial.is_(None))
                           .order_by(Meeting.held_on, Meeting.id)).all()
    for mid, held_on in rows:
        session.execute(update(Meeting).where(Meeting.id == mid)
                        .values(serial=numbering.next_value(session, "minutes", held_on.year)))


def minutes_filename(held_on: dt.date, kind: str, fmt: str) -> str:
    """会议纪要_2023-11-08_协调会.docx: date and type only, nothing a user typed (safe on Windows)."""
    return f"会议纪要_{held_on.isoformat()}_{KINDS.get(kind, '会议')}.{fmt}"


def _check_format(fmt: str) -> None:
    if fmt not in MINUTES_FORMATS:
        raise ValidationError({"fmt": "会议纪要只能导出为 Word（docx）或 PDF 格式。"})


def _item_status(item: ActionItem, on: dt.date) -> str:
    return "超期未完成" if item.status == "open" and item.deadline < on else ITEM_STATUSES[item.status]


def _renumber_headings(blocks: list[documents.Block]) -> None:
    """一、二、… of the first-level headings in the order printed (a left-out section shifts the rest)."""
    n = 0
    for b in blocks:
        if b.kind == "h1" and _HEADING_NO.match(b.text):
            n += 1
            b.text = _HEADING_NO.sub(f"{documents.cn_number(n)}、", b.text, count=1)


def document(session: Session, actor: Actor, meeting_id: int) -> documents.OfficialDocument:
    """The minutes as a 会议纪要. Case numbers only: no party names or other personal data."""
    can_read(actor)
    m = records.load_versioned(session, Meeting, meeting_id, None, MEETING)
    on = clock.today()
    units = [u for u in (m.attending_units or []) if str(u).strip()]
    people = [p for p in (m.attendees or []) if str(p).strip()]
    numbers = [c.number for c in m.cases]
    mask = masker_for(session, actor, [c.id for c in m.cases])  # leaders and trainers: masked free text
    values = {
        "serial": minutes_serial(session, m), "topic": mask(m.topic), "kind_name": KINDS[m.kind],
        "convened_by": m.convened_by, "place": mask(m.place), "date": m.held_on,
        "attending_units": "、".join(units) or "未登记", "attendees": "、".join(people) or "未登记",
        "case_numbers": "、".join(numbers) or None, "case_count": len(numbers),
        "decisions": mask(m.decisions) or "无。",
        "item_count": len(m.items) or None, "status_date": documents.format_date_cn(on),
        "item_rows": [[str(n), mask(i.task), i.responsible_unit, i.deadline.isoformat(),
                       _item_status(i, on)] for n, i in enumerate(m.items, 1)] or None,
    }
    f = m.figures or {}
    if m.kind == "monthly_review" and f and m.period_start and m.period_end:
        cn = documents.format_date_cn
        values.update(
            figures_period=f"{cn(m.period_start)}至{cn(m.period_end)}",
            received=str(int(f.get("received") or 0)), settled=str(int(f.get("settled") or 0)),
            success_rate=dashboard.pct(f.get("success_rate"), NO_RATE),
            satisfaction_rate=dashboard.pct(f.get("satisfaction_rate"), NO_RATE))
    if units:
        values["copy_to"] = units
    doc = documents.fill_template("meeting_minutes", values)
    _renumber_headings(doc.body)
    return doc


def render(session: Session, actor: Actor, meeting_id: int, fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of the minutes as DOCX or PDF; any other format is refused."""
    can_read(actor)
    _check_format(fmt)
    doc = document(session, actor, meeting_id)
    m = session.get(Meeting, meeting_id)
    data = documents.render_docx(doc) if fmt == "docx" else documents.render_pdf(doc)
    return minutes_filename(m.held_on, m.kind, fmt), data
