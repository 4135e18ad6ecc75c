"""Work bulletins: figures (the dashboard's), running issue numbers, editing, export."""
import datetime as dt
import io

import pytest
from docx import Document
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bulletin, Case
from services import clock
from services.taskforce import bulletins
from services.cases import intake
from services.taskforce import instruments
from services.metrics import dashboard
from services.cases import workflow
from services.errors import DomainError, PermissionDenied, ValidationError
from services.roles import Actor
from tests.factories import case_input

DAY = dt.date(2026, 12, 1)


def actor(role: str) -> Actor:
    return Actor(user_id=None, username=f"t_{role}", role=role, display_name=f"测试{role}")


@pytest.fixture
def frozen():
    clock.freeze(clock.local_dt(2026, 12, 1, 10))
    yield
    clock.freeze(None)


def _settled_case(engine, satisfied=True):
    with session_scope(engine) as s:
        c = intake.register_case(s, actor("staff"), case_input(s))
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, c.id)[:1]]
        workflow.transition(s, actor("staff"), c.id, "dispatch", None, people=people)
        workflow.transition(s, actor("staff"), c.id, "settle", None, agreement_summary="赔偿并道歉")
        workflow.transition(s, actor("taskforce"), c.id, "follow_up", None, method="phone", agreement_holds=True,
                            satisfaction="satisfied" if satisfied else "dissatisfied", note="" if satisfied else "不满意赔偿金额")
        return c.id


def _draft(engine, start=DAY - dt.timedelta(days=9), end=DAY):
    with session_scope(engine) as s:
        return bulletins.draft(s, actor("taskforce"), start, end).id


def test_a_bulletin_gives_the_dashboards_figures_for_the_same_period(engine, frozen):
    _settled_case(engine)
    reopened = _settled_case(engine, satisfied=False)  # the dissatisfied follow-up reopens the case
    again = _settled_case(engine, satisfied=False)
    with session_scope(engine) as s:
        intake.register_case(s, actor("staff"), case_input(s, "village"))
        workflow.transition(s, actor("staff"), again, "settle", None, agreement_summary="增加赔偿")
        workflow.transition(s, actor("taskforce"), again, "follow_up", None, method="visit", agreement_holds=True,
                            satisfaction="basic")
    bid = _draft(engine)
    with session_scope(engine) as s:
        f = bulletins.get(s, actor("leader"), bid)["figures"]
        dashboard.mark_full_refresh(s)
        tiles = {t.key: t for t in dashboard.headline(s, dashboard.Period(DAY - dt.timedelta(days=9), DAY))}
        status = s.get(Case, reopened).status
    # every follow-up counts, also the one that reopened a case that was settled again afterwards
    assert (f["received"], f["settled"], f["followed"], f["satisfied"]) == (4, 2, 4, 2)
    assert f["success_rate"] == 1.0 and f["satisfaction_rate"] == 0.5
    for key in ("received", "settled", "success_rate", "satisfaction_rate", "quick_rate", "follow_up_rate"):
        assert f[key] == tiles[key].value, key
    assert f["by_mode"] == {"station": 3, "village": 1}
    assert f["by_status"] == {"registered": 1, "settled": 2, status: 1}
    assert f["townships"][0][1:] == ["3", "100.0%", tiles["satisfaction_rate"].display]


def test_issue_numbers_run_on_across_years_and_only_when_issued(engine, frozen):
    a, b = _draft(engine), _draft(engine)
    with session_scope(engine) as s:
        assert bulletins.get(s, actor("leader"), a)["issue"] == "草稿"
        assert bulletins.issue(s, actor("taskforce"), b, None).issue_no == 1
        assert bulletins.issue(s, actor("taskforce"), a, None).issue_no == 2
    clock.freeze(clock.local_dt(2027, 1, 5, 10))
    c = _draft(engine, dt.date(2026, 12, 20), dt.date(2027, 1, 4))
    with session_scope(engine) as s:
        assert bulletins.issue(s, actor("taskforce"), c, None).issue_no == 3  # no restart in January
        with pytest.raises(DomainError, match="已印发"):
            bulletins.update_text(s, actor("taskforce"), c, None, "新标题", "x", "y")


