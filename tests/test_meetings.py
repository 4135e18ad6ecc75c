"""Coordination meetings: minutes, action items (done needs evidence), open and overdue lists."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import ActionItem, AuditEvent, Meeting
from services import cases, clock, meetings
from services.errors import PermissionDenied, ValidationError
from services.roles import Actor
from tests.factories import case_input

DAY = dt.date(2026, 12, 1)


def actor(role: str) -> Actor:
    return Actor(user_id=None, username=f"t_{role}", role=role, display_name=f"测试{role}")


@pytest.fixture
def frozen():
    def at(day: dt.date):
        clock.freeze(clock.local_dt(day.year, day.month, day.day, 10))
    at(DAY)
    yield at
    clock.freeze(None)


def _case(engine, **kw):
    with session_scope(engine) as s:
        c = cases.register_case(s, actor("staff"), case_input(s, **kw))
        return c.id, c.number


def _meeting(engine, case_ids=(), kind="coordination", **kw):
    data = meetings.MeetingInput(kind=kind, held_on=DAY, place="市综治中心三楼会议室", convened_by="专班 熊建国",
                                 topic="剑光街道宅基地纠纷协调", attending_units=meetings.split_list("剑光街道、市自然资源局，剑光派出所"),
                                 attendees=["熊建国", "刘晓芳"], decisions="由街道牵头复测边界。", case_ids=list(case_ids))
    for k, v in kw.items():
        setattr(data, k, v)
    items = [meetings.ActionInput("复测宅基地边界", "市自然资源局", DAY + dt.timedelta(days=3)),
             meetings.ActionInput("组织双方再次调解", "剑光街道综治中心", DAY + dt.timedelta(days=10))]
    with session_scope(engine) as s:
        return meetings.create_meeting(s, actor("taskforce"), data, items).id


def test_minutes_with_items_are_listed_and_linked_to_the_case(engine, frozen):
    cid, number = _case(engine)
    mid = _meeting(engine, [cid])
    with session_scope(engine) as s:
        view = meetings.get(s, actor("leader"), mid)
        assert view["attending_units"] == ["剑光街道", "市自然资源局", "剑光派出所"]
        assert view["cases"] == [(cid, number)] and len(view["items"]) == 2
        page = meetings.list_meetings(s, actor("staff"))
        assert page["total"] == 1 and page["rows"][0]["open"] == 2 and page["rows"][0]["overdue"] == 0
        assert [m["id"] for m in meetings.meetings_for_case(s, cid)] == [mid]
        assert [i["task"] for i in meetings.items_for_case(s, cid)] == ["复测宅基地边界", "组织双方再次调解"]
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "meeting.create")) == 1


def test_bad_minutes_show_messages_on_the_fields_and_save_nothing(engine, frozen):
    with pytest.raises(ValidationError) as exc:
        _meeting(engine, topic=" ", held_on=DAY + dt.timedelta(days=1))
    assert exc.value.fields["topic"] == "请填写会议议题。"
    assert exc.value.fields["held_on"] == "会议日期不能晚于今天（纪要在会后登记）。"
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        meetings.add_item(s, actor("taskforce"), _meeting(engine), meetings.ActionInput("", "", DAY - dt.timedelta(days=1)))
    assert exc.value.fields == {"task": "请填写任务内容。", "responsible_unit": "请填写责任单位。",
                                "deadline": "完成时限不能早于会议日期。"}
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 1
        assert s.scalar(select(func.count()).select_from(ActionItem)) == 2


def test_done_needs_evidence_and_overdue_items_are_listed(engine, frozen):
    mid = _meeting(engine)
    with session_scope(engine) as s:
        first, second = [i["id"] for i in meetings.get(s, actor("taskforce"), mid)["items"]]
    with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
        meetings.update_item(s, actor("taskforce"), first, None, "done", "  ")
    assert exc.value.fields == {"evidence": "标记完成须填写落实情况（佐证说明）。"}
    with session_scope(engine) as s:
        assert s.get(ActionItem, first).status == "open"
    frozen(DAY + dt.timedelta(days=4))  # the first item's deadline (day 3) has passed
    with session_scope(engine) as s:
        overdue = meetings.open_items(s, overdue_only=True)
        assert [i["id"] for i in overdue] == [first] and overdue[0]["status_name"] == "已超期"
        assert meetings.item_counts(s) == {"open": 2, "overdue": 1}
    with session_scope(engine) as s:
        meetings.update_item(s, actor("taskforce"), first, None, "done", "已复测，出具测绘报告")
    with session_scope(engine) as s:
        assert meetings.item_counts(s) == {"open": 1, "overdue": 0}
        assert [i["id"] for i in meetings.open_items(s)] == [second]
        done = s.get(ActionItem, first)
        assert (done.status, done.evidence, done.done_on) == ("done", "已复测，出具测绘报告", DAY + dt.timedelta(days=4))


def test_monthly_review_keeps_the_period_figures(engine, frozen):
    _case(engine, received_at=clock.local_dt(2026, 11, 20, 9))
    _case(engine)  # December: outside the reviewed month
    mid = _meeting(engine, kind="monthly_review", topic="11月月度例会")
    with session_scope(engine) as s:
        view = meetings.get(s, actor("leader"), mid)
    assert (view["period_start"], view["period_end"]) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert view["figures"]["received"] == 1 and view["figures"]["period_end"] == "2026-11-30"


def test_only_the_task_force_writes_minutes(engine, frozen):
    mid = _meeting(engine)
    with session_scope(engine) as s:
        item = s.scalar(select(ActionItem.id).where(ActionItem.meeting_id == mid).limit(1))
    for role in ("staff", "leader", "trainer"):
        with pytest.raises(PermissionDenied):
            with session_scope(engine) as s:
                meetings.create_meeting(s, actor(role), meetings.MeetingInput(held_on=DAY, topic="x", place="y",
                                                                              convened_by="z"))
        with session_scope(engine) as s, pytest.raises(PermissionDenied):
            meetings.update_item(s, actor(role), item, None, "done", "已办")
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 1
        assert s.get(ActionItem, item).status == "open"
