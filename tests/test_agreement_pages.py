"""案件详情 (AppTest, SQLite): staff settle a case with two structured terms, see them listed, record
the judicial confirmation application and the court's result; a leader sees the panel masked."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.engine import get_engine, session_scope
from db.models import AgreementTerm, Case, JudicialConfirmation, Party
from services import clock
from services.cases import intake, workflow
from tests.factories import case_input
from tests.ui import app_as, ensure_user, form_el, texts

DETAIL = "pages/case_detail.py"


@pytest.fixture
def case_id(ui_url):
    staff = ensure_user(ui_url, "staff")
    with session_scope(get_engine(ui_url)) as s:
        c = intake.register_case(s, staff, case_input(s, parties=[
            intake.PartyInput(name="欧阳明月", role="applicant", mobile="13912345678"),
            intake.PartyInput(name="王建国", role="respondent", mobile="13812345678")]))
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, c.id)[:1]]
        workflow.transition(s, staff, c.id, "dispatch", None, people=people)
        return c.id


def _open(url, role, cid):
    at = app_as(url, role)
    at.session_state["case_id"] = cid
    at.switch_page(DETAIL)
    return at.run()


def _submit(at, name):
    form_el(at.button, "cd", name).click()
    return at.run()


def test_staff_settle_with_two_terms_then_record_the_confirmation(ui_url, case_id):
    with session_scope(get_engine(ui_url)) as s:
        p1, p2 = s.scalars(select(Party.id).where(Party.case_id == case_id).order_by(Party.id)).all()
    at = _open(ui_url, "staff", case_id)
    form_el(at.radio, "cd", "action").set_value("settle").run()
    form_el(at.number_input, "cd", "settle_term_count").set_value(2).run()
    form_el(at.text_area, "cd", "settle_summary").input("王建国赔偿维修费，欧阳明月清理杂物")
    form_el(at.text_input, "cd", "settle_t0_obligation").input("王建国赔偿欧阳明月维修费")
    form_el(at.selectbox, "cd", "settle_t0_party").set_value(p2)
    form_el(at.text_input, "cd", "settle_t0_amount").input("1200")
    form_el(at.text_input, "cd", "settle_t1_obligation").input("欧阳明月清理楼道杂物")
    form_el(at.selectbox, "cd", "settle_t1_party").set_value(p1)
    form_el(at.date_input, "cd", "settle_t1_due").set_value(clock.today() + dt.timedelta(days=3))
    form_el(at.checkbox, "cd", "settle_intent").check()
    at = _submit(at, "settle_submit")  # the first term has no deadline: refused under the field, nothing saved
    assert "请填写第 1 项条款的履行期限。" in texts(at)
    with session_scope(get_engine(ui_url)) as s:
        assert s.get(Case, case_id).status == "mediating"
    form_el(at.date_input, "cd", "settle_t0_due").set_value(clock.today() + dt.timedelta(days=10))
    at = _submit(at, "settle_submit")
    assert not at.exception, at.exception
    assert "已记录调解成功，进入回访队列。" in [x.value for x in at.success]
    with session_scope(get_engine(ui_url)) as s:
        terms = s.execute(select(AgreementTerm.position, AgreementTerm.party_id, AgreementTerm.amount)
                          .where(AgreementTerm.case_id == case_id).order_by(AgreementTerm.position)).all()
        assert [(t[0], t[1], int(t[2] or 0)) for t in terms] == [(1, p2, 1200), (2, p1, 0)]
        assert s.get(Case, case_id).judicial_intent is True
    assert "调解协议与司法确认" in texts(at)
    shown = at.dataframe  # the terms table lists both obligations with their debtor
    assert any("王建国赔偿欧阳明月维修费" in df.value.to_string() for df in shown)

    form_el(at.radio, "cd", "action").set_value("judicial_apply").run()
    form_el(at.date_input, "cd", "judicial_applied").set_value(clock.today())
    form_el(at.radio, "cd", "judicial_channel").set_value("paper")
    at = _submit(at, "judicial_apply_submit")
    assert "已记录司法确认申请。" in [x.value for x in at.success]

    form_el(at.radio, "cd", "action").set_value("judicial_result").run()
    form_el(at.radio, "cd", "judicial_result").set_value("confirmed")
    form_el(at.date_input, "cd", "judicial_result_on").set_value(clock.today())
    form_el(at.text_input, "cd", "judicial_ruling").input("2026赣0981民特5号")
    at = _submit(at, "judicial_result_submit")
    assert "请按“（2023）赣0981民特123号”的格式填写民事裁定书文号。" in texts(at)
    form_el(at.text_input, "cd", "judicial_ruling").input("（2026）赣0981民特5号")
    at = _submit(at, "judicial_result_submit")
    assert "已记录司法确认结果。" in [x.value for x in at.success]
    with session_scope(get_engine(ui_url)) as s:
        row = s.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == case_id))
        assert (row.court, row.result, row.ruling_no) == ("丰城市人民法院", "confirmed", "（2026）赣0981民特5号")
    assert any("（2026）赣0981民特5号" in df.value.to_string() for df in at.dataframe)

    leader = _open(ui_url, "leader", case_id)
    assert not leader.exception
    assert "调解协议与司法确认" in texts(leader)
    assert not any("欧阳明月" in df.value.to_string() for df in leader.dataframe)
