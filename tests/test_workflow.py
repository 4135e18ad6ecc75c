"""transition(): the whole loop, the refusals, the audit trail, and concurrent users."""
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Case, CaseEvent, Counter, Dispatch, FollowUp, Mediator
from services import clock
from services.cases import intake
from services.cases import workflow
from services.errors import ConcurrentEdit, IllegalTransition, PermissionDenied, ValidationError
from tests.factories import actor, case_input


def _new(engine, mode="station", **kw):
    with session_scope(engine) as s:
        c = intake.register_case(s, actor(s, "staff"), case_input(s, mode, **kw))
        return c.id


def _version(engine, cid):
    with session_scope(engine) as s:
        return s.get(Case, cid).version


def _do(engine, role, cid, action, **payload):
    with session_scope(engine) as s:
        c = workflow.transition(s, actor(s, role), cid, action, s.get(Case, cid).version, **payload)
        return c.level, c.status


def _dispatch(engine, cid):
    with session_scope(engine) as s:
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, cid)[:2]]
    return _do(engine, "staff", cid, "dispatch", people=people)


def test_full_rural_loop_leaves_a_complete_timeline(engine):
    cid = _new(engine, "village")
    assert _dispatch(engine, cid) == ("onsite", "mediating")
    assert _do(engine, "staff", cid, "transfer", note="现场分歧大") == ("village_room", "mediating")
    assert _do(engine, "staff", cid, "transfer", note="涉及多个部门") == ("township", "mediating")
    assert _do(engine, "staff", cid, "transfer", note="需市级协调") == ("city", "mediating")
    assert _do(engine, "staff", cid, "settle", agreement_summary="赔偿并道歉", agreement_amount="3000.5") == ("city", "settled")
    assert _do(engine, "taskforce", cid, "follow_up", method="phone", satisfaction="satisfied", agreement_holds=True) == ("city", "settled")
    assert _do(engine, "taskforce", cid, "close") == ("city", "closed")
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.id)))
        assert [e.action for e in events] == ["register", "dispatch", "transfer", "transfer", "transfer", "settle",
                                              "follow_up", "close"]
        assert [e.to_level for e in events[2:5]] == ["village_room", "township", "city"]
        assert all(e.username and e.role for e in events)
        assert c.settled_level == "city" and str(c.agreement_amount) == "3000.50"
        assert c.follow_up_due_at - c.settled_at == dt.timedelta(days=7)
        assert c.level_due_at is None and c.closed_at is not None


def test_urban_ladder_goes_station_room_then_city_then_court(engine):
    cid = _new(engine, "station")
    _dispatch(engine, cid)
    assert _do(engine, "staff", cid, "transfer", note="未达成一致")[0] == "station_room"
    assert _do(engine, "staff", cid, "transfer", note="未达成一致")[0] == "city"
    assert _do(engine, "staff", cid, "transfer", note="需诉讼解决")[0] == "court"
    with pytest.raises(IllegalTransition):
        _do(engine, "staff", cid, "settle", agreement_summary="x协议")
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "litigate")
    assert "court_name" in exc.value.fields
    assert _do(engine, "staff", cid, "litigate", court_name="丰城市人民法院", note="已告知诉讼途径") == ("court", "litigation")
    assert _do(engine, "staff", cid, "close")[1] == "closed"


def test_dissatisfied_follow_up_reopens_at_the_last_level(engine):
    cid = _new(engine)
    _dispatch(engine, cid)
    _do(engine, "staff", cid, "transfer", note="升级")
    _do(engine, "staff", cid, "settle", agreement_summary="分期还款")
    with pytest.raises(ValidationError) as exc:
        _do(engine, "taskforce", cid, "follow_up", method="visit", satisfaction="dissatisfied", agreement_holds=True)
    assert "note" in exc.value.fields  # a reason is required
    with pytest.raises(IllegalTransition, match="回访"):
        _do(engine, "taskforce", cid, "close")
    assert _do(engine, "taskforce", cid, "follow_up", method="visit", satisfaction="basic", agreement_holds=False,
               note="对方未按期付款") == ("station_room", "mediating")
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        assert c.reopen_count == 1 and c.settled_at is None and c.level_due_at is not None
        assert s.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.case_id == cid)) == 1
        assert s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == cid)).all()[-1] == "reopen"


