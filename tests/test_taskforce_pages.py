"""AppTest: the task force drafts a notice from a case and issues it; leaders read without edit controls;
meetings and bulletins pages work through their forms."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from db.engine import get_engine, session_scope
from db.models import ActionItem, Bulletin, Instrument
from services import clock, documents
from services.cases import intake
from services.taskforce import instruments
from services.taskforce import meetings
from services.documents.fonts import install_hint
from services.roles import Actor
from tests.factories import case_input
from tests.ui import app_as, form_el, texts

TF = Actor(user_id=None, username="t_tf", role="taskforce", display_name="专班")


@pytest.fixture
def url(ui_url):
    return ui_url


def _case(url) -> tuple[int, str]:
    with session_scope(get_engine(url)) as s:
        c = intake.register_case(s, Actor(None, "t_staff", "staff"), case_input(s))
        return c.id, c.number


def _keys(at) -> set[str]:
    """Widget keys; a bound form's key `{scope}_{record}_g{n}_{name}` is given as `{scope}:{name}`."""
    found = set()
    for kind in ("button", "text_input", "text_area", "date_input", "selectbox", "multiselect", "radio"):
        for w in getattr(at, kind):
            key = str(getattr(w, "key", None))
            m = re.fullmatch(r"([a-z]+(?:_[a-z]+)?)_[^_]+_g\d+_(.+)", key)
            found.add(f"{m.group(1)}:{m.group(2)}" if m else key)
    return found


def _submit(at, scope, name="submit"):
    form_el(at.button, scope, name).click()
    return at.run()


def test_task_force_drafts_from_a_case_and_issues_it(url):
    cid, number = _case(url)
    at = app_as(url, "taskforce", "pages/notices.py")
    assert not at.exception
    form_el(at.text_input, "nt_draft", "search").input(number[-6:]).run()
    form_el(at.multiselect, "nt_draft", "cases").select(cid).run()
    _submit(at, "nt_draft")
    assert not at.exception, at.exception
    assert "草稿已生成" in texts(at)
    assert number in texts(at)
    assert not form_el(at.multiselect, "nt_draft", "cases").value  # a fresh picker: no second draft by accident
    _submit(at, "nt_act", "issue")
    assert not at.exception, at.exception
    year = clock.today().year
    assert f"已发出：丰综治风提〔{year}〕1号" in texts(at)
    with session_scope(get_engine(url)) as s:
        inst = s.scalar(select(Instrument))
        assert (inst.state, inst.doc_number, [c.number for c in inst.cases]) == ("issued", f"丰综治风提〔{year}〕1号",
                                                                                 [number])
    assert "nt_reply:summary" in _keys(at)  # next step offered: record the reply


def test_issue_without_measures_shows_the_message_beside_the_field(url):
    with session_scope(get_engine(url)) as s:
        iid = instruments.create_draft(s, TF, "risk_notice", instruments.InstrumentInput(
            subject="漏水纠纷", addressee="剑光街道综治中心", deadline=clock.today() + dt.timedelta(days=3))).id
    at = app_as(url, "taskforce", "pages/notices.py")
    _submit(at, "nt_act", "issue")
    assert "未保存：请填写工作要求（需采取的措施）。" in [e.value for e in at.error]
    assert any("请填写工作要求" in c.value for c in at.caption)
    with session_scope(get_engine(url)) as s:
        assert s.get(Instrument, iid).state == "draft"


def test_leader_reads_the_register_without_edit_controls(url):
    cid, number = _case(url)
    with session_scope(get_engine(url)) as s:
        iid = instruments.draft_from_case(s, TF, "supervision_order", [cid]).id
        instruments.issue(s, TF, iid, None)
    at = app_as(url, "leader", "pages/notices.py")
    assert not at.exception
    assert number in texts(at) or number in at.dataframe[0].value.to_string()
    keys = _keys(at)
    assert not keys & {"nt_draft:submit", "nt_act:issue", "nt_reply:summary", "nt_close:submit", "nt_edit:subject"}
    assert {"nt_kind", "nt_pick"} <= keys  # filters and the viewer are there
    for page in ("pages/meetings.py", "pages/bulletins.py"):
        at = app_as(url, "leader", page)
        assert not at.exception
        keys = _keys(at)
        assert not keys & {"mt_new:topic", "mt_item:evidence", "bl_draft:submit", "bl_act:issue", "bl_edit:title"}


