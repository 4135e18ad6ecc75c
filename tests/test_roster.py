"""母舅名册: list with live figures, masking, add/edit/deactivate, Excel import/export (both databases)."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from db.engine import get_engine, session_scope
from db.models import AuditEvent, Department, DisputeCategory, Mediator, Township, Village
from services import clock
from services.cases import intake
from services.roster import mediators
from services.cases import workflow
from services.errors import PermissionDenied, ValidationError
from services.roles import Actor

_COLS = [c.key for c in Mediator.__table__.columns]


def snapshot_people(url: str) -> tuple[int, list[dict]]:
    with session_scope(get_engine(url)) as s:
        rows = [dict(r._mapping) for r in s.execute(select(Mediator.__table__))]
    return max(r["id"] for r in rows), rows


def restore_people(url: str, snap) -> None:
    """The mediator table is kept between tests (organisation data): undo what a test did to it.
    Runs after conftest's wipe of the transactional tables, so nothing refers to new people."""
    max_id, rows = snap
    with session_scope(get_engine(url)) as s:
        s.execute(Mediator.__table__.delete().where(Mediator.id > max_id))
        now = {r.id: dict(r._mapping) for r in s.execute(select(Mediator.__table__))}
        for row in rows:
            if now.get(row["id"]) != row:
                s.execute(update(Mediator.__table__).where(Mediator.id == row["id"]).values(**row))


@pytest.fixture(autouse=True)
def _keep_people(backend_url):
    """Set up before db_url (so torn down after its wipe): restores the kept mediator table."""
    snap = snapshot_people(backend_url)
    clock.freeze(None)
    yield
    clock.freeze(None)
    restore_people(backend_url, snap)


def actor(_s, role: str) -> Actor:
    """An acting user of the role (no account row: services read only the role and id)."""
    return Actor(user_id=None, username=f"r_{role}", role=role, display_name=f"测试{role}")


def first(s, kind: str) -> Mediator:
    return s.scalar(select(Mediator).where(Mediator.kind == kind).order_by(Mediator.code))


def count_people(s) -> int:
    return s.scalar(select(func.count()).select_from(Mediator))


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "母舅名册"
    ws.append([h for _, h, _ in mediators.COLUMNS])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ list, filters, figures, masking

def test_filters_narrow_the_list_and_paginate_in_sql(session):
    staff = actor(session, "staff")
    t = session.scalar(select(Township).where(Township.code == "T01"))
    everyone = mediators.list_roster(session, staff, mediators.RosterFilter(active=None), page_size=50)
    assert everyone.total == count_people(session) and len(everyone.rows) == 50 and everyone.pages > 10
    town = mediators.list_roster(session, staff, mediators.RosterFilter(township_id=t.id), page_size=500)
    assert town.total > 0 and {r["township"] for r in town.rows} == {t.name}
    room = mediators.list_roster(session, staff, mediators.RosterFilter(unit_code="R-PS01"), page_size=500)
    assert 3 <= room.total <= 4 and {r["kind"] for r in room.rows} == {"station"}
    cadres = mediators.list_roster(session, staff, mediators.RosterFilter(township_id=t.id, kind="duty_cadre"))
    assert cadres.total == 3
    wage = mediators.list_roster(session, staff, mediators.RosterFilter(specialty="wage"), page_size=500)
    assert wage.total > 0 and all("劳资欠薪" in r["specialties"] for r in wage.rows)
    page2 = mediators.list_roster(session, staff, mediators.RosterFilter(), page=2, page_size=50)
    assert page2.rows[0]["code"] > everyone.rows[-1]["code"]


def test_phones_are_masked_for_a_leader_and_full_for_staff(session):
    person = first(session, "station")
    flt = mediators.RosterFilter(search=person.code)
    leader_row = mediators.list_roster(session, actor(session, "leader"), flt).rows[0]
    staff_row = mediators.list_roster(session, actor(session, "staff"), flt).rows[0]
    assert staff_row["phone"] == person.phone
    assert leader_row["phone"] == person.phone[:3] + "****" + person.phone[-4:]
    sheet = load_workbook(io.BytesIO(mediators.export_xlsx(session, actor(session, "leader"), flt))).active
    cells = [str(c.value) for c in sheet[3]]  # a title line, the header, then the rows
    assert person.phone not in cells and leader_row["phone"] in cells


