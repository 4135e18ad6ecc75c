"""The audit trail: every write of every service leaves exactly one event in its own transaction
(none when it fails), readable labels, the append-only table, refusals as security events."""
from __future__ import annotations

import ast
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text

from db.engine import session_scope
from db.models import AuditEvent, Case, DisputeCategory, Mediator, MediationRoom, Township, User
from services import admin_config, api_keys, audit, auth, clock, personal_data, sessions, settings
from services.metrics import assessment
from services.taskforce import bulletins
from services.cases import intake
from services.codes import dispute_codes
from services.roster import duty
from services.taskforce import instruments
from services.taskforce import meetings
from services.codes import online_services
from services.roster import mediators
from services.codes import video_links
from services.cases import workflow
from services.errors import DomainError, PermissionDenied
from services.metrics.dashboard import Period
from services.roles import ADMIN, LEADER, ROLES, SYSTEM, STAFF, TASKFORCE
from tests.factories import actor, case_input
from tests.test_roster import xlsx as roster_xlsx

ROLE_NAMES = tuple(ROLES.values())

SERVICES = Path(__file__).resolve().parent.parent / "services"
# functions that check a role but only read (they write nothing, so they leave no event)
READERS = {"auth.list_users", "sessions.active_sessions", "audit.page", "audit.people", "roles.require",
           "api_keys.list_keys"}
# writers walked elsewhere, with the reason
ELSEWHERE = {
    "demo.reset_demo": "wipes the whole database, trail included (demo mode only): tests/test_org_and_demo.py",
    "org.load_org": "loads the organisation into an empty database: conftest and tests/test_org_and_demo.py",
}


def writers() -> set[str]:
    """Every public service function that checks a role (services/*.py), i.e. every writer."""
    found = set()
    for path in SERVICES.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                calls = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
                if calls & {"require", "_require_call_totals"}:
                    found.add(f"{path.stem}.{node.name}")
    return found - READERS


class Walk:
    def __init__(self, engine):
        self.engine, self.walked = engine, set()

    def _count(self) -> int:
        with session_scope(self.engine) as s:
            return s.scalar(select(func.count()).select_from(AuditEvent))

    def ok(self, fn, *args, expect: str, **kwargs):
        """Run one service call in its own transaction: exactly one new event, of the expected action."""
        before = self._count()
        with session_scope(self.engine) as s:
            result = fn(s, *args, **kwargs)
        with session_scope(self.engine) as s:
            new = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(before)))
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
        assert [e.action for e in new] == [expect], f"{name}: {[e.action for e in new]}"
        event = new[0]
        assert audit.action_label(event.action) != event.action, f"{event.action} has no Chinese label"
        self.walked.add(name)
        return result

    def fails(self, fn, *args, exc=DomainError, **kwargs):
        before = self._count()
        with pytest.raises(exc), session_scope(self.engine) as s:
            fn(s, *args, **kwargs)
        assert self._count() == before, f"{fn.__name__} failed but left an event"


@pytest.fixture
def keep_org(backend_url, keep_settings):
    """The walk changes kept tables (settings, the roster): restored after the test's wipe."""
    from sqlalchemy import update

    from db.engine import get_engine
    from tests.test_roster import restore_people, snapshot_people
    snap = snapshot_people(backend_url)
    table = DisputeCategory.__table__
    with session_scope(get_engine(backend_url)) as s:
        categories = [dict(r._mapping) for r in s.execute(select(table))]
    yield
    restore_people(backend_url, snap)
    with session_scope(get_engine(backend_url)) as s:  # the walk moved a category: put the order back
        s.execute(table.delete().where(table.c.id.not_in([r["id"] for r in categories])))
        for row in categories:
            s.execute(update(table).where(table.c.id == row["id"]).values(**row))