@pytest.mark.parametrize("action,payload,field", [
    ("transfer", {}, "note"),
    ("settle", {"agreement_summary": ""}, "agreement_summary"),
    ("settle", {"agreement_summary": "还款", "agreement_amount": "-5"}, "agreement_amount"),
    ("settle", {"agreement_summary": "还款", "agreement_amount": "abc"}, "agreement_amount"),
    ("terminate", {"note": "撤回"}, "reason_code"),
    ("terminate", {"reason_code": "withdrawn"}, "note"),
])
def test_bad_payloads_are_refused_on_their_field_and_nothing_changes(engine, action, payload, field):
    cid = _new(engine)
    _dispatch(engine, cid)
    before = _version(engine, cid)
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, action, **payload)
    assert field in exc.value.fields
    assert _version(engine, cid) == before
    with session_scope(engine) as s:
        assert s.get(Case, cid).status == "mediating"


def test_dispatch_validation(engine):
    cid = _new(engine)
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "dispatch", people=[])
    assert "people" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        _do(engine, "staff", cid, "dispatch", people=[(1, "grid_worker")], notified_at=clock.now() + dt.timedelta(hours=1))
    assert "notified_at" in exc.value.fields


@pytest.mark.parametrize("role", ["leader", "trainer", "admin"])
def test_read_only_roles_cannot_move_a_case(engine, role):
    cid = _new(engine)
    before = _version(engine, cid)
    with pytest.raises(PermissionDenied) as exc:
        _do(engine, role, cid, "terminate", reason_code="withdrawn", note="撤回申请")
    if role in ("leader", "trainer"):
        assert "只读" in exc.value.message
    assert _version(engine, cid) == before
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == cid)) == 1


def test_mediator_acts_only_on_own_cases(engine):
    mine, other = _new(engine, "station"), _new(engine, "village")
    with session_scope(engine) as s:
        room_id = s.get(Case, mine).room_id
        m = s.scalar(select(Mediator).where(Mediator.room_id == room_id, Mediator.kind == "station"))
        med = actor(s, "mediator", "f_med", mediator_id=m.id)
    with session_scope(engine) as s:
        workflow.transition(s, med, mine, "dispatch", s.get(Case, mine).version, people=[(m.id, "station")])
    with pytest.raises(PermissionDenied):
        with session_scope(engine) as s:
            workflow.transition(s, med, other, "dispatch", s.get(Case, other).version, people=[(m.id, "station")])


def test_arrival_clock_and_police_times(engine):
    received = clock.now() - dt.timedelta(hours=2)
    cid = _new(engine, received_at=received, source="110", police_incident_no="J-ARR-1")
    with session_scope(engine) as s:
        people = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, cid)[:2]]
        staff = actor(s, "staff")
        workflow.transition(s, staff, cid, "dispatch", s.get(Case, cid).version, people=people,
                            notified_at=received + dt.timedelta(minutes=5))
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        d1, d2 = s.scalars(select(Dispatch).where(Dispatch.case_id == cid).order_by(Dispatch.id)).all()
        assert d1.due_at - d1.notified_at == dt.timedelta(minutes=15)
        with pytest.raises(ValidationError):
            workflow.record_arrival(s, staff, d1.id, received)  # before notification
        workflow.record_arrival(s, staff, d1.id, received + dt.timedelta(minutes=23))  # 18 min after notice: late
        workflow.record_arrival(s, staff, d2.id, received + dt.timedelta(minutes=12))  # on time
        with pytest.raises(ValidationError) as exc:
            workflow.record_police(s, staff, cid, None, received + dt.timedelta(minutes=20), received + dt.timedelta(minutes=10))
        assert "police_handover_at" in exc.value.fields
        workflow.record_police(s, staff, cid, None, received + dt.timedelta(minutes=8), received + dt.timedelta(minutes=25))
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        assert c.first_arrival_at == received + dt.timedelta(minutes=12)
        assert c.first_arrival_at <= c.arrival_due_at  # quick response met
        notes = [e.note for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.action.in_(["arrive", "police"])))]
        assert any("超时" in n for n in notes) and any("按时" in n for n in notes) and any("17 分钟" in n for n in notes)  # police arrival to hand-over


