"""Repeat disputes (services.cases.repeats) on both databases: earlier cases of the same party
(mobile, ID number) or address within 12 months, scope and masking per role, the case list's
重复纠纷 filter and the task force's 3-in-90-days alert."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import DisputeCategory, Grid, Mediator, Township, Village
from services import clock
from services.cases import case_queries as q
from services.cases import intake
from services.cases import repeats
from services.errors import PermissionDenied
from services.roles import LEADER, MEDIATOR, STAFF, TASKFORCE, TRAINER, Actor

STAFF_A = Actor(user_id=None, username="r_staff", role=STAFF, display_name="测试员")
TASK_A = Actor(user_id=None, username="r_task", role=TASKFORCE, display_name="专班")
LEADER_A = Actor(user_id=None, username="r_leader", role=LEADER, display_name="领导")
NOW = clock.local_dt(2026, 3, 10, 10, 0)
ID_X = "11010519491231002X"  # valid check digit X
ID_2 = "110105198001010016"
ADDR = "剑南路 18 号门前"


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def case(session, days_ago: float, mobile: str, id_card: str = "", address: str = "", n: int = 0,
         mobile2: str = ""):
    t = session.scalars(select(Township).where(Township.mode == "station").order_by(Township.code)).all()[n]
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    g = session.scalar(select(Grid).where(Grid.village_id == v.id).order_by(Grid.code))
    cat = session.scalar(select(DisputeCategory.id).where(DisputeCategory.code == "neighbor"))
    parties = [intake.PartyInput(name="张三", role="applicant", mobile=mobile, id_card=id_card)]
    if mobile2:
        parties.append(intake.PartyInput(name="李四", role="respondent", mobile=mobile2))
    data = intake.CaseInput(source="walk_in", received_at=clock.now() - dt.timedelta(days=days_ago),
                            township_id=t.id, village_id=v.id, grid_id=g.id, address=address,
                            category_id=cat, complexity="simple", description="邻居装修噪音引发争吵",
                            parties=parties)
    return intake.register_case(session, STAFF_A, data)


def numbers(rows):
    return [r["number"] for r in rows]


def test_draft_finds_earlier_cases_by_mobile_id_number_or_address_newest_first(session):
    a = case(session, 100, "13900001111", id_card=ID_X, address=ADDR)
    b = case(session, 50, "13900002222", id_card=ID_X.lower())
    c = case(session, 10, "13900003333", address=f"  {ADDR} ")
    case(session, 5, "13900004444", address="别处 1 号")  # unrelated
    assert numbers(repeats.earlier_for_draft(session, STAFF_A, mobiles=["+86 139-0000-1111"])) == [a.number]
    assert numbers(repeats.earlier_for_draft(session, STAFF_A, id_cards=[ID_X.lower()])) == [b.number, a.number]
    assert numbers(repeats.earlier_for_draft(session, STAFF_A, address=ADDR)) == [c.number, a.number]
    rows = repeats.earlier_for_draft(session, STAFF_A, mobiles=["13900003333", "不是号码"], id_cards=[ID_X],
                                     address="")
    assert numbers(rows) == [c.number, b.number, a.number]
    first = rows[-1]
    assert first["match"] == f"同一身份证号 {ID_X}" and first["category"] == "邻里纠纷"
    assert first["status_name"] == "待调度" and first["outcome"] == "办理中"
    assert first["received_at"] == a.received_at
    # nothing typed, or only what matches nothing: no panel
    assert repeats.earlier_for_draft(session, STAFF_A, mobiles=[""], id_cards=[""], address=" ") == []
    assert repeats.earlier_for_draft(session, STAFF_A, mobiles=["13800000000"]) == []


def test_case_lookup_excludes_itself_and_later_cases(session):
    a = case(session, 100, "13900001111", address=ADDR)
    b = case(session, 50, "13900005555", mobile2="13900001111")
    c = case(session, 10, "13900006666", address=ADDR)
    assert numbers(repeats.earlier_for_case(session, STAFF_A, b.id)) == [a.number]
    rows = repeats.earlier_for_case(session, STAFF_A, c.id)
    assert numbers(rows) == [a.number] and rows[0]["match"] == f"同一地址 {ADDR}"
    assert repeats.earlier_for_case(session, STAFF_A, a.id) == []  # the first of its kind


def test_only_the_last_12_months_count(session):
    case(session, 400, "13900001111")  # 13 months before: not a repeat any more
    within = case(session, 360, "13900001111")
    now = case(session, 0.1, "13900001111")
    assert numbers(repeats.earlier_for_case(session, STAFF_A, now.id)) == [within.number]
    old_draft_time = clock.now() - dt.timedelta(days=30)  # a call received a month ago, registered late
    assert numbers(repeats.earlier_for_draft(session, STAFF_A, mobiles=["13900001111"],
                                             received_at=old_draft_time)) == [within.number]


@pytest.mark.parametrize("role", [LEADER, TRAINER])
def test_roles_without_personal_access_see_masked_links_and_cannot_look_up_by_number(session, role):
    a = case(session, 100, "13900001111", id_card=ID_2, address=ADDR)
    b = case(session, 10, "13900001111", id_card=ID_2, address=ADDR)
    who = Actor(user_id=None, username="r", role=role)
    rows = repeats.earlier_for_case(session, who, b.id)
    assert numbers(rows) == [a.number]
    text = rows[0]["match"]
    assert "139****1111" in text and "1101**********0016" in text and "剑南路 18****" in text
    assert "13900001111" not in text and ID_2 not in text and ADDR not in text
    # typing a number would tell who is party to what: nothing for these roles
    assert repeats.earlier_for_draft(session, who, mobiles=["13900001111"], id_cards=[ID_2], address=ADDR) == []
    full = repeats.earlier_for_case(session, STAFF_A, b.id)[0]["match"]
    assert "13900001111" in full and ID_2 in full and ADDR in full


def test_a_mediator_sees_only_earlier_cases_within_their_scope(session):
    mine_old = case(session, 100, "13900001111", n=0)
    other_old = case(session, 80, "13900001111", n=1)  # another township's room
    mine_new = case(session, 10, "13900001111", n=0)
    other_new = case(session, 5, "13900001111", n=1)
    med = session.scalar(select(Mediator).where(Mediator.room_id == mine_new.room_id).order_by(Mediator.id))
    me = Actor(user_id=None, username="m", role=MEDIATOR, mediator_id=med.id)
    assert numbers(repeats.earlier_for_case(session, STAFF_A, mine_new.id)) == [other_old.number, mine_old.number]
    assert numbers(repeats.earlier_for_case(session, me, mine_new.id)) == [mine_old.number]
    assert numbers(repeats.earlier_for_draft(session, me, mobiles=["13900001111"])) == [mine_new.number,
                                                                                         mine_old.number]
    with pytest.raises(PermissionDenied):
        repeats.earlier_for_case(session, me, other_new.id)
    # the list filter: only their own cases, and only with an earlier case they may see
    page = q.list_cases(session, me, q.CaseFilters(repeat=True))
    rows, total = page.rows, page.total
    assert [r["id"] for r in rows] == [mine_new.id] and total == 1


def test_case_list_filters_repeat_disputes(session):
    a = case(session, 200, "13900001111", address=ADDR)
    b = case(session, 150, "13900002222", id_card=ID_X)
    c = case(session, 100, "13900003333", mobile2="13900001111")  # repeat of a by the respondent's mobile
    d = case(session, 50, "13900004444", id_card=ID_X)  # repeat of b by ID number
    e = case(session, 20, "13900005555", address=ADDR)  # repeat of a by address
    case(session, 30, "13900006666", address="别处 1 号")
    case(session, 600, "13900007777")
    f = case(session, 1, "13900007777")  # its earlier case is 20 months old: not a repeat
    page = q.list_cases(session, STAFF_A, q.CaseFilters(repeat=True))
    rows, total = page.rows, page.total
    assert [r["id"] for r in rows] == [e.id, d.id, c.id] and total == 3
    assert f.id not in {r["id"] for r in rows} and a.id not in {r["id"] for r in rows}
    assert b.id not in {r["id"] for r in rows}
    page = q.list_cases(session, LEADER_A, q.CaseFilters(repeat=True, search=d.number))
    both, n = page.rows, page.total
    assert [r["id"] for r in both] == [d.id] and n == 1
    assert q.list_cases(session, STAFF_A).total == 8  # without the filter: every case


def test_three_cases_within_90_days_are_flagged_for_the_task_force(session):
    a = case(session, 80, "13900001111")
    b = case(session, 40, "13900002222", mobile2="13900001111")
    c = case(session, 2, "13900009999", address=ADDR, mobile2="13900001111")
    # spread over more than 90 days: three cases, never three within 90 days
    case(session, 300, "13900005555")
    case(session, 150, "13900005555")
    case(session, 20, "13900005555")
    # two within 90 days only
    case(session, 30, "13900006666")
    case(session, 3, "13900006666")
    found = repeats.alerts(session, TASK_A)
    assert [r["id"] for r in found] == [c.id]
    assert found[0]["count"] == 3 and found[0]["earlier_numbers"] == [a.number, b.number]
    assert found[0]["earlier_ids"] == [a.id, b.id]
    d = case(session, 1, "13900001111")
    assert [r["id"] for r in repeats.alerts(session, LEADER_A)] == [d.id, c.id]
    assert repeats.alerts(session, TASK_A)[0]["count"] == 4
    with pytest.raises(PermissionDenied):
        repeats.alerts(session, Actor(user_id=None, username="m", role=MEDIATOR, mediator_id=1))


def test_the_lookups_have_their_indexes(engine):
    from sqlalchemy import inspect
    found = inspect(engine)
    party = {tuple(i["column_names"]) for i in found.get_indexes("party")}
    cases = {tuple(i["column_names"]) for i in found.get_indexes("dispute_case")}
    assert ("mobile",) in party and ("id_card",) in party
    assert ("address", "received_at") in cases
