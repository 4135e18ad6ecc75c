"""Real browser: 导出 Excel on every list screen of the demo, opened with openpyxl.

One test per role, each logging in once and exporting several lists (staff and leader, whose files
differ in personal data, on both databases): the file's title line names
the list, the filter in words and the export time; row 2 is the list's header; the data rows are
exactly the rows the list's own service gives the same role for the same filters (more than one
screen page where the demo has them); numbers are numeric cells with their number format and times are date cells; and
personal data is full for staff and masked for the leader, with the unmasked exports logged.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from db.engine import get_engine, session_scope
from db.models import AuditEvent, User
from services import auth, clock, listing
from services import lists as L
from services.cases import case_queries
from services.codes import online_services
from services.exports import NUMBER_FORMATS, NUMERIC
from services.roster import duty, org
from services.taskforce import instruments, meetings
from tests.test_browser_case_loop import idle
from tests.test_browser_login import home, login, login_form

pytestmark = pytest.mark.browser
WAIT = 30000
FULL_MOBILE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
MASKED_MOBILE = re.compile(r"(?<!\d)1\d{2}\*{4}\d{4}(?!\d)")


# ------------------------------------------------------------------ helpers
def _db(server):
    return session_scope(get_engine(server.database_url))


def open_list(page, link: str, export_key: str) -> None:
    """Open a page from the menu and wait for the list's export button."""
    idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True).first.click()
    expect(page.locator(f".st-key-{export_key}").get_by_role("button", name="导出 Excel")).to_be_visible(timeout=WAIT)
    idle(page)


def select_in(page, key: str, option: str) -> None:
    """Choose `option` in the selectbox whose widget key is `key` (a list filter: `{scope}_{name}`).
    The box's input also shows the typed text while the list is open, so the choice counts only
    once the list has closed with the option in the box (under load a click can land while the
    list is being drawn again and choose nothing)."""
    box = page.locator(f".st-key-{key}").get_by_role("combobox")
    wanted = page.get_by_role("option", name=option, exact=True).first
    for _ in range(4):
        idle(page)
        box.click()
        page.keyboard.type(option)  # long lists (the audit trail's actions) render only the options in view
        try:
            wanted.wait_for(timeout=5000)
            wanted.click()
            expect(page.get_by_role("listbox")).to_have_count(0, timeout=5000)
            expect(box).to_have_value(option, timeout=5000)
            break
        except Exception:  # noqa: BLE001 - a rerun closed the box under the click; open it again
            page.keyboard.press("Escape")
    expect(box).to_have_value(option, timeout=WAIT)
    idle(page)


def audit_count(server, action: str) -> int:
    with _db(server) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def service_rows(server, username: str, spec, filters: dict) -> list[dict]:
    """What the list's own service gives this user for these filters (all pages)."""
    with _db(server) as s:
        actor = auth.actor_for(s.scalar(select(User).where(User.username == username)))
        return list(listing.all_rows(s, actor, spec, filters))


def beijing_minute() -> dt.datetime:
    return clock.local(clock.now()).replace(tzinfo=None, second=0, microsecond=0)


def export(page, tmp_path, key: str):
    """Click 导出 Excel of the list `key`; return the file name, the sheet and the time window."""
    before = beijing_minute()
    with page.expect_download(timeout=120000) as info:
        page.locator(f".st-key-{key}").get_by_role("button", name="导出 Excel").click()
    download = info.value
    path = tmp_path / f"{key}-{download.suggested_filename}"
    download.save_as(path)
    after = beijing_minute()
    return download.suggested_filename, load_workbook(path).active, (before, after)


