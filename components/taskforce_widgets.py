"""Task-force UI pieces: case picker, registers with overdue rows in red, the instrument, meeting
and bulletin forms, and DOCX/PDF download buttons.

Every form calls one service through run_action; user text is shown through st.dataframe,
st.text or widget values only (never raw HTML).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from components import forms
from components.context import can, db, field_error, page_top, plain, run_action
from components.tables import dataframe, red_rows
from db.engine import session_scope
from services import clock
from services.taskforce import bulletins
from services.taskforce import instruments
from services.taskforce import meetings
from services.metrics import dashboard
from services.errors import DomainError
from services.roles import Actor

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _d(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else (value or "")


def done(message: str, form: forms.Bound | None = None) -> None:
    """After a save: the message at the top of the page, fresh widgets for `form`, rerun."""
    st.session_state["tf_flash"] = message
    if form is not None:
        form.reset()
    st.rerun()


def taskforce_page(page_file: str, title: str) -> tuple[Actor, bool]:
    """A task-force page's first lines: the role check, the title, the last save's message.
    Returns the actor and whether the role writes here (drafts, issues) or only reads."""
    me = page_top(page_file, title)
    flash()
    return me, can("taskforce.issue")


def chosen_view(get, listed, me: Actor) -> dict:
    """The record picked under a list (`lists.show(...)`), read in full by `get`; the page ends
    here when the list is empty."""
    if listed.picked is None:
        st.stop()
    with db() as s:
        return get(s, me, listed.picked)


def draft_button(drafting: forms.Bound, label: str, scope: str, message: str, fn, *args) -> None:
    """The button that makes a draft with `fn(*args)` and opens it in the picker `scope`."""
    drafting.error_here()
    if st.button(label, key=drafting.key("submit"), type="primary", icon=":material/draft:"):
        made = drafting.submit(fn, *args)
        if made:
            forms.choose(scope, made.id)
            done(message, drafting)


def flash() -> None:
    msg = st.session_state.pop("tf_flash", None)
    if msg:
        st.success(plain(msg))  # may name a typed subject or task: never Markdown
    err = st.session_state.pop("tf_error", None)
    if err:
        st.error(plain(err))


def act(fn, *args):
    """run_action; when the service refused a field, rerun so the message shows beside it."""
    result = run_action(fn, *args)
    if result is None and st.session_state.get("field_errors"):
        st.session_state["tf_error"] = "；".join(st.session_state["field_errors"].values())
        st.rerun()
    return result


def downloads(render, obj_id: int, me: Actor, key: str, stem: str) -> None:
    """DOCX and PDF buttons; the file (named `stem`.docx / .pdf) is made only when clicked (callable data)."""
    def make(fmt):
        def _make():
            with session_scope() as s:
                return render(s, me, obj_id, fmt)[1]
        return _make
    c1, c2 = st.columns(2)
    c1.download_button("下载 DOCX", make("docx"), file_name=f"{stem}.docx", mime=DOCX_MIME, key=f"{key}_docx",
                       icon=":material/description:", on_click="ignore")
    c2.download_button("下载 PDF", make("pdf"), file_name=f"{stem}.pdf", mime="application/pdf", key=f"{key}_pdf",
                       icon=":material/picture_as_pdf:", on_click="ignore")


def reply_download(view: dict, me: Actor) -> None:
    if not view["reply_filename"]:
        return

    def _file():
        with session_scope() as s:
            found = instruments.reply_file(s, me, view["id"])
        return found[1] if found else b""
    st.download_button(f"回复附件：{view['reply_filename']}（{view['reply_size'] // 1024 + 1} KB）", _file,
                       file_name=view["reply_filename"], key="nt_reply_dl", on_click="ignore",
                       icon=":material/attach_file:")


# ------------------------------------------------------------------ cases
def case_picker(key: str, label: str = "关联案件") -> list[int]:
    """Search by case number, pick one or more. The picked ones stay selectable across searches."""
    chosen: dict[int, str] = st.session_state.setdefault(f"{key}_chosen", {})
    term = st.text_input("按案件编号检索", key=f"{key}_search", placeholder="输入编号的一部分，如 000123")
    with db() as s:
        found = dict(instruments.search_cases(s, term, limit=20))
    options = list(dict.fromkeys([*chosen, *found]))
    labels = {**found, **chosen}
    picked = st.multiselect(label, options, format_func=lambda i: labels.get(i, str(i)), key=f"{key}_cases", placeholder="请选择（可多选）", select_all=False)
    st.session_state[f"{key}_chosen"] = {i: labels[i] for i in picked if i in labels}
    field_error("case_ids")
    return picked


# ------------------------------------------------------------------ instruments
def instrument_form(view: dict, form: forms.Bound) -> instruments.InstrumentInput | None:
    """Edit a draft; returns the input when 保存 was pressed. The keys carry the draft's id, so
    another draft never shows (or saves) this one's text."""
    k = form.key
    with st.form(k("form"), enter_to_submit=False):
        subject = st.text_input("事项（用于标题）", view["subject"], key=k("subject"))
        field_error("subject")
        addressee = st.text_input("主送单位", view["addressee"], key=k("addressee"))
        field_error("addressee")
        facts = st.text_area("基本情况", view["facts"], key=k("facts"), height=150)
        risk = st.text_area("风险或问题", view["risk"], key=k("risk"))
        measures = st.text_area("工作要求（需采取的措施）", view["measures"], key=k("measures"))
        field_error("measures")
        c1, c2, c3 = st.columns(3)
        deadline = c1.date_input("反馈期限", view["deadline"], key=k("deadline"), format="YYYY-MM-DD")
        with c1:
            field_error("deadline")
        person = c2.text_input("专班联系人", view["contact_person"], key=k("person"))
        phone = c3.text_input("联系电话", view["contact_phone"], key=k("phone"))
        form.error_here()
        if st.form_submit_button("保存草稿", icon=":material/save:", key=k("submit")):
            return instruments.InstrumentInput(subject=subject, addressee=addressee, facts=facts, risk=risk,
                                               measures=measures, deadline=deadline, township_id=view["township_id"],
                                               room_id=view["room_id"], station_id=view["station_id"],
                                               contact_person=person, contact_phone=phone, case_ids=view["case_ids"])
    return None


