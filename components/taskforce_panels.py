"""Task-force panels drawn on other pages: on 案件详情 (the case's risk notices, supervision orders,
meetings and open action items) and on the task force's 工作台 (open and overdue action items,
overdue notices)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.context import db, plain
from components.taskforce_widgets import items_table, red_rows
from components.tables import dataframe
from services.taskforce import instruments
from services.taskforce import meetings
from services.roles import Actor


def case_panel(case_id: int, actor: Actor) -> None:
    """Appended to components.case_panels.PANELS."""
    if actor.role not in instruments.READERS:
        return
    with db() as s:
        docs = instruments.for_case(s, case_id)
        held = meetings.meetings_for_case(s, case_id)
        items = meetings.items_for_case(s, case_id)
    if not (docs or held or items):
        return
    st.subheader("专班督办")
    if docs:
        df = pd.DataFrame([{"文号": d["doc_number"] or "（草稿）", "类型": d["kind_name"], "状态": d["state_name"],
                            "主送单位": d["addressee"], "反馈期限": d["deadline"].isoformat() if d["deadline"] else "",
                            "超期": "超期未回复" if d["overdue"] else ""} for d in docs])
        dataframe(red_rows(df, [d["overdue"] for d in docs]), hide_index=True, width="stretch",
                  key=f"tfp_docs_{case_id}")
    if held:
        st.caption(plain("研究该案的会议：" + "；".join(f"{m['held_on']} {m['kind_name']} {m['topic']}" for m in held)))
    if items:
        st.markdown("**未完成的交办事项**")
        items_table(items, f"tfp_items_{case_id}")


def home_panel(actor: Actor) -> None:
    """For the task force's 工作台: what is open and what is late."""
    with db() as s:
        counts = meetings.item_counts(s)
        items = meetings.open_items(s, limit=20)
        late = instruments.overdue_list(s, limit=20)
    st.subheader("专班待办")
    c1, c2, c3 = st.columns(3)
    c1.metric("未完成交办事项", counts["open"])
    c2.metric("超期交办事项", counts["overdue"])
    c3.metric("超期未回复文书", len(late) if len(late) < 20 else "20+")
    if items:
        items_table(items, "tfh_items")
    if late:
        df = pd.DataFrame([{"文号": d["doc_number"], "类型": d["kind_name"], "主送单位": d["addressee"],
                            "反馈期限": d["deadline"].isoformat()} for d in late])
        dataframe(red_rows(df, [True] * len(late)), hide_index=True, width="stretch", key="tfh_late")
    st.page_link("pages/notices.py", label="风险提示与督办", icon=":material/campaign:")
    st.page_link("pages/meetings.py", label="协调会", icon=":material/groups_3:")