def check_file(exported, spec, rows: list[dict], words: str, name: str | None = None, numeric: str | None = None):
    """Title line, header, row count and number formats of an exported list; returns the data rows."""
    filename, ws, (before, after) = exported
    name = name or spec.name
    assert re.fullmatch(re.escape(name) + r"_\d{8}\.xlsx", filename), filename
    title = ws["A1"].value
    m = re.fullmatch(re.escape(f"{name}（筛选条件：{words}；导出时间：") + r"(\d{4}-\d\d-\d\d \d\d:\d\d)"
                     + re.escape(f"；共 {len(rows):,} 条") + r"(，至多导出 [\d,]+ 条)?）", title or "")
    assert m, title
    assert before <= dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M") <= after
    assert [c.value for c in ws[2]] == [c.header for c in spec.file_columns]
    data = [[c for c in r] for r in ws.iter_rows(min_row=3)]
    assert len(data) == len(rows)
    seen_number = False
    for i, col in enumerate(spec.file_columns):
        if col.format in ("date", "datetime"):  # dates and times are date cells, not text
            for r in data:
                assert r[i].value is None or isinstance(r[i].value, dt.date), (col.header, r[i].value)
                assert r[i].value is None or r[i].number_format == NUMBER_FORMATS[col.format], col.header
        if col.format not in NUMERIC:
            continue
        for r in data:
            if r[i].value is None:
                continue
            assert isinstance(r[i].value, (int, float)) and not isinstance(r[i].value, bool), (col.header, r[i].value)
            assert r[i].number_format == NUMBER_FORMATS[col.format], (col.header, r[i].number_format)
            seen_number = True
    if numeric:  # the list has figures in the demo: at least that column was checked
        assert seen_number, numeric
        idx = [c.header for c in spec.file_columns].index(numeric)
        assert any(isinstance(r[idx].value, (int, float)) for r in data), numeric
    return [[c.value for c in r] for r in data]


def column(spec, data: list[list], header: str) -> list[str]:
    i = [c.header for c in spec.file_columns].index(header)
    return [str(r[i] or "") for r in data]


def first_township(server) -> tuple[int, str]:
    with _db(server) as s:
        t = org.townships(s)[0]
        return t.id, t.name


def logged_in(page, srv, username: str) -> tuple[int, str, int, int]:
    """Log in; the first township (the duty page's default) and the export counts so far."""
    login(page, srv.url, username)
    home(page)
    tid, town = first_township(srv)
    return tid, town, audit_count(srv, "personal.export"), audit_count(srv, "roster.export")


def export_case_list(page, srv, tmp_path, username: str, tid: int, town: str) -> list[str]:
    """案件列表 filtered by a township, exported: every matching case (more than the screen's
    20-row page); returns the parties column."""
    open_list(page, "案件列表", "cl_export")
    page.get_by_text("筛选", exact=True).click()
    select_in(page, "cl_township_id", town)
    rows = service_rows(srv, username, L.CASES, {"township_id": tid})
    expect(page.get_by_text(f"共 {len(rows):,} 件，第 1 /")).to_be_visible(timeout=WAIT)
    data = check_file(export(page, tmp_path, "cl_export"), L.CASES, rows, f"乡镇（街道）：{town}")
    assert len(data) > 20
    assert set(column(L.CASES, data, "乡镇（街道）")) == {town}
    return column(L.CASES, data, "当事人及电话")