def test_meeting_minutes_and_item_completion_through_the_page(url):
    at = app_as(url, "taskforce", "pages/meetings.py")
    form_el(at.text_input, "mt_new", "topic").input("剑光街道宅基地纠纷协调")
    form_el(at.text_input, "mt_new", "convened_by").input("专班 熊建国")
    form_el(at.text_input, "mt_new", "item0_task").input("复测边界")
    form_el(at.text_input, "mt_new", "item0_unit").input("市自然资源局")
    form_el(at.date_input, "mt_new", "item0_deadline").set_value(clock.today() + dt.timedelta(days=5))
    _submit(at, "mt_new")
    assert not at.exception, at.exception
    assert f"会议纪要已保存：{clock.today().year}年第1期" in texts(at)
    assert form_el(at.text_input, "mt_new", "topic").value == ""  # an empty form for the next meeting
    _submit(at, "mt_item")  # done without evidence
    assert "未保存：标记完成须填写落实情况（佐证说明）。" in [e.value for e in at.error]
    form_el(at.text_area, "mt_item", "evidence").input("已复测")
    done_on = clock.today() - dt.timedelta(days=2)
    form_el(at.date_input, "mt_item", "done_on").set_value(done_on)  # Issue 11 #7: not always today
    _submit(at, "mt_item")
    assert "事项已更新：复测边界" in texts(at)
    with session_scope(get_engine(url)) as s:
        assert s.execute(select(ActionItem.status, ActionItem.done_on)).one() == ("done", done_on)


def test_bulletin_draft_edit_and_issue_through_the_page(url):
    _case(url)
    at = app_as(url, "taskforce", "pages/bulletins.py")
    form_el(at.date_input, "bl_draft", "start").set_value(clock.today() - dt.timedelta(days=3))
    form_el(at.date_input, "bl_draft", "end").set_value(clock.today())
    _submit(at, "bl_draft")
    assert not at.exception, at.exception
    assert "专报草稿已生成" in texts(at)
    form_el(at.text_area, "bl_edit", "commentary").input("个别单位回复不及时。")
    _submit(at, "bl_edit")
    _submit(at, "bl_act", "issue")
    assert "已印发：第1期" in texts(at)
    with session_scope(get_engine(url)) as s:
        b = s.scalar(select(Bulletin))
        assert (b.issue_no, b.commentary, b.figures["received"]) == (1, "个别单位回复不及时。", 1)


def test_task_force_home_shows_open_and_overdue_items(url):
    with session_scope(get_engine(url)) as s:
        today = clock.today()
        meetings.create_meeting(s, TF, meetings.MeetingInput(
            held_on=today - dt.timedelta(days=10), place="会议室", convened_by="专班", topic="协调"),
            [meetings.ActionInput("排查隐患", "剑光街道", today - dt.timedelta(days=2))])
    at = app_as(url, "taskforce", "pages/home.py")
    assert not at.exception
    assert "专班待办" in texts(at)
    assert at.dataframe[0].value.iloc[0]["状态"] == "已超期"


def _minutes_for_leader(url) -> str:
    cid, number = _case(url)
    with session_scope(get_engine(url)) as s:
        today = clock.today()
        meetings.create_meeting(s, TF, meetings.MeetingInput(
            held_on=today - dt.timedelta(days=1), place="市综治中心三楼会议室", convened_by="专班 熊建国",
            topic="剑光街道宅基地纠纷协调", attending_units=["剑光街道", "市自然资源局"], case_ids=[cid]),
            [meetings.ActionInput("复测宅基地边界", "市自然资源局", today + dt.timedelta(days=3))])
    return number


def test_leader_downloads_the_minutes_as_word_and_pdf(url):
    try:
        documents.cjk_faces()
    except documents.FontMissing as e:  # the PDF button is replaced by this message (next test)
        pytest.skip(e.message)
    number = _minutes_for_leader(url)
    at = app_as(url, "leader", "pages/meetings.py")
    assert not at.exception, at.exception
    assert "剑光街道宅基地纠纷协调" in texts(at) and number in texts(at)
    buttons = {b.label: b for b in at.download_button}
    assert {"下载纪要（Word）", "下载纪要（PDF）"} <= set(buttons)
    assert not any(b.disabled for b in buttons.values())
    assert not at.error
    assert not _keys(at) & {"mt_new:topic", "mt_item:evidence"}  # still read-only
    assert "mt_pick" in _keys(at)


def test_minutes_without_a_chinese_font_say_so_and_keep_word(url, monkeypatch):
    _minutes_for_leader(url)

    def no_font():
        raise documents.FontMissing(install_hint("PDF 公文"))
    monkeypatch.setattr(documents, "cjk_faces", no_font)
    at = app_as(url, "leader", "pages/meetings.py")
    assert not at.exception, at.exception
    assert [b.label for b in at.download_button if b.key != "mt_export"] == ["下载纪要（Word）"]  # no PDF
    assert any("fonts-noto-cjk" in e.value and "无法生成 PDF" in e.value for e in at.error)
