"""The closed loop through the real pages (AppTest, SQLite): intake with a bad mobile then fixed,
dispatch, arrival, transfer, settle; task force follow-up and close; read-only and masked for a
leader; a duplicate 110 number links to the existing case; a lost update asks to reload."""
from __future__ import annotations

import re
import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import get_engine, session_scope
from db.models import Case, DisputeCategory, Dispatch, FollowUp, Grid, Township, Village
from services import clock
from services.cases import intake
from services.cases import workflow
from tests.ui import form_el, app_as, by_key, ensure_user, texts

INTAKE, DETAIL, LIST = "pages/case_intake.py", "pages/case_detail.py", "pages/case_list.py"


@pytest.fixture
def url(ui_url):
    return ui_url


def db(url):
    return session_scope(get_engine(url))


def place(url, mode="station"):
    with db(url) as s:
        t = s.scalar(select(Township).where(Township.mode == mode).order_by(Township.code))
        v = s.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
        g = s.scalar(select(Grid).where(Grid.village_id == v.id).order_by(Grid.code))
        cat = s.scalar(select(DisputeCategory.id).where(DisputeCategory.code == "neighbor"))
        return t.id, v.id, g.id, cat


def make_case(url, incident="", mobile="13912345678"):
    t, v, g, cat = place(url)
    staff = ensure_user(url, "staff")
    with db(url) as s:
        c = intake.register_case(s, staff, intake.CaseInput(
            source="110" if incident else "walk_in", police_incident_no=incident,
            received_at=clock.now() - dt.timedelta(minutes=30), township_id=t, village_id=v, grid_id=g,
            category_id=cat, complexity="simple", description="欧阳明月家楼上漏水引发邻里争吵，回电 13912345678",
            parties=[intake.PartyInput(name="欧阳明月", role="applicant", mobile=mobile)]))
        return c.id, c.number


def case_count(url):
    with db(url) as s:
        return s.scalar(select(func.count()).select_from(Case))


def case_state(url, case_id):
    with db(url) as s:
        c = s.get(Case, case_id)
        return c.level, c.status


def fill_intake(at, url, mobile, incident="JJ20260310-0001"):
    t, v, _, cat = place(url)
    form_el(at.radio, "in", "source").set_value("110").run()
    form_el(at.text_input, "in", "incident_no").input(incident)
    form_el(at.selectbox, "in", "township").set_value(t).run()
    form_el(at.selectbox, "in", "village").set_value(v).run()
    form_el(at.selectbox, "in", "category").set_value(cat)
    form_el(at.text_area, "in", "description").input("两户因楼上漏水发生争吵，民警判定为非警务警情")
    form_el(at.text_input, "in", "p0_name").input("欧阳明月")
    form_el(at.text_input, "in", "p0_mobile").input(mobile)
    return at.run()


def submit_form(at, scope, name="submit"):
    form_el(at.button, scope, name).click()
    return at.run()


def submit(at, key):
    by_key(at.button, key).click()
    return at.run()