def test_every_writing_service_leaves_exactly_one_event(keep_org, engine):
    w = Walk(engine)
    today = clock.today()
    with session_scope(engine) as s:
        staff, tf, admin, leader = (actor(s, r) for r in (STAFF, TASKFORCE, ADMIN, LEADER))
        town = s.scalar(select(Township).where(Township.code == "T01"))
        cadres = list(s.scalars(select(Mediator.id).where(Mediator.kind == "duty_cadre", Mediator.township_id == town.id)
                                .order_by(Mediator.code)))
        room = duty.station_room_of(s, town.id).id
        other_room = s.scalar(select(MediationRoom.id).where(MediationRoom.id != room, MediationRoom.kind == "station"))

    # accounts and sessions
    user = w.ok(auth.create_user, admin, "walker", "走访员", STAFF, "walk1234", expect="user.create")
    w.ok(auth.reset_password, admin, user.id, "walk5678", expect="user.reset_password")
    w.ok(auth.change_role, admin, user.id, TASKFORCE, expect="user.change_role")
    w.ok(auth.set_active, admin, user.id, False, expect="user.disable")
    w.ok(auth.set_active, admin, user.id, True, expect="user.enable")
    w.fails(auth.create_user, admin, "walker", "重名", STAFF, "walk1234")
    w.fails(auth.create_user, leader, "other", "领导", STAFF, "walk1234", exc=PermissionDenied)
    with session_scope(engine) as s:
        sid_token = sessions.create(s, user.id, "10.1.1.1", "walk")
        sid = sessions.lookup(s, sid_token).session_id
    w.ok(sessions.force_logout, admin, sid, expect="session.force_logout")
    w.ok(sessions.update_limits, admin, 20, 8, expect="setting.change")
    w.fails(sessions.update_limits, admin, 1, 8)

    # settings
    w.ok(admin_config.update_number, admin, "arrival_minutes", 20, expect="setting.change")
    w.ok(admin_config.update_number, admin, "follow_up_days", 10, expect="setting.change")
    w.ok(admin_config.update_station_room_hours, admin, 8, 21, expect="setting.change")
    with session_scope(engine) as s:
        limits = dict(admin_config.current(s)["level_time_limits"])
    w.ok(admin_config.update_level_time_limits, admin, {**limits, "township": 9}, expect="setting.change")
    w.fails(admin_config.update_number, admin, "arrival_minutes", 999)
    cat = w.ok(admin_config.add_category, admin, "走访测试纠纷", "walk_cat", expect="category.add")
    w.ok(admin_config.rename_category, admin, cat.id, "走访测试纠纷二", expect="category.rename")
    w.ok(admin_config.move_category, admin, cat.id, -1, expect="category.reorder")
    w.ok(admin_config.set_category_active, admin, cat.id, False, expect="category.deactivate")
    w.ok(admin_config.delete_category, admin, cat.id, expect="category.delete")
    w.ok(assessment.set_weights, admin, dict(assessment.DEFAULT_WEIGHTS), expect="setting.change")
    w.ok(assessment.set_police_minutes, admin, 30, 20, expect="setting.change")
    w.ok(settings.put, "public_base_url", "https://jiefen.example.gov.cn", admin, expect="setting.change")
    w.ok(admin_config.update_number, admin, "api_rate_limit", 30, expect="setting.change")
    # the platforms' API keys (the calls themselves register cases: tests/test_intake_api.py)
    key, _token = w.ok(api_keys.create_key, admin, "110", "走访指挥中心", expect="api.key_create")
    w.ok(api_keys.revoke_key, admin, key.id, expect="api.key_revoke")
    w.fails(api_keys.revoke_key, admin, key.id)  # already revoked
    w.fails(api_keys.create_key, admin, "110", "")
    w.fails(api_keys.create_key, leader, "110", "领导密钥", exc=PermissionDenied)

    # the case loop
    with session_scope(engine) as s:
        # a 110 case: the police times may be recorded only for those (the MOVES table's guard)
        data = case_input(s, source="110", police_incident_no="J3609812024030100001")
        bad = case_input(s, description="", parties=[])
    case = w.ok(intake.register_case, staff, data, expect="case.register")
    w.fails(intake.register_case, staff, bad)  # refused input: nothing saved, nothing logged
    if other_room:
        w.ok(workflow.reroute, staff, case.id, None, other_room, "就近调处", expect="case.reroute")
    with session_scope(engine) as s:
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, case.id)[:1]]
    w.ok(workflow.transition, staff, case.id, "dispatch", None, people=people, expect="case.dispatch")
    with session_scope(engine) as s:
        extra = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, case.id)[1:2]]
        dispatch_id = s.get(Case, case.id).dispatches[0].id
    if extra:
        w.ok(workflow.add_dispatch, staff, case.id, None, extra, expect="case.add_dispatch")
    w.ok(workflow.record_arrival, staff, dispatch_id, clock.now(), expect="case.arrive")
    received = case.received_at
    w.ok(workflow.record_police, staff, case.id, None, received + dt.timedelta(minutes=8),
         received + dt.timedelta(minutes=20), expect="case.police")
    w.ok(workflow.transition, staff, case.id, "transfer", None, note="现场未能化解", expect="case.transfer")
    # the dispute code and online services (the public page's request is logged without a person)
    code = w.ok(dispute_codes.revoke_and_reissue, staff, case.id, expect="code.reissue")
    token = code.token
    req = w.ok(online_services.submit_public, token, "legal_consultation", "13900001111", "咨询", expect="online.request")
    w.ok(online_services.accept, staff, req.id, expect="online.accept")
    w.ok(online_services.schedule, staff, req.id, clock.now() + dt.timedelta(days=1),
         [{"role": "lawyer", "name": "李律师"}], expect="online.schedule")
    w.ok(online_services.complete, staff, req.id, "已答复", expect="online.done")
    req2 = w.ok(online_services.submit_public, token, "legal_consultation", "13900001111", "", expect="online.request")
    w.ok(online_services.decline, staff, req2.id, "重复申请", expect="online.decline")
    w.fails(workflow.transition, staff, case.id, "settle", None, agreement_summary="")
    w.fails(workflow.transition, leader, case.id, "settle", None, agreement_summary="和解", exc=PermissionDenied)
    w.ok(workflow.transition, staff, case.id, "settle", None, agreement_summary="赔偿并道歉", expect="case.settle")
    w.ok(workflow.transition, tf, case.id, "follow_up", None, method="phone", satisfaction="satisfied",
         agreement_holds=True, expect="case.follow_up")
    w.ok(workflow.transition, tf, case.id, "close", None, expect="case.close")

    # personal data read
    w.ok(personal_data.record_view, staff, case.id, expect="personal.view")
    xlsx = w.ok(personal_data.export_parties, staff, case.id, expect="personal.export")
    assert openpyxl.load_workbook(io.BytesIO(xlsx)).active["B2"].value == "王小明"
    w.fails(personal_data.export_parties, leader, case.id, exc=PermissionDenied)

    # video links
    w.ok(video_links.log_link, staff, video_links.VideoLinkInput(
        started_at=clock.now() - dt.timedelta(hours=1), duration_minutes=20, initiated_by="city_centre",
        purpose="guidance", participants=["room", "city_centre"], room_id=room, result="已指导"), expect="video.log")

    # roster and duty
    person = w.ok(mediators.add_mediator, staff, mediators.MediatorInput(name="赵走访", kind="village", phone="13900005555",
                                                                   unit_code="R-T13-V01"), expect="roster.add")
    w.ok(mediators.update_mediator, staff, person.id, mediators.MediatorInput(
        name="赵走访", kind="village", phone="13900006666", unit_code="R-T13-V01", code=person.code), expect="roster.edit")
    w.ok(mediators.deactivate, staff, person.id, "调离", expect="roster.deactivate")
    w.ok(mediators.reactivate, staff, person.id, expect="roster.reactivate")
    gone = w.ok(mediators.add_mediator, staff, mediators.MediatorInput(name="误录人员", kind="grid_worker", phone="13900004444",
                                                                 unit_code="T01"), expect="roster.add")
    w.ok(mediators.delete_mediator, staff, gone.id, expect="roster.delete")
    w.ok(mediators.import_roster, staff, roster_xlsx([["", "钱导入", "住村母舅", "13900007777", "R-T13-V01"]]),
         expect="roster.import")
    w.ok(duty.add_department, staff, "走访司法所", expect="department.add")
    night = today + dt.timedelta(days=14)
    w.ok(duty.assign, staff, town.id, night, cadres[0], expect="duty.assign")
    w.ok(duty.assign, staff, town.id, night + dt.timedelta(days=1), cadres[1], expect="duty.assign")
    w.ok(duty.swap, staff, town.id, night, night + dt.timedelta(days=1), expect="duty.swap")
    w.ok(duty.unassign, staff, town.id, night + dt.timedelta(days=1), expect="duty.unassign")
    monday = night + dt.timedelta(days=7 - night.weekday())
    w.ok(duty.copy_last_week, staff, town.id, monday, expect="duty.copy_week")
    official = w.ok(mediators.add_mediator, staff, mediators.MediatorInput(
        name="钱司法", kind="department", phone="13900003333", unit_code="T01", department="走访司法所"), expect="roster.add")
    rot = w.ok(duty.add_rotation, staff, official.id, "rotating", today, today + dt.timedelta(days=9), room_id=room,
               expect="rotation.add")
    w.ok(duty.end_rotation, staff, rot.id, today + dt.timedelta(days=3), expect="rotation.end")
    w.fails(duty.assign, leader, town.id, night, cadres[0], exc=PermissionDenied)

    # task force: instruments, meetings, bulletins, assessment
    inst = w.ok(instruments.draft_from_case, tf, "risk_notice", [case.id], expect="instrument.draft")
    w.ok(instruments.update_draft, tf, inst.id, None, instruments.InstrumentInput(
        subject="走访事项", addressee=inst.addressee, facts=inst.facts, risk=inst.risk, measures=inst.measures,
        deadline=inst.deadline, township_id=inst.township_id), expect="instrument.edit")
    w.ok(instruments.issue, tf, inst.id, None, expect="instrument.issue")
    w.ok(instruments.record_reply, tf, inst.id, None, today, "已化解", expect="instrument.reply")
    w.ok(instruments.close, tf, inst.id, None, expect="instrument.close")
    spare = w.ok(instruments.create_draft, tf, "risk_notice", instruments.InstrumentInput(subject="废稿"),
                 expect="instrument.draft")
    w.ok(instruments.discard_draft, tf, spare.id, None, expect="instrument.discard")
    m = w.ok(meetings.create_meeting, tf, meetings.MeetingInput(held_on=today, topic="走访协调会", place="综治中心",
                                                                convened_by="专班"), [], expect="meeting.create")
    w.ok(meetings.update_meeting, tf, m.id, None, meetings.MeetingInput(held_on=today, topic="走访协调会（改）",
                                                                        place="综治中心", convened_by="专班"),
         expect="meeting.edit")
    item = w.ok(meetings.add_item, tf, m.id, meetings.ActionInput("复测", "自然资源所", today + dt.timedelta(days=5)),
                expect="action_item.add")
    w.ok(meetings.update_item, tf, item.id, None, "done", "已复测", expect="action_item.update")
    b = w.ok(bulletins.draft, tf, today - dt.timedelta(days=7), today - dt.timedelta(days=1), expect="bulletin.draft")
    w.ok(bulletins.refresh, tf, b.id, None, expect="bulletin.refresh")
    w.ok(bulletins.update_text, tf, b.id, None, "走访专报", "情况良好", "继续", expect="bulletin.edit")
    w.ok(bulletins.issue, tf, b.id, None, expect="bulletin.issue")
    july = Period(dt.date(2023, 7, 1), dt.date(2023, 7, 31), "2023年7月")
    w.ok(assessment.set_call_total, tf, dt.date(2023, 7, 1), 3750, expect="assessment.call_total")
    run = w.ok(assessment.compute_run, tf, july, expect="assessment.compute")
    with session_scope(engine) as s:
        station = s.scalar(select(Township.police_station_id).order_by(Township.code))
    w.ok(assessment.add_award, tf, assessment.AwardInput(kind="reward", unit_type="station", unit_id=station,
                                                         period_start=july.start, period_end=july.end, run_id=run.id,
                                                         reason="7月考核第一名", amount="100000"),
         expect="assessment.award")

    # the audit log's own export is logged
    w.ok(audit.export_xlsx, admin, audit.AuditFilter(), expect="audit.export")

    missing = writers() - w.walked - set(ELSEWHERE)
    assert not missing, f"writing services not walked: {sorted(missing)}"