def test_commentary_is_editable_and_required_to_issue(engine, frozen):
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        bulletins.draft(s, actor("taskforce"), DAY, DAY - dt.timedelta(days=1))
    assert exc.value.fields == {"period_end": "结束日期不能早于开始日期。"}
    bid = _draft(engine)
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        bulletins.update_text(s, actor("taskforce"), bid, None, " ", "", "")
    assert exc.value.fields == {"title": "请填写专报标题。"}
    with session_scope(engine) as s:
        bulletins.update_text(s, actor("taskforce"), bid, None, "第四季度工作情况", "", "下步继续")
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        bulletins.issue(s, actor("taskforce"), bid, None)
    assert exc.value.fields == {"commentary": "请填写存在问题（专班评述）。"}
    with session_scope(engine) as s:
        b = s.get(Bulletin, bid)
        assert (b.state, b.issue_no, b.title) == ("draft", None, "第四季度工作情况")
        assert s.scalar(select(func.count()).select_from(Bulletin)) == 1  # the bad period saved nothing


def test_bulletin_lists_notices_and_exports_in_bulletin_style(engine, frozen):
    cid = _settled_case(engine)
    with session_scope(engine) as s:
        inst = instruments.draft_from_case(s, actor("taskforce"), "risk_notice", [cid])
        number = instruments.issue(s, actor("taskforce"), inst.id, None).doc_number
    bid = _draft(engine)
    with session_scope(engine) as s:
        bulletins.issue(s, actor("taskforce"), bid, None)
        view = bulletins.get(s, actor("leader"), bid)
        assert [i["doc_number"] for i in view["instruments"]] == [number]
        # no assessment run covers the period: no ranking, and the bulletin says so
        assert view["rankings"] == {"top": [], "bottom": [], "note": "本期尚无考核排名结果。"}
        doc = bulletins.document(s, actor("leader"), bid)
        _, data = bulletins.render(s, actor("leader"), bid, "docx")
    assert doc.header_style == "bulletin" and doc.doc_number == "第1期"
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert "第1期" in text and number in text and "全市共受理非警务警情1件" in text


def test_only_the_task_force_drafts_and_issues_bulletins(engine, frozen):
    bid = _draft(engine)
    for role in ("staff", "leader", "trainer"):
        with session_scope(engine) as s, pytest.raises(PermissionDenied):
            bulletins.draft(s, actor(role), DAY, DAY)
        with session_scope(engine) as s, pytest.raises(PermissionDenied):
            bulletins.issue(s, actor(role), bid, None)
        with session_scope(engine) as s:
            assert bulletins.list_bulletins(s, actor(role))["total"] == 1
    with session_scope(engine) as s:
        assert s.get(Bulletin, bid).state == "draft" and s.scalar(select(func.count()).select_from(Case)) == 0


def test_rankings_top_and_bottom_from_the_assessment_run_of_the_period(engine, frozen):
    from db.models import AssessmentResult, AssessmentRun
    with session_scope(engine) as s:
        run = AssessmentRun(period_start=DAY - dt.timedelta(days=30), period_end=DAY - dt.timedelta(days=1),
                            label="2026年11月", weights={}, created_at=clock.now())
        run.results = [AssessmentResult(unit_type="station", unit_id=i, unit_name=f"第{i}派出所", score=100 - i, rank=i)
                       for i in range(1, 8)]
        s.add(run)
    bid = _draft(engine)
    with session_scope(engine) as s:
        r = bulletins.get(s, actor("leader"), bid)["rankings"]
    assert [x["unit"] for x in r["top"]] == ["第1派出所", "第2派出所", "第3派出所"]
    assert [x["unit"] for x in r["bottom"]] == ["第5派出所", "第6派出所", "第7派出所"]
    assert "2026年11月" in r["note"]


def test_demo_step_works_without_cases_and_matches_the_article(engine):
    import random

    from db.models import Counter, Instrument, Meeting
    from services.demo import taskforce as demo_taskforce
    with session_scope(engine) as s:
        demo_taskforce.load(s, random.Random(7))
    with session_scope(engine) as s:
        kinds = dict(s.execute(select(Instrument.kind, func.count()).where(Instrument.year == 2023)
                               .group_by(Instrument.kind)).all())
        assert kinds == {"risk_notice": 50, "supervision_order": 12}
        assert s.scalar(select(func.count()).select_from(Meeting).where(Meeting.kind == "coordination")) == 11
        assert sorted(s.scalars(select(Bulletin.issue_no))) == list(range(1, 17))
        assert s.scalar(select(Counter.value).where(Counter.kind == "risk_notice", Counter.year == 2023)) == 50
        assert instruments.counts(s)["overdue"] >= 3  # a few never answered
    with session_scope(engine) as s:  # the next issued bulletin follows on
        bid = bulletins.draft(s, actor("taskforce"), dt.date(2023, 12, 9), dt.date(2023, 12, 20)).id
        bulletins.update_text(s, actor("taskforce"), bid, None, "第17期", "评述", "下步")
        assert bulletins.issue(s, actor("taskforce"), bid, None).issue_no == 17
