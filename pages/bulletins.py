"""工作专报: past issues, a draft for a period from the data, editable commentary, issue (第N期),
DOCX/PDF in the bulletin style."""
import datetime as dt

import streamlit as st

from components import forms, lists
from components import taskforce_widgets as tw
from components.context import field_error, plain
from services import clock
from services.taskforce import bulletins
from services.lists import BULLETINS

me, writer = tw.taskforce_page(__file__, "工作专报")

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
        tw.draft_button(drafting, "生成草稿", "bl", "专报草稿已生成，请填写评述后印发。", bulletins.draft, start, end)

st.subheader("往期专报")
listed = lists.show(lists.ListView("bl", BULLETINS, unit="期", empty="暂无专报。",
                                   note="含草稿；期号连续编号，跨年不重新起算", pick="查看专报",
                                   pick_label=lambda r: f"{r['issue']} · {r['title']}"))
view = tw.chosen_view(bulletins.get, listed, me)
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
            tw.done(f"已印发：{bulletins.issue_label(b.issue_no)}", buttons)
else:
    st.markdown("**存在问题**")
    st.text(view["commentary"] or "—")
    st.markdown("**下步工作**")
    st.text(view["next_steps"] or "—")
