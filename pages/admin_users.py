"""用户管理 (admin): create users, reset passwords, disable accounts, change roles; see who is logged
in where (强制下线) and set the session timeouts."""
import pandas as pd
import streamlit as st

from components import forms, lists
from components.context import db, field_error, guard, run_action
from components.tables import dataframe
from services import auth, clock, sessions
from services.lists import USERS
from services.roles import ROLES
from services.settings import SPECS

me = guard(__file__)
st.title("用户管理")
with db() as s:
    users = [(u.id, u.username, u.display_name, u.role, u.active, u.is_demo, u.locked_until, u.last_login_at)
             for u in auth.list_users(s, me)]

lists.show(lists.ListView("users", USERS, page_size=50, unit="个账号", search="用户名或姓名",
                          filters=[lists.Filter("role", "角色", ROLES)]))

tab_new, tab_edit, tab_sessions = st.tabs(["新建用户", "修改用户", "在线会话"])
with tab_new:
    creating = forms.bound("nu")  # empty again after a user is created
    k = creating.key
    creating.flash()
    with st.form(k("form"), clear_on_submit=False, enter_to_submit=False):
        username = st.text_input("用户名", key=k("username"))
        field_error("username")
        display = st.text_input("姓名", key=k("display"))
        field_error("display_name")
        role = st.selectbox("角色", list(ROLES), format_func=ROLES.get, key=k("role"), placeholder="请选择")
        password = st.text_input("初始密码（至少 8 位，含字母和数字）", type="password", key=k("password"))
        field_error("password")
        creating.error_here()
        if st.form_submit_button("创建", type="primary", key=k("submit")):
            if creating.submit(auth.create_user, username, display, role, password):
                creating.saved(f"用户已创建：{username}")

with tab_edit:
    options = {u[0]: f"{u[1]}（{u[2]}）" for u in users}
    uid = forms.pick_record("选择用户", options, "eu")
    current = next(u for u in users if u[0] == uid)
    editing = forms.bound("eu_edit", uid)  # a password or role typed for one user never reaches another
    k = editing.key
    editing.flash()
    editing.error_here()
    c1, c2, c3 = st.columns(3)
    with c1, st.form(k("reset_form"), enter_to_submit=False):
        pw = st.text_input("新密码", type="password", key=k("password"))
        field_error("password")
        if st.form_submit_button("重置密码", key=k("reset")):
            if editing.submit(auth.reset_password, uid, pw):
                editing.saved(f"密码已重置，账号已解锁：{current[1]}")
    with c2, st.form(k("role_form"), enter_to_submit=False):
        new_role = st.selectbox("角色", list(ROLES), index=list(ROLES).index(current[3]),
                                format_func=ROLES.get, key=k("role"), placeholder="请选择")
        if st.form_submit_button("修改角色", key=k("change_role")):
            if editing.submit(auth.change_role, uid, new_role):
                editing.saved(f"角色已修改：{current[1]} → {ROLES.get(new_role, new_role)}")
    with c3:
        label = "停用账号" if current[4] else "启用账号"
        if st.button(label, key=k("toggle")):
            if editing.submit(auth.set_active, uid, not current[4]):
                editing.saved(f"已{label[:2]}：{current[1]}")

with tab_sessions:
    names = {u[0]: f"{u[2]}（{u[1]}）" for u in users}
    with db() as s:
        live = [(r.id, r.user_id, r.created_at, r.last_seen_at, r.client_addr, r.user_agent)
                for r in sessions.active_sessions(s, me)]
        idle, max_hours = sessions.limits(s)
    st.caption(f"当前有效的登录会话（空闲 {SPECS[sessions.IDLE_KEY].phrase(idle)}或登录满 "
               f"{SPECS[sessions.MAX_KEY].phrase(max_hours)}自动失效）。")
    dataframe(pd.DataFrame([{
        "用户": names.get(r[1], ""), "登录时间": clock.fmt(r[2]), "最近活动": clock.fmt(r[3]),
        "登录地址": r[4], "浏览器": sessions.browser_label(r[5])} for r in live], columns=["用户", "登录时间", "最近活动", "登录地址", "浏览器"]),
        hide_index=True, width="stretch")
    if live:
        choices = {r[0]: f"{names.get(r[1], '')} · {r[4]} · 登录于 {clock.fmt(r[2])}" for r in live}
        sid = st.selectbox("选择会话", list(choices), format_func=choices.get, key="session_pick", placeholder="请选择")
        if st.button("强制下线", key="session_kill", type="primary"):
            if run_action(sessions.force_logout, sid, success="已强制下线"):
                st.rerun()
    with st.form("session_limits", enter_to_submit=False):
        st.markdown("**会话时限**")
        new_idle = st.number_input(SPECS[sessions.IDLE_KEY].input_label(), value=idle, step=5, key="session_idle",
                                   help=SPECS[sessions.IDLE_KEY].help)
        field_error("session_idle_minutes")
        new_max = st.number_input(SPECS[sessions.MAX_KEY].input_label(), value=max_hours, step=1, key="session_max",
                                  help=SPECS[sessions.MAX_KEY].help)
        field_error("session_max_hours")
        if st.form_submit_button("保存会话时限"):
            if run_action(sessions.update_limits, int(new_idle), int(new_max), success="会话时限已保存"):
                st.rerun()
