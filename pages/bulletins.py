"""工作专报: past issues, a draft for a period from the data, editable commentary, issue (第N期),
DOCX/PDF in the bulletin style."""
import datetime as dt

import pandas as pd
import streamlit as st

from components import forms
from components import taskforce_widgets as tw
from components.context import can, db, field_error, guard, plain
from components.tables import dataframe
from services import bulletins, clock, metrics

me = guard(__file__)
st.title("工作专报")
writer = can("taskforce.issue")
tw.flash()

if writer:
    with st.expander("起草新一期", icon=":material/edit_note:"):
        drafting = forms.bound("bl_draft")
        today = clock.today()
        c1, c2 = st.columns(2)
        start = c1.date_input("统计期开始", today - dt.timedelta(days=today.weekday() + 7), key=drafting.key("start"),
                              format="YYYY-MM-DD")
        with c1:
            field_error("period_start")
        end = c2.date_input("统计期结束", today - dt.timedelta(days=today.weekday() + 1), key=drafting.key("end"),
                            format="YYYY-MM-DD")
        with c2:
            field_error("period_end")
        drafting.error_here()
        if st.button("生成草稿", key=drafting.key("submit"), type="primary", icon=":material/draft:"):
            b = drafting.submit(bulletins.draft, start, end)
            if b:
                forms.choose("bl", b.id)
                tw.done("专报草稿已生成，请填写评述后印发。", drafting)

page_no = st.number_input("页码", min_value=1, value=1, step=1, key="bl_page")
with db() as s:
    page = bulletins.list_bulletins(s, me, int(page_no))
st.subheader("往期专报")
st.caption(f"共 {page['total']} 期（含草稿），每页 20 期。期号连续编号，跨年不重新起算。")
if not page["rows"]:
    st.info("暂无专报。")
    st.stop()
dataframe(pd.DataFrame([{"期号": r["issue"], "状态": r["state_name"], "标题": r["title"],
                            "统计期": f"{r['period_start']} 至 {r['period_end']}", "印发日期": r["issue_date"] or "",
                            "受理": r["received"], "成功率": metrics.pct(r["success_rate"]),
                            "满意率": metrics.pct(r["satisfaction_rate"])} for r in page["rows"]]),
             hide_index=True, width="stretch", key="bl_table")

labels = {r["id"]: f"{r['issue']} · {r['title']}" for r in page["rows"]}
chosen = forms.pick_record("查看专报", labels, "bl")
with db() as s:
    view = bulletins.get(s, me, chosen)
st.subheader(plain(f"{view['issue']}：{view['title']}"))
st.caption(f"统计期 {view['period_start']} 至 {view['period_end']}；起草 {plain(view['created_by_name'])}"
           + (f"；印发 {view['issue_date']}（{plain(view['issued_by_name'])}）" if view["issue_date"] else ""))
tw.bulletin_figures(view)
tw.downloads(bulletins.render, view["id"], me, f"bl_{view['id']}", bulletins.file_stem(view["id"], view["issue_no"]))
if writer and view["state"] == "draft":
    tw.bulletin_editor(view)
    buttons = forms.bound("bl_act", view["id"])
    buttons.error_here()
    c1, c2 = st.columns(2)
    if c1.button("更新数据", key=buttons.key("refresh"), icon=":material/refresh:"):
        if buttons.submit(bulletins.refresh, view["id"], view["version"]):
            tw.done(f"数据已更新：{view['issue']}", buttons)
    if c2.button("印发（编期号）", key=buttons.key("issue"), type="primary", icon=":material/send:"):
        b = buttons.submit(bulletins.issue, view["id"], view["version"])
        if b:
            tw.done(f"已印发：第{b.issue_no}期", buttons)
else:
    st.markdown("**存在问题**")
    st.text(view["commentary"] or "—")
    st.markdown("**下步工作**")
    st.text(view["next_steps"] or "—")
