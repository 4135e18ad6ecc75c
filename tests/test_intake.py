"""Case intake: validation messages per field, nothing partial saved, numbering, duplicates, routing."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Case, CaseEvent, MediationRoom, Party
from services import clock
from services.cases import intake
from services.errors import PermissionDenied, ValidationError
from services.validation import id_check_digit, normalise_id_card, normalise_mobile
from tests.factories import actor, case_input


@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"), ("+8619912345678", "19912345678"),
    ("138-0013-8000", "13800138000"), ("12800138000", None), ("1380013800", None), ("138001380001", None),
    ("abc", None), ("", None), ("+85213800138000", None)])
def test_mobile_numbers(raw, expected):
    assert normalise_mobile(raw) == expected


def test_id_numbers_with_check_digit():
    assert normalise_id_card("11010519491231002X") == "11010519491231002X"
    assert normalise_id_card("11010519491231002x") == "11010519491231002X"  # lower-case x normalised
    assert normalise_id_card("110105194912310021") is None  # wrong check digit
    assert normalise_id_card("11010519491231002") is None  # 17 characters
    body = "36098119800101123"
    assert normalise_id_card(body + id_check_digit(body)) == body + id_check_digit(body)


def _count(engine, model):
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_register_routes_urban_to_station_room_and_numbers(engine):
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        c = intake.register_case(s, staff, case_input(s, "station"))
        room = s.get(MediationRoom, c.room_id)
        assert (c.mode, room.kind) == ("station", "station")
        assert c.number.startswith(f"丰-{clock.local(c.received_at).year}-") and c.number.endswith("000001")
        assert c.status == "registered" and c.level == "onsite"
        c2 = intake.register_case(s, staff, case_input(s, "village"))
        assert c2.mode == "village" and s.get(MediationRoom, c2.room_id).village_id == c2.village_id
        assert c2.number.endswith("000002")
        assert [e.action for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id))] == ["register"]


@pytest.mark.parametrize("overrides,field", [
    (dict(parties=[]), "parties"),
    (dict(parties=[intake.PartyInput(name="李四", mobile="12345")]), "party0.mobile"),
    (dict(parties=[intake.PartyInput(name="李四", mobile="13800138000", id_card="110105194912310021")]), "party0.id_card"),
    (dict(parties=[intake.PartyInput(name="", mobile="13800138000")]), "party0.name"),
    (dict(received_at=clock.now() + dt.timedelta(hours=2)), "received_at"),
    (dict(received_at=clock.local_dt(1999, 12, 31, 23, 59)), "received_at"),  # a typo in the year
    (dict(township_id=None), "township_id"),
    (dict(village_id=None), "village_id"),
    (dict(description="吵"), "description"),
    (dict(source="110"), "police_incident_no"),
    (dict(source="12345"), "hotline_order_no"),
    (dict(source="fax"), "source"),
    (dict(complexity="huge"), "complexity"),
])
def test_bad_input_is_refused_on_its_field_and_nothing_saved(engine, overrides, field):
    with pytest.raises(ValidationError) as exc:
        with session_scope(engine) as s:
            intake.register_case(s, actor(s, "staff"), case_input(s, **overrides))
    assert field in exc.value.fields and exc.value.fields[field]
    assert _count(engine, Case) == 0 and _count(engine, Party) == 0


def test_second_party_errors_name_the_party(engine):
    with pytest.raises(ValidationError) as exc:
        with session_scope(engine) as s:
            intake.register_case(s, actor(s, "staff"), case_input(s, parties=[
                intake.PartyInput(name="甲", mobile="13800138000"),
                intake.PartyInput(name="乙", mobile="1380013", role="respondent")]))
    assert exc.value.fields == {"party1.mobile": exc.value.fields["party1.mobile"]}
    assert "当事人2" in exc.value.fields["party1.mobile"]


def test_village_of_another_township_is_refused(engine):
    with session_scope(engine) as s:
        _, other_village = __import__("tests.factories", fromlist=["place"]).place(s, "village")
        with pytest.raises(ValidationError) as exc:
            intake.register_case(s, actor(s, "staff"), case_input(s, "station", village_id=other_village.id))
    assert "village_id" in exc.value.fields


def test_normalised_values_are_stored(engine):
    with session_scope(engine) as s:
        c = intake.register_case(s, actor(s, "staff"), case_input(s, parties=[
            intake.PartyInput(name="赵六", mobile="+86 139-0000-1111", id_card="11010519491231002x")]))
        assert (c.parties[0].mobile, c.parties[0].id_card) == ("13900001111", "11010519491231002X")


def test_duplicate_110_number_links_to_the_existing_case(engine):
    with session_scope(engine) as s:
        first = intake.register_case(s, actor(s, "staff"), case_input(s, source="110", police_incident_no="J20261129-0001"))
        number = first.number
    with pytest.raises(intake.DuplicateCase) as exc:
        with session_scope(engine) as s:
            intake.register_case(s, actor(s, "staff"), case_input(s, source="110", police_incident_no="J20261129-0001"))
    assert exc.value.number == number and number in exc.value.message
    assert _count(engine, Case) == 1


@pytest.mark.parametrize("role", ["leader", "trainer", "taskforce", "admin"])
def test_roles_that_do_not_register_are_refused(engine, role):
    with pytest.raises(PermissionDenied):
        with session_scope(engine) as s:
            intake.register_case(s, actor(s, role), case_input(s))
    assert _count(engine, Case) == 0


def test_route_override_needs_a_reason_and_is_recorded(engine):
    with session_scope(engine) as s:
        staff = actor(s, "staff")
        other_room = s.scalar(select(MediationRoom).where(MediationRoom.kind == "village"))
        with pytest.raises(ValidationError) as exc:
            intake.register_case(s, staff, case_input(s, "station"), override_room_id=other_room.id)
        assert "override_reason" in exc.value.fields
        c = intake.register_case(s, staff, case_input(s, "station"), override_room_id=other_room.id,
                                override_reason="当事人住所在该村")
        assert (c.mode, c.room_id, c.route_overridden) == ("village", other_room.id, True)
        assert "当事人住所在该村" in c.route_note


def test_after_hours_station_case_suggests_the_duty_cadre(engine):
    """The suggestion depends on the wall clock at dispatch time, so the clock is frozen: a CI run
    at night used to see the room closed "now" and look for tonight's duty cadre instead."""
    from db.models import DutyShift, Mediator
    try:
        with session_scope(engine) as s:
            staff = actor(s, "staff")
            late = clock.local_dt(2026, 11, 20, 22, 30)
            data = case_input(s, "station", received_at=late)
            cadre = s.scalar(select(Mediator).where(Mediator.kind == "duty_cadre", Mediator.township_id == data.township_id))
            s.add(DutyShift(township_id=data.township_id, duty_date=dt.date(2026, 11, 20), mediator_id=cadre.id))
            c = intake.register_case(s, staff, data)
            assert c.after_hours
            clock.freeze(clock.local_dt(2026, 11, 20, 22, 40))  # dispatched the same night
            duties = [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, c.id)]
            assert (cadre.id, "duty_cadre") in duties
            assert duties[0][1] == "grid_worker"
            clock.freeze(clock.local_dt(2026, 11, 21, 23, 0))  # dispatched the next night, nobody rostered
            assert (cadre.id, "duty_cadre") in [(x["mediator_id"], x["duty"]) for x in intake.suggest_dispatch(s, c.id)]
            day = intake.register_case(s, staff, case_input(s, "station", received_at=clock.local_dt(2026, 11, 20, 21, 58)))
            assert not day.after_hours
            clock.freeze(clock.local_dt(2026, 11, 20, 21, 59))  # the room is still open
            assert "duty_cadre" not in [x["duty"] for x in intake.suggest_dispatch(s, day.id)]
    finally:
        clock.freeze(None)
