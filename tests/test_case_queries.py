"""The read side of the closed loop on both databases: search, filters, paging, scope, masking,
overdue kinds, board, follow-up queue and the flowchart."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import DisputeCategory, Grid, Mediator, PoliceStation, Township, Village
from services.cases import case_queries as q
from services import clock
from services.cases import intake
from services.cases import ladder
from services.cases import workflow
from services.errors import PermissionDenied
from services.roles import LEADER, MEDIATOR, STAFF, TASKFORCE, TRAINER, Actor

STAFF_A = Actor(user_id=None, username="t_staff", role=STAFF, display_name="测试员")
TASK_A = Actor(user_id=None, username="t_task", role=TASKFORCE, display_name="专班")
BASE = clock.local_dt(2026, 3, 10, 10, 0)
ID_X = "11010519491231002X"  # valid check digit X


def listed(session, actor, filters=None):
    """The first page's rows and the total."""
    page = q.list_cases(session, actor, filters)
    return page.rows, page.total


@pytest.fixture(autouse=True)
def frozen():
    clock.freeze(BASE)
    yield
    clock.freeze(None)


def place(session, mode="station", n=0):
    t = session.scalars(select(Township).where(Township.mode == mode).order_by(Township.code)).all()[n]
    v = session.scalar(select(Village).where(Village.township_id == t.id).order_by(Village.code))
    g = session.scalar(select(Grid).where(Grid.village_id == v.id).order_by(Grid.code))
    return t, v, g


def make_case(session, mode="station", n=0, name="张三", mobile="13800138000", source="walk_in", incident="",
              order="", received=None, category="neighbor", station_id=None, id_card="",
              description="邻居装修噪音引发争吵"):
    t, v, g = place(session, mode, n)
    cat = session.scalar(select(DisputeCategory.id).where(DisputeCategory.code == category))
    data = intake.CaseInput(source=source, received_at=received or clock.now() - dt.timedelta(hours=1),
                           township_id=t.id, village_id=v.id, grid_id=g.id, address="某路 12 号 3 栋",
                           category_id=cat, complexity="simple", description=description,
                           parties=[intake.PartyInput(name=name, role="applicant", mobile=mobile, id_card=id_card,
                                                     address="幸福小区 5 栋 201")],
                           police_incident_no=incident, hotline_order_no=order, police_station_id=station_id)
    return intake.register_case(session, STAFF_A, data)


def dispatch(session, c, at=None):
    people = [(s["mediator_id"], s["duty"]) for s in intake.suggest_dispatch(session, c.id)[:2]]
    return workflow.transition(session, STAFF_A, c.id, "dispatch", c.version, people=people, notified_at=at)


def settle(session, c):
    c = dispatch(session, c) if c.status == "registered" else c
    return workflow.transition(session, STAFF_A, c.id, "settle", c.version, agreement_summary="赔偿 500 元",
                               agreement_amount="500")


def test_search_by_number_name_phone_and_110_number(session):
    a = make_case(session, name="王小明", mobile="13912345678", source="110", incident="JJ20260310001")
    b = make_case(session, name="李四", mobile="13700000001", source="12345", order="GD-778899")
    for term, want in ((a.number, a.id), ("王小明", a.id), ("+86 139-1234-5678", a.id), ("13912345678", a.id),
                       ("JJ20260310001", a.id), ("GD-778899", b.id), ("李四", b.id)):
        rows, total = listed(session, STAFF_A, q.CaseFilters(search=term))
        assert (total, [r["id"] for r in rows]) == (1, [want]), term
    rows, total = listed(session, STAFF_A, q.CaseFilters(search="没有这个人"))
    assert (rows, total) == ([], 0)
    rows, total = listed(session, STAFF_A, q.CaseFilters(search="%"))  # wildcards are literal
    assert total == 0


def test_each_filter_narrows_the_list(session):
    station = session.scalar(select(PoliceStation.id).order_by(PoliceStation.code))
    a = make_case(session, "station", 0, source="110", incident="JJ-1", station_id=station)
    b = make_case(session, "village", 0, category="land")
    c = make_case(session, "station", 1, category="debt")
    dispatch(session, c)

    def ids(**kw):
        rows, total = listed(session, STAFF_A, q.CaseFilters(**kw))
        assert total == len(rows)
        return {r["id"] for r in rows}

    assert ids() == {a.id, b.id, c.id}
    assert ids(township_id=a.township_id) == {a.id}
    assert ids(police_station_id=station) == {a.id}
    assert ids(mode="village") == {b.id}
    assert ids(category_id=b.category_id) == {b.id}
    assert ids(level="onsite") == {a.id, b.id, c.id}
    assert ids(status="mediating") == {c.id}
    assert ids(status="registered") == {a.id, b.id}
    assert ids(status=ladder.OPEN) == {a.id, b.id, c.id}
    assert ids(status=ladder.RESOLVED) == set()
    assert ids(overdue="any") == set()


