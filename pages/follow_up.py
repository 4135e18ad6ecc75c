"""回访: settled cases waiting for the task force's follow-up (overdue first), recorded inline."""
import streamlit as st

from components import forms, lists, papers_panel
from components.case_widgets import action_error, follow_up_fields, open_case
from components.context import can, db, guard
from services import clock
from services.cases import case_queries
from services.lists import FOLLOW_UPS

me = guard(__file__)
st.title("回访")

with db() as s:
    queue = case_queries.follow_up_queue(s, me, limit=0)  # the counts; the rows come page by page below
    ready = case_queries.follow_up_cases(s, me, ready=True, limit=0)[1]

flash = st.session_state.pop("case_flash", None)
if flash:
    st.success(flash)
conflict = st.session_state.pop("case_conflict", None)
if conflict:
    st.warning(conflict + "（队列已刷新）")

c1, c2, c3 = st.columns(3)
c1.metric("待回访", f"{queue['total']:,}")
c2.metric("回访超时", f"{queue['overdue']:,}")
c3.metric("已回访待闭环", f"{ready:,}")

st.subheader("待回访队列（超时在前，按回访期限排序）")
listed = lists.show(lists.ListView(
    "fu", FOLLOW_UPS, fixed={"ready": False}, fixed_text="待回访", page_size=50, unit="件", export_name="回访队列_待回访",
    empty="没有待回访的案件。", pick="选择案件", pick_scope="fu_case",
    pick_label=lambda r: f"{r['number']} · {r['category']} · 期限 {clock.fmt(r['follow_up_due_at'])}"
    + ("（超时）" if "follow_up" in r["overdue"] else ""),
    actions=[lists.Action("open", "打开案件详情", open_case)]))

case_id = listed.picked
if case_id is not None and can("case.follow_up"):
    items = {r["id"]: r for r in listed.rows}
    # the version the user saw (from the previous run) guards against two people recording at once
    seen = st.session_state.get("fu_seen") or {}
    version = seen.get(case_id, items[case_id]["version"])
    st.session_state["fu_seen"] = {i: r["version"] for i, r in items.items()}
    action_error()
    form = forms.bound("fu", case_id)  # the fields belong to this case: another case gets empty ones
    with st.form(form.key("form"), enter_to_submit=False):
        st.markdown(f"**记录回访：{items[case_id]['number']}**")
        follow_up_fields(case_id, version, "fu", form)

if ready:
    st.subheader("已回访、待闭环")
    lists.show(lists.ListView("fu_close", FOLLOW_UPS, fixed={"ready": True}, fixed_text="已回访、待闭环",
                              export_name="回访队列_已回访待闭环",
                              page_size=50, unit="件", empty="无。", pick="打开案件",
                              pick_label=lambda r: f"{r['number']}（{r['status_name']}）",
                              actions=[lists.Action("open", "打开", open_case)]))

# every dossier of a month for the archive, next to where cases are closed (staff, task force)
papers_panel.month_archive(me)