def _events(engine, action=None):
    with session_scope(engine) as s:
        q = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            q = q.where(AuditEvent.action == action)
        return list(s.scalars(q))


def test_events_are_readable_who_what_which_object_and_the_change(engine):
    with session_scope(engine) as s:
        staff, admin = actor(s, STAFF), actor(s, ADMIN)
        case = intake.register_case(s, staff, case_input(s))
        number = case.number
    with session_scope(engine) as s:
        auth.change_role(s, admin, staff.user_id, LEADER)
    with session_scope(engine) as s:
        rows, _ = audit.page(s, admin, audit.AuditFilter())
    reg = next(r for r in rows if r["操作"] == "登记受理")
    assert reg["对象"] == number and reg["姓名"] == f"测试{STAFF}" and reg["角色"] == "综治中心工作人员"
    role = next(r for r in rows if r["操作"] == "修改角色")
    assert role["对象"] == f"测试{STAFF}（f_{STAFF}）"
    assert role["变更"] == "角色：综治中心工作人员 → 领导"
    for r in rows:  # no raw codes where a reader looks
        assert "." not in r["操作"] and "#" not in r["对象"] and r["角色"] in ("", *ROLE_NAMES)


def test_a_setting_change_is_named_as_the_settings_page_names_it(keep_settings, engine):
    """One label per setting: the audit log reads it from the settings spec."""
    from services import settings
    with session_scope(engine) as s:
        admin = actor(s, ADMIN)
        limits = settings.get(s, "level_time_limits")
        admin_config.update_level_time_limits(s, admin, {**limits, "township": limits["township"] + 1})
        admin_config.update_number(s, admin, "arrival_minutes", 20)
    with session_scope(engine) as s:
        rows, _ = audit.page(s, actor(s, ADMIN), audit.AuditFilter())
    named = {r["对象"] for r in rows if r["操作"] == "修改设置"}
    assert {settings.SPECS["level_time_limits"].label, settings.SPECS["arrival_minutes"].label} <= named, named