def test_pagination_totals_and_stable_order(session):
    made = [make_case(session, received=BASE - dt.timedelta(hours=1 + i % 5), mobile=f"1380000{i:04d}")
            for i in range(23)]
    seen, token, pages = [], None, 0
    while True:
        page = q.list_cases(session, STAFF_A, after=token, page_size=10)
        assert (page.total, page.estimated) == (23, False)
        seen += page.rows
        pages += 1
        token = page.next
        if token is None:
            break
    assert pages == 3 and [len(seen[:10]), len(seen[10:20]), len(seen[20:])] == [10, 10, 3]
    assert len({r["id"] for r in seen}) == 23 == len(made)
    keys = [(r["received_at"], r["id"]) for r in seen]  # ties on received_at are broken by id
    assert keys == sorted(keys, reverse=True)
    last = q.list_cases(session, STAFF_A, after=(seen[-1]["received_at"], seen[-1]["id"]), page_size=10)
    assert (last.rows, last.total, last.next) == ([], 23, None)


def test_a_list_can_start_at_a_date(session):
    """跳到接报日期: the first row is the newest case received on that day (Beijing time) or before."""
    days = [make_case(session, received=clock.local_dt(2026, 3, d, 23, 30), mobile=f"1390000{d:04d}")
            for d in (1, 3, 5, 7)]
    page = q.list_cases(session, STAFF_A, after=q.after_date(dt.date(2026, 3, 5)), page_size=10)
    assert [r["id"] for r in page.rows] == [days[2].id, days[1].id, days[0].id]  # 23:30 on the 5th included
    page = q.list_cases(session, STAFF_A, after=q.after_date(dt.date(2026, 2, 28)), page_size=10)
    assert page.rows == [] and page.total == 4


def test_a_large_count_is_an_estimate_on_postgresql(session, monkeypatch):
    """Above the exact-count limit PostgreSQL's planner estimates (shown as 约 N); SQLite counts."""
    for i in range(6):
        make_case(session, received=BASE - dt.timedelta(hours=i), mobile=f"1370000{i:04d}")
    monkeypatch.setattr(q, "EXACT_COUNT_LIMIT", 4)
    page = q.list_cases(session, STAFF_A, page_size=2)
    if session.get_bind().dialect.name == "postgresql":
        assert page.estimated and page.total > 4
    else:
        assert (page.estimated, page.total) == (False, 6)
    assert len(page.rows) == 2 and page.next is not None
    assert q.list_cases(session, STAFF_A, q.CaseFilters(township_id=-1)).total == 0  # small: exact again


def test_a_broad_search_gives_the_same_cases_as_a_narrow_one(session, monkeypatch):
    """Ids are collected first; a term matching more than the limit falls back to a subquery."""
    a = make_case(session, name="王小明", mobile="13912345678")
    b = make_case(session, name="王小红", mobile="13912345679")
    make_case(session, name="李四", mobile="13700000001")
    want = ({a.id, b.id}, 2)
    page = q.list_cases(session, STAFF_A, q.CaseFilters(search="王小"))
    assert ({r["id"] for r in page.rows}, page.total) == want
    monkeypatch.setattr(q, "SEARCH_IDS_LIMIT", 1)
    page = q.list_cases(session, STAFF_A, q.CaseFilters(search="王小"))
    assert ({r["id"] for r in page.rows}, page.total) == want


def test_mediator_sees_only_own_cases(session):
    mine = make_case(session, "station", 0)
    other = make_case(session, "station", 1)
    dispatched = make_case(session, "station", 2)
    me = session.scalar(select(Mediator).where(Mediator.room_id == mine.room_id).order_by(Mediator.id))
    actor = Actor(user_id=None, username="m", role=MEDIATOR, mediator_id=me.id)
    workflow.transition(session, STAFF_A, dispatched.id, "dispatch", dispatched.version, people=[(me.id, "station")])
    rows, total = listed(session, actor)
    assert {r["id"] for r in rows} == {mine.id, dispatched.id} and total == 2
    with pytest.raises(PermissionDenied):
        q.case_view(session, actor, other.id)
    assert q.case_view(session, actor, dispatched.id)["number"] == dispatched.number
    board = q.board(session, actor, "station")
    assert sum(col["count"] for col in board) == 2
    assert listed(session, Actor(user_id=None, username="x", role=MEDIATOR)) == ([], 0)  # unlinked account