def test_live_figures_count_open_month_success_and_satisfaction(session):
    staff = actor(session, "staff")
    t = session.scalar(select(Township).where(Township.code == "T01"))
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    cat = session.scalar(select(DisputeCategory).where(DisputeCategory.code == "neighbor"))
    person = session.scalar(select(Mediator).where(Mediator.kind == "station", Mediator.room_id.isnot(None))
                            .order_by(Mediator.code))

    def new_case(i):
        c = intake.register_case(session, staff, intake.CaseInput(
            source="walk_in", received_at=clock.now() - dt.timedelta(hours=2), township_id=t.id, village_id=v.id,
            category_id=cat.id, complexity="simple", description=f"两户因排水沟堵塞发生争执{i}",
            parties=[intake.PartyInput(name="王小明", mobile="13800138000")]))
        return workflow.transition(session, staff, c.id, "dispatch", c.version, people=[(person.id, "station")],
                                   notified_at=clock.now() - dt.timedelta(hours=1))

    a, b = new_case(1), new_case(2)
    row = mediators.list_roster(session, staff, mediators.RosterFilter(search=person.code)).rows[0]
    assert (row["open_cases"], row["month_cases"], row["success_rate"], row["satisfaction"]) == (2, 2, "—", "—")
    a = workflow.transition(session, staff, a.id, "settle", a.version, agreement_summary="赔偿 200 元")
    workflow.transition(session, staff, a.id, "follow_up", a.version, method="phone", satisfaction="satisfied",
                        agreement_holds=True)
    workflow.transition(session, staff, b.id, "terminate", b.version, reason_code="withdrawn", note="当事人撤回")
    row = mediators.list_roster(session, staff, mediators.RosterFilter(search=person.code)).rows[0]
    assert (row["open_cases"], row["success_rate"], row["satisfaction"]) == (0, "50.0%", "100.0%")


# ------------------------------------------------------------------ add, edit, deactivate

def test_add_edit_deactivate_with_audit(session):
    staff = actor(session, "staff")
    data = mediators.MediatorInput(name="赵德明", kind="village", phone="+86 139-0000-1111", unit_code="R-T13-V01",
                                specialties=["neighbor", "family"], background="老党员")
    m = mediators.add_mediator(session, staff, data)
    assert m.phone == "13900001111" and m.room_id is not None and m.code.startswith("M") and m.active
    data.background, data.phone = "老教师", "13900002222"
    mediators.update_mediator(session, staff, m.id, data)
    assert (m.background, m.phone) == ("老教师", "13900002222")
    mediators.deactivate(session, staff, m.id, "年龄原因")
    assert not m.active and m.active_to == clock.today()
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == m.id)
                                   .order_by(AuditEvent.id)))
    assert actions == ["roster.add", "roster.edit", "roster.deactivate"]
    assert mediators.list_roster(session, staff, mediators.RosterFilter(search=m.code)).total == 0  # default: 在岗
    assert mediators.list_roster(session, staff, mediators.RosterFilter(search=m.code, active=False)).rows[0]["status"] \
        .startswith("停用")


BAD_INPUT = [
    ({"phone": "12345"}, "phone", "手机号码应为 11 位"),
    ({"kind": "station", "unit_code": "T01"}, "unit", "派出所母舅驻所调解室"),  # kind and unit must fit
    ({"unit_code": "R-NOPE"}, "unit", "不存在"),
    ({"kind": "policeman"}, "kind", "未知"),
    ({"specialties": ["astrology"]}, "specialties", "astrology"),
    ({"name": "王"}, "name", "姓名"),
]


def test_bad_input_is_refused_on_the_right_field_and_nothing_saved(session):
    staff = actor(session, "staff")
    before = count_people(session)
    for change, field, needle in BAD_INPUT:
        data = mediators.MediatorInput(name="赵德明", kind="village", phone="13900001111", unit_code="R-T13-V01")
        for k, v in change.items():
            setattr(data, k, v)
        with pytest.raises(ValidationError) as exc:
            mediators.add_mediator(session, staff, data)
        assert needle in exc.value.fields[field], change
    assert count_people(session) == before


def test_department_person_needs_a_registered_department(session):
    staff = actor(session, "staff")
    data = mediators.MediatorInput(name="钱司法", kind="department", phone="13900003333", unit_code="T01",
                                department="司法所")
    with pytest.raises(ValidationError) as exc:
        mediators.add_mediator(session, staff, data)
    assert "未登记" in exc.value.fields["department"]
    session.add(Department(name="司法所", sort_order=0, active=True))
    session.flush()
    assert mediators.add_mediator(session, staff, data).department == "司法所"


def test_someone_with_history_is_never_deleted_only_deactivated(session):
    staff = actor(session, "staff")
    gw = first(session, "grid_worker")  # a grid's worker: that is history
    with pytest.raises(ValidationError) as exc:
        mediators.delete_mediator(session, staff, gw.id)
    assert "不能删除" in exc.value.message and session.get(Mediator, gw.id) is not None
    m = mediators.add_mediator(session, staff, mediators.MediatorInput(name="误录人员", kind="grid_worker",
                                                                 phone="13900004444", unit_code="T01"))
    mediators.delete_mediator(session, staff, m.id)
    assert session.get(Mediator, m.id) is None