def test_staff_runs_the_loop_and_task_force_closes_it(url):
    at = app_as(url, "staff", INTAKE)
    fill_intake(at, url, "12345")
    assert "按发生地自动分流：驻所" in texts(at)  # the routing is shown before saving
    submit_form(at, "in")
    assert "当事人1：手机号码应为 11 位，以 13–19 开头（可带 +86）。" in [c.value.strip(":red[]") for c in at.caption]
    assert case_count(url) == 0

    form_el(at.text_input, "in", "p0_mobile").input("+86 139 1234 5678")
    submit_form(at, "in")
    assert not at.exception, at.exception
    success = " ".join(s.value for s in at.success)
    assert "案件已登记，编号 丰-" in success
    with db(url) as s:
        case = s.scalar(select(Case))
        case_id, number = case.id, case.number
        assert case.parties[0].mobile == "13912345678" and case.mode == "station"

    submit(at, "in_open_new")  # opens the detail page
    assert at.header[0].value == number
    at.switch_page(DETAIL)  # AppTest forgets a script's switch_page on the next rerun; a browser keeps it
    assert form_el(at.radio, "cd", "action").value == "dispatch"
    assert form_el(at.multiselect, "cd", "dispatch_suggested").value  # the suggestions are preselected
    submit_form(at, "cd", "dispatch_submit")
    assert "已调度，15 分钟到场计时开始。" in [s.value for s in at.success]
    assert case_state(url, case_id) == ("onsite", "mediating")

    form_el(at.radio, "cd", "action").set_value("arrive").run()
    submit_form(at, "cd", "arrive_submit")
    assert "已记录到场时间。" in [s.value for s in at.success]

    form_el(at.radio, "cd", "action").set_value("transfer").run()
    submit_form(at, "cd", "transfer_submit")  # no reason: refused beside the field, nothing changes
    assert "移送须填写调解不成功的原因。" in texts(at)
    assert case_state(url, case_id) == ("onsite", "mediating")
    form_el(at.text_area, "cd", "transfer_note").input("双方对赔偿金额分歧较大")
    submit_form(at, "cd", "transfer_submit")
    assert case_state(url, case_id) == ("station_room", "mediating")

    form_el(at.radio, "cd", "action").set_value("settle").run()
    form_el(at.text_area, "cd", "settle_summary").input("楼上住户承担维修费用")
    form_el(at.text_input, "cd", "settle_amount").input("800")
    submit_form(at, "cd", "settle_submit")
    assert case_state(url, case_id) == ("station_room", "settled")
    assert "调解成功" in texts(at)

    tf = app_as(url, "taskforce", "pages/follow_up.py")
    assert number in by_key(tf.selectbox, "fu_case_pick").options[0]
    form_el(tf.radio, "fu", "fu_method").set_value("phone")
    form_el(tf.radio, "fu", "fu_holds").set_value(True)
    form_el(tf.radio, "fu", "fu_satisfaction").set_value("satisfied")
    submit_form(tf, "fu", "fu_submit")
    assert "回访已记录（满意，协议已履行）。" in [s.value for s in tf.success]
    with db(url) as s:
        assert s.scalar(select(FollowUp.satisfaction)) == "satisfied"

    tf.session_state["case_id"] = case_id
    tf.switch_page(DETAIL).run()
    assert "闭环归档" in form_el(tf.radio, "cd", "action").options
    form_el(tf.radio, "cd", "action").set_value("close").run()
    submit_form(tf, "cd", "close_submit")
    assert case_state(url, case_id) == ("station_room", "closed")
    assert "已闭环" in texts(tf)


def test_leader_sees_masked_parties_and_no_actions(url):
    case_id, number = make_case(url)
    at = app_as(url, "leader")
    at.session_state["case_id"] = case_id
    at.switch_page(DETAIL).run()
    assert not at.exception
    assert at.header[0].value == number
    parties = next(d.value for d in at.dataframe if "手机号码" in d.value.columns)
    assert list(parties["手机号码"]) == ["139****5678"] and list(parties["姓名"]) == ["欧***"]
    assert not [r for r in at.radio if re.fullmatch(r"cd_\d+_g\d+_action", str(r.key))]
    assert not [b for b in at.button if str(b.key).endswith("_submit")]
    page = texts(at)
    assert "您的角色不查看当事人个人信息，已脱敏显示" in page
    assert "楼上漏水引发邻里争吵" in page and "欧阳明月" not in page and "13912345678" not in page


def test_duplicate_110_number_links_to_existing_case(url):
    case_id, number = make_case(url, incident="JJ-DUP-1")
    at = app_as(url, "staff", INTAKE)
    fill_intake(at, url, "13700001111", incident="JJ-DUP-1")
    submit_form(at, "in")
    assert case_count(url) == 1
    assert any(number in w.value and "请勿重复登记" in w.value for w in at.warning)
    submit(at, "in_open_dup")
    assert at.header[0].value == number


def test_lost_update_asks_to_reload_and_saves_nothing(url):
    case_id, number = make_case(url)
    at = app_as(url, "staff")
    at.session_state["case_id"] = case_id
    at.switch_page(DETAIL).run()
    form_el(at.radio, "cd", "action").set_value("terminate").run()
    other = ensure_user(url, "staff")
    with db(url) as s:  # someone else dispatches meanwhile
        c = s.get(Case, case_id)
        person = intake.suggest_dispatch(s, case_id)[0]
        workflow.transition(s, other, case_id, "dispatch", c.version, people=[(person["mediator_id"], person["duty"])])
    form_el(at.selectbox, "cd", "terminate_code").set_value("withdrawn")
    form_el(at.text_area, "cd", "terminate_note").input("申请人撤回")
    submit_form(at, "cd", "terminate_submit")
    assert "该案件已被他人修改，请刷新页面后重新操作。" in [w.value for w in at.warning]
    assert case_state(url, case_id) == ("onsite", "mediating")
    assert not [r for r in at.radio if re.fullmatch(r"cd_\d+_g\d+_action", str(r.key))]  # no stale actions offered
    submit(at, "cd_reload")
    assert "调解成功" in form_el(at.radio, "cd", "action").options  # the actions of the new state


