"""演示数据 (trainer, admin): reset the demo to its starting state."""
import streamlit as st

from components.context import guard, run_action
from db.config import app_mode
from services import demo

guard(__file__)
st.title("演示数据")
if app_mode() != "demo":
    st.info("当前为生产模式，演示数据功能不可用。")
    st.stop()

st.write("演示数据为虚构示例。重置会删除当前库中的全部数据（含培训中录入的案件），并重新加载初始演示数据；"
         "完成后需要重新登录。")
st.table({"用户名": [r[0] for r in demo.account_table()], "密码": [r[1] for r in demo.account_table()],
          "角色": [r[2] for r in demo.account_table()]})
confirm = st.checkbox("我确认要重置全部演示数据", key="demo_confirm")
if st.button("重置演示数据", type="primary", disabled=not confirm, key="demo_reset"):
    with st.spinner("正在重置……"):
        ok = run_action(demo.reset_demo)
    if ok:
        st.session_state.clear()
        st.rerun()