# ------------------------------------------------------------------ staff: the case lists, services, roster, duty
def test_staff_exports_case_lists_services_roster_and_duty_in_full(page, portal, tmp_path):
    srv = portal
    tid, town, personal, roster_logged = logged_in(page, srv, "staff")
    parties = export_case_list(page, srv, tmp_path, "staff", tid, town)
    assert any(FULL_MOBILE.search(p) for p in parties) and not any(MASKED_MOBILE.search(p) for p in parties)
    assert audit_count(srv, "personal.export") == personal + 1

    # 超时预警: one file per kind, named for it
    with _db(srv) as s:
        staff = auth.actor_for(s.scalar(select(User).where(User.username == "staff")))
        groups = case_queries.overdue_list(s, staff, limit=0)
    kind, group = next((k, g) for k, g in groups.items() if g["count"])
    open_list(page, "超时预警", f"od_{kind}_export")
    rows = service_rows(srv, "staff", L.OVERDUE, {"kind": kind})
    check_file(export(page, tmp_path, f"od_{kind}_export"), L.OVERDUE, rows, f"超时类型：{group['name']}",
               name=f"超时预警_{group['name']}")

    # 回访: the queue waiting for a call
    open_list(page, "回访", "fu_export")
    rows = service_rows(srv, "staff", L.FOLLOW_UPS, {"ready": False})
    data = check_file(export(page, tmp_path, "fu_export"), L.FOLLOW_UPS, rows, "待回访", name="回访队列_待回访")
    assert any(FULL_MOBILE.search(p) for p in column(L.FOLLOW_UPS, data, "当事人及电话"))

    # 线上服务, filtered by status 已完成 (more than a 50-row page)
    open_list(page, "线上服务", "os_export")
    select_in(page, "os_status", online_services.STATUSES["done"])
    rows = service_rows(srv, "staff", L.ONLINE, {"status": "done", "kind": None})
    data = check_file(export(page, tmp_path, "os_export"), L.ONLINE, rows, "状态：已完成")
    assert len(data) > 50 and set(column(L.ONLINE, data, "状态")) == {"已完成"}

    # 视频连线: no filter; durations are counts
    open_list(page, "视频连线", "vl_export")
    rows = service_rows(srv, "staff", L.VIDEO, {})
    data = check_file(export(page, tmp_path, "vl_export"), L.VIDEO, rows, "全部", numeric="时长（分钟）")
    assert len(data) > 50

    # 母舅名册, filtered by kind: full mobiles, every export logged
    open_list(page, "母舅名册", "roster_export")
    select_in(page, "roster_kind", "驻所母舅")
    rows = service_rows(srv, "staff", L.ROSTER, {"kind": "station", "active": True})
    data = check_file(export(page, tmp_path, "roster_export"), L.ROSTER, rows, "人员类别：驻所母舅；状态：在岗",
                      numeric="成功率")
    assert len(data) > 50
    phones = column(L.ROSTER, data, "手机号")
    assert any(FULL_MOBILE.fullmatch(p) for p in phones) and not any(MASKED_MOBILE.search(p) for p in phones)
    assert audit_count(srv, "roster.export") == roster_logged + 1

    # 值班安排: the week of the first township, with the cadres' phones in full
    open_list(page, "值班安排", "duty_week_export")
    week = duty.week_start_of(clock.today())
    rows = service_rows(srv, "staff", L.DUTY_WEEK, {"township_id": tid, "week": week})
    data = check_file(export(page, tmp_path, "duty_week_export"), L.DUTY_WEEK, rows,
                      f"乡镇（街道）：{town}；周次：{week:%Y-%m-%d} 起")
    assert len(data) == 7
    phones = [p for p in column(L.DUTY_WEEK, data, "电话") if p]
    assert phones and all(FULL_MOBILE.fullmatch(p) for p in phones)
    assert audit_count(srv, "personal.export") == personal + 4  # cases, overdue, follow-ups, duty