def test_list_search_opens_case_and_mediator_sees_my_cases(url):
    case_id, number = make_case(url, mobile="13811112222")
    make_case(url, mobile="13833334444")
    at = app_as(url, "staff", LIST)
    assert "共 2 件" in texts(at)
    by_key(at.text_input, "cl_search").input("138-1111-2222").run()
    assert "共 1 件" in texts(at)
    assert list(at.dataframe[0].value["案件编号"]) == [number]
    submit(at, "cl_open")
    assert at.header[0].value == number
    med = app_as(url, "mediator", LIST)
    assert med.title[0].value == "我的案件"


def test_board_overdue_and_flowchart_render(url):
    make_case(url)
    at = app_as(url, "staff", "pages/ladder_board.py")
    assert not at.exception
    assert "现场调解" in texts(at) and [b for b in at.button if str(b.key).startswith("lb_open_")]
    by_key(at.radio, "lb_mode").set_value("village").run()
    assert "住村母舅工作室" in texts(at)
    at.switch_page("pages/overdue.py").run()
    assert not at.exception and "到场超时" in texts(at)
    at.switch_page("pages/flowchart.py").run()
    assert not at.exception and "当日" in " ".join(str(d.value) for d in at.dataframe)


def test_case_detail_shows_the_agreement_amount_in_yuan_and_no_blank_fields(url):
    case_id, number = make_case(url)
    staff = ensure_user(url, "staff")
    with db(url) as s:
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, case_id)[:2]]
        c = workflow.transition(s, staff, case_id, "dispatch", None, people=people)
        workflow.transition(s, staff, case_id, "settle", c.version, agreement_summary="赔偿修缮费",
                            agreement_amount="12345.5")
    at = app_as(url, "staff")
    at.session_state["case_id"] = case_id
    at.switch_page(DETAIL).run()
    assert not at.exception
    result = next(d.value for d in at.dataframe if "项目" in d.value.columns and "协议金额" in list(d.value["项目"]))
    shown = dict(zip(result["项目"], result["内容"]))
    assert shown["协议金额"] == "¥12,345.50"
    assert shown["终止/诉讼"] == "—" and shown["当前调解人"]  # nothing blank, nothing "None"


def test_board_card_shows_the_arrival_clock_of_a_dispatched_case(url):
    """The board card carries the same arrival clock as the case header: 剩余 N 分钟 while nobody
    has arrived, 已超时 N 分钟 past the limit, 已到场 once someone is there."""
    case_id, number = make_case(url)
    staff = ensure_user(url, "staff")
    with db(url) as s:
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, case_id)[:1]]
        workflow.transition(s, staff, case_id, "dispatch", None, people=people)
        due = s.get(Case, case_id).arrival_due_at
        dispatch_id = s.scalar(select(Dispatch.id).where(Dispatch.case_id == case_id))

    def card_text(at):  # the card's arrival line (the board shows this one open case)
        return " ".join(str(c.value) for c in at.caption if str(c.value).startswith("到场时限"))

    try:
        at = app_as(url, "staff", "pages/ladder_board.py")
        assert not at.exception
        assert re.search(r"到场时限 .*：剩余 1[45] 分钟", card_text(at))
        clock.freeze(due + dt.timedelta(minutes=6, seconds=10))
        at.run()
        assert "已超时 7 分钟" in card_text(at)
        with db(url) as s:
            workflow.transition(s, staff, case_id, "arrive", s.get(Case, case_id).version,
                                dispatch_id=dispatch_id, arrived_at=due + dt.timedelta(minutes=6))
        at.run()
        assert "已到场" in card_text(at) and "已超时" not in card_text(at)
    finally:
        clock.freeze(None)
