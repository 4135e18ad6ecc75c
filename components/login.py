"""The login form, drawn by app.py while nobody is logged in (no page is registered then)."""
import streamlit as st

from db.config import app_mode
from db.engine import session_scope
from services import auth, demo


def render() -> None:
    st.title("母舅坐上 · 非警务警情联动处置平台")
    st.caption("丰城市 12345 与 110 非警务警情联动处置专班")

    with st.form("login", clear_on_submit=False):
        username = st.text_input("用户名", key="login_username", max_chars=50)
        password = st.text_input("密码", type="password", key="login_password", max_chars=128)
        submitted = st.form_submit_button("登录", type="primary")

    if submitted:
        with session_scope() as s:
            result = auth.login(s, username, password)
            actor = None
            if result.ok:
                actor = auth.actor_for(auth.load_active_user(s, result.user_id))
        if actor is None:
            st.error(result.message)
        else:
            st.session_state.clear()
            st.session_state["actor"] = actor
            st.rerun()

    if app_mode() == "demo":
        with st.expander("演示账号", expanded=True):
            st.table({"用户名": [r[0] for r in demo.account_table()],
                      "密码": [r[1] for r in demo.account_table()],
                      "角色": [r[2] for r in demo.account_table()],
                      "可见内容": [r[3] for r in demo.account_table()]})