@pytest.mark.parametrize("role", [LEADER, TRAINER])
def test_leader_and_trainer_see_masked_personal_data_and_no_actions(session, role):
    c = make_case(session, name="欧阳明月", mobile="13912345678", id_card=ID_X.lower())
    c = dispatch(session, c)
    view = q.case_view(session, Actor(user_id=None, username="r", role=role), c.id)
    p = view["parties"][0]
    assert (p["name"], p["mobile"], p["id_card"]) == ("欧***", "139****5678", "1101**********002X")
    assert "幸福小区 5 栋 201" not in p["address"] and "某路 12 号" not in view["address"]
    assert all("****" in d["phone"] for d in view["dispatches"])
    assert view["allowed_actions"] == []
    staff = q.case_view(session, STAFF_A, c.id)
    assert (staff["parties"][0]["name"], staff["parties"][0]["mobile"], staff["parties"][0]["id_card"]) == (
        "欧阳明月", "13912345678", ID_X)
    assert staff["dispatches"][0]["phone"].isdigit()


@pytest.mark.parametrize("role", [LEADER, TRAINER])
def test_free_text_hides_names_and_numbers_from_roles_without_personal_access(session, role):
    """What an intake clerk types into the description and notes reaches a leader's screen masked."""
    typed = "欧阳明月（13912345678，身份证 11010519491231002X）称明月家住幸福小区 5 栋 201，邻居电话 137-0000-0001，座机 0795-1234567"
    c = make_case(session, name="欧阳明月", mobile="13912345678", id_card=ID_X, description=typed)
    c = workflow.transition(session, STAFF_A, c.id, "dispatch", c.version, note="已电话联系欧阳明月",
                            people=[(s["mediator_id"], s["duty"]) for s in intake.suggest_dispatch(session, c.id)[:1]])
    c = workflow.transition(session, STAFF_A, c.id, "settle", c.version, agreement_summary="邻居向欧阳明月赔偿 500 元")
    view = q.case_view(session, Actor(user_id=None, username="r", role=role), c.id)
    shown = " ".join([view["description"], view["agreement_summary"], *(e["note"] for e in view["timeline"]),
                      *(d["note"] or "" for d in view["dispatches"])])
    for secret in ("欧阳明月", "明月", "13912345678", ID_X, "幸福小区 5 栋 201", "137-0000-0001", "13700000001",
                   "1234567"):
        assert secret not in shown, secret
    assert "欧***" in view["description"] and "139****5678" in view["description"] and "137****0001" in shown
    assert "赔偿 500 元" in view["agreement_summary"]  # the rest of the text stays readable
    staff = q.case_view(session, STAFF_A, c.id)  # roles that work the case read it as typed
    assert staff["description"] == typed and staff["agreement_summary"] == "邻居向欧阳明月赔偿 500 元"
    assert any(e["note"] == "已电话联系欧阳明月" for e in staff["timeline"])


@pytest.mark.parametrize("role", [LEADER, TRAINER])
def test_roles_without_personal_access_cannot_search_by_name_or_mobile(session, role):
    a = make_case(session, name="王小明", mobile="13912345678", source="110", incident="JJ20260310001")
    reader = Actor(user_id=None, username="r", role=role)
    for term in ("王小明", "小明", "13912345678", "+86 139-1234-5678"):
        assert listed(session, reader, q.CaseFilters(search=term)) == ([], 0), term
        assert listed(session, STAFF_A, q.CaseFilters(search=term))[1] == 1, term
    for term in (a.number, "JJ20260310001"):
        rows, total = listed(session, reader, q.CaseFilters(search=term))
        assert (total, [r["id"] for r in rows]) == (1, [a.id]), term


def test_allowed_actions_follow_ladder_and_role(session):
    c = make_case(session, source="110", incident="JJ-9")
    assert set(q.case_view(session, STAFF_A, c.id)["allowed_actions"]) == {"dispatch", "terminate", "police", "reroute",
                                                                          "party_details"}
    assert q.case_view(session, TASK_A, c.id)["allowed_actions"] == ["terminate", "party_details"]
    c = dispatch(session, c)
    acts = q.case_view(session, STAFF_A, c.id)["allowed_actions"]
    assert {"settle", "transfer", "terminate", "add_dispatch", "arrive", "police", "reroute", "record_session",
            "party_details"} == set(acts)
    c = workflow.transition(session, STAFF_A, c.id, "transfer", c.version, note="双方分歧大")
    assert "reroute" not in q.case_view(session, STAFF_A, c.id)["allowed_actions"]
    c = workflow.transition(session, STAFF_A, c.id, "settle", c.version, agreement_summary="达成协议")
    # the follow-up, and the written agreement's side actions (sessions, judicial confirmation, parties)
    assert q.case_view(session, TASK_A, c.id)["allowed_actions"] == ["follow_up", "record_session", "judicial_apply",
                                                                     "party_details"]
    c = workflow.transition(session, TASK_A, c.id, "follow_up", c.version, method="phone", agreement_holds=True,
                            satisfaction="satisfied")
    view = q.case_view(session, TASK_A, c.id)
    assert "close" in view["allowed_actions"]
    assert [s["state"] for s in view["ladder"]] == ["done", "current", "ahead", "ahead"]
    assert [e["action"] for e in view["timeline"]] == ["register", "dispatch", "transfer", "settle", "follow_up"]
    assert view["follow_ups"][0]["satisfaction"] == "满意"


