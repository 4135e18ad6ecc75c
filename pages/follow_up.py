"""回访: settled cases waiting for the task force's follow-up (overdue first), recorded inline."""
import streamlit as st

from components import forms
from components.case_widgets import action_error, case_table, follow_up_fields, open_case, open_picker
from components.context import can, db, guard
from services import case_queries, clock

me = guard(__file__)
st.title("回访")

with db() as s:
    queue = case_queries.follow_up_queue(s, me, limit=50)

flash = st.session_state.pop("case_flash", None)
if flash:
    st.success(flash)
conflict = st.session_state.pop("case_conflict", None)
if conflict:
    st.warning(conflict + "（队列已刷新）")

c1, c2, c3 = st.columns(3)
c1.metric("待回访", f"{queue['total']:,}")
c2.metric("回访超时", f"{queue['overdue']:,}")
c3.metric("已回访待闭环", f"{len(queue['to_close']):,}")

st.subheader("待回访队列（超时在前，按回访期限排序）")
if not queue["items"]:
    st.info("没有待回访的案件。")
else:
    case_table(queue["items"])
    items = {r["id"]: r for r in queue["items"]}
    labels = {i: f"{r['number']} · {r['category']} · 期限 {clock.fmt(r['follow_up_due_at'])}"
                 + ("（超时）" if r["overdue"] else "") for i, r in items.items()}
    case_id = forms.pick_record("选择案件", labels, "fu_case")
    # the version the user saw (from the previous run) guards against two people recording at once
    seen = st.session_state.get("fu_seen") or {}
    version = seen.get(case_id, items[case_id]["version"])
    st.session_state["fu_seen"] = {i: r["version"] for i, r in items.items()}
    if st.button("打开案件详情", key="fu_open"):
        open_case(case_id)
    if can("case.follow_up"):
        action_error()
        form = forms.bound("fu", case_id)  # the fields belong to this case: another case gets empty ones
        with st.form(form.key("form"), enter_to_submit=False):
            st.markdown(f"**记录回访：{items[case_id]['number']}**")
            follow_up_fields(case_id, version, "fu", form)

if queue["to_close"]:
    st.subheader("已回访、待闭环")
    case_table(queue["to_close"])
    open_picker(queue["to_close"], "fu_close")
