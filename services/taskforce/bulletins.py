"""Work bulletins (工作专报): numbered issues drafted from the data of a period.

Numbering: one running sequence across years (第1期, 第2期, … never restarting in January), as the
article counts its 16 issues; the number is given when the issue is issued (counter kind
"bulletin", year 0), so a discarded draft leaves no gap.

A draft takes a snapshot of the period (Beijing-time dates, both ends included):
- headline figures and the township table: services.metrics.dashboard, the dashboard's own measures and
  rates read from the case rows, so a bulletin and the dashboard give the same numbers for the
  same period;
- rankings top and bottom from the latest assessment run ending in the period, or a note that
  there is none;
- notable cases (major cases, or settled at city level, in the period), the risk notices and
  supervision orders issued and the meetings held in the period.
The commentary (存在问题) and next steps (下步工作) are editable until the issue is issued.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, insert, or_, select
from sqlalchemy.orm import Session

from db.models import (ActionItem, AssessmentResult, AssessmentRun, Bulletin, Case, DisputeCategory, Instrument,
                       Township)
from services import audit, clock, documents, numbering, records
from services.cases import ladder
from services.taskforce import meetings
from services.metrics import dashboard
from services.errors import DomainError, ValidationError
from services.taskforce.instruments import DRAFT_SERIAL, KINDS as INSTRUMENT_KINDS, WRITE, can_read, overdue_condition
from services.metrics.dashboard import pct, period_figures
from services.roles import Actor, person_name, require

STATES = {"draft": "草稿", "issued": "已印发"}
SEQUENCE = ("bulletin", 0)  # counter kind and "year": one running sequence
TOWNSHIP_ROWS = 10
NOTABLE_LIMIT = 5


# ------------------------------------------------------------------ figures
def township_rows(session: Session, start: dt.date, end: dt.date, limit: int = TOWNSHIP_ROWS) -> list[list[str]]:
    rows = dashboard.raw_totals(session, dashboard.Period(start, end), group_by=[Case.township_id.label("township_id")])
    names = dict(session.execute(select(Township.id, Township.name)).all())
    rows = sorted((r for r in rows if r["received"]), key=lambda r: (-r["received"], r["township_id"]))
    out = []
    for r in rows[:limit]:
        rates = dashboard.rates(r)
        out.append([names.get(r["township_id"], ""), str(r["received"]), dashboard.pct(rates["success_rate"]),
                    dashboard.pct(rates["satisfaction_rate"])])
    return out


def rankings(session: Session, start: dt.date, end: dt.date) -> dict:
    """Top and bottom three units of the latest assessment run ending within the period."""
    run = session.scalar(select(AssessmentRun).where(AssessmentRun.period_end <= end, AssessmentRun.period_end >= start)
                         .order_by(AssessmentRun.period_end.desc(), AssessmentRun.id.desc()).limit(1))
    if run is None:
        return {"top": [], "bottom": [], "note": "本期尚无考核排名结果。"}
    top, bottom = [], []
    for unit_type, type_name in (("station", "派出所"), ("room", "调解室")):
        base = select(AssessmentResult.unit_name, AssessmentResult.rank, AssessmentResult.score) \
            .where(AssessmentResult.run_id == run.id, AssessmentResult.unit_type == unit_type,
                   AssessmentResult.rank.isnot(None))
        row = lambda r: {"type": type_name, "unit": r.unit_name, "rank": r.rank, "score": round(r.score, 1)}  # noqa: E731
        top += [row(r) for r in session.execute(base.order_by(AssessmentResult.rank, AssessmentResult.id).limit(3))]
        bottom += [row(r) for r in reversed(session.execute(
            base.order_by(AssessmentResult.rank.desc(), AssessmentResult.id.desc()).limit(3)).all())]
    return {"top": top, "bottom": bottom,
            "note": f"排名依据：{run.label or run.period_start.isoformat() + '至' + run.period_end.isoformat()}考核结果。"}


def notable_cases(session: Session, start: dt.date, end: dt.date, limit: int = NOTABLE_LIMIT) -> list[dict]:
    """Major cases or cases settled at city level, settled in the period (no personal data)."""
    lo, hi = dashboard.Period(start, end).utc_bounds()
    q = (select(Case.number, Case.mode, Case.settled_level, Case.complexity, Township.name.label("township"),
                DisputeCategory.name.label("category"))
         .join(Township, Case.township_id == Township.id).join(DisputeCategory, Case.category_id == DisputeCategory.id)
         .where(Case.settled_at >= lo, Case.settled_at < hi,
                or_(Case.complexity == "major", Case.settled_level == "city"))
         .order_by(case((Case.settled_level == "city", 0), else_=1), Case.settled_at).limit(limit))
    return [{"number": r.number, "township": r.township, "category": r.category,
             "level": ladder.level_name(r.mode, r.settled_level) if r.settled_level else "",
             "complexity": {"simple": "简单", "general": "一般", "major": "重大"}.get(r.complexity, r.complexity)}
            for r in session.execute(q)]


def instruments_in(session: Session, start: dt.date, end: dt.date) -> list[dict]:
    q = (select(Instrument.kind, Instrument.doc_number, Instrument.addressee, Instrument.subject)
         .where(Instrument.issue_date.between(start, end)).order_by(Instrument.kind, Instrument.serial))
    return [{"kind": r.kind, "kind_name": INSTRUMENT_KINDS[r.kind], "doc_number": r.doc_number,
             "addressee": r.addressee, "subject": r.subject} for r in session.execute(q)]


def snapshot(session: Session, start: dt.date, end: dt.date) -> dict:
    """Everything a bulletin draft takes from the data (also used by the demo)."""
    figures = period_figures(session, start, end)
    figures["townships"] = township_rows(session, start, end)
    on = clock.today()
    overdue = session.scalar(select(func.count()).select_from(Instrument).where(overdue_condition(on))) or 0
    items = session.scalar(select(func.count()).select_from(ActionItem)
                           .where(ActionItem.status == "open", ActionItem.deadline < on)) or 0
    return {"figures": figures, "rankings": rankings(session, start, end), "notable": notable_cases(session, start, end),
            "instruments": instruments_in(session, start, end), "meetings": meetings.in_period(session, start, end),
            "commentary": f"截至{documents.format_date_cn(on)}，仍有{overdue}份风险提示函、督办单超期未回复，"
                          f"{items}项协调会议定事项超期未完成。",
            "next_steps": "继续压实母舅驻所、住村调解责任，对超期未回复单位按考核办法约谈、通报。"}


def default_title(start: dt.date, end: dt.date) -> str:
    return f"{start.month}月{start.day}日至{end.month}月{end.day}日全市非警务警情联动处置工作情况"


# ------------------------------------------------------------------ writes
_RECORD = records.wording("期专报")  # 该期专报不存在。/ 该期专报已被他人修改，…


def _load(session: Session, bulletin_id: int, expected_version: int | None) -> Bulletin:
    return records.load_versioned(session, Bulletin, bulletin_id, expected_version, _RECORD)


def _flush(session: Session) -> None:
    records.flush_versioned(session, _RECORD)


def _check_period(start: dt.date | None, end: dt.date | None) -> None:
    errors = {}
    if start is None:
        errors["period_start"] = "请选择统计期开始日期。"
    if end is None:
        errors["period_end"] = "请选择统计期结束日期。"
    elif start and end < start:
        errors["period_end"] = "结束日期不能早于开始日期。"
    elif end > clock.today():
        errors["period_end"] = "结束日期不能晚于今天。"
    if errors:
        raise ValidationError(errors)


def draft(session: Session, actor: Actor, start: dt.date | None, end: dt.date | None, title: str = "") -> Bulletin:
    require(actor, WRITE)
    _check_period(start, end)
    snap = snapshot(session, start, end)
    now = clock.now()
    b = Bulletin(state="draft", title=(title or "").strip() or default_title(start, end), period_start=start,
                 period_end=end, created_by_id=actor.user_id, created_by_name=person_name(actor),
                 created_at=now, updated_at=now, **snap)
    session.add(b)
    _flush(session)
    audit.record(session, actor, "bulletin.draft", "bulletin", b.id, period=f"{start}..{end}")
    return b


def refresh(session: Session, actor: Actor, bulletin_id: int, expected_version: int | None) -> Bulletin:
    """Take the figures again (draft only); the edited commentary is kept."""
    require(actor, WRITE)
    b = _load(session, bulletin_id, expected_version)
    if b.state != "draft":
        raise DomainError("已印发的专报不能再更新数据。")
    snap = snapshot(session, b.period_start, b.period_end)
    for name in ("figures", "rankings", "notable", "instruments", "meetings"):
        setattr(b, name, snap[name])
    b.updated_at = clock.now()
    _flush(session)
    audit.record(session, actor, "bulletin.refresh", "bulletin", b.id)
    return b


def update_text(session: Session, actor: Actor, bulletin_id: int, expected_version: int | None, title: str,
                commentary: str, next_steps: str) -> Bulletin:
    require(actor, WRITE)
    b = _load(session, bulletin_id, expected_version)
    if b.state != "draft":
        raise DomainError("已印发的专报不能再修改。")
    errors = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = "请填写专报标题。"
    elif len(title) > 200:
        errors["title"] = "专报标题不能超过200个字。"
    if errors:
        raise ValidationError(errors)
    b.title, b.commentary, b.next_steps = title, (commentary or "").strip(), (next_steps or "").strip()
    b.updated_at = clock.now()
    _flush(session)
    audit.record(session, actor, "bulletin.edit", "bulletin", b.id)
    return b


def issue(session: Session, actor: Actor, bulletin_id: int, expected_version: int | None) -> Bulletin:
    require(actor, WRITE)
    b = _load(session, bulletin_id, expected_version)
    if b.state != "draft":
        raise DomainError(f"该期专报已印发（{issue_label(b.issue_no)}）。")
    errors = {}
    if not b.commentary.strip():
        errors["commentary"] = "请填写存在问题（专班评述）。"
    if not b.next_steps.strip():
        errors["next_steps"] = "请填写下步工作。"
    if errors:
        raise ValidationError(errors)
    b.issue_no = numbering.next_value(session, *SEQUENCE)
    b.state = "issued"
    b.issued_at = clock.now()
    b.issue_date = clock.today()
    b.issued_by_name = person_name(actor)
    b.updated_at = b.issued_at
    _flush(session)
    audit.record(session, actor, "bulletin.issue", "bulletin", b.id, issue_no=b.issue_no)
    return b


# ------------------------------------------------------------------ reading
def _row(b: Bulletin) -> dict:
    f = b.figures or {}
    return {"id": b.id, "issue_no": b.issue_no, "issue": issue_label(b.issue_no) if b.issue_no else "草稿",
            "state": b.state, "state_name": STATES[b.state], "title": b.title, "period_start": b.period_start,
            "period_end": b.period_end, "issue_date": b.issue_date, "received": f.get("received"),
            "success_rate": f.get("success_rate"), "satisfaction_rate": f.get("satisfaction_rate"),
            "version": b.version}


def list_bulletins(session: Session, actor: Actor, page: int = 1, page_size: int = 20) -> dict:
    can_read(actor)
    total = session.scalar(select(func.count()).select_from(Bulletin)) or 0
    q = (select(Bulletin).order_by(case((Bulletin.state == "draft", 0), else_=1), Bulletin.issue_no.desc(),
                                   Bulletin.id.desc()).limit(page_size).offset(max(page - 1, 0) * page_size))
    return {"rows": [_row(b) for b in session.scalars(q)], "total": int(total)}


def get(session: Session, actor: Actor, bulletin_id: int) -> dict:
    can_read(actor)
    b = _load(session, bulletin_id, None)
    row = _row(b)
    row.update(figures=b.figures or {}, rankings=b.rankings or {}, notable=list(b.notable or []),
               instruments=list(b.instruments or []), meetings=list(b.meetings or []), commentary=b.commentary,
               next_steps=b.next_steps, created_by_name=b.created_by_name, issued_by_name=b.issued_by_name)
    return row


def _cn(d: dt.date | str) -> str:
    return documents.format_date_cn(d if isinstance(d, dt.date) else dt.date.fromisoformat(d))


def practices(b: Bulletin) -> list[dict]:
    """The 主要做法 section: notices and orders, meetings, notable cases, rankings."""
    ins = list(b.instruments or [])
    notices = [i for i in ins if i["kind"] == "risk_notice"]
    orders = [i for i in ins if i["kind"] == "supervision_order"]
    if ins:
        text = (f"本期发出风险提示函{len(notices)}份、督办单{len(orders)}份（"
                + "、".join(i["doc_number"] for i in ins[:8]) + ("等" if len(ins) > 8 else "") + "），"
                "督促相关单位落实化解稳控责任。")
    else:
        text = "本期未发出风险提示函和督办单。"
    out = [{"heading": "风险提示与督办", "text": text}]
    ms = list(b.meetings or [])
    coord = [m for m in ms if m["kind"] == "coordination"]
    reviews = [m for m in ms if m["kind"] == "monthly_review"]
    if ms:
        out.append({"heading": "协调会商", "text": f"本期召开协调会{len(coord)}次、月度例会{len(reviews)}次，研究"
                    + "；".join(m["topic"] for m in ms[:5]) + "等事项，明确措施和责任单位。"})
    notable = list(b.notable or [])
    if notable:
        out.append({"heading": "典型案例", "text": "；".join(
            f"{n['number']}，{n['township']}{n['category']}（{n['complexity']}），经{n['level']}调解成功" for n in notable)
            + "。"})
    r = b.rankings or {}
    if r.get("top"):
        text = ("排名靠前：" + "、".join(x["unit"] for x in r["top"]) + "；排名靠后：" +
                "、".join(x["unit"] for x in r.get("bottom", [])) + "。" + r.get("note", ""))
    else:
        text = r.get("note") or "本期不列排名。"
    out.append({"heading": "考核排名", "text": text})
    return out


def document(session: Session, actor: Actor, bulletin_id: int) -> documents.OfficialDocument:
    can_read(actor)
    b = _load(session, bulletin_id, None)
    f = b.figures or {}
    mode = f.get("by_mode", {})
    period = f"{_cn(b.period_start)}至{_cn(b.period_end)}"
    overview = (f"{period}，全市共受理非警务警情{f.get('received', 0)}件，其中驻所模式{mode.get('station', 0)}件、"
                f"住村模式{mode.get('village', 0)}件；调解成功{f.get('settled', 0)}件，调解成功率{pct(f.get('success_rate'))}；"
                f"回访{f.get('followed', 0)}件，满意率{pct(f.get('satisfaction_rate'))}。")
    # the default title breaks best between the period and the subject
    title = b.title if "\n" in b.title else b.title.replace("日全市", "日\n全市", 1)
    values = {"issue_no": b.issue_no or DRAFT_SERIAL, "title": title,
              "lead": f"现将{period}全市12345与110非警务警情联动处置工作情况报告如下。", "overview": overview,
              "township_rows": f.get("townships") or None, "practices": practices(b),
              "problems": b.commentary or "无。", "next_steps": b.next_steps or "无。",
              "date": b.issue_date or clock.today()}
    return documents.fill_template("bulletin", values)


def issue_label(issue_no: int) -> str:
    """第16期: the issue's number as the "doc_number" of templates/official/bulletin.json writes it,
    the one place the format lives (the page, messages and file names read it from here)."""
    return documents.format_doc_number("bulletin", {"issue_no": issue_no})


def file_stem(bulletin_id: int, issue_no: int | None) -> str:
    """工作专报_第16期 (a draft: 工作专报_草稿3): the name of the downloaded file without extension."""
    return f"工作专报_{issue_label(issue_no) if issue_no else '草稿' + str(bulletin_id)}"


def render(session: Session, actor: Actor, bulletin_id: int, fmt: str) -> tuple[str, bytes]:
    doc = document(session, actor, bulletin_id)
    b = session.get(Bulletin, bulletin_id)
    name = f"{file_stem(b.id, b.issue_no)}.{fmt}"
    return name, documents.render_docx(doc) if fmt == "docx" else documents.render_pdf(doc)


def bulk_insert(session: Session, rows: list[dict]) -> None:
    """Demo data: bulletin rows as they are."""
    session.execute(insert(Bulletin), rows)