def reply_form(view: dict, form: forms.Bound) -> None:
    k = form.key
    with st.form(k("form"), clear_on_submit=False, enter_to_submit=False):
        reply_date = st.date_input("回复日期", clock.today(), key=k("date"), format="YYYY-MM-DD")
        field_error("reply_date")
        summary = st.text_area("回复内容摘要", key=k("summary"))
        field_error("reply_summary")
        upload = st.file_uploader("回复附件（≤ 10 MB）", key=k("file"),
                                  type=[t.lstrip(".") for t in instruments.FILE_TYPES])
        field_error("reply_file")
        form.error_here()
        if st.form_submit_button("登记回复", icon=":material/mark_email_read:", key=k("submit")):
            content = upload.getvalue() if upload is not None else None
            if form.submit(instruments.record_reply, view["id"], view["version"], reply_date, summary,
                           upload.name if upload is not None else "", content):
                done(f"已登记回复：{view['doc_number']}", form)


# ------------------------------------------------------------------ meetings
def meeting_form() -> None:
    """New minutes with up to five action items; an empty form again after a save."""
    form = forms.bound("mt_new")
    k = form.key
    case_ids = case_picker(form.prefix, "研究的案件")
    with st.form(k("form"), enter_to_submit=False):
        c1, c2 = st.columns(2)
        kind = c1.selectbox("会议类型", list(meetings.KINDS), format_func=meetings.KINDS.get, key=k("kind"),
                            placeholder="请选择")
        held_on = c2.date_input("会议日期", clock.today(), key=k("held_on"), format="YYYY-MM-DD")
        with c2:
            field_error("held_on")
        topic = st.text_input("会议议题", key=k("topic"))
        field_error("topic")
        c1, c2 = st.columns(2)
        place = c1.text_input("会议地点", "市综治中心会议室", key=k("place"))
        with c1:
            field_error("place")
        convened_by = c2.text_input("召集人", key=k("convened_by"))
        with c2:
            field_error("convened_by")
        units = st.text_area("参会单位（用顿号或换行分隔）", key=k("units"))
        people = st.text_area("参会人员（用顿号或换行分隔）", key=k("people"))
        decisions = st.text_area("议定事项", key=k("decisions"))
        st.caption("交办事项（任务、责任单位、完成时限；空行不保存）。月度例会自动附上月的统计数据。")
        items = []
        for i in range(5):
            a, b, c = st.columns([3, 2, 1])
            task = a.text_input(f"任务 {i + 1}", key=k(f"item{i}_task"))
            unit = b.text_input(f"责任单位 {i + 1}", key=k(f"item{i}_unit"))
            deadline = c.date_input(f"时限 {i + 1}", None, key=k(f"item{i}_deadline"), format="YYYY-MM-DD")
            for f in ("task", "responsible_unit", "deadline"):
                field_error(f"item{len(items)}_{f}")
            if task.strip() or unit.strip() or deadline:
                items.append(meetings.ActionInput(task, unit, deadline))
        form.error_here()
        if st.form_submit_button("保存纪要", icon=":material/save:", type="primary", key=k("submit")):
            data = meetings.MeetingInput(kind=kind, held_on=held_on, place=place, convened_by=convened_by, topic=topic,
                                         attending_units=meetings.split_list(units), attendees=meetings.split_list(people),
                                         decisions=decisions, case_ids=case_ids)
            saved = form.submit(meetings.create_meeting, data, items)
            if saved:
                forms.choose("mt", saved.id)
                try:
                    message = f"会议纪要已保存：{meetings.minutes_number(saved)}"
                except DomainError as exc:  # a broken meeting_minutes.json does not undo the save
                    message = f"会议纪要已保存。{exc.message}"
                done(message, form)