def test_overdue_kinds_arrival_level_follow_up(session):
    late = dispatch(session, make_case(session, "station", 0), at=BASE)
    on_time = dispatch(session, make_case(session, "station", 1), at=BASE)
    settled = settle(session, make_case(session, "village", 0))
    assert q.overdue_list(session, STAFF_A)["arrival"]["count"] == 0
    clock.freeze(BASE + dt.timedelta(minutes=10))
    workflow.record_arrival(session, STAFF_A, q.case_view(session, STAFF_A, on_time.id)["dispatches"][0]["id"],
                            clock.now())

    clock.freeze(BASE + dt.timedelta(minutes=20))
    groups = q.overdue_list(session, STAFF_A)
    assert groups["arrival"]["count"] == 1 and groups["arrival"]["items"][0]["id"] == late.id
    assert q.case_view(session, STAFF_A, late.id)["overdue"] == ["arrival"]
    assert q.case_view(session, STAFF_A, late.id)["late_arrivals"] == 2
    assert q.case_view(session, STAFF_A, on_time.id)["overdue"] == []

    clock.freeze(BASE + dt.timedelta(days=1))  # on-site level is due the same day
    groups = q.overdue_list(session, STAFF_A)
    assert {r["id"] for r in groups["level"]["items"]} == {late.id, on_time.id}
    assert groups["follow_up"]["count"] == 0

    clock.freeze(BASE + dt.timedelta(days=8))  # follow-up due 7 days after settlement
    groups = q.overdue_list(session, STAFF_A)
    assert [r["id"] for r in groups["follow_up"]["items"]] == [settled.id]
    rows, total = listed(session, STAFF_A, q.CaseFilters(overdue="follow_up"))
    assert total == 1 and rows[0]["overdue_names"] == ["回访超时"]
    rows, total = listed(session, STAFF_A, q.CaseFilters(overdue="any"))
    assert total == 3


def test_board_counts_and_colours(session):
    a = dispatch(session, make_case(session, "station", 0), at=BASE)
    b = make_case(session, "station", 1)
    c = dispatch(session, make_case(session, "station", 2))
    for d in q.case_view(session, STAFF_A, c.id)["dispatches"]:
        workflow.record_arrival(session, STAFF_A, d["id"], BASE)
    c = workflow.transition(session, STAFF_A, c.id, "transfer", None, note="需调解室处理")
    make_case(session, "village", 0)
    clock.freeze(BASE + dt.timedelta(minutes=30))
    cols = {col["level"]: col for col in q.board(session, STAFF_A, "station")}
    assert list(cols) == list(ladder.LADDERS["station"])
    assert (cols["onsite"]["count"], cols["station_room"]["count"], cols["city"]["count"]) == (2, 1, 0)
    assert cols["onsite"]["overdue"] == 1
    assert cols["onsite"]["cards"][0]["id"] == a.id and cols["onsite"]["cards"][0]["colour"] == "red"
    assert {r["id"]: r["colour"] for r in cols["onsite"]["cards"]}[b.id] == "orange"  # due tonight
    assert cols["station_room"]["cards"][0]["colour"] == "green"
    township = q.board(session, STAFF_A, "station", township_id=b.township_id)
    assert sum(col["count"] for col in township) == 1


def test_follow_up_queue_overdue_first_then_ready_to_close(session):
    first = settle(session, make_case(session, "station", 0))
    clock.freeze(BASE + dt.timedelta(days=3))
    second = settle(session, make_case(session, "station", 1))
    clock.freeze(BASE + dt.timedelta(days=8))
    queue = q.follow_up_queue(session, TASK_A)
    assert (queue["total"], queue["overdue"]) == (2, 1)
    assert [r["id"] for r in queue["items"]] == [first.id, second.id]
    workflow.transition(session, TASK_A, first.id, "follow_up", first.version, method="visit",
                        agreement_holds=True, satisfaction="basic")
    queue = q.follow_up_queue(session, TASK_A)
    assert [r["id"] for r in queue["items"]] == [second.id]
    assert [r["id"] for r in queue["to_close"]] == [first.id]


