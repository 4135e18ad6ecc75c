"""风险提示与督办: the register of risk notices and supervision orders, drafting from cases,
editing, issuing, replies, closing, DOCX/PDF; overdue ones in red and counted per unit."""
import pandas as pd
import streamlit as st

from components import taskforce_widgets as tw
from components.context import can, db, guard
from components.tables import dataframe
from services import instruments

me = guard(__file__)
st.title("风险提示与督办")
writer = can("taskforce.issue")
tw.flash()

with db() as s:
    counts = instruments.counts(s)
    units = instruments.overdue_by_unit(s)
cols = st.columns(5)
for col, (key, label) in zip(cols, [("draft", "草稿"), ("issued", "已发出待回复"), ("replied", "已回复"),
                                    ("closed", "已办结"), ("overdue", "超期未回复")]):
    col.metric(label, counts[key])

if writer:
    with st.expander("从案件起草", expanded=False, icon=":material/edit_note:"):
        kind = st.radio("文书类型", list(instruments.KINDS), format_func=instruments.KINDS.get, horizontal=True,
                        key="nt_kind")
        picked = tw.case_picker("nt")
        if st.button("起草", key="nt_draft", type="primary", icon=":material/draft:"):
            inst = tw.act(instruments.draft_from_case, kind, picked)
            if inst:
                st.session_state["nt_selected"] = inst.id
                st.session_state.pop("nt_chosen", None)
                tw.done("草稿已生成，请核对后发出。")

st.subheader("文书台账")
c1, c2, c3, c4 = st.columns(4)
f_kind = c1.selectbox("类型", [None, *instruments.KINDS], format_func=lambda k: "全部" if k is None else instruments.KINDS[k],
                      key="nt_f_kind", placeholder="请选择")
f_state = c2.selectbox("状态", [None, *instruments.STATES],
                       format_func=lambda k: "全部" if k is None else instruments.STATES[k], key="nt_f_state", placeholder="请选择")
f_unit = c3.text_input("主送单位", key="nt_f_unit")
f_overdue = c4.checkbox("只看超期未回复", key="nt_f_overdue")
page_no = st.number_input("页码", min_value=1, value=1, step=1, key="nt_page")
with db() as s:
    page = instruments.list_instruments(s, me, instruments.Filters(f_kind, f_state, f_overdue, f_unit), int(page_no))
st.caption(f"共 {page['total']} 份，每页 20 份。超期未回复的以红色标出。")
tw.instrument_table(page["rows"])

ids = [r["id"] for r in page["rows"]]
if st.session_state.get("nt_selected") not in ids:  # filtered away: show the first of this page
    st.session_state.pop("nt_selected", None)
if ids:
    labels = {r["id"]: f"{r['doc_number'] or '草稿'} · {r['subject']}" for r in page["rows"]}
    chosen = st.selectbox("查看文书", ids, key="nt_selected", format_func=lambda i: labels.get(i, f"文书 {i}"), placeholder="请选择")
    with db() as s:
        view = instruments.get(s, me, chosen)
    st.subheader(f"{view['kind_name']} {view['doc_number'] or '（草稿）'}")
    if view["overdue"]:
        st.error(f"已超过反馈期限 {view['deadline']}，尚未回复。")
    st.text(f"状态：{view['state_name']}    主送：{view['addressee']}    反馈期限：{view['deadline'] or '—'}")
    st.text("关联案件：" + ("、".join(view["cases"]) or "无"))
    tw.downloads(instruments.render, view["id"], me, f"nt_{view['id']}",
                 instruments.file_stem(view["id"], view["kind"], view["doc_number"]))
    if view["state"] in ("replied", "closed"):
        st.text(f"回复日期：{view['reply_date']}    登记人：{view['replied_by_name']}")
        st.text(view["reply_summary"])
        tw.reply_download(view, me)
    if writer and view["state"] == "draft":
        data = tw.instrument_form(view)
        if data is not None and tw.act(instruments.update_draft, view["id"], view["version"], data):
            tw.done("草稿已保存。")
        c1, c2 = st.columns(2)
        if c1.button("发出（编号）", key="nt_issue", type="primary", icon=":material/send:"):
            inst = tw.act(instruments.issue, view["id"], view["version"])
            if inst:
                tw.done(f"已发出：{inst.doc_number}")
        if c2.button("删除草稿", key="nt_discard", icon=":material/delete:"):
            if tw.act(instruments.discard_draft, view["id"], view["version"]):
                st.session_state.pop("nt_selected", None)
                tw.done("草稿已删除。")
    elif writer and view["state"] == "issued":
        tw.reply_form(view)
    elif writer and view["state"] == "replied":
        note = st.text_input("办结说明", key="nt_close_note")
        if st.button("办结", key="nt_close", icon=":material/task_alt:"):
            if tw.act(instruments.close, view["id"], view["version"], note):
                tw.done("已办结。")
else:
    st.info("暂无文书。")

st.subheader("各单位超期情况")
if units:
    dataframe(pd.DataFrame(units).rename(columns={"unit": "主送单位", "issued": "发出", "overdue": "超期未回复",
                                                     "late_replies": "逾期回复"}),
                 hide_index=True, width="stretch", key="nt_units")
else:
    st.caption("暂无已发出的文书。")
