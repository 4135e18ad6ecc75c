"""Records several people edit at once: a record that is gone, or that someone else changed after
the user's screen showed it, is refused with the service's own Chinese sentence."""
import datetime as dt

import pytest
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Instrument
from services import records
from services.taskforce import instruments
from services.taskforce import meetings
from services.errors import ConcurrentEdit, NotFound
from services.roles import Actor

TF = Actor(user_id=None, username="t_taskforce", role="taskforce", display_name="测试专班")


def _draft(engine) -> int:
    with session_scope(engine) as s:
        data = instruments.InstrumentInput(subject="某小区漏水纠纷", addressee="剑光街道综治中心")
        return instruments.create_draft(s, TF, "risk_notice", data).id


def _meeting(engine) -> int:
    day = dt.date(2026, 1, 5)
    data = meetings.MeetingInput(held_on=day, place="市综治中心", convened_by="熊建国", topic="宅基地纠纷协调")
    with session_scope(engine) as s:
        return meetings.create_meeting(s, TF, data, [meetings.ActionInput("复测边界", "自然资源局", day)]).id


def test_a_stale_screen_or_a_missing_record_is_refused_in_each_services_words(engine):
    iid, mid = _draft(engine), _meeting(engine)
    with pytest.raises(ConcurrentEdit) as err, session_scope(engine) as s:
        instruments.discard_draft(s, TF, iid, 99)
    assert err.value.message == "该文书已被他人修改，请刷新页面后重新操作。"
    with pytest.raises(NotFound) as err, session_scope(engine) as s:
        instruments.get(s, TF, iid + 1000)
    assert err.value.message == "该文书不存在。"
    with session_scope(engine) as s:
        item = meetings.get(s, TF, mid)["items"][0]
    with pytest.raises(ConcurrentEdit) as err, session_scope(engine) as s:
        meetings.update_item(s, TF, item["id"], item["version"] + 1, "done", "已复测")
    assert err.value.message == "该事项已被他人更新，请刷新页面后重新操作。"
    with pytest.raises(NotFound) as err, session_scope(engine) as s:
        meetings.add_item(s, TF, mid + 1000, meetings.ActionInput("复测边界", "自然资源局", dt.date(2026, 1, 9)))
    assert err.value.message == "该会议不存在。"
    with session_scope(engine) as s:  # nothing was changed by the refused attempts
        assert s.get(Instrument, iid) is not None
        assert meetings.get(s, TF, mid)["items"][0]["status"] == "open"


def test_a_change_saved_by_someone_else_meanwhile_is_refused_when_saving(engine):
    """The version matched when the record was read, but another user saved first: the flush finds
    no row with the old version, and the user is told to refresh instead of overwriting."""
    iid = _draft(engine)
    with Session(engine, expire_on_commit=False) as mine:
        inst = records.load_versioned(mine, Instrument, iid, 1, instruments.RECORD)
        mine.commit()  # the screen is shown; the user types
        with session_scope(engine) as theirs:
            instruments.update_draft(theirs, TF, iid, 1, instruments.InstrumentInput(subject="他人的修改"))
        inst.subject = "我的修改"
        with pytest.raises(ConcurrentEdit) as err:
            records.flush_versioned(mine, instruments.RECORD)
        mine.rollback()
    assert err.value.message == "该文书已被他人修改，请刷新页面后重新操作。"
    with session_scope(engine) as s:
        assert s.get(Instrument, iid).subject == "他人的修改"
