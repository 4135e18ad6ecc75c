"""导出 Excel of every list (services.listing.export), on SQLite and PostgreSQL: the file holds all
rows matching the filters (read in batches, not the page on screen), personal data masked per role
as on screen (staff see the number, leader and trainer a masked one), numbers as numbers with
their format, a formula typed as data stays text, a title line naming list, filters and time,
and 导出个人信息 in the audit trail when the file holds personal data."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from db.engine import session_scope
from db.models import (
    AuditEvent,
    AwardEntry,
    Bulletin,
    Case,
    Instrument,
    Mediator,
    Meeting,
    OnlineRequest,
    Party,
    Township,
    VideoLink,
)
from services import audit, clock, listing, lists
from services.metrics import assessment
from services.taskforce import bulletins
from services.codes import dispute_codes
from services.roster import duty
from services.taskforce import instruments
from services.taskforce import meetings
from services.codes import online_services
from services.codes import video_links
from services.roles import SYSTEM
from tests.test_dispute_codes import make_case
from tests.ui import ensure_user

HOSTILE = "=1+1"


@pytest.fixture
def who(db_url):
    return lambda role: ensure_user(db_url, role)


def export(engine, actor, spec, filters, text="全部", **kw):
    with session_scope(engine) as s:
        exp = listing.export(s, actor, spec, filters, text, **kw)
    ws = load_workbook(io.BytesIO(exp.data)).active
    header = [c.value for c in ws[2]]
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=3, values_only=True)]
    return exp, ws, rows


def events(engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        out = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
        return out


def all_text(ws) -> str:
    return "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)


def assert_text_cell(ws, column: str, typed: str = HOSTILE):
    """The typed formula is in the file as text (quoted), never as a formula."""
    col = [c.value for c in ws[2]].index(column)
    cells = [row[col] for row in ws.iter_rows(min_row=3) if str(row[col].value or "").lstrip("'").startswith(typed)]
    assert cells, f"{typed} not exported in {column}"
    assert all(c.data_type == "s" and c.value.startswith("'" + typed) for c in cells)


def village_cases(engine, staff, n: int, state: str = "registered", mobile: str = "13811112222") -> list[int]:
    with session_scope(engine) as s:
        return [make_case(s, staff, state, {"name": "欧阳明月", "mobile": mobile}, mode="village").id
                for _ in range(n)]


# ------------------------------------------------------------------ lists with personal data
def test_case_list_file_has_every_filtered_row_masked_per_role_and_logged(engine, who):
    staff = who("staff")
    ids = village_cases(engine, staff, 4)
    with session_scope(engine) as s:
        make_case(s, staff, "registered", {"mobile": "13900001111"})  # another township: filtered out
        town = s.scalar(select(Township).where(Township.mode == "village").order_by(Township.code))
        s.execute(update(Party).where(Party.case_id == ids[0]).values(name=HOSTILE))
    spec = dataclasses.replace(lists.CASES, max_batch=3)  # two batches for four rows
    flt = {"township_id": town.id}
    exp, ws, rows = export(engine, staff, spec, flt, f"乡镇（街道）：{town.name}")

    assert len(rows) == 4 and re.fullmatch(r"案件列表_\d{8}\.xlsx", exp.filename)
    title = ws["A1"].value
    assert title.startswith("案件列表（筛选条件：乡镇（街道）：") and town.name in title and "导出时间：" in title
    assert [c.value for c in ws[2]] == [c.header for c in lists.CASES.file_columns]
    assert all("13811112222" in r["当事人及电话"] for r in rows)
    assert_text_cell(ws, "当事人及电话")
    received = ws.cell(row=3, column=2)
    assert isinstance(received.value, dt.datetime) and received.number_format == "yyyy-mm-dd hh:mm"
    logged = events(engine, "personal.export")
    assert [(e.object_label, e.detail["rows"], e.detail["personal"]) for e in logged] == [("案件列表", 4, "full")]

    for role in ("leader", "trainer"):
        _, ws, rows = export(engine, who(role), spec, flt)
        assert len(rows) == 4
        assert "13811112222" not in all_text(ws) and "明月" not in all_text(ws)
        assert all("138****2222" in r["当事人及电话"] for r in rows)
    assert len(events(engine, "personal.export")) == 1  # masked files hold no personal data: not logged


def test_overdue_and_follow_up_files_hold_all_their_cases(engine, who):
    staff, taskforce, leader = who("staff"), who("taskforce"), who("leader")
    late = village_cases(engine, staff, 3)
    village_cases(engine, staff, 1)  # not overdue
    village_cases(engine, staff, 2, "settled", mobile="13722223333")
    with session_scope(engine) as s:
        s.execute(update(Case).where(Case.id.in_(late)).values(level_due_at=clock.now() - dt.timedelta(days=1)))
    spec = dataclasses.replace(lists.OVERDUE, max_batch=2)
    exp, ws, rows = export(engine, staff, spec, {"kind": "level"}, "超时类型：层级办理超时", name="超时预警_层级办理超时")
    assert len(rows) == 3 and exp.filename.startswith("超时预警_层级办理超时_")
    assert all(r["超时"] == "层级办理超时" and "13811112222" in r["当事人及电话"] for r in rows)
    _, ws, rows = export(engine, leader, spec, {"kind": "level"})
    assert len(rows) == 3 and "13811112222" not in all_text(ws)

    _, ws, rows = export(engine, taskforce, lists.FOLLOW_UPS, {"ready": False}, "待回访")
    assert len(rows) == 2 and all("13722223333" in r["当事人及电话"] for r in rows)
    assert isinstance(rows[0]["回访期限"], dt.datetime)
    _, ws, rows = export(engine, leader, lists.FOLLOW_UPS, {"ready": False})
    assert len(rows) == 2 and all("137****3333" in r["当事人及电话"] for r in rows)
    assert [e.detail["rows"] for e in events(engine, "personal.export")] == [3, 2]


def test_roster_file_keeps_the_import_layout_masks_phones_and_reimports(engine, who):
    staff, leader = who("staff"), who("leader")
    with session_scope(engine) as s:
        person = s.scalar(select(Mediator).where(Mediator.kind == "lawyer").order_by(Mediator.code))
        phone = person.phone
        s.execute(update(Mediator).where(Mediator.id == person.id).values(note=HOSTILE))
    spec = dataclasses.replace(lists.ROSTER, max_batch=5)
    try:
        _, ws, rows = export(engine, staff, spec, {"kind": "lawyer", "active": None}, "人员类别：律师")
        assert len(rows) == 12 and {r["人员类别"] for r in rows} == {"律师"}
        assert phone in [r["手机号"] for r in rows]
        assert_text_cell(ws, "备注")
        assert ws["O2"].value == "在办" and isinstance(ws["O3"].value, int) and ws["O3"].number_format == "#,##0"
        _, ws, rows = export(engine, leader, spec, {"kind": "lawyer", "active": None})
        assert phone not in all_text(ws) and phone[:3] + "****" + phone[-4:] in [r["手机号"] for r in rows]
        assert [(e.role, e.detail["personal"]) for e in events(engine, "roster.export")] == [("staff", "full"),
                                                                                             ("leader", "masked")]
    finally:
        with session_scope(engine) as s:  # the roster is kept between tests
            s.execute(update(Mediator).where(Mediator.id == person.id).values(note=""))


def test_duty_week_file_masks_the_cadres_phone(engine, who):
    admin, leader = who("admin"), who("leader")
    with session_scope(engine) as s:
        town = s.scalar(select(Township).order_by(Township.code))
        cadre = s.scalar(select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id == town.id,
                                                Mediator.active.is_(True)).order_by(Mediator.code))
        week = duty.week_start_of(clock.local(clock.now()).date() + dt.timedelta(days=7))
        duty.assign(s, admin, town.id, week + dt.timedelta(days=2), cadre.id)
        phone = cadre.phone
    flt = {"township_id": town.id, "week": week}
    exp, ws, rows = export(engine, admin, lists.DUTY_WEEK, flt, f"{town.name} {week} 起", name="值班安排")
    assert len(rows) == 7 and exp.filename.startswith("值班安排_")
    assert [r["电话"] for r in rows if r["值班干部"]] == [phone] and rows[2]["日期"].date() == week + dt.timedelta(days=2)
    _, ws, rows = export(engine, leader, lists.DUTY_WEEK, flt)
    assert phone not in all_text(ws) and [r["电话"] for r in rows if r["值班干部"]] == [phone[:3] + "****" + phone[-4:]]
    assert [e.role for e in events(engine, "personal.export")] == ["admin"]


def test_audit_file_reads_past_one_keyset_page_and_is_logged(engine, who):
    admin = who("admin")
    with session_scope(engine) as s:
        for i in range(7):
            audit.record(s, SYSTEM, "setting.change", "setting", None, label=HOSTILE if i == 3 else f"设置{i}")
        audit.record(s, SYSTEM, "demo.load", "demo", None, label="演示数据")
    spec = dataclasses.replace(lists.AUDIT, max_batch=3)
    _, ws, rows = export(engine, admin, spec, {"action": "setting.change"}, "操作：修改设置")
    assert len(rows) == 7 and {r["操作"] for r in rows} == {"修改设置"}
    assert rows[0]["编号"] > rows[-1]["编号"]  # newest first, as on screen
    assert_text_cell(ws, "对象")
    logged = events(engine, "audit.export")
    assert len(logged) == 1 and logged[0].detail["rows"] == 7 and "修改设置" in logged[0].note


# ------------------------------------------------------------------ lists without personal data
def _awards(engine, who):
    with session_scope(engine) as s:
        for i, kind in enumerate(["reward", "reward", "reward", "interview"]):
            s.add(AwardEntry(kind=kind, unit_type="station", unit_id=1, unit_name=f"剑光派出所{i}",
                             period_start=dt.date(2023, 7, 1), period_end=dt.date(2023, 11, 30),
                             reason=HOSTILE if i == 0 else "考核第一名", amount=100000 if kind == "reward" else None,
                             decided_by_name="熊建国", decided_at=clock.now()))
    return lists.AWARDS, {"kind": "reward"}, 3, "事由"


def _video(engine, who):
    staff = who("staff")
    with session_scope(engine) as s:
        for i in range(3):
            video_links.log_link(s, staff, video_links.VideoLinkInput(
                started_at=clock.now() - dt.timedelta(hours=i + 1), duration_minutes=30 + i,
                initiated_by="city_centre", purpose="consultation", participants=["city_centre", "lawyer"],
                result="律师远程解答"))
        s.execute(update(VideoLink).where(VideoLink.duration_minutes == 31).values(result=HOSTILE))
    return lists.VIDEO, {}, 3, "结果"


def _notices(engine, who):
    staff, tf = who("staff"), who("taskforce")
    with session_scope(engine) as s:
        case = make_case(s, staff, "mediating")
        for kind in ("risk_notice", "risk_notice", "supervision_order"):
            instruments.draft_from_case(s, tf, kind, [case.id])
        s.execute(update(Instrument).where(Instrument.kind == "risk_notice").values(subject=HOSTILE))
    return lists.NOTICES, {"kind": "risk_notice"}, 2, "事项"


def _bulletins(engine, who):
    tf = who("taskforce")
    with session_scope(engine) as s:
        for i in range(3):
            bulletins.draft(s, tf, dt.date(2023, 7, 1) + dt.timedelta(days=7 * i), dt.date(2023, 7, 7) + dt.timedelta(days=7 * i))
        s.execute(update(Bulletin).values(title=HOSTILE))
    return lists.BULLETINS, {}, 3, "标题"


def _meetings(engine, who):
    tf = who("taskforce")
    with session_scope(engine) as s:
        for i in range(3):
            meetings.create_meeting(s, tf, meetings.MeetingInput(
                kind="coordination", held_on=dt.date(2023, 8, 1 + i), place="市综治中心三楼会议室",
                convened_by="专班 熊建国", topic=f"宅基地纠纷协调{i}", attending_units=["剑光街道"], attendees=["熊建国"],
                decisions="由街道牵头复测边界。"), [])
        s.execute(update(Meeting).where(Meeting.topic == "宅基地纠纷协调1").values(topic=HOSTILE))
    return lists.MEETINGS, {"kind": "coordination"}, 3, "议题"


def _online(engine, who):
    staff = who("staff")
    with session_scope(engine) as s:
        for kind in ("video_mediation", "video_mediation", "legal_consultation"):
            case = make_case(s, staff, "mediating")
            token = dispute_codes.issue_for_case(s, case.id).token
            online_services.submit_public(s, token, kind, "139 0000 1111", "希望尽快处理")
        s.execute(update(OnlineRequest).values(outcome=HOSTILE))
    return lists.ONLINE, {"kind": "video_mediation"}, 2, "结果/原因"


def _users(engine, who):
    for role in ("staff", "leader", "trainer", "admin"):
        who(role)
    with session_scope(engine) as s:
        from db.models import User
        s.execute(update(User).where(User.username == "t_leader").values(display_name=HOSTILE))
    return lists.USERS, {"search": "t_"}, 4, "姓名"


@pytest.mark.parametrize("setup", [_awards, _video, _notices, _bulletins, _meetings, _online, _users])
def test_every_list_exports_its_filtered_rows_as_data(engine, who, setup):
    spec, flt, expected, hostile_column = setup(engine, who)
    spec = dataclasses.replace(spec, max_batch=2)  # more rows than one batch
    reader = who("admin") if spec.name == "用户" else who("taskforce")
    exp, ws, rows = export(engine, reader, spec, flt)
    assert len(rows) == expected
    assert exp.filename == f"{spec.name}_{clock.local(clock.now()).date():%Y%m%d}.xlsx"
    assert ws["A1"].value.startswith(f"{spec.name}（筛选条件：全部；导出时间：")
    assert_text_cell(ws, hostile_column)
    assert not events(engine, "personal.export")  # nothing personal in these files


def test_amounts_and_rates_are_numbers_with_formats(engine, who):
    _awards(engine, who)
    _, ws, rows = export(engine, who("leader"), lists.AWARDS, {"kind": "reward"})
    amount = next(c for c in ws[3] if [h.value for h in ws[2]][c.column - 1] == "奖励金额（元）")
    assert amount.value == 100000 and amount.number_format == "#,##0.00"
    assert assessment.AWARD_KINDS["reward"] in {r["类别"] for r in rows}


@pytest.mark.parametrize("setup, column", [(_awards, "决定时间"), (_video, "时间"), (_online, "受理时限")])
def test_times_are_date_cells_in_beijing_time(engine, who, setup, column):
    """A time in the file is a date cell (it sorts and filters as a date in Excel and WPS), in
    Beijing time as on screen; it was text ("2024-05-06 09:30") in these three lists."""
    spec, flt, expected, _ = setup(engine, who)
    _, ws, rows = export(engine, who("taskforce"), spec, flt)
    i = [h.value for h in ws[2]].index(column)
    cells = [r[i] for r in ws.iter_rows(min_row=3)]
    assert len(cells) == expected
    now = clock.local(clock.now()).replace(tzinfo=None)
    for cell in cells:
        assert isinstance(cell.value, dt.datetime), (column, cell.value)
        assert cell.number_format == "yyyy-mm-dd hh:mm"
        assert abs(cell.value - now) < dt.timedelta(days=3)  # the records' own times, made just now


def test_online_waiting_time_is_a_number_of_hours_in_the_file(engine, who):
    """On screen 已等待 reads "2 天 3 小时"; in the file it is a whole number of hours that sorts
    and sums in Excel (it was that text before)."""
    spec, flt, expected, _ = _online(engine, who)
    with session_scope(engine) as s:
        s.execute(update(OnlineRequest).values(requested_at=clock.now() - dt.timedelta(hours=51, minutes=10)))
    _, ws, rows = export(engine, who("taskforce"), spec, flt)
    header = [h.value for h in ws[2]]
    assert "已等待" not in header and "已等待（小时）" in header
    cells = [r[header.index("已等待（小时）")] for r in ws.iter_rows(min_row=3)]
    assert len(cells) == expected and {c.value for c in cells} == {51}
    assert all(c.number_format == "#,##0" for c in cells)
    assert "已等待" in [c.header for c in spec.screen_columns]