def test_read_only_roles_cannot_write_and_nothing_changes(session):
    person = first(session, "station")
    before = (count_people(session), person.active, person.name)
    data = mediators.MediatorInput(name="赵德明", kind="village", phone="13900001111", unit_code="R-T13-V01")
    calls = (lambda who: mediators.add_mediator(session, who, data),
             lambda who: mediators.update_mediator(session, who, person.id, data),
             lambda who: mediators.deactivate(session, who, person.id),
             lambda who: mediators.import_roster(session, who, xlsx([["", "赵德明", "住村母舅", "13900001111", "R-T13-V01"]])))
    for who in (actor(session, "leader"), actor(session, "trainer")):
        for call in calls:
            with pytest.raises(PermissionDenied) as exc:
                call(who)
            assert "只读" in exc.value.message
    session.expire_all()
    person = session.get(Mediator, person.id)
    assert (count_people(session), person.active, person.name) == before


# ------------------------------------------------------------------ Excel

def test_template_has_chinese_headers_and_an_explanation_sheet(session):
    wb = load_workbook(io.BytesIO(mediators.template_xlsx(session)))
    assert wb.sheetnames[:2] == ["母舅名册", "说明"]
    headers = [c.value for c in wb["母舅名册"][1]]
    assert headers[:5] == ["编码", "姓名", "人员类别", "手机号", "所属单位编码"]
    notes = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert "驻所母舅" in notes and "邻里纠纷" in notes
    assert "R-PS01" in [c.value for c in wb["单位编码"]["A"]]


def test_import_good_duplicate_and_broken_rows_then_reimport_changes_nothing(session):
    staff = actor(session, "staff")
    existing = first(session, "station")
    raw = xlsx([
        ["", "赵德明", "住村母舅", "139 0000 1111", "R-T13-V01", "", "邻里纠纷、family", "老党员", "是", "2023-07-01", ""],
        ["", "钱守仁", "village", "13900002222", "R-T13-V01", "", "", "老教师", "", "", ""],
        [existing.code, existing.name, "驻所母舅", existing.phone, "R-PS01", "", "邻里纠纷", "退休干部", "是", "", "更新背景"],
        ["", "赵德明", "住村母舅", "13900001111", "R-T13-V01", "", "", "", "", "", ""],  # duplicate of row 2
        ["", "孙坏号", "住村母舅", "12345", "R-T13-V01", "", "", "", "", "", ""],  # bad phone
        ["", "李无室", "住村母舅", "13900005555", "R-NOPE", "", "", "", "", "", ""],  # unit does not exist
        ["", "周未知", "警察", "13900006666", "T01", "", "", "", "", "", ""],  # kind unknown
    ])
    before = count_people(session)
    seen = []
    result = mediators.import_roster(session, staff, raw, progress=lambda done, total: seen.append((done, total)))
    assert (result.inserted, result.updated, len(result.invalid)) == (2, 1, 4)
    assert seen and seen[-1][0] == seen[-1][1]
    assert count_people(session) == before + 2
    zhao = session.scalar(select(Mediator).where(Mediator.name == "赵德明"))
    assert zhao.phone == "13900001111" and zhao.specialties == ["neighbor", "family"]
    assert zhao.active_from == dt.date(2023, 7, 1)
    assert existing.background == "退休干部" and existing.note == "更新背景"
    reasons = {r.line: " ".join(r.errors) for r in result.invalid}
    assert "与第 2 行重复" in reasons[5] and "手机号码" in reasons[6] and "不存在" in reasons[7] and "未知" in reasons[8]
    report = load_workbook(io.BytesIO(mediators.error_report_xlsx(result.invalid))).active
    lines = [[c.value for c in row] for row in report.iter_rows(min_row=2)]
    assert [r[0] for r in lines] == [5, 6, 7, 8] and all(r[-1] for r in lines)
    assert lines[1][2] == "孙坏号"

    audits = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "roster.import"))
    snapshot = [(m.id, m.name, m.phone, m.background, m.specialties, m.active) for m in
                session.scalars(select(Mediator).order_by(Mediator.id))]
    again = mediators.import_roster(session, staff, raw)
    assert (again.inserted, again.updated, again.unchanged, len(again.invalid)) == (0, 0, 3, 4)
    assert snapshot == [(m.id, m.name, m.phone, m.background, m.specialties, m.active) for m in
                        session.scalars(select(Mediator).order_by(Mediator.id))]
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "roster.import")) == audits


def test_export_of_the_whole_roster_reimports_as_unchanged(session):
    staff = actor(session, "staff")
    raw = mediators.export_xlsx(session, staff, mediators.RosterFilter(active=None))
    preview = mediators.parse_import(session, raw)
    assert preview.count("unchanged") == count_people(session) and not preview.invalid


def test_unreadable_file_and_missing_columns_are_refused(session):
    staff = actor(session, "staff")
    with pytest.raises(ValidationError) as exc:
        mediators.import_roster(session, staff, b"not an excel file")
    assert ".xlsx" in exc.value.fields["file"]
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ValidationError) as exc:
        mediators.import_roster(session, staff, buf.getvalue())
    assert "人员类别" in exc.value.fields["file"]