def test_filters_and_keyset_pages(engine):
    with session_scope(engine) as s:
        staff, admin, tf = actor(s, STAFF), actor(s, ADMIN), actor(s, TASKFORCE)
        numbers = [intake.register_case(s, staff, case_input(s, description=f"第{i}起排水沟纠纷")).number
                   for i in range(7)]
    with session_scope(engine) as s:
        only_reg = audit.AuditFilter(user_id=staff.user_id, action="case.register")
        first, cursor = audit.page(s, tf, only_reg, size=3)  # the task force reads it too
        second, cursor2 = audit.page(s, tf, only_reg, cursor, size=3)
        third, cursor3 = audit.page(s, tf, only_reg, cursor2, size=3)
        assert [r["对象"] for r in first + second + third] == list(reversed(numbers))
        assert cursor3 is None
        assert [r["对象"] for r in audit.page(s, admin, audit.AuditFilter(obj=numbers[2]))[0]] == [numbers[2]]
        today = clock.today()
        assert audit.page(s, admin, audit.AuditFilter(end=today - dt.timedelta(days=1)))[0] == []
        assert len(audit.page(s, admin, audit.AuditFilter(start=today, action="case.register"))[0]) == 7
        with pytest.raises(PermissionDenied):
            audit.page(s, staff, audit.AuditFilter())