def test_level_time_limits_drive_due_dates(engine):
    start = clock.local_dt(2026, 11, 2, 10, 0)
    try:
        clock.freeze(start)
        cid = _new(engine)
        _dispatch(engine, cid)
        with session_scope(engine) as s:
            assert clock.local(s.get(Case, cid).level_due_at) == clock.local_dt(2026, 11, 2, 23, 59, 59)  # same day
        _do(engine, "staff", cid, "transfer", note="升级")
        with session_scope(engine) as s:
            assert s.get(Case, cid).level_due_at == start + dt.timedelta(days=3)
    finally:
        clock.freeze(None)


def test_lost_update_second_writer_is_told_to_reload(engine):
    cid = _new(engine)
    _dispatch(engine, cid)
    seen = _version(engine, cid)  # both users opened the page at this version
    with session_scope(engine) as s:
        workflow.transition(s, actor(s, "staff"), cid, "transfer", seen, note="甲：移送驻所")
    with pytest.raises(ConcurrentEdit) as exc:
        with session_scope(engine) as s:
            workflow.transition(s, actor(s, "staff"), cid, "settle", seen, agreement_summary="乙：当场和解")
    assert "刷新" in exc.value.message
    with session_scope(engine) as s:
        c = s.get(Case, cid)
        assert (c.level, c.status) == ("station_room", "mediating")  # the first change survived, nothing half-applied
        assert "乙" not in (c.agreement_summary or "")


def test_simultaneous_transitions_one_wins_one_is_refused(engine):
    """Two users press a button at the same moment (real threads, real transactions)."""
    cid = _new(engine)
    _dispatch(engine, cid)
    seen = _version(engine, cid)
    with session_scope(engine) as s:
        actors = [actor(s, "staff", "f_a"), actor(s, "staff", "f_b")]
    barrier = threading.Barrier(2)
    results = []

    def act(who, action, payload):
        try:
            with session_scope(engine) as s:
                barrier.wait(timeout=10)
                workflow.transition(s, who, cid, action, seen, **payload)
            results.append("ok")
        except ConcurrentEdit:
            results.append("conflict")

    threads = [threading.Thread(target=act, args=(actors[0], "transfer", {"note": "移送"})),
               threading.Thread(target=act, args=(actors[1], "settle", {"agreement_summary": "和解协议"}))]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(results) == ["conflict", "ok"]
    with session_scope(engine) as s:
        n_events = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == cid))
    assert n_events == 3  # register, dispatch, and exactly one of the two


def test_twenty_clerks_register_at_once_without_duplicate_numbers(engine):
    n = 20
    with session_scope(engine) as s:
        clerk = actor(s, "staff")  # twenty browser sessions of the centre's staff
    barrier = threading.Barrier(n)
    numbers, errors = [], []

    def register(i):
        try:
            barrier.wait(timeout=20)  # all twenty press 保存 at the same moment
            with session_scope(engine) as s:
                data = case_input(s, source="110", police_incident_no=f"J-CONC-{i:03d}")
                numbers.append(intake.register_case(s, clerk, data).number)
        except Exception as exc:  # noqa: BLE001 - any error is a failure of this test
            errors.append(repr(exc))

    threads = [threading.Thread(target=register, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert errors == []
    assert len(numbers) == n == len(set(numbers))
    assert sorted(int(x.rsplit("-", 1)[1]) for x in numbers) == list(range(1, n + 1))
    with session_scope(engine) as s:
        assert s.scalar(select(Counter.value).where(Counter.kind == "case")) == n


def test_same_110_number_registered_twice_at_once_creates_one_case(engine):
    barrier = threading.Barrier(2)
    outcomes = []

    def register(username):
        try:
            barrier.wait(timeout=10)
            with session_scope(engine) as s:
                who = actor(s, "staff", username)
                data = case_input(s, source="110", police_incident_no="J-RACE-1")
                intake.register_case(s, who, data)
            outcomes.append("created")
        except intake.DuplicateCase:
            outcomes.append("duplicate")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(exc)[:300])

    with session_scope(engine) as s:
        actor(s, "staff", "f_r1"), actor(s, "staff", "f_r2")
    threads = [threading.Thread(target=register, args=(u,)) for u in ("f_r1", "f_r2")]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert sorted(outcomes) == ["created", "duplicate"]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