def test_flowchart_is_drawn_from_the_ladder_data():
    dot = q.flowchart_dot({"onsite": 0, "station_room": 3})
    for mode, steps in ladder.LADDERS.items():
        for level in steps:
            assert f'{mode}_{level} [label="{ladder.level_name(mode, level)}' in dot
        for a, b in zip(steps, steps[1:]):
            assert f"{mode}_{a} -> {mode}_{b}" in dot
        assert f"{mode}_{steps[-1]} -> st_litigation" in dot
        assert f"{mode}_{steps[-1]} -> {mode}_" not in dot  # nothing above the last rung
    for text in ("110 接警", "12345 热线", "网格排查", "来访", "驻所", "住村", "调解成功", "回访", "已闭环",
                 "时限：当日", "时限：3 天", "原层级重新调处"):
        assert text in dot
    assert dot.startswith("digraph") and dot.count("{") == dot.count("}")


def test_the_timeline_says_what_the_follow_up_answered(session):
    """Issue 11 #9: 基本满意 with the agreement not performed reopened the case, and the timeline
    called it "回访不满意重新调处"."""
    c = settle(session, make_case(session, "station", 0))
    c = workflow.transition(session, TASK_A, c.id, "follow_up", c.version, method="phone", agreement_holds=False,
                            satisfaction="basic", note="对方尚未付款")
    view = q.case_view(session, TASK_A, c.id)
    assert view["status"] == "mediating"
    names = [e["action_name"] for e in view["timeline"]]
    assert names[-1] == "回访（基本满意，协议未履行：案件重新进入调处）"
    assert not any("不满意" in n for n in names)


def test_timeline_names_people_and_current_mediator_follows_a_transfer(session):
    """Usernames never stand for people; after a transfer the case detail says who handles it."""
    from tests.factories import actor
    clerk = actor(session, STAFF, username="clerk_wang")  # display name 测试staff
    c = make_case(session)
    people = [(s["mediator_id"], s["duty"]) for s in intake.suggest_dispatch(session, c.id)[:2]]
    c = workflow.transition(session, clerk, c.id, "dispatch", c.version, people=people)
    assert q.case_view(session, clerk, c.id)["current_mediator"]  # the person sent, by name
    clock.freeze(BASE + dt.timedelta(hours=2))
    c = workflow.transition(session, clerk, c.id, "transfer", c.version, note="双方分歧大")
    view = q.case_view(session, clerk, c.id)
    assert view["level"] == "station_room"
    assert view["current_mediator"] == f"{view['room']}（待指派调解人）"
    c = workflow.transition(session, clerk, c.id, "transfer", c.version, note="涉及多个部门")
    view = q.case_view(session, clerk, c.id)
    assert view["level"] == "city"  # the station ladder goes from the room to the city centre
    assert view["current_mediator"] == "市综治中心（待指派调解人）"
    by_clerk = [e["who"] for e in view["timeline"] if e["action"] in ("dispatch", "transfer")]
    assert by_clerk == ["测试staff"] * 3 and "clerk_wang" not in str(view["timeline"])


def test_a_whole_case_number_is_found_by_equality_and_a_part_by_substring(session):
    a = make_case(session, name="王小明", mobile="13912345678")
    b = make_case(session, name="李四", mobile="13700000001")
    assert q.CASE_NUMBER.fullmatch(a.number)
    page = q.list_cases(session, STAFF_A, q.CaseFilters(search=a.number))
    assert ([r["id"] for r in page.rows], page.total) == ([a.id], 1)
    assert q.list_cases(session, STAFF_A, q.CaseFilters(search=a.number + "9")).total == 0  # whole: exact
    part = q.list_cases(session, STAFF_A, q.CaseFilters(search=a.number[:-1]))  # a part: every case it is in
    assert {r["id"] for r in part.rows} >= {a.id} and (b.number.startswith(a.number[:-1]) == (b.id in
                                                                                          {r["id"] for r in part.rows}))


def test_a_later_page_can_skip_the_count(session):
    for i in range(3):
        make_case(session, received=BASE - dt.timedelta(hours=i), mobile=f"1360000{i:04d}")
    first = q.list_cases(session, STAFF_A, page_size=2)
    later = q.list_cases(session, STAFF_A, after=first.next, page_size=2, count=False)
    assert first.total == 3 and later.total is None and len(later.rows) == 1