def test_excel_export_holds_the_filtered_rows_and_is_logged(engine):
    with session_scope(engine) as s:
        staff, admin = actor(s, STAFF), actor(s, ADMIN)
        number = intake.register_case(s, staff, case_input(s)).number
    with session_scope(engine) as s:
        data = audit.export_xlsx(s, admin, audit.AuditFilter(action="case.register"))
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert "操作日志" in ws["A1"].value and "登记受理" in ws["A1"].value  # the title line names the filter
    assert [c.value for c in ws[2]][:7] == ["编号", "时间", "姓名", "用户名", "角色", "操作", "对象"]
    assert [(r[5], r[6]) for r in ws.iter_rows(min_row=3, values_only=True)] == [("登记受理", number)]
    export = _events(engine, "audit.export")
    assert len(export) == 1 and "登记受理" in export[0].note and export[0].detail["rows"] == 1


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"])
def test_the_audit_table_is_append_only_in_the_database(engine, statement):
    with session_scope(engine) as s:
        audit.record(s, SYSTEM, "setting.change", "setting", None, key="arrival_minutes")
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    assert [e.action for e in _events(engine)] == ["setting.change"]


def test_a_refused_write_leaves_a_security_event(ui_url):
    from streamlit.testing.v1 import AppTest
    from db.engine import get_engine
    from tests.ui import ensure_user
    engine = get_engine(ui_url)
    leader = ensure_user(ui_url, LEADER)
    at = AppTest.from_string(
        "from components.context import run_action\nfrom services import auth\n"
        "run_action(auth.create_user, 'sneaky', '偷偷', 'admin', 'sneak1234')\n", default_timeout=60)
    at.session_state["actor"] = leader
    at.run()
    assert [e.value for e in at.error] == ["领导账号为只读，不能进行此操作。"]
    events = _events(engine, "security.denied")
    assert len(events) == 1
    assert events[0].username == leader.username and events[0].object_label == "用户管理"
    with session_scope(engine) as s:
        assert s.scalar(select(User.id).where(User.username == "sneaky")) is None


