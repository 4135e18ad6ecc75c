"""The portal's lists, declared once: columns and the function that feeds each (services.listing).

The list screens draw these through components/lists.py and every 导出 Excel writes them through
services/exports.py, so a file has the screen's columns, filters and masking. Each feeding
function adapts one service (which keeps its own role checks and masking) to
`fetch(session, actor, filters, request) -> Page`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Party
from services import audit, auth, clock
from services.metrics import assessment
from services.taskforce import bulletins
from services.cases import case_queries
from services.roster import duty
from services.taskforce import instruments
from services.taskforce import meetings
from services.codes import online_services
from services.roster import mediators
from services.codes import video_links
from services.listing import (
    Column,
    ListDef,
    Page,
    PageRequest,
    offset_of,
    offset_page,
    page_number,
    slice_page,
)
from services.roles import ROLES, Actor, may
from services.validation import mask_name, mask_phone

def as_times(rows: list[dict], *fields: str) -> list[dict]:
    """Times a service wrote as Beijing text ("2024-05-06 09:30", `clock.fmt`) made times again:
    the screen writes them as before, and the file gets date cells that sort and filter as dates
    (they were text in the awards, online-service and video-link files)."""
    for r in rows:
        for f in fields:
            value = r.get(f)
            if isinstance(value, str):
                r[f] = dt.datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=clock.LOCAL_TZ) if value else None
    return rows


# ------------------------------------------------------------------ cases (案件列表, 超时预警, 回访)
CASE_COLUMNS = (
    Column("案件编号", "number"), Column("接报时间", "received_at", "datetime"), Column("乡镇（街道）", "township"),
    Column("类别", "category"), Column("模式", "mode_name"), Column("层级", "level_name"),
    Column("状态", "status_name"), Column("超时", "overdue_names", "list"),
    Column("回访期限", "follow_up_due_at", "datetime"),
    # in the file only: whom to call back (a leader's or trainer's file has them masked)
    Column("当事人及电话", "parties", personal=True, on_screen=False),
)


def with_parties(session: Session, actor: Actor, rows: list[dict]) -> list[dict]:
    """Each case row gets its parties' names and mobiles, masked unless the role may see them."""
    full = may(actor.role, "case.view_personal")
    found: dict[int, list[str]] = {}
    ids = [r["id"] for r in rows]
    if ids:
        for p in session.scalars(select(Party).where(Party.case_id.in_(ids)).order_by(Party.id)):
            name, mobile = (p.name, p.mobile) if full else (mask_name(p.name), mask_phone(p.mobile))
            found.setdefault(p.case_id, []).append(" ".join(x for x in (name, mobile) if x))
    for r in rows:
        r["parties"] = "；".join(found.get(r["id"], []))
    return rows


