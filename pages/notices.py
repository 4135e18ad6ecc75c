"""风险提示与督办: the register of risk notices and supervision orders, drafting from cases,
editing, issuing, replies, closing, DOCX/PDF; overdue ones in red and counted per unit."""
import pandas as pd
import streamlit as st

from components import forms, lists
from components import taskforce_widgets as tw
from components.taskforce_panels import repeat_alerts
from components.context import db
from components.tables import dataframe
from services.taskforce import instruments
from services.errors import NotFound
from services.lists import NOTICES

me, writer = tw.taskforce_page(__file__, "风险提示与督办")

with db() as s:
    counts = instruments.counts(s)
    units = instruments.overdue_by_unit(s)
cols = st.columns(5)
for col, (key, label) in zip(cols, [("draft", "草稿"), ("issued", "已发出待回复"), ("replied", "已回复"),
                                    ("closed", "已办结"), ("overdue", "超期未回复")]):
    col.metric(label, counts[key])

if writer:
    drafting = forms.bound("nt_draft")  # a fresh picker after each draft: no duplicate drafts
    with st.expander("从案件起草", expanded=drafting.has_error(), icon=":material/edit_note:"):
        kind = st.radio("文书类型", list(instruments.KINDS), format_func=instruments.KINDS.get, horizontal=True,
                        key=drafting.key("kind"))
        picked = tw.case_picker(drafting.prefix)
        tw.draft_button(drafting, "起草", "nt", "草稿已生成，请核对后发出。", instruments.draft_from_case, kind, picked)

repeat_alerts(me, writer)  # 重复纠纷预警: candidates for a risk notice

st.subheader("文书台账")
listed = lists.show(lists.ListView(
    "nt", NOTICES, unit="份", note="超期未回复的以红色标出", empty="暂无文书。", red="overdue",
    filters=[lists.Filter("kind", "类型", instruments.KINDS), lists.Filter("state", "状态", instruments.STATES),
             lists.Filter("unit", "主送单位", kind="text"), lists.Filter("overdue", "只看超期未回复", kind="check")]))

labels = {r["id"]: f"{r['doc_number'] or '草稿'} · {r['subject']}" for r in listed.rows}
keep = None
shown = forms.current("nt")
if shown is not None and shown not in labels:  # the chosen one left this page (e.g. just issued): keep it
    try:
        with db() as s:
            v = instruments.get(s, me, shown)
        keep = {shown: f"{v['doc_number'] or '草稿'} · {v['subject']}"}
    except NotFound:
        forms.choose("nt", None)
if labels or keep:
    chosen = forms.pick_record("查看文书", labels, "nt", keep=keep)
    with db() as s:
        view = instruments.get(s, me, chosen)
    vid = view["id"]
    st.subheader(f"{view['kind_name']} {view['doc_number'] or '（草稿）'}")
    if view["overdue"]:
        st.error(f"已超过反馈期限 {view['deadline']}，尚未回复。")
    st.text(f"状态：{view['state_name']}    主送：{view['addressee']}    反馈期限：{view['deadline'] or '—'}")
    st.text("关联案件：" + ("、".join(view["cases"]) or "无"))
    tw.downloads(instruments.render, vid, me, f"nt_{vid}",
                 instruments.file_stem(vid, view["kind"], view["doc_number"]))
    if view["state"] in ("replied", "closed"):
        st.text(f"回复日期：{view['reply_date']}    登记人：{view['replied_by_name']}")
        st.text(view["reply_summary"])
        tw.reply_download(view, me)
    buttons = forms.bound("nt_act", vid)  # issue / discard / close act on the record shown, by id
    if writer and view["state"] == "draft":
        editing = forms.bound("nt_edit", vid)
        data = tw.instrument_form(view, editing)
        if data is not None and editing.submit(instruments.update_draft, vid, view["version"], data):
            tw.done("草稿已保存。", editing)
        buttons.error_here()
        c1, c2 = st.columns(2)
        if c1.button("发出（编号）", key=buttons.key("issue"), type="primary", icon=":material/send:"):
            inst = buttons.submit(instruments.issue, vid, view["version"])
            if inst:
                tw.done(f"已发出：{inst.doc_number}", buttons)
        if c2.button("删除草稿", key=buttons.key("discard"), icon=":material/delete:"):
            if buttons.submit(instruments.discard_draft, vid, view["version"]):
                forms.choose("nt", None)
                tw.done(f"草稿已删除：{view['subject']}", buttons)
    elif writer and view["state"] == "issued":
        tw.reply_form(view, forms.bound("nt_reply", vid))
    elif writer and view["state"] == "replied":
        closing = forms.bound("nt_close", vid)
        note = st.text_input("办结说明", key=closing.key("note"))
        closing.error_here()
        if st.button("办结", key=closing.key("submit"), icon=":material/task_alt:"):
            if closing.submit(instruments.close, vid, view["version"], note):
                tw.done(f"已办结：{view['doc_number']}", closing)

st.subheader("各单位超期情况")
if units:
    dataframe(pd.DataFrame(units).rename(columns={"unit": "主送单位", "issued": "发出", "overdue": "超期未回复",
                                                     "late_replies": "逾期回复"}),
                 hide_index=True, width="stretch", key="nt_units")
else:
    st.caption("暂无已发出的文书。")
