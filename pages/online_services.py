"""线上服务: the queue of citizens' requests from the dispute-code page."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from components.context import can, db, field_error, guard, run_action
from components.tables import dataframe
from services import clock, online_services as svc

me = guard(__file__)
st.title("线上服务")
st.caption("群众通过解纷码申请的远程视频调解、线上法律咨询、线上司法确认、线上开庭和催办。须在 1 个工作日内受理。")

with db() as s:
    counts = svc.counts_by_status(s)
    overdue = svc.overdue_count(s)
cols = st.columns(len(svc.STATUSES) + 1)
for col, (code, name) in zip(cols, svc.STATUSES.items()):
    col.metric(name, counts.get(code, 0))
cols[-1].metric("超时未受理", overdue)

f1, f2 = st.columns(2)
status = f1.selectbox("状态", ["pending", *svc.STATUSES, ""], key="os_status",
                      format_func=lambda c: {"pending": "待办（未办结）", "": "全部"}.get(c) or svc.STATUSES[c], placeholder="请选择")
kind = f2.selectbox("服务类型", ["", *svc.KINDS], key="os_kind", format_func=lambda c: svc.KINDS.get(c, "全部"), placeholder="请选择")
page = st.number_input("页码", min_value=1, value=1, step=1, key="os_page") - 1
with db() as s:
    rows, total = svc.queue(s, status or None, kind or None, page=int(page), page_size=50)
st.caption(f"共 {total} 条，每页 50 条。")
if not rows:
    st.info("没有符合条件的申请。")
    st.stop()
dataframe([{"申请编号": r["number"], "案件编号": r["case_number"], "服务类型": r["kind"], "状态": r["status_name"],
            "已等待": r["age"], "受理时限": r["sla_due"], "超时": "超时" if r["overdue"] else "",
            "安排时间": r["scheduled_at"], "参加人员": r["participants"], "结果/原因": r["outcome"]} for r in rows],
          hide_index=True, width="stretch", key="os_table")

by_id = {r["id"]: r for r in rows}
picked = st.selectbox("选择申请", list(by_id), key="os_pick",
                      format_func=lambda i: f"{by_id[i]['number']} · {by_id[i]['kind']} · {by_id[i]['status_name']}", placeholder="请选择")
req = by_id[picked]
with db() as s:
    contact = svc.contact(s, me, picked)
st.markdown(f"**{req['number']}**　案件 {req['case_number']}　{req['kind']}　状态：{req['status_name']}")
st.text(f"联系手机：{contact['mobile']}\n群众说明：{contact['note'] or '（无）'}")
if not can("online.handle"):
    st.caption("只读角色不能处理申请。")
    st.stop()

state = req["status"]
if state == "requested" and st.button("受理", key="os_accept", type="primary"):
    if run_action(svc.accept, picked, expected_status=state, success="已受理。"):
        st.rerun()

if state in ("accepted", "scheduled") and req["kind_code"] != "reminder":
    with st.form("os_schedule_form", enter_to_submit=False):
        st.markdown("**安排时间和参加人员**")
        tomorrow = clock.local(clock.now()) + dt.timedelta(days=1)
        day = st.date_input("日期", value=tomorrow.date(), key="os_day")
        at = st.time_input("时间", value=dt.time(9, 30), key="os_time")
        field_error("when")
        roles = st.multiselect("参加人员", list(svc.PARTICIPANT_ROLES), default=["mediator"], key="os_roles",
                               format_func=svc.PARTICIPANT_ROLES.get, placeholder="请选择（可多选）", select_all=False)
        names = st.text_input("姓名（按上面的顺序，用逗号分隔）", key="os_names")
        field_error("participants")
        if st.form_submit_button("保存安排", key="os_schedule"):
            parts = [p.strip() for p in names.replace("，", ",").split(",")]
            people = [{"role": r, "name": parts[i] if i < len(parts) else ""} for i, r in enumerate(roles)]
            when = dt.datetime.combine(day, at, tzinfo=clock.LOCAL_TZ)
            if run_action(svc.schedule, picked, when, people, expected_status=state, success="已安排。"):
                st.rerun()

if state == "scheduled" or (state == "accepted" and req["kind_code"] == "reminder"):
    with st.form("os_done_form", enter_to_submit=False):
        outcome = st.text_area("办理结果（将在解纷码页面向群众公开显示，请用平实的语言，不写姓名电话）", key="os_outcome")
        field_error("outcome")
        if st.form_submit_button("办结", key="os_done"):
            if run_action(svc.complete, picked, outcome, expected_status=state, success="已办结。"):
                st.rerun()

if state in svc.PENDING:
    with st.form("os_decline_form", enter_to_submit=False):
        reason = st.text_area("不予办理的原因（将向群众公开显示）", key="os_reason")
        field_error("reason")
        if st.form_submit_button("不予办理", key="os_decline"):
            if run_action(svc.decline, picked, reason, expected_status=state, success="已标记为不予办理。"):
                st.rerun()