def _cases(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    found = case_queries.list_cases(session, actor, case_queries.CaseFilters(**filters), after=request.token,
                                    page_size=request.size, count=request.count)
    return Page(with_parties(session, actor, found.rows), found.total, found.next, found.estimated)


def _overdue(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    rows, total = case_queries.overdue_cases(session, actor, filters["kind"], offset_of(request), request.size)
    return offset_page(with_parties(session, actor, rows), total, request)


def _follow_ups(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    rows, total = case_queries.follow_up_cases(session, actor, bool(filters.get("ready")), offset_of(request),
                                               request.size)
    return offset_page(with_parties(session, actor, rows), total, request)


_CASES = {"columns": CASE_COLUMNS, "personal_permission": "case.view_personal"}
CASES = ListDef("案件列表", fetch=_cases, jump=case_queries.after_date, **_CASES)
OVERDUE = ListDef("超时预警", fetch=_overdue, **_CASES)
FOLLOW_UPS = ListDef("回访队列", fetch=_follow_ups, **_CASES)


# ------------------------------------------------------------------ 奖惩登记
def _awards(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    reg = assessment.awards(session, filters.get("kind"), page_number(request), request.size)
    return offset_page(as_times(reg["rows"], "decided_at"), reg["total"], request)


AWARDS = ListDef("奖惩登记", (
    Column("类别", "kind"), Column("单位类型", "unit_type"), Column("单位", "unit_name"), Column("考核期间", "period"),
    Column("事由", "reason"), Column("详情", "detail"), Column("奖励金额（元）", "amount", "yuan", on_screen=False),
    Column("决定人", "decided_by"), Column("决定时间", "decided_at", "datetime")), _awards, max_batch=500)


# ------------------------------------------------------------------ 操作日志 (keyset pages)
def _audit(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    start, end = (tuple(filters.get("dates") or ()) + (None, None))[:2]
    flt = audit.AuditFilter(user_id=filters.get("user_id"), action=filters.get("action") or "",
                            obj=filters.get("obj") or "", start=start, end=end)
    rows, next_before = audit.page(session, actor, flt, request.token, request.size)
    return Page(rows, None, next_before)


AUDIT = ListDef("操作日志", (
    Column("编号", "编号", "int"), Column("时间", "时间"), Column("姓名", "姓名"),
    Column("用户名", "用户名", on_screen=False),  # people by name and role on screen; the account in the file
    Column("角色", "角色"), Column("操作", "操作"), Column("对象", "对象"), Column("变更", "变更"),
    Column("说明", "说明")), _audit, export_action="audit.export", max_batch=2000, max_rows=100_000)


# ------------------------------------------------------------------ 线上服务, 视频连线
def _online(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    rows, total = online_services.queue(session, filters.get("status") or None, filters.get("kind") or None,
                                        page=page_number(request) - 1, page_size=request.size)
    for r in rows:
        r["overdue_text"] = "超时" if r["overdue"] else ""
    return offset_page(as_times(rows, "sla_due", "scheduled_at"), total, request)


ONLINE = ListDef("线上服务", (
    Column("申请编号", "number"), Column("案件编号", "case_number"), Column("服务类型", "kind"),
    Column("状态", "status_name"), Column("已等待", "age", in_file=False),
    Column("已等待（小时）", "age_hours", "int", on_screen=False), Column("受理时限", "sla_due", "datetime"),
    Column("超时", "overdue_text"), Column("安排时间", "scheduled_at", "datetime"), Column("参加人员", "participants"),
    Column("结果/原因", "outcome")), _online, max_batch=500)


def _video(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    rows, total = video_links.list_links(session, page=page_number(request) - 1, page_size=request.size)
    return offset_page(as_times(rows, "时间"), total, request)


VIDEO = ListDef("视频连线", tuple(Column(h, h, {"时间": "datetime", "时长（分钟）": "int"}.get(h, "text")) for h in (
    "时间", "时长（分钟）", "发起方", "目的", "参加方", "调解室", "案件编号", "申请编号", "结果")), _video, max_batch=500)


# ------------------------------------------------------------------ 专班: 文书台账, 工作专报, 会议纪要
def _notices(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    flt = instruments.Filters(filters.get("kind"), filters.get("state"), bool(filters.get("overdue")),
                              filters.get("unit") or "")
    page = instruments.list_instruments(session, actor, flt, page_number(request), request.size)
    for r in page["rows"]:
        r["doc_label"] = r["doc_number"] or "（草稿）"
        r["overdue_text"] = "超期未回复" if r["overdue"] else ("逾期回复" if r["late_reply"] else "")
    return offset_page(page["rows"], page["total"], request)


NOTICES = ListDef("风险提示与督办台账", (
    Column("文号", "doc_label"), Column("类型", "kind_name"), Column("状态", "state_name"),
    Column("主送单位", "addressee"), Column("事项", "subject"), Column("关联案件", "cases", "list"),
    Column("发文日期", "issue_date", "date"), Column("反馈期限", "deadline", "date"),
    Column("回复日期", "reply_date", "date"), Column("超期", "overdue_text")), _notices, max_batch=500)


def _bulletins(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    page = bulletins.list_bulletins(session, actor, page_number(request), request.size)
    for r in page["rows"]:
        r["period"] = f"{r['period_start']} 至 {r['period_end']}"
    return offset_page(page["rows"], page["total"], request)


BULLETINS = ListDef("工作专报", (
    Column("期号", "issue"), Column("状态", "state_name"), Column("标题", "title"), Column("统计期", "period"),
    Column("印发日期", "issue_date", "date"), Column("受理", "received", "int"),
    Column("成功率", "success_rate", "percent"), Column("满意率", "satisfaction_rate", "percent")),
    _bulletins, max_batch=500)


def _meetings(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    page = meetings.list_meetings(session, actor, filters.get("kind"), page_number(request), request.size)
    return offset_page(page["rows"], page["total"], request)


MEETINGS = ListDef("会议纪要", (
    Column("日期", "held_on", "date"), Column("类型", "kind_name"), Column("议题", "topic"),
    Column("召集人", "convened_by"), Column("交办事项", "items", "int"), Column("未完成", "open", "int"),
    Column("超期", "overdue", "int"), Column("研究案件", "cases", "list")), _meetings, max_batch=500)


# ------------------------------------------------------------------ 母舅名册, 值班, 用户
def roster_filter(filters: dict) -> mediators.RosterFilter:
    return mediators.RosterFilter(filters.get("township_id"), filters.get("unit_code"), filters.get("kind"),
                               filters.get("specialty"), filters.get("active", True), filters.get("search") or "")


def _roster(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    page = mediators.list_roster(session, actor, roster_filter(filters), page=page_number(request),
                              page_size=request.size)
    rows = page.rows if page.page == page_number(request) else []  # list_roster clamps past the last page
    for r in rows:
        r["active_text"] = "是" if r["active"] else "否"
    return offset_page(rows, page.total, request)


# the file keeps the import template's headers (人员类别, 手机号, 所属单位编码 …): edited, it imports again
ROSTER = ListDef("母舅名册", (
    Column("编码", "code"), Column("姓名", "name"), Column("人员类别", "kind_name"),
    Column("手机号", "phone", personal=True), Column("所属单位编码", "unit_code", on_screen=False),
    Column("所属单位", "unit"), Column("乡镇（街道）", "township"), Column("部门/律所", "department"),
    Column("擅长纠纷类别", "specialties", "list"), Column("人员背景", "background"),
    Column("在岗", "active_text", on_screen=False), Column("状态", "status"),
    Column("起始日期", "active_from", "date"), Column("备注", "note", on_screen=False),
    Column("在办", "open_cases", "int"), Column("本月", "month_cases", "int"),
    Column("成功率", "success_ratio", "percent"), Column("满意率", "satisfaction_ratio", "percent")),
    _roster, personal_permission="roster.view_phone", export_action="roster.export", max_batch=500)


def _duty_week(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    view = duty.week_view(session, filters["township_id"], duty.week_start_of(filters["week"]), actor.role)
    rows = [{"night": n.label, "date": n.date, "name": n.name, "phone": n.phone,
             "state": "⚠ 空档" if n.gap else "已排班", "note": n.note} for n in view.nights]
    return slice_page(rows, request)


DUTY_WEEK = ListDef("值班安排", (
    Column("夜间", "night"), Column("日期", "date", "date", on_screen=False), Column("值班干部", "name"),
    Column("电话", "phone", personal=True), Column("状态", "state"), Column("备注", "note")),
    _duty_week, personal_permission="roster.view_phone")


def _users(session: Session, actor: Actor, filters: dict, request: PageRequest) -> Page:
    term = (filters.get("search") or "").strip()
    now = clock.now()
    rows = [{"id": u.id, "username": u.username, "name": u.display_name, "role": ROLES.get(u.role, u.role),
             "state": "启用" if u.active else "停用", "demo": "是" if u.is_demo else "",
             "locked_until": u.locked_until if u.locked_until and u.locked_until > now else None,
             "last_login_at": u.last_login_at}
            for u in auth.list_users(session, actor)
            if (not filters.get("role") or u.role == filters["role"])
            and (not term or term in u.username or term in u.display_name)]
    return slice_page(rows, request)


USERS = ListDef("用户", (
    Column("编号", "id", "int"), Column("用户名", "username"), Column("姓名", "name"), Column("角色", "role"),
    Column("状态", "state"), Column("演示账号", "demo"), Column("锁定至", "locked_until", "datetime"),
    Column("最近登录", "last_login_at", "datetime")), _users, max_batch=500)
