"""Duty: who is on duty at 21:59 / 22:01, across midnight and gaps; calendar edits; stays (both databases)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from db.models import (Department, DisputeCategory, DutyShift, MediationRoom, Mediator, Township, Village)
from services import clock
from services.cases import case_queries, intake
from services.roster import duty
from services.roster import mediators
from services.errors import PermissionDenied, ValidationError
from tests.test_roster import _keep_people, actor  # noqa: F401  (autouse: restores the kept mediator table)

D = dt.date(2026, 3, 2)  # a Monday


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return clock.local_dt(day.year, day.month, day.day, hh, mm)


@pytest.fixture(autouse=True)
def _frozen(_keep_people):
    clock.freeze(at(D, 10))
    yield
    clock.freeze(None)


@pytest.fixture
def town(session):
    t = session.scalar(select(Township).where(Township.code == "T01"))
    cadres = list(session.scalars(select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id == t.id)
                                  .order_by(Mediator.code)))
    room = duty.station_room_of(session, t.id)
    return t, cadres, room


def shifts(session, township_id) -> dict:
    return dict(session.execute(select(DutyShift.duty_date, DutyShift.mediator_id)
                                .where(DutyShift.township_id == township_id)).all())


def test_station_room_until_2159_then_the_duty_cadre_from_2201(session, town):
    t, (a, b, _c), room = town
    staff = actor(session, "staff")
    duty.assign(session, staff, t.id, D, a.id)
    team = set(session.scalars(select(Mediator.id).where(Mediator.room_id == room.id, Mediator.kind == "station",
                                                         Mediator.active.is_(True))))
    before = duty.who_is_on_duty(session, at(D, 21, 59), township_id=t.id)
    assert before.mode == "hours" and {p["mediator_id"] for p in before.people} == team and not before.gap
    after = duty.who_is_on_duty(session, at(D, 22, 1), township_id=t.id)
    assert after.mode == "after_hours" and [p["mediator_id"] for p in after.people] == [a.id]
    assert duty.duty_cadre_for(session, t.id, at(D, 21, 59)) is None
    assert duty.duty_cadre_for(session, t.id, at(D, 22, 1)).id == a.id


def test_0130_belongs_to_the_previous_nights_cadre(session, town):
    t, (a, b, _c), _room = town
    staff = actor(session, "staff")
    duty.assign(session, staff, t.id, D, a.id)
    duty.assign(session, staff, t.id, D + dt.timedelta(days=1), b.id)
    tue = D + dt.timedelta(days=1)
    assert [p["name"] for p in duty.who_is_on_duty(session, at(tue, 1, 30), township_id=t.id).people] == [a.name]
    assert duty.who_is_on_duty(session, at(tue, 7, 59), township_id=t.id).people[0]["mediator_id"] == a.id
    assert duty.who_is_on_duty(session, at(tue, 22, 30), township_id=t.id).people[0]["mediator_id"] == b.id


def test_a_calendar_gap_is_returned_as_a_gap_never_as_someone_else(session, town):
    t, (a, b, c), _room = town
    staff = actor(session, "staff")
    duty.assign(session, staff, t.id, D + dt.timedelta(days=1), a.id)
    duty.assign(session, staff, t.id, D + dt.timedelta(days=3), c.id)
    gap_night = D + dt.timedelta(days=2)
    on = duty.who_is_on_duty(session, at(gap_night, 23), township_id=t.id)
    assert on.gap and on.people == [] and "值班空档" in on.warning and gap_night.isoformat() in on.warning
    assert duty.who_is_on_duty(session, at(gap_night + dt.timedelta(days=1), 2), township_id=t.id).gap
    assert duty.duty_cadre_for(session, t.id, at(gap_night, 23)) is None
    listed = {g.date for g in duty.gaps(session, t.id)}
    assert gap_night in listed and D + dt.timedelta(days=1) not in listed and len(listed) == duty.GAP_DAYS - 2


def test_a_deactivated_person_is_never_on_duty_nor_suggested(session, town):
    t, (a, b, _c), room = town
    staff = actor(session, "staff")
    duty.assign(session, staff, t.id, D, a.id)
    station_m = session.scalar(select(Mediator).where(Mediator.room_id == room.id, Mediator.kind == "station")
                               .order_by(Mediator.code))
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    cat = session.scalar(select(DisputeCategory).where(DisputeCategory.code == "neighbor"))
    clock.freeze(at(D, 23, 30))
    case = intake.register_case(session, staff, intake.CaseInput(
        source="walk_in", received_at=at(D, 23), township_id=t.id, village_id=v.id, category_id=cat.id,
        complexity="simple", description="夜间邻里噪音纠纷双方争吵",
        parties=[intake.PartyInput(name="王小明", mobile="13800138000")]))
    suggested = {s["mediator_id"] for s in intake.suggest_dispatch(session, case.id)}
    assert a.id in suggested and station_m.id in suggested

    gap_nights = mediators.deactivate(session, staff, a.id, "调离")
    mediators.deactivate(session, staff, station_m.id, "退休")
    assert D in gap_nights
    suggested = {s["mediator_id"] for s in intake.suggest_dispatch(session, case.id)}
    assert a.id not in suggested and station_m.id not in suggested
    on = duty.who_is_on_duty(session, at(D, 23, 30), township_id=t.id)
    assert on.gap and a.id not in [p["mediator_id"] for p in on.people]
    day = duty.who_is_on_duty(session, at(D + dt.timedelta(days=1), 10), township_id=t.id)
    assert station_m.id not in [p["mediator_id"] for p in day.people]
    night = duty.week_view(session, t.id, D, "staff").nights[0]
    assert night.gap and "已停用" in night.name
    assert any("已停用" in g.reason for g in duty.gaps(session, t.id, start=D))


def test_week_view_copy_last_week_and_swap(session, town):
    t, (a, b, c), _room = town
    staff = actor(session, "staff")
    for i in range(6):  # last week Mon..Sat rostered, Sunday empty
        session.add(DutyShift(township_id=t.id, duty_date=D - dt.timedelta(days=7 - i), mediator_id=(a, b, c)[i % 3].id))
    session.flush()
    duty.assign(session, staff, t.id, D + dt.timedelta(days=1), c.id)
    result = duty.copy_last_week(session, staff, t.id, D)
    assert result.copied == [D + dt.timedelta(days=i) for i in (0, 2, 3, 4, 5)]
    assert dict(result.skipped) == {D + dt.timedelta(days=1): "已有排班", D + dt.timedelta(days=6): "上周无排班"}
    have = shifts(session, t.id)
    assert have[D] == a.id and have[D + dt.timedelta(days=1)] == c.id  # the filled night was not overwritten
    again = duty.copy_last_week(session, staff, t.id, D)
    assert again.copied == [] and len(again.skipped) == 7
    duty.swap(session, staff, t.id, D, D + dt.timedelta(days=1))
    have = shifts(session, t.id)
    assert (have[D], have[D + dt.timedelta(days=1)]) == (c.id, a.id)
    view = duty.week_view(session, t.id, D, "leader")
    assert [n.gap for n in view.nights] == [False] * 6 + [True]
    assert view.nights[0].name == c.name and "****" in view.nights[0].phone
    with pytest.raises(ValidationError) as exc:
        duty.swap(session, staff, t.id, D, D + dt.timedelta(days=6))
    assert "没有排班" in exc.value.fields["swap_b"]


def test_assign_refuses_wrong_people_and_read_only_roles(session, town):
    t, (a, _b, _c), room = town
    staff = actor(session, "staff")
    other = session.scalar(select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id != t.id))
    station_m = session.scalar(select(Mediator).where(Mediator.room_id == room.id))
    for who, day, field, needle in ((other, D, "mediator_id", "本乡镇"), (station_m, D, "mediator_id", "值班干部"),
                                    (a, D - dt.timedelta(days=5), "duty_date", "已结束")):
        with pytest.raises(ValidationError) as exc:
            duty.assign(session, staff, t.id, day, who.id)
        assert needle in exc.value.fields[field]
    for role in ("leader", "trainer"):
        with pytest.raises(PermissionDenied, match="只读"):
            duty.assign(session, actor(session, role), t.id, D, a.id)
        with pytest.raises(PermissionDenied):
            duty.copy_last_week(session, actor(session, role), t.id, D)
    assert shifts(session, t.id) == {}


def _department_person(session, staff) -> Mediator:
    session.add(Department(name="司法所", sort_order=0, active=True))
    session.flush()
    return mediators.add_mediator(session, staff, mediators.MediatorInput(
        name="钱司法", kind="department", phone="13900003333", unit_code="T01", department="司法所"))


def _land_case(session, staff, t):
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    cat = session.scalar(select(DisputeCategory).where(DisputeCategory.code == "land"))
    return intake.register_case(session, staff, intake.CaseInput(
        source="walk_in", received_at=at(D, 9), township_id=t.id, village_id=v.id, category_id=cat.id,
        complexity="general", description="宅基地边界争议涉及多户",
        parties=[intake.PartyInput(name="王小明", mobile="13800138000")]))


def test_stays_make_department_people_dispatchable(session, town):
    t, _cadres, room = town
    staff = actor(session, "staff")
    p = _department_person(session, staff)
    duty.add_rotation(session, staff, p.id, "rotating", D, D + dt.timedelta(days=9), room_id=room.id)
    assert [m.id for m in duty.rotation_people(session, room.id, at(D, 10))] == [p.id]
    assert duty.rotation_people(session, room.id, at(D + dt.timedelta(days=10), 10)) == []
    hours = duty.who_is_on_duty(session, at(D, 15), room_id=room.id)
    assert {"mediator_id": p.id, "why": "部门轮驻"}.items() <= next(x for x in hours.people if x["mediator_id"] == p.id).items()
    with pytest.raises(ValidationError) as exc:
        duty.add_rotation(session, staff, p.id, "rotating", D + dt.timedelta(days=5), None, room_id=room.id)
    assert "已有轮驻" in exc.value.fields["rot_person"]

    case = _land_case(session, staff, t)
    duty.add_rotation(session, staff, p.id, "on_demand", case_number=case.number)
    assert [m.id for m in duty.case_people(session, case.id)] == [p.id]
    assert {r["方式"] for r in duty.list_rotations(session, t.id)} == {"轮驻", "随驻"}

    station_m = session.scalar(select(Mediator).where(Mediator.room_id == room.id))
    with pytest.raises(ValidationError) as exc:
        duty.add_rotation(session, staff, station_m.id, "on_demand", case_id=case.id)
    assert "部门" in exc.value.fields["rot_person"]
    n = session.scalar(select(func.count()).select_from(duty.Rotation))
    with pytest.raises(PermissionDenied):
        duty.add_rotation(session, actor(session, "leader"), p.id, "on_demand", case_id=case.id)
    assert session.scalar(select(func.count()).select_from(duty.Rotation)) == n


def test_village_room_is_always_on(session):
    room = session.scalar(select(MediationRoom).where(MediationRoom.kind == "village").order_by(MediationRoom.code))
    team = set(session.scalars(select(Mediator.id).where(Mediator.room_id == room.id, Mediator.active.is_(True))))
    for hh in (3, 15, 23):
        on = duty.who_is_on_duty(session, at(D, hh), room_id=room.id)
        assert on.mode == "village" and {p["mediator_id"] for p in on.people} == team and not on.gap


def test_at_half_past_one_the_closed_station_room_is_not_preselected(session, town):
    """Issue 11 #5: at 01:30 the dispatch form preselected a station mediator of a room that
    closed at 22:00. The night's duty cadre is preselected; the room's people stay choosable."""
    from services.cases import case_queries
    t, (a, _b, _c), room = town
    staff = actor(session, "staff")
    duty.assign(session, staff, t.id, D, a.id)
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    cat = session.scalar(select(DisputeCategory).where(DisputeCategory.code == "neighbor"))
    next_day = D + dt.timedelta(days=1)
    clock.freeze(at(next_day, 1, 30))
    case = intake.register_case(session, staff, intake.CaseInput(
        source="walk_in", received_at=at(next_day, 1, 20), township_id=t.id, village_id=v.id, category_id=cat.id,
        complexity="simple", description="凌晨邻里噪音纠纷双方争吵",
        parties=[intake.PartyInput(name="王小明", mobile="13800138000")]))
    options = case_queries.dispatch_options(session, staff, case.id)
    preselectable = {o["mediator_id"] for o in options if o["suggested"]}
    room_people = {m.id for m in session.scalars(select(Mediator).where(Mediator.room_id == room.id,
                                                                        Mediator.kind == "station"))}
    assert a.id in preselectable
    assert room_people and not (room_people & preselectable)
    assert room_people <= {o["mediator_id"] for o in options}  # still choosable by hand
    assert all("调解室已闭室" in o["label"] for o in options if o["mediator_id"] in room_people)

    clock.freeze(at(next_day, 9, 0))  # the room is open again: its mediators are suggested
    preselectable = {o["mediator_id"] for o in case_queries.dispatch_options(session, staff, case.id)
                     if o["suggested"]}
    assert room_people & preselectable


def test_a_finished_night_can_no_longer_be_swapped_reassigned_or_removed(session, town):
    """Issue 11 #10: the night of D ended at 08:00 on D+1; at 10:00 that day it could still be swapped."""
    t, (a, b, _c), _room = town
    staff = actor(session, "staff")
    nxt = D + dt.timedelta(days=1)
    duty.assign(session, staff, t.id, D, a.id)
    duty.assign(session, staff, t.id, nxt, b.id)
    clock.freeze(at(nxt, 7, 59))  # the night of D is still running: a sick cadre can be replaced
    duty.assign(session, staff, t.id, D, b.id)
    duty.assign(session, staff, t.id, D, a.id)
    clock.freeze(at(nxt, 10))
    with pytest.raises(ValidationError) as exc:
        duty.swap(session, staff, t.id, D, nxt)
    assert "已结束" in exc.value.fields["swap_a"]
    with pytest.raises(ValidationError) as exc:
        duty.assign(session, staff, t.id, D, b.id)
    assert "已结束" in exc.value.fields["duty_date"]
    with pytest.raises(ValidationError):
        duty.unassign(session, staff, t.id, D)
    assert shifts(session, t.id) == {D: a.id, nxt: b.id}  # nothing changed
    duty.assign(session, staff, t.id, nxt, a.id)  # tonight's is still editable
    assert shifts(session, t.id)[nxt] == a.id


def test_a_rotation_stay_today_is_suggested_for_the_rooms_cases(session, town):
    """Someone rotating (轮驻) in the room today is offered for its cases, with the reason; before
    or after the stay's dates, not."""
    t, _cadres, room = town
    staff = actor(session, "staff")
    p = _department_person(session, staff)
    duty.add_rotation(session, staff, p.id, "rotating", D, D + dt.timedelta(days=2), room_id=room.id)
    case = _land_case(session, staff, t)
    assert case.room_id == room.id

    def offered(day: dt.date) -> dict:
        clock.freeze(at(day, 10))
        return {x["mediator_id"]: x for x in intake.suggest_dispatch(session, case.id)}

    today = offered(D + dt.timedelta(days=2))  # the stay's last day
    assert today[p.id]["duty"] == "department" and today[p.id]["reason"].startswith("今日轮驻本调解室")
    assert list(today)[-1] == p.id  # after the room's own people
    option = next(o for o in case_queries.dispatch_options(session, staff, case.id) if o["mediator_id"] == p.id)
    assert option["suggested"] and "今日轮驻本调解室" in option["label"]
    assert p.id not in offered(D - dt.timedelta(days=1))
    assert p.id not in offered(D + dt.timedelta(days=3))
