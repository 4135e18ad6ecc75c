"""The written agreement (services.cases.agreements through transition()): structured terms on
settle, mediation sessions, judicial confirmation, each term's performance at the follow-up, the
party's agreement fields, the 25-day warning, the room mediator's settle guard and case_papers.
Both databases."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import (AgreementTerm, AuditEvent, Case, CaseEvent, FollowUp, JudicialConfirmation,
                       MediationSession, Mediator, OnlineRequest, Party)
from services import clock
from services.cases import case_queries, intake, papers, workflow
from services.codes import dispute_codes, online_services
from services.errors import IllegalTransition, PermissionDenied, ValidationError
from tests.factories import actor, case_input

TWO = [intake.PartyInput(name="王小明", role="applicant", mobile="13800138000"),
       intake.PartyInput(name="李大山", role="respondent", mobile="13900139000")]


@pytest.fixture(autouse=True)
def _thaw():
    yield
    clock.freeze(None)


def _mediating(engine, mode="station", **kw):
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        c = intake.register_case(s, staff, case_input(s, mode, parties=TWO, **kw))
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, c.id)[:1]]
        workflow.transition(s, staff, c.id, "dispatch", None, people=people)
        return c.id


def _parties(engine, cid):
    with session_scope(engine) as s:
        return list(s.scalars(select(Party.id).where(Party.case_id == cid).order_by(Party.id)))


def _do(engine, role, cid, action, **payload):
    with session_scope(engine) as s:
        c = workflow.transition(s, actor(s, role), cid, action, s.get(Case, cid).version, **payload)
        return c.status


def _terms(p1, p2, today):
    return [{"obligation": "李大山赔偿王小明修缮费用", "party_id": p2, "amount": "3,000", "manner": "微信转账",
             "due_on": today + dt.timedelta(days=10)},
            {"obligation": "王小明疏通排水沟并保持畅通", "party_id": p1, "amount": "", "manner": "",
             "due_on": today + dt.timedelta(days=3)}]


def _settled(engine, intent=True, **kw):
    cid = _mediating(engine)
    p1, p2 = _parties(engine, cid)
    _do(engine, "staff", cid, "settle", agreement_summary="赔偿修缮费并疏通水沟",
        terms=_terms(p1, p2, clock.today()), agreement_copies=3, judicial_intent=intent, **kw)
    return cid, p1, p2


def test_settle_with_structured_terms_stores_them_and_audits(engine):
    cid, p1, p2 = _settled(engine)
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        assert (c.status, c.agreement_copies, c.judicial_intent) == ("settled", 3, True)
        assert c.agreement_effective_on == clock.today()  # default: the settle date
        terms = list(s.scalars(select(AgreementTerm).where(AgreementTerm.case_id == cid).order_by(AgreementTerm.position)))
        assert [(t.position, t.party_id, t.amount) for t in terms] == [(1, p2, 3000), (2, p1, None)]
        assert terms[0].manner == "微信转账"
        ev = s.scalar(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action == "settle"))
        assert ev.detail["terms"] == 2
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "case.settle", AuditEvent.entity_id == cid)) == 1


def test_settle_reports_each_bad_field_in_chinese_and_saves_nothing(engine):
    cid = _mediating(engine)
    p1, _ = _parties(engine, cid)
    with session_scope(engine) as other:
        stranger = intake.register_case(other, actor(other, "staff"), case_input(other)).parties[0].id
    bad = [{"obligation": "赔", "party_id": stranger, "amount": "-5", "manner": "", "due_on": None},
           {"obligation": "疏通水沟", "party_id": p1, "amount": "", "manner": "",
            "due_on": clock.today() - dt.timedelta(days=1)}]
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "settle", agreement_summary="赔偿", terms=bad, agreement_copies="三",
            effective_on=dt.date(2000, 1, 1))
    assert exc.value.fields == {
        "terms.0.obligation": "请填写第 1 项条款的义务内容。",
        "terms.0.party_id": "请选择第 1 项条款的义务人（本案当事人）。",
        "terms.0.amount": "第 1 项条款的金额应为不小于 0 的数字（元）。",
        "terms.0.due_on": "请填写第 1 项条款的履行期限。",
        "terms.1.due_on": "第 2 项条款的履行期限不能早于调解成功日期。",
        "agreement_copies": "协议份数应为 1 到 20 之间的整数。",
        "effective_on": "协议生效日期不能早于接报日期。"}
    with session_scope(engine) as s:
        assert s.get(Case, cid).status == "mediating"
        assert s.scalar(select(func.count()).select_from(AgreementTerm).where(AgreementTerm.case_id == cid)) == 0


def test_mediation_sessions_are_recorded_while_mediating_or_settled(engine):
    cid = _mediating(engine)
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "record_session", held_at=None, place=" ", process="", result="")
    assert exc.value.fields == {"held_at": "请填写调解时间。", "place": "请填写调解地点。", "process": "请填写调解经过。",
                                "result": "请填写调解结果（达成的意见）。"}
    with pytest.raises(PermissionDenied):
        _do(engine, "leader", cid, "record_session", held_at=clock.now(), place="驻所调解室", process="双方陈述",
            result="同意赔偿")
    _do(engine, "staff", cid, "record_session", held_at=clock.now() - dt.timedelta(minutes=5), place="驻所调解室",
        mediators="刘调解", participants="王小明、李大山", process="双方各自陈述，调解员释法明理", result="同意赔偿")
    with session_scope(engine) as s:
        rec = s.scalar(select(MediationSession).where(MediationSession.case_id == cid))
        assert (rec.place, rec.mediators, rec.result) == ("驻所调解室", "刘调解", "同意赔偿")
        assert s.get(Case, cid).status == "mediating"  # a side action: the case stays where it is
        assert s.scalar(select(CaseEvent.note).where(CaseEvent.case_id == cid, CaseEvent.action == "record_session"))
    with session_scope(engine) as s:
        registered = intake.register_case(s, actor(s, "staff"), case_input(s)).id
    with pytest.raises(IllegalTransition, match="不能执行“调解记录”"):
        _do(engine, "staff", registered, "record_session", held_at=clock.now(), place="现场", process="陈述",
            result="未果")


def test_judicial_confirmation_apply_then_confirmed_with_the_ruling_number(engine):
    cid, _, _ = _settled(engine)
    with pytest.raises(IllegalTransition, match="没有待法院答复"):
        _do(engine, "staff", cid, "judicial_result", result="confirmed", result_on=clock.today(),
            ruling_no="（2026）赣0981民特123号")
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today() + dt.timedelta(days=1),
            court="丰城市人民法院", channel="fax")
    assert exc.value.fields == {"applied_on": "申请日期不能晚于今天。", "channel": "请选择申请方式。"}
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    with pytest.raises(IllegalTransition, match="不能重复申请"):
        _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "judicial_result", result="confirmed", result_on=clock.today(), ruling_no="123号")
    assert exc.value.fields == {"ruling_no": "请按“（2023）赣0981民特123号”的格式填写民事裁定书文号。"}
    _do(engine, "staff", cid, "judicial_result", result="confirmed", result_on=clock.today(),
        ruling_no="（2026）赣0981民特123号")
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        row = s.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == cid))
        assert c.judicial_status == "confirmed" and row.result == "confirmed"
        assert row.applicants == "王小明、李大山（共同申请）" and row.ruling_no == "（2026）赣0981民特123号"
        # the citizen's page words the step, nothing personal
        view = dispute_codes.public_view(s, dispute_codes.issue_for_case(s, cid).token)
    assert [t["label"] for t in view["timeline"]][-2:] == ["申请司法确认", "已司法确认"]
    assert "王小明" not in str(view) and "民特123" not in str(view)


def test_a_rejection_is_its_own_step_and_needs_the_reason(engine):
    cid, _, _ = _settled(engine)
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "judicial_result", result="rejected", result_on=clock.today())
    assert exc.value.fields == {"reject_reason": "不予确认时，请填写法院的理由。"}
    _do(engine, "staff", cid, "judicial_result", result="rejected", result_on=clock.today(),
        reject_reason="协议内容违反法律强制性规定")
    with session_scope(engine) as s:
        assert s.get(Case, cid).judicial_status == "rejected"
        actions = list(s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == cid).order_by(CaseEvent.id)))
        assert actions[-2:] == ["judicial_apply", "judicial_rejected"]


def test_an_archived_case_still_applies_but_a_terminated_one_cannot(engine):
    cid, _, _ = _settled(engine)
    _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="satisfied", agreement_holds=True)
    assert _do(engine, "taskforce", cid, "close") == "closed"
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    other = _mediating(engine)
    _do(engine, "staff", other, "terminate", reason_code="withdrawn", note="当事人撤回")
    with pytest.raises(IllegalTransition):
        _do(engine, "staff", other, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院",
            channel="paper")


def test_the_warning_runs_from_day_25_to_day_30_without_an_application(engine):
    cid, _, _ = _settled(engine)
    with session_scope(engine) as s:
        effective = s.get(Case, cid).agreement_effective_on
    noon = dt.datetime.combine(effective, dt.time(12), tzinfo=clock.LOCAL_TZ)

    def flagged(days):
        clock.freeze(noon + dt.timedelta(days=days))
        with session_scope(engine) as s:
            staff = actor(s, "staff")
            ids = [r["id"] for r in case_queries.overdue_cases(s, staff, "judicial")[0]]
            view = case_queries.case_view(s, staff, cid)
            assert ("司法确认临近30日" in view["overdue_names"]) == (cid in ids)
            assert bool(view["judicial_warning"]) == (cid in ids)
            return cid in ids
    assert [flagged(d) for d in (24, 25, 30, 31)] == [False, True, True, False]
    clock.freeze(noon + dt.timedelta(days=26))
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    assert not flagged(26)
    # without the intention there is nothing to warn about
    plain, _, _ = _settled(engine, intent=False)
    with session_scope(engine) as s:
        assert case_queries.case_view(s, actor(s, "staff"), plain)["judicial_warning"] == ""


def test_a_reopened_case_leaves_its_judicial_step_behind(engine):
    cid, _, _ = _settled(engine)
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="dissatisfied", agreement_holds=False,
        note="对方反悔")
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        assert (c.status, c.judicial_status, c.judicial_intent) == ("mediating", None, False)
        assert "judicial_result" not in case_queries.allowed_actions(s, actor(s, "staff"), c)


def test_late_application_is_refused(engine):
    cid, _, _ = _settled(engine)
    with session_scope(engine) as s:
        effective = s.get(Case, cid).agreement_effective_on
    clock.freeze(dt.datetime.combine(effective + dt.timedelta(days=31), dt.time(10), tzinfo=clock.LOCAL_TZ))
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    assert "30 日" in exc.value.fields["applied_on"]


def test_follow_up_asks_about_each_term(engine):
    cid, p1, p2 = _settled(engine, intent=False)
    with session_scope(engine) as s:
        t1, t2 = s.scalars(select(AgreementTerm.id).where(AgreementTerm.case_id == cid).order_by(AgreementTerm.position))
    with pytest.raises(ValidationError) as exc:  # one term unanswered
        _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="satisfied", agreement_holds=True,
            term_performance={t1: "performed"})
    assert exc.value.fields == {"term_performance": "请逐项选择协议条款的履行情况。"}
    with pytest.raises(ValidationError) as exc:  # a refusal cannot be "agreement holds"
        _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="basic", agreement_holds=True,
            term_performance={t1: "refused", t2: "performed"})
    assert "应选“未履行”" in exc.value.fields["agreement_holds"]
    # refused: reopened as before, the answers kept per term
    assert _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="dissatisfied",
               agreement_holds=False, note="李大山拒绝支付", term_performance={t1: "refused", t2: "performed"}) == "mediating"
    with session_scope(engine) as s:
        assert s.get(AgreementTerm, t1).performance == "refused"
        fu = s.scalar(select(FollowUp).where(FollowUp.case_id == cid))
        assert fu.term_performance == {str(t1): "refused", str(t2): "performed"}
    # a new settlement replaces the terms; a good answer keeps the case settled
    _do(engine, "staff", cid, "settle", agreement_summary="分期支付", terms=[
        {"obligation": "李大山分两期支付修缮费", "party_id": p2, "amount": "3000", "manner": "现金", "due_on": clock.today()}])
    with session_scope(engine) as s:
        (t3,) = s.scalars(select(AgreementTerm.id).where(AgreementTerm.case_id == cid))
    assert _do(engine, "taskforce", cid, "follow_up", method="visit", satisfaction="satisfied", agreement_holds=True,
               term_performance={t3: "performed"}) == "settled"


def test_party_fields_are_edited_on_the_case_and_masked_for_leaders(engine):
    cid, p1, _ = _settled(engine)
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "party_details", party_id=p1, sex="X", ethnicity="汉", birth_date=dt.date(2999, 1, 1))
    assert exc.value.fields == {"sex": "请选择性别。", "ethnicity": "请填写民族全称，如“汉族”。",
                                "birth_date": "出生日期应在 1900 年之后、今天之前。"}
    _do(engine, "staff", cid, "party_details", party_id=p1, sex="M", ethnicity="汉族", birth_date=dt.date(1980, 5, 6),
        occupation="丰城市某建材公司")
    with session_scope(engine) as s:
        staff_view = case_queries.case_view(s, actor(s, "staff"), cid)["parties"][0]
        leader_view = case_queries.case_view(s, actor(s, "leader"), cid)["parties"][0]
        note = s.scalar(select(CaseEvent.note).where(CaseEvent.case_id == cid, CaseEvent.action == "party_details"))
    assert (staff_view["sex"], staff_view["ethnicity"], staff_view["birth_date"]) == ("男", "汉族", "1980-05-06")
    assert "1980" not in str(leader_view) and "建材" not in str(leader_view) and "汉族" not in str(leader_view)
    assert "1980" not in note and "建材" not in note  # the timeline names the fields, not the values
    with pytest.raises(PermissionDenied):
        _do(engine, "leader", cid, "party_details", party_id=p1, sex="F")


def test_a_room_mediator_cannot_settle_at_the_township_centre(engine):
    cid = _mediating(engine, "village")
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        m = s.scalar(select(Mediator).where(Mediator.room_id == c.room_id, Mediator.kind == "village"))
        med = actor(s, "mediator", "f_village_med", mediator_id=m.id)
    with session_scope(engine) as s:
        workflow.transition(s, med, cid, "transfer", s.get(Case, cid).version, note="现场未果")  # → village room
        assert "settle" in case_queries.allowed_actions(s, med, s.get(Case, cid))
        workflow.transition(s, med, cid, "transfer", s.get(Case, cid).version, note="需乡镇协调")  # → township
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        assert c.level == "township"
        assert "settle" not in case_queries.allowed_actions(s, med, c)
        assert "settle" in case_queries.allowed_actions(s, actor(s, "staff"), c)
    with pytest.raises(IllegalTransition, match="驻所、住村母舅不能记录调解成功"):
        with session_scope(engine) as s:
            workflow.transition(s, med, cid, "settle", s.get(Case, cid).version, agreement_summary="和解")
    assert _do(engine, "staff", cid, "settle", agreement_summary="乡镇综治中心调解和解") == "settled"


def test_case_papers_full_data_only_for_roles_that_see_personal_data(engine):
    cid, p1, p2 = _settled(engine)
    _do(engine, "staff", cid, "party_details", party_id=p1, sex="F", ethnicity="汉族", birth_date=dt.date(1975, 1, 2),
        occupation="务农")
    _do(engine, "staff", cid, "record_session", held_at=clock.now() - dt.timedelta(minutes=3), place="驻所调解室",
        mediators="刘调解", participants="双方当事人", process="释法说理", result="达成协议")
    _do(engine, "staff", cid, "judicial_apply", applied_on=clock.today(), court="丰城市人民法院", channel="paper")
    for role in ("leader", "trainer"):
        with session_scope(engine) as s, pytest.raises(PermissionDenied):
            papers.case_papers(s, actor(s, role), cid)
    with session_scope(engine) as s:
        d = papers.case_papers(s, actor(s, "staff"), cid)
    assert d["parties"][0] == {"id": p1, "name": "王小明", "role": "申请人", "sex": "女", "ethnicity": "汉族",
                               "birth_date": dt.date(1975, 1, 2), "occupation": "务农", "mobile": "13800138000",
                               "id_card": "", "address": ""}
    assert [(t["position"], t["party_name"]) for t in d["terms"]] == [(1, "李大山"), (2, "王小明")]
    assert d["copies"] == 3 and d["effective_on"] == clock.today() and d["committee"]
    assert d["sessions"][0]["process"] == "释法说理"
    assert d["confirmation"]["result_name"] == "待裁定" and d["confirmation"]["court"] == "丰城市人民法院"
    assert d["mediators"] and [e["action"] for e in d["events"]][-1] == "judicial_apply"


def test_accepting_an_online_request_records_the_application(engine):
    cid, _, _ = _settled(engine)
    with session_scope(engine) as s:
        token = dispute_codes.issue_for_case(s, cid).token
        rid = online_services.submit_public(s, token, "judicial_confirmation", "13800138000", "申请线上司法确认").id
    with session_scope(engine) as s:
        online_services.accept(s, actor(s, "staff"), rid)
    with session_scope(engine) as s:
        row = s.scalar(select(JudicialConfirmation).where(JudicialConfirmation.case_id == cid))
        assert (row.channel, row.online_request_id, row.court) == ("online", rid, "丰城市人民法院")
        assert s.get(Case, cid).judicial_status == "applied"
        assert s.get(OnlineRequest, rid).status == "accepted"
