"""Task-force panels drawn on other pages: on 案件详情 (the case's risk notices, supervision orders,
meetings and open action items) and on the task force's 工作台 (open and overdue action items,
overdue notices)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components import forms
from components.case_widgets import open_case
from components.context import db, plain
from components.taskforce_widgets import draft_button, items_table, red_rows
from components.tables import dataframe
from services import clock
from services.cases import repeats
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


REPEAT_TITLE = "重复纠纷预警（90天内3次及以上）"


def repeat_alerts(actor: Actor, writer: bool, limit: int = 20) -> None:
    """On 风险提示与督办: cases that are the third (or later) of the same party or address within
    90 days (services.cases.repeats.alerts). The task force starts a risk notice draft from one,
    pre-filled with the case and its earlier ones; readers open the case."""
    st.subheader(REPEAT_TITLE)
    with db() as s:
        rows = repeats.alerts(s, actor, limit=limit)
    if not rows:
        st.caption("近 90 天内没有同一当事人或同一地址 3 次及以上的纠纷。")
        return
    st.caption(f"近 90 天内接报、且 90 天内同一当事人（手机号码、身份证号码）或同一地址已有 2 件及以上的案件，"
               f"最新在前（最多 {limit} 件）。")
    dataframe(pd.DataFrame([{"案件编号": r["number"], "接报时间": clock.fmt(r["received_at"]),
                             "乡镇（街道）": r["township"], "纠纷类别": r["category"], "状态": r["status_name"],
                             "90天内次数": r["count"], "此前案件": "、".join(r["earlier_numbers"])} for r in rows]),
              hide_index=True, width="stretch", key="nt_repeat_alerts")
    for r in rows:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.text(f"{r['number']}：90 天内第 {r['count']} 次（{r['category']}，{r['status_name']}）")
        with c2:
            if st.button("打开案件", key=f"nt_repeat_open_{r['id']}", icon=":material/open_in_new:"):
                open_case(r["id"])
        if writer:
            drafting = forms.bound("nt_repeat", r["id"])
            with c1:
                draft_button(drafting, f"起草风险提示函（{r['number']} 等 {r['count']} 件）", "nt",
                             "草稿已生成，请核对后发出。", instruments.draft_from_case, "risk_notice",
                             [r["id"], *r["earlier_ids"]])
