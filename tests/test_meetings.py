"""Coordination meetings: minutes, action items (done needs evidence), open and overdue lists."""
import datetime as dt
import io
import shutil
import subprocess

import pytest
from docx import Document
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import ActionItem, AuditEvent, Meeting
from services import clock, documents
from services.cases import intake
from services.taskforce import meetings
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
        c = intake.register_case(s, actor("staff"), case_input(s, **kw))
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


# ------------------------------------------------------------------ minutes as a 会议纪要 (DOCX / PDF)
def _docx_lines(data: bytes) -> tuple[list[str], list[list[str]]]:
    d = Document(io.BytesIO(data))
    return [p.text for p in d.paragraphs], [[c.text for c in row.cells] for t in d.tables for row in t.rows]


def test_minutes_docx_has_the_lead_decisions_items_table_and_case_numbers(engine, frozen):
    first, second = _case(engine), _case(engine)
    mid = _meeting(engine, [first[0], second[0]])
    with session_scope(engine) as s:
        name, data = meetings.render(s, actor("leader"), mid, "docx")  # a read-only role may download
    assert name == "会议纪要_2026-12-01_协调会.docx"
    lines, table = _docx_lines(data)
    assert lines[:2] == ["会议纪要", "2026年第1期"]           # red header and the year's first meeting
    assert "剑光街道宅基地纠纷协调" in lines                   # the topic is the title
    assert ("2026年12月1日，专班 熊建国在市综治中心三楼会议室主持召开协调会，研究剑光街道宅基地纠纷协调有关事项。"
            "现将会议议定事项纪要如下。") in lines
    assert "参会单位：剑光街道、市自然资源局、剑光派出所。" in lines and "参会人员：熊建国、刘晓芳。" in lines
    assert f"会议研究了2件案件，案件编号：{first[1]}、{second[1]}。" in lines
    assert "由街道牵头复测边界。" in lines
    assert [ln for ln in lines if ln[:2] in ("一、", "二、", "三、", "四、")] == [
        "一、参会单位和人员", "二、研究案件", "三、议定事项", "四、交办事项"]
    assert table == [["序号", "事项", "责任单位", "完成时限", "状态"],
                     ["1", "复测宅基地边界", "市自然资源局", "2026-12-04", "未完成"],
                     ["2", "组织双方再次调解", "剑光街道综治中心", "2026-12-11", "未完成"]]
    assert "\u3000分送：剑光街道，市自然资源局，剑光派出所。" in lines
    text = "\n".join(lines + [c for row in table for c in row])
    assert "王小明" not in text and "13800138000" not in text  # the cases' parties stay out of the minutes


def test_the_minutes_number_on_screen_and_on_paper_follow_the_template(engine, frozen, tmp_path, monkeypatch):
    """meeting_minutes.json is the one place the 期号 format lives: the saved message and the
    printout both change with it."""
    mid = _meeting(engine)
    with session_scope(engine) as s:
        assert meetings.minutes_number(s.get(Meeting, mid)) == "2026年第1期"
    shipped = documents.templates_dir() / "meeting_minutes.json"
    (tmp_path / "meeting_minutes.json").write_text(
        shipped.read_text(encoding="utf-8").replace('"{year}年第{serial}期"', '"专班纪要〔{year}〕{serial}号"'),
        encoding="utf-8")
    monkeypatch.setenv("OFFICIAL_TEMPLATES_DIR", str(tmp_path))
    with session_scope(engine) as s:
        assert meetings.minutes_number(s.get(Meeting, mid)) == "专班纪要〔2026〕1号"
        assert meetings.document(s, actor("staff"), mid).doc_number == "专班纪要〔2026〕1号"