# ------------------------------------------------------------------ leader: the same lists masked, and awards
def test_leader_exports_are_masked_and_awards_hold_every_entry(page, portal, tmp_path):
    srv = portal
    tid, town, personal, roster_logged = logged_in(page, srv, "leader")
    parties = export_case_list(page, srv, tmp_path, "leader", tid, town)
    assert any(MASKED_MOBILE.search(p) for p in parties) and not any(FULL_MOBILE.search(p) for p in parties)

    # 奖惩登记, filtered to rewards: amounts are yuan figures
    open_list(page, "奖惩登记", "aw_export")
    select_in(page, "aw_kind", "奖励")
    rows = service_rows(srv, "leader", L.AWARDS, {"kind": "reward"})
    data = check_file(export(page, tmp_path, "aw_export"), L.AWARDS, rows, "类别：奖励", numeric="奖励金额（元）")
    assert data and set(column(L.AWARDS, data, "类别")) == {"奖励"}

    open_list(page, "母舅名册", "roster_export")
    select_in(page, "roster_kind", "驻所母舅")
    rows = service_rows(srv, "leader", L.ROSTER, {"kind": "station", "active": True})
    data = check_file(export(page, tmp_path, "roster_export"), L.ROSTER, rows, "人员类别：驻所母舅；状态：在岗")
    phones = column(L.ROSTER, data, "手机号")
    assert any(MASKED_MOBILE.fullmatch(p) for p in phones) and not any(FULL_MOBILE.search(p) for p in phones)
    assert audit_count(srv, "roster.export") == roster_logged + 1  # the roster logs every export

    open_list(page, "值班安排", "duty_week_export")
    week = duty.week_start_of(clock.today())
    rows = service_rows(srv, "leader", L.DUTY_WEEK, {"township_id": tid, "week": week})
    data = check_file(export(page, tmp_path, "duty_week_export"), L.DUTY_WEEK, rows,
                      f"乡镇（街道）：{town}；周次：{week:%Y-%m-%d} 起")
    phones = [p for p in column(L.DUTY_WEEK, data, "电话") if p]
    assert phones and all(MASKED_MOBILE.fullmatch(p) for p in phones)
    assert audit_count(srv, "personal.export") == personal  # masked files hold no personal data: not logged


# ------------------------------------------------------------------ task force: audit trail and its instruments
def test_taskforce_exports_audit_trail_notices_bulletins_and_meetings(page, live_server, tmp_path):
    srv = live_server
    login_form(page, srv.url, "taskforce")  # through the form: the audit trail then holds a 登录成功 to filter on
    home(page)
    logged = audit_count(srv, "audit.export")

    open_list(page, "操作日志", "al_export")
    select_in(page, "al_action", "登录成功")
    today = clock.today()
    dates = (today - dt.timedelta(days=30), today)
    rows = service_rows(srv, "taskforce", L.AUDIT, {"action": "login.ok", "dates": dates})
    data = check_file(export(page, tmp_path, "al_export"), L.AUDIT, rows,
                      f"操作：登录成功；日期范围：{dates[0]} 至 {dates[1]}", numeric="编号")
    assert data and set(column(L.AUDIT, data, "操作")) == {"登录成功"}
    assert audit_count(srv, "audit.export") == logged + 1

    open_list(page, "风险提示与督办", "nt_export")
    select_in(page, "nt_kind", instruments.KINDS["risk_notice"])
    rows = service_rows(srv, "taskforce", L.NOTICES, {"kind": "risk_notice"})
    data = check_file(export(page, tmp_path, "nt_export"), L.NOTICES, rows, "类型：风险提示函")
    assert len(data) > 20 and set(column(L.NOTICES, data, "类型")) == {"风险提示函"}

    open_list(page, "工作专报", "bl_export")
    rows = service_rows(srv, "taskforce", L.BULLETINS, {})
    check_file(export(page, tmp_path, "bl_export"), L.BULLETINS, rows, "全部", numeric="成功率")

    open_list(page, "协调会", "mt_export")
    select_in(page, "mt_kind", meetings.KINDS["monthly_review"])
    rows = service_rows(srv, "taskforce", L.MEETINGS, {"kind": "monthly_review"})
    data = check_file(export(page, tmp_path, "mt_export"), L.MEETINGS, rows, "会议类型：月度例会", numeric="交办事项")
    assert data and set(column(L.MEETINGS, data, "类型")) == {"月度例会"}


# ------------------------------------------------------------------ admin: the user accounts
def test_admin_exports_user_accounts_by_role(page, live_server, tmp_path):
    srv = live_server
    login(page, srv.url, "admin")
    home(page)
    open_list(page, "用户管理", "users_export")
    select_in(page, "users_role", "母舅调解员")
    rows = service_rows(srv, "admin", L.USERS, {"role": "mediator", "search": ""})
    data = check_file(export(page, tmp_path, "users_export"), L.USERS, rows, "角色：母舅调解员", numeric="编号")
    assert len(data) == 2 and set(column(L.USERS, data, "角色")) == {"母舅调解员"}
