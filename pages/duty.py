"""值班安排: a township's week of night duty, gaps, who is on duty at a time, and department stays."""
import datetime as dt

import pandas as pd
import streamlit as st

from components import lists
from components.context import can, db, field_error, guard, plain, run_action
from components.tables import dataframe
from db.models.roster import ROTATION_MODES
from services import clock
from services.roster import duty
from services.roster import org
from services.lists import DUTY_WEEK

me = guard(__file__)
st.title("值班安排")

with db() as s:
    towns = {t.id: t.name for t in org.townships(s)}
ids = list(towns)
c1, c2 = st.columns(2)
tid = c1.selectbox("乡镇（街道）", ids, index=ids.index(me.township_id) if me.township_id in ids else 0,
                   format_func=towns.get, key="duty_township", placeholder="请选择")
today = clock.today()
picked = c2.date_input("周次（任选该周一天）", today, key="duty_week")
week = duty.week_start_of(picked)

with db() as s:
    view = duty.week_view(s, tid, week, me.role)
    gaps = duty.gaps(s, tid)
    cadres = {m.id: m.name for m in duty.duty_cadres(s, tid)}
    rooms = {r.id: r.name for r in duty.room_choices(s, tid)}

if gaps:
    st.warning(f"{towns[tid]}未来 {duty.GAP_DAYS} 天有 {len(gaps)} 个值班空档，夜间案件将无人接手，请尽快安排：\n\n"
               + "\n".join(f"- {g.text}" for g in gaps), icon=":material/warning:")
st.subheader(f"{view.township_name} {week:%Y-%m-%d} 起一周值班")
st.caption(view.hours)
lists.show(lists.ListView("duty_week", DUTY_WEEK, page_size=7, unit="夜",
                          fixed={"township_id": tid, "week": week},
                          fixed_text=f"乡镇（街道）：{towns[tid]}；周次：{week:%Y-%m-%d} 起"))

if can("duty.manage"):
    nights = [n.date for n in view.nights]
    a, b, c = st.columns(3)
    with a, st.form("duty_assign_form", enter_to_submit=False):
        st.markdown("**安排值班干部**")
        night = st.selectbox("夜间", nights, format_func=lambda d: f"{d:%m-%d} 周{duty.WEEKDAYS[d.weekday()]}",
                             key="duty_assign_date", placeholder="请选择")
        field_error("duty_date")
        cadre = st.selectbox("值班干部", list(cadres), format_func=cadres.get, key="duty_assign_cadre", placeholder="请选择")
        field_error("mediator_id")
        if st.form_submit_button("安排", type="primary"):
            if run_action(duty.assign, tid, night, cadre, success="值班已安排"):
                st.rerun()
    with b, st.form("duty_swap_form", enter_to_submit=False):
        st.markdown("**两夜互换**")
        fmt = lambda d: f"{d:%m-%d} 周{duty.WEEKDAYS[d.weekday()]}"  # noqa: E731
        d1 = st.selectbox("第一夜", nights, format_func=fmt, key="duty_swap_a", placeholder="请选择")
        field_error("swap_a")
        d2 = st.selectbox("第二夜", nights, index=1, format_func=fmt, key="duty_swap_b", placeholder="请选择")
        field_error("swap_b")
        if st.form_submit_button("互换"):
            if run_action(duty.swap, tid, d1, d2, success="已互换"):
                st.rerun()
    with c:
        st.markdown("**复制上周**")
        st.caption("只填本周空着的夜间，已排的不覆盖。")
        if st.button("复制上周排班到本周", key="duty_copy"):
            result = run_action(duty.copy_last_week, tid, week)
            if result:
                st.session_state["duty_copy_result"] = result.summary()
                st.rerun()
        if st.session_state.get("duty_copy_result"):
            st.info(st.session_state.pop("duty_copy_result"))

st.subheader("此刻谁在值班")
q1, q2, q3 = st.columns(3)
qd = q1.date_input("日期", today, key="duty_now_date")
qt = q2.time_input("时间", clock.local(clock.now()).time().replace(second=0, microsecond=0), step=60,
                   key="duty_now_time")
room = q3.selectbox("地点", [None, *rooms], format_func=lambda r: "本乡镇驻所调解室" if r is None else rooms[r],
                    key="duty_now_room", placeholder="请选择")
with db() as s:
    at = clock.local_dt(qd.year, qd.month, qd.day, qt.hour, qt.minute)
    on = duty.who_is_on_duty(s, at, township_id=tid, room_id=room, viewer_role=me.role)
if on.gap:
    st.error(on.warning, icon=":material/error:")
else:
    st.success(plain(f"{on.place} · {on.mode_name}：" + "；".join(f"{p['name']}（{p['why']}，{p['phone']}）"
                                                               for p in on.people)))  # roster names: never Markdown

st.subheader("部门轮驻 / 随驻")
with db() as s:
    stays = duty.list_rotations(s, tid)
    people = {m.id: f"{m.department} {m.name}" for m in duty.department_people(s)}
dataframe(pd.DataFrame(stays).drop(columns=["id"], errors="ignore"), hide_index=True, width="stretch",
             key="duty_rotations")
if can("duty.manage"):
    current = {r["id"]: f"{r['部门']} {r['人员']} · {r['调解室/案件']}" for r in stays if r["状态"] != "已结束"}
    e1, e2 = st.columns([3, 1])
    ending = e1.selectbox("结束一项安排", [None, *current], format_func=lambda i: "（选择）" if i is None else current[i],
                          key="rot_end_pick", placeholder="请选择")
    if ending is not None and e2.button("今天结束", key="rot_end_now"):
        if run_action(duty.end_rotation, ending, success="安排已结束"):
            st.rerun()
    with st.form("duty_rotation_form", enter_to_submit=False):
        mode = st.radio("方式", list(ROTATION_MODES), format_func=ROTATION_MODES.get, horizontal=True, key="rot_mode")
        field_error("rot_mode")
        person = st.selectbox("部门人员", list(people), format_func=people.get, key="rot_person", placeholder="请选择")
        field_error("rot_person")
        r1, r2, r3 = st.columns(3)
        rot_room = r1.selectbox("轮驻调解室", list(rooms), format_func=rooms.get, key="rot_room", placeholder="请选择")
        field_error("rot_room")
        start = r2.date_input("开始日期", today, key="rot_start")
        end = r3.date_input("结束日期（轮驻）", today + dt.timedelta(days=30), key="rot_end")
        field_error("rot_end")
        number = st.text_input("随驻案件编号", key="rot_case")
        field_error("rot_case")
        if st.form_submit_button("添加"):
            if run_action(duty.add_rotation, person, mode, start, end, room_id=rot_room if mode == "rotating" else None,
                          case_number=number if mode == "on_demand" else "", success="已添加"):
                st.rerun()

if can("roster.manage"):
    with st.expander("部门登记"), st.form("duty_dept_form", enter_to_submit=False):
        with db() as s:
            st.caption("已登记部门：" + ("、".join(d.name for d in duty.departments(s)) or "无"))
        dept_name = st.text_input("新部门名称", key="dept_name")
        field_error("dept_name")
        if st.form_submit_button("登记部门"):
            if run_action(duty.add_department, dept_name, success="部门已登记"):
                st.rerun()
