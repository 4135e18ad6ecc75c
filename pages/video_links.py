"""视频连线: log remote sessions (citizen-requested or started by the city centre) and count them."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from components import lists
from components.context import can, db, field_error, page_top, run_action
from components.tables import dataframe
from services import clock
from services.codes import video_links as svc
from services.lists import VIDEO

me = page_top(__file__, "视频连线",
              "市综治中心与各调解室、律师的远程视频连线：业务指导、法律咨询、远程调解。")

with db() as s:
    totals = svc.totals(s)
    by_purpose = svc.counts_by_purpose(s)
    by_month = svc.counts_by_month(s)
cols = st.columns(2 + len(svc.PURPOSES))
cols[0].metric("视频连线（次）", totals["video_links"])
cols[1].metric("远程咨询/调解（件）", totals["consultations"])
for col, name in zip(cols[2:], svc.PURPOSES.values()):
    col.metric(name, by_purpose.get(name, 0))
if by_month:
    st.markdown("**按月统计**")
    dataframe(by_month, hide_index=True, width="stretch", key="vl_months")

if can("video.log"):
    with db() as s:
        rooms = svc.room_choices(s)
    with st.expander("登记视频连线", expanded=False), st.form("vl_form", clear_on_submit=True, enter_to_submit=False):
        now = clock.local(clock.now())
        c1, c2, c3 = st.columns(3)
        day = c1.date_input("日期", value=now.date(), key="vl_day")
        at = c2.time_input("开始时间", value=dt.time(now.hour, 0), key="vl_time")
        minutes = c3.number_input("时长（分钟）", min_value=1, max_value=600, value=30, key="vl_minutes")
        field_error("started_at")
        field_error("duration_minutes")
        c4, c5 = st.columns(2)
        initiated = c4.selectbox("发起方", list(svc.INITIATORS), format_func=svc.INITIATORS.get, key="vl_initiated", placeholder="请选择")
        purpose = c5.selectbox("目的", list(svc.PURPOSES), format_func=svc.PURPOSES.get, key="vl_purpose", placeholder="请选择")
        parts = st.multiselect("参加方", list(svc.PARTICIPANTS), default=["room", "city_centre"],
                               format_func=svc.PARTICIPANTS.get, key="vl_parts", placeholder="请选择（可多选）", select_all=False)
        field_error("participants")
        room = st.selectbox("调解室", [None, *rooms], format_func=lambda i: rooms.get(i, "（无）"), key="vl_room", placeholder="请选择")
        field_error("room_id")
        c6, c7 = st.columns(2)
        case_number = c6.text_input("案件编号（选填）", key="vl_case")
        field_error("case_number")
        req_number = c7.text_input("线上服务申请编号（选填）", key="vl_request")
        field_error("request_number")
        result = st.text_area("连线结果", key="vl_result")
        field_error("result")
        if st.form_submit_button("保存", key="vl_save", type="primary"):
            data = svc.VideoLinkInput(
                started_at=dt.datetime.combine(day, at, tzinfo=clock.LOCAL_TZ), duration_minutes=int(minutes),
                initiated_by=initiated, purpose=purpose, participants=parts, room_id=room,
                case_number=case_number, request_number=req_number, result=result)
            if run_action(svc.log_link, data, success="已登记视频连线。"):
                st.rerun()
else:
    st.caption("只读角色仅可查看连线记录。")

lists.show(lists.ListView("vl", VIDEO, page_size=50, unit="次", empty="还没有视频连线记录。"))