def items_table(items: list[dict], key: str) -> None:
    df = pd.DataFrame([{"会议": f"{_d(i['meeting_date'])} {i['meeting_topic']}", "任务": i["task"],
                        "责任单位": i["responsible_unit"], "完成时限": _d(i["deadline"]), "状态": i["status_name"],
                        "落实情况": i["evidence"]} for i in items])
    if items:
        dataframe(red_rows(df, [i["overdue"] for i in items]), hide_index=True, width="stretch", key=key)


def item_update_form(meeting_id: int, items: list[dict]) -> None:
    """Mark an action item done (with its completion date and evidence) or open again."""
    if not items:
        return
    form = forms.bound("mt_item", meeting_id)
    k = form.key
    with st.form(k("form"), enter_to_submit=False):
        labels = forms.unique_labels({i["id"]: f"{i['task']}（{i['responsible_unit']}，{i['status_name']}）"
                                      for i in items})
        item_id = st.selectbox("事项", list(labels), format_func=labels.get, key=k("pick"), placeholder="请选择")
        status = st.radio("状态", list(meetings.ITEM_STATUSES), format_func=meetings.ITEM_STATUSES.get,
                          horizontal=True, key=k("status"), index=1)
        done_on = st.date_input("完成日期", clock.today(), key=k("done_on"), format="YYYY-MM-DD")
        field_error("done_on")
        evidence = st.text_area("落实情况（标记完成时必填）", key=k("evidence"))
        field_error("evidence")
        form.error_here()
        if st.form_submit_button("更新事项", icon=":material/task_alt:", key=k("submit")):
            version = next((i["version"] for i in items if i["id"] == item_id), None)
            if form.submit(meetings.update_item, item_id, version, status, evidence, done_on):
                done(f"事项已更新：{next(i['task'] for i in items if i['id'] == item_id)}", form)


# ------------------------------------------------------------------ bulletins
def bulletin_figures(view: dict) -> None:
    f = view["figures"]
    c = st.columns(4)
    c[0].metric("受理非警务警情", f"{f.get('received', 0):,}")
    c[1].metric("调解成功", f"{f.get('settled', 0):,}")
    c[2].metric("调解成功率", dashboard.pct(f.get("success_rate")))
    c[3].metric("满意率", dashboard.pct(f.get("satisfaction_rate")))
    st.caption("数据来源：" + ("领导驾驶舱统计口径" if f.get("source") == "metrics" else "本模块统计（驾驶舱未启用）"))
    r = view["rankings"]
    if r.get("top"):
        dataframe(pd.DataFrame([{"位置": "靠前", **x} for x in r["top"]] + [{"位置": "靠后", **x} for x in r["bottom"]])
                     .rename(columns={"type": "类别", "unit": "单位", "rank": "名次", "score": "得分"}), hide_index=True, key="bl_rank")
    st.caption(r.get("note", ""))
    names = {"number": "案件编号", "township": "乡镇（街道）", "category": "类别", "level": "化解层级",
             "complexity": "复杂程度", "kind_name": "类型", "doc_number": "文号", "addressee": "主送单位",
             "subject": "事项", "held_on": "日期", "topic": "议题"}
    for label, rows, cols in (("典型案例", view["notable"], ["number", "township", "category", "complexity", "level"]),
                              ("本期风险提示函、督办单", view["instruments"], ["doc_number", "kind_name", "addressee", "subject"]),
                              ("本期会议", view["meetings"], ["held_on", "kind_name", "topic"])):
        if rows:
            st.markdown(f"**{label}**")
            dataframe(pd.DataFrame(rows)[cols].rename(columns=names), hide_index=True, width="stretch")


def bulletin_editor(view: dict) -> None:
    form = forms.bound("bl_edit", view["id"])  # another issue's editor never shows this one's text
    k = form.key
    with st.form(k("form"), enter_to_submit=False):
        title = st.text_input("专报标题", view["title"], key=k("title"))
        field_error("title")
        commentary = st.text_area("存在问题（专班评述）", view["commentary"], key=k("commentary"))
        field_error("commentary")
        next_steps = st.text_area("下步工作", view["next_steps"], key=k("next_steps"))
        field_error("next_steps")
        form.error_here()
        if st.form_submit_button("保存", icon=":material/save:", key=k("submit")):
            if form.submit(bulletins.update_text, view["id"], view["version"], title, commentary, next_steps):
                done(f"专报已保存：{view['issue']}", form)
