"""Assessment: league tables, frozen weights, arrows and bottom three, the award register, 110 totals."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from db.models import (AssessmentResult, AssessmentRun, AuditEvent, AwardEntry, DisputeCategory, MediationRoom,
                       PoliceCallTotal, Setting, Township)
from services import clock
from services.metrics import assessment
from services.metrics import dashboard
from services.metrics.assessment import AwardInput
from services.errors import PermissionDenied, ValidationError
from services.metrics.dashboard import Period
from services.roles import Actor
from tests.test_metrics import L, forget_settings, make_case

def actor(_session, role: str) -> Actor:
    """An actor without a stored account (no password hashing: these tests are about roles)."""
    return Actor(user_id=None, username=f"t_{role}", role=role, display_name=f"测试{role}")


@pytest.fixture(autouse=True)
def _forget_settings(backend_url):
    """The setting table survives between tests (conftest keeps it with the organisation)."""
    yield
    forget_settings(backend_url)


JULY = Period(dt.date(2023, 7, 1), dt.date(2023, 7, 31), "2023年7月")
AUGUST = Period(dt.date(2023, 8, 1), dt.date(2023, 8, 31), "2023年8月")


def _towns(session, n=5):
    return list(session.scalars(select(Township).where(Township.mode == "station").order_by(Township.code)))[:n]


def _room(session, town):
    return session.scalar(select(MediationRoom.id).where(MediationRoom.kind == "station",
                                                         MediationRoom.police_station_id == town.police_station_id))


def _month(session, month: int, plan: dict[int, tuple[int, int]]):
    """plan: township index -> (settled, failed) cases received and ended in that month."""
    towns = _towns(session)
    cat = session.scalar(select(DisputeCategory.id).order_by(DisputeCategory.id))
    for i, (ok, bad) in plan.items():
        t = towns[i]
        for k in range(ok):
            rec = L(2023, month, 2 + k % 20, 9)
            make_case(session, t, rec, category_id=cat, status="closed", settled=rec + dt.timedelta(hours=3),
                      settled_level="onsite", followed=rec + dt.timedelta(days=2), satisfaction="satisfied",
                      notified=rec + dt.timedelta(minutes=2), arrived=rec + dt.timedelta(minutes=10),
                      room_id=_room(session, t))
        for k in range(bad):
            rec = L(2023, month, 3 + k % 20, 9)
            make_case(session, t, rec, category_id=cat, status="terminated", ended=rec + dt.timedelta(days=1),
                      notified=rec + dt.timedelta(minutes=2), arrived=rec + dt.timedelta(minutes=40),
                      room_id=_room(session, t))
    return towns


def _names(session, run_id, unit_type="station"):
    return [(r["rank"], r["unit_name"]) for r in assessment.league_table(session, run_id, unit_type) if r["rank"]]


def test_ranking_ranks_stations_and_rooms_and_marks_bottom_three(session):
    towns = _month(session, 7, {0: (10, 0), 1: (8, 2), 2: (5, 5), 3: (2, 6), 4: (1, 1)})
    tf = actor(session, "taskforce")
    run = assessment.compute_run(session, tf, JULY)
    table = assessment.league_table(session, run.id, "station")
    ranked = [r for r in table if r["rank"]]
    assert ranked[0]["unit_name"] == towns[0].police_station.name and ranked[0]["cases"] == 10
    assert ranked[0]["success_rate"] == 1.0 and ranked[0]["quick_rate"] == 1.0
    assert len(ranked) == 5 and [r["rank"] for r in ranked] == [1, 2, 3, 4, 5]
    assert [r["bottom"] for r in ranked] == [False, False, True, True, True]
    assert all(r["arrow"] == "新" for r in ranked)  # no earlier run
    unranked = [r for r in table if r["rank"] is None]
    assert unranked and not any(r["bottom"] for r in unranked)  # stations without cases
    rooms = [r for r in assessment.league_table(session, run.id, "room") if r["rank"]]
    assert len(rooms) == 5 and rooms[0]["cases"] == 10
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "assessment.compute")) == 1


def test_changed_weights_keep_old_periods_ranks_and_arrows_follow_last_period(session):
    _month(session, 7, {0: (10, 0), 1: (3, 0), 2: (6, 4), 3: (2, 6)})
    tf, admin = actor(session, "taskforce"), actor(session, "admin")
    july = assessment.compute_run(session, tf, JULY)
    july_before = _names(session, july.id)
    july_scores = sorted(session.scalars(select(AssessmentResult.score).where(AssessmentResult.run_id == july.id)))
    # weights now count only the number of cases: station 2 (10 cases) would beat station 1 (3 cases)
    assessment.set_weights(session, admin, {"cases": 100, "success": 0, "satisfaction": 0, "quick": 0,
                                            "follow_up": 0, "on_time": 0})
    _month(session, 8, {0: (1, 0), 1: (9, 0), 2: (4, 0), 3: (2, 0)})
    aug = assessment.compute_run(session, tf, AUGUST)
    assert _names(session, july.id) == july_before  # July unchanged
    assert sorted(session.scalars(select(AssessmentResult.score).where(AssessmentResult.run_id == july.id))) == july_scores
    assert session.get(AssessmentRun, july.id).weights == assessment.DEFAULT_WEIGHTS
    assert session.get(AssessmentRun, aug.id).weights["cases"] == 100
    aug_rows = {r["unit_name"]: r for r in assessment.league_table(session, aug.id, "station") if r["rank"]}
    towns = _towns(session)
    top = aug_rows[towns[1].police_station.name]
    assert top["rank"] == 1 and top["arrow"].startswith("↑")  # was behind in July
    assert aug_rows[towns[0].police_station.name]["arrow"].startswith("↓")
    # recomputing July with the new weights makes a new run; the old one is still there
    again = assessment.compute_run(session, tf, JULY)
    assert again.id != july.id and _names(session, july.id) == july_before


def test_only_the_task_force_computes_rankings(session):
    for role in ("leader", "trainer", "staff", "admin"):
        with pytest.raises(PermissionDenied):
            assessment.compute_run(session, actor(session, role), JULY)
    assert session.scalar(select(func.count()).select_from(AssessmentRun)) == 0


def test_unfinished_period_is_refused(session):
    today = clock.today()
    with pytest.raises(ValidationError) as exc:
        assessment.compute_run(session, actor(session, "taskforce"), Period.month(today))
    assert "period" in exc.value.fields


def test_weights_are_set_by_admin_only(session):
    for role in ("taskforce", "leader", "trainer", "staff"):
        with pytest.raises(PermissionDenied):
            assessment.set_weights(session, actor(session, role), dict(assessment.DEFAULT_WEIGHTS))
    assert session.get(Setting, assessment.WEIGHTS_KEY) is None


def test_bad_weights_are_refused_on_their_field(session):
    admin = actor(session, "admin")
    with pytest.raises(ValidationError) as exc:
        assessment.set_weights(session, admin, {**assessment.DEFAULT_WEIGHTS, "quick": 150, "success": "abc"})
    assert set(exc.value.fields) == {"w_quick", "w_success"}
    assert "0–100" in exc.value.fields["w_quick"]
    with pytest.raises(ValidationError):
        assessment.set_weights(session, admin, {k: 0 for k in assessment.WEIGHT_NAMES})
    assert assessment.current_weights(session) == {k: float(v) for k, v in assessment.DEFAULT_WEIGHTS.items()}


def _award(session, **kw):
    station = session.scalar(select(Township.police_station_id).order_by(Township.code))
    base = dict(kind="reward", unit_type="station", unit_id=station, period_start=JULY.start, period_end=JULY.end,
                reason="7月考核第一名", amount="100000")
    base.update(kw)
    return AwardInput(**base)


def test_award_register_records_who_decided_and_when(session):
    tf = actor(session, "taskforce")
    e = assessment.add_award(session, tf, _award(session))
    assert e.amount == 100000 and e.decided_by_name == "测试taskforce" and e.decided_at is not None
    assessment.add_award(session, tf, _award(session, kind="interview", interview_date=dt.date(2023, 8, 3),
                                             interview_who="市委政法委副书记约谈所长", agreed_fixes="一周内补齐回访"))
    assessment.add_award(session, tf, _award(session, kind="snail", reason="三次督办仍超时"))
    reg = assessment.awards(session)
    assert reg["total"] == 3 and [r["kind"] for r in reg["rows"]] == ["蜗牛奖", "约谈", "奖励"]
    assert reg["rows"][2]["detail"] == "¥100,000"
    assert "一周内补齐回访" in reg["rows"][1]["detail"]
    assert assessment.awards(session, kind="interview")["total"] == 1


BAD_AWARDS = [
    (dict(kind="reward", amount=""), "amount"),
    (dict(kind="reward", amount="-5"), "amount"),
    (dict(kind="interview", interview_date=None, interview_who="x", agreed_fixes=""), "interview_date"),
    (dict(kind="interview", interview_date=dt.date(2023, 8, 3), interview_who="", agreed_fixes="整改措施"), "interview_who"),
    (dict(kind="supervision", supervision_order_no=""), "supervision_order_no"),
    (dict(kind="bogus"), "kind"),
    (dict(unit_id=None), "unit_id"),
    (dict(reason="差"), "reason"),
    (dict(period_end=dt.date(2023, 6, 1)), "period"),
]


def test_bad_award_input_is_refused_on_its_field_and_nothing_saved(session):
    tf = actor(session, "taskforce")
    for kw, field in BAD_AWARDS:
        with pytest.raises(ValidationError) as exc:
            assessment.add_award(session, tf, _award(session, **kw))
        assert field in exc.value.fields, (kw, exc.value.fields)
    assert session.scalar(select(func.count()).select_from(AwardEntry)) == 0


def test_only_the_task_force_writes_the_register(session):
    for role in ("leader", "trainer", "staff", "admin"):
        with pytest.raises(PermissionDenied) as exc:
            assessment.add_award(session, actor(session, role), _award(session))
        if role in ("leader", "trainer"):
            assert "只读" in exc.value.message
    assert session.scalar(select(func.count()).select_from(AwardEntry)) == 0


def test_monthly_110_totals_by_staff_or_task_force_only(session):
    for role in ("leader", "trainer", "mediator"):
        with pytest.raises(PermissionDenied):
            assessment.set_call_total(session, actor(session, role), dt.date(2023, 7, 1), 3750)
    assert session.scalar(select(func.count()).select_from(PoliceCallTotal)) == 0
    assessment.set_call_total(session, actor(session, "staff"), dt.date(2023, 7, 15), "3750")
    assessment.set_call_total(session, actor(session, "taskforce"), dt.date(2023, 7, 1), 3800)  # same month: updated
    assert session.scalar(select(PoliceCallTotal.total)) == 3800
    assert session.scalar(select(PoliceCallTotal.entered_by_name)) == "测试taskforce"
    assert dashboard.call_total_for(session, JULY) == 3800


def test_bad_110_total_is_refused(session):
    staff = actor(session, "staff")
    with pytest.raises(ValidationError) as exc:
        assessment.set_call_total(session, staff, None, "很多")
    assert set(exc.value.fields) == {"month", "total"}
    future = clock.today() + dt.timedelta(days=40)
    with pytest.raises(ValidationError) as exc:
        assessment.set_call_total(session, staff, future, 10)
    assert "未来" in exc.value.fields["month"]


def test_league_export_opens_and_holds_no_personal_data(session):
    _month(session, 7, {0: (3, 0), 1: (2, 1), 2: (1, 1), 3: (1, 2)})
    run = assessment.compute_run(session, actor(session, "taskforce"), JULY)
    rows = assessment.league_table(session, run.id, "station")
    exp = dashboard.export_xlsx("考核排名_派出所", JULY, "全市", assessment.LEAGUE_HEADER,
                              assessment.league_rows_for_export(rows))
    assert exp.filename == "考核排名_派出所_全市_2023-07-01_2023-07-31.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(exp.data)).active
    values = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert "综合得分" in values and rows[0]["unit_name"] in values
    assert not any("13900000000" in v for v in values)  # the parties' phone in the data set
    assert ws.max_row == 2 + len(rows)
