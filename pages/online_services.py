"""线上服务: the queue of citizens' requests from the dispute-code page."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from components import lists
from components.context import can, db, field_error, page_top, run_action
from services import clock
from services.codes import online_services as svc
from services.lists import ONLINE

me = page_top(__file__, "线上服务",
              "群众通过解纷码申请的远程视频调解、线上法律咨询、线上司法确认、线上开庭和催办。须在 1 个工作日内受理。")

with db() as s:
    counts = svc.counts_by_status(s)
    overdue = svc.overdue_count(s)
cols = st.columns(len(svc.STATUSES) + 1)
for col, (code, name) in zip(cols, svc.STATUSES.items()):
    col.metric(name, counts.get(code, 0))
cols[-1].metric("超时未受理", overdue)

listed = lists.show(lists.ListView(
    "os", ONLINE, page_size=50, empty="没有符合条件的申请。",
    filters=[lists.Filter("status", "状态", {"pending": "待办（未办结）", **svc.STATUSES}, default="pending"),
             lists.Filter("kind", "服务类型", svc.KINDS)],
    pick="选择申请", pick_label=lambda r: f"{r['number']} · {r['kind']} · {r['status_name']}"))
if listed.picked is None:
    st.stop()
picked = listed.picked
req = next(r for r in listed.rows if r["id"] == picked)
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



def text_action(name: str, label: str, field: str, button: str, fn, success: str) -> None:
    """A form of one text (the result, a reason) and its button, acting on the picked request."""
    with st.form(f"os_{name}_form", enter_to_submit=False):
        text = st.text_area(label, key=f"os_{field}")
        field_error(field)
        if st.form_submit_button(button, key=f"os_{name}"):
            if run_action(fn, picked, text, expected_status=state, success=success):
                st.rerun()


if state == "scheduled" or (state == "accepted" and req["kind_code"] == "reminder"):
    text_action("done", "办理结果（将在解纷码页面向群众公开显示，请用平实的语言，不写姓名电话）", "outcome", "办结",
                svc.complete, "已办结。")
if state in svc.PENDING:
    text_action("decline", "不予办理的原因（将向群众公开显示）", "reason", "不予办理", svc.decline, "已标记为不予办理。")