# ---------------------------------------------------------------------------- the pages


def test_staff_opening_unmasked_parties_is_logged_once_leader_not(ui_url):
    from db.engine import get_engine
    from tests.test_case_pages import DETAIL, make_case
    from tests.ui import app_as, by_key
    engine = get_engine(ui_url)
    case_id, number = make_case(ui_url)
    at = app_as(ui_url, STAFF)
    at.session_state["case_id"] = case_id
    at.switch_page(DETAIL).run()
    assert not at.exception
    at.switch_page(DETAIL).run()  # a rerun of the same case: not a second read
    views = _events(engine, "personal.view")
    assert [(e.username, e.object_label) for e in views] == [(f"t_{STAFF}", number)]
    assert by_key(at.get("download_button"), "cd_parties_export")  # the audited export is offered
    leader = app_as(ui_url, LEADER)
    leader.session_state["case_id"] = case_id
    leader.switch_page(DETAIL).run()
    assert len(_events(engine, "personal.view")) == 1  # masked for the leader: nothing personal was read
    assert not [b for b in leader.get("download_button") if b.key == "cd_parties_export"]


def test_audit_log_page_reads_in_chinese_and_filters(ui_url):
    from tests.ui import app_as, by_key, ensure_user
    from db.engine import get_engine
    staff = ensure_user(ui_url, STAFF)
    with session_scope(get_engine(ui_url)) as s:
        number = intake.register_case(s, staff, case_input(s)).number
    at = app_as(ui_url, TASKFORCE, "pages/audit_log.py")  # the task force reads the log
    assert not at.exception
    table = at.dataframe[-1].value
    assert "登记受理" in set(table["操作"]) and number in set(table["对象"])
    assert not any("." in a for a in table["操作"])
    by_key(at.selectbox, "al_action").set_value("case.register").run()
    assert set(at.dataframe[-1].value["操作"]) == {"登记受理"}
    assert by_key(at.get("download_button"), "al_export")
    by_key(at.text_input, "al_obj").input("无此对象").run()
    assert not at.dataframe and "没有符合条件的记录。" in [i.value for i in at.info]
    assert not at.get("download_button")  # nothing to export