def test_minutes_number_by_year_show_item_status_and_leave_out_empty_sections(engine, frozen):
    _case(engine, received_at=clock.local_dt(2026, 11, 20, 9))
    late = _meeting(engine)                                                  # 2026-12-01
    with session_scope(engine) as s:
        printed = meetings.document(s, actor("staff"), late).doc_number      # issued before the next is recorded
    early = _meeting(engine, kind="monthly_review", topic="11月月度例会", held_on=DAY - dt.timedelta(days=1),
                     period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30))
    last_year = _meeting(engine, held_on=dt.date(2025, 12, 30))
    with session_scope(engine) as s:
        items = meetings.get(s, actor("taskforce"), late)["items"]
        meetings.update_item(s, actor("taskforce"), items[1]["id"], None, "done", "已组织调解")
        s.execute(ActionItem.__table__.delete().where(ActionItem.meeting_id == early))
        s.get(Meeting, early).decisions = ""
    frozen(DAY + dt.timedelta(days=4))  # the first item's deadline (day 3) has passed
    with session_scope(engine) as s:
        numbers = {m: meetings.document(s, actor("staff"), m).doc_number for m in (late, early, last_year)}
        lines, table = _docx_lines(meetings.render(s, actor("staff"), late, "docx")[1])
        review, review_table = _docx_lines(meetings.render(s, actor("staff"), early, "docx")[1])
    # Issue 11 #7: a number once printed never changes; a meeting dated earlier but recorded later
    # takes the year's next number instead of renumbering the minutes already issued
    assert printed == "2026年第1期"
    assert numbers == {late: "2026年第1期", early: "2026年第2期", last_year: "2025年第1期"}
    assert [row[4] for row in table[1:]] == ["超期未完成", "已完成"]
    assert "会议明确交办事项2项，由专班跟踪督办，逐项销号（落实状态截至2026年12月5日）。" in lines
    # no cases and no items: those sections are not printed and the headings stay consecutive
    assert [ln for ln in review if ln[1:2] == "、"] == ["一、参会单位和人员", "二、议定事项"]
    assert review_table == [] and "无。" in review
    assert ("会议通报了2026年11月1日至2026年11月30日全市非警务警情联动处置工作情况：共受理1件，调解成功0件，"
            "调解成功率暂无数据，群众满意率暂无数据。") in review
    assert not any(ln.startswith("会议通报了") for ln in lines)  # a coordination meeting has no figures


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_minutes_pdf_text_has_the_topic_and_the_action_items(engine, frozen, tmp_path):
    mid = _meeting(engine)
    with session_scope(engine) as s:
        try:
            name, data = meetings.render(s, actor("trainer"), mid, "pdf")
        except documents.FontMissing as e:
            pytest.skip(e.message)
    assert name == "会议纪要_2026-12-01_协调会.pdf" and data.startswith(b"%PDF")
    (tmp_path / name).write_bytes(data)
    text = subprocess.run(["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "剑光街道宅基地纠纷协调" in text and "2026年第1期" in text
    cells = text.replace("\n", "")  # a table cell may wrap onto two lines
    assert "复测宅基地边界市自然资源局2026-12-04未完成" in cells
    assert "组织双方再次调解剑光街道综治中心2026-12-11未完成" in cells


def test_minutes_in_another_format_are_refused_in_chinese(engine, frozen):
    mid = _meeting(engine)
    for fmt in ("xlsx", "", "../docx"):
        with session_scope(engine) as s, pytest.raises(ValidationError) as exc:
            meetings.render(s, actor("taskforce"), mid, fmt)
        assert exc.value.message == "会议纪要只能导出为 Word（docx）或 PDF 格式。"


def test_minutes_are_refused_to_roles_that_cannot_read_meetings(engine, frozen):
    mid = _meeting(engine)
    with session_scope(engine) as s:
        for role in ("taskforce", "staff", "leader", "trainer", "admin"):
            assert meetings.render(s, actor(role), mid, "docx")[1][:2] == b"PK"
        for call in (lambda: meetings.render(s, actor("mediator"), mid, "docx"),
                     lambda: meetings.document(s, actor("mediator"), mid)):
            with pytest.raises(PermissionDenied) as exc:
                call()
            assert exc.value.message == "您的角色无权查看专班文书。"


def test_minutes_take_their_figures_from_metrics_so_meetings_and_bulletins_form_no_cycle():
    """Bulletins list the meetings; the minutes' figures come from services.metrics.dashboard, so meetings
    imports nothing of bulletins (not even inside a function), and either module imports first."""
    import ast
    import sys
    from pathlib import Path
    tree = ast.parse(Path(meetings.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
    assert "services.taskforce.bulletins" not in names
    root = Path(__file__).resolve().parent.parent
    for first, second in (("meetings", "bulletins"), ("bulletins", "meetings")):
        code = f"import services.taskforce.{first}, services.taskforce.{second}; print('ok')"
        out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                             check=False)
        assert out.stdout.strip() == "ok", out.stderr
