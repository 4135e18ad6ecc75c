"""系统设置 (admin): ladder time limits, arrival clock, follow-up days, station-room hours, categories."""
import pandas as pd
import streamlit as st

from components import public_access
from components.context import db, field_error, guard, plain, run_action
from components.tables import dataframe
from services import admin_config, ladder

me = guard(__file__)
st.title("系统设置")
with db() as s:
    cfg = admin_config.current(s)
    cats = admin_config.list_categories(s)

flash = st.session_state.pop("settings_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])


def _act(fn, *args, done: str) -> None:
    """One service call; rerun so the new values, or the errors beside their fields, are drawn."""
    if run_action(fn, *args):
        st.session_state["settings_flash"] = ("success", done)
    elif st.session_state.get("field_errors"):
        st.session_state["settings_flash"] = ("error", "未保存：请按提示修改后重新提交。")
    else:
        return  # a refusal without a field: run_action has shown it here
    st.rerun()


hours = cfg["station_room_hours"]
c1, c2, c3 = st.columns(3)
c1.metric("到场时限", f"{cfg['arrival_minutes']} 分钟")
c2.metric("回访期限", f"{cfg['follow_up_days']} 天")
c3.metric("驻所调解室服务时间", f"{hours['open']:02d}:00–{hours['close']:02d}:00")

tab_time, tab_cat = st.tabs(["时限与服务时间", "纠纷类别"])
with tab_time:
    st.caption("修改只影响此后进入该环节的案件；已在办案件的到期时间不变。所有修改记入操作日志。")
    st.subheader("各调解层级办理时限")
    with st.form("limits_form", enter_to_submit=False):
        cols = st.columns(3)
        limits = {}
        for i, (level, name) in enumerate(ladder.LEVELS.items()):
            with cols[i % 3]:
                limits[level] = st.number_input(f"{name}（天）", value=int(cfg["level_time_limits"].get(level, 0)),
                                                step=1, key=f"limit_{level}", help="0 表示当日办结")
                field_error(f"limit_{level}")
        if st.form_submit_button("保存办理时限", type="primary"):
            _act(admin_config.update_level_time_limits, limits, done="办理时限已保存。")

    left, right = st.columns(2)
    with left, st.form("arrival_form", enter_to_submit=False):
        st.markdown("**到场时限**")
        minutes = st.number_input("通知后须到场（分钟，5–120）", value=cfg["arrival_minutes"], step=1,
                                  key="arrival_minutes")
        field_error("arrival_minutes")
        if st.form_submit_button("保存到场时限"):
            _act(admin_config.update_arrival_minutes, minutes, done="到场时限已保存。")
    with right, st.form("follow_up_form", enter_to_submit=False):
        st.markdown("**回访期限**")
        days = st.number_input("调解成功后须回访（天，1–60）", value=cfg["follow_up_days"], step=1,
                               key="follow_up_days")
        field_error("follow_up_days")
        if st.form_submit_button("保存回访期限"):
            _act(admin_config.update_follow_up_days, days, done="回访期限已保存。")

    st.subheader("驻所调解室服务时间")
    with st.form("hours_form", enter_to_submit=False):
        st.caption("服务时间以外由乡镇值班干部会同派出所处置（北京时间，整点）。")
        h1, h2 = st.columns(2)
        with h1:
            open_h = st.number_input("开始（时，0–23）", value=int(hours["open"]), step=1, key="station_open")
            field_error("station_open")
        with h2:
            close_h = st.number_input("结束（时，0–23）", value=int(hours["close"]), step=1, key="station_close")
            field_error("station_close")
        if st.form_submit_button("保存服务时间"):
            _act(admin_config.update_station_room_hours, open_h, close_h, done="服务时间已保存。")

with tab_cat:
    dataframe(pd.DataFrame([{"顺序": i, "名称": c["name"],
                             "状态": "启用" if c["active"] else "停用", "案件数": c["cases"]}
                            for i, c in enumerate(cats, start=1)]), hide_index=True, width="stretch")
    with st.form("add_category_form", enter_to_submit=False):
        st.markdown("**新增类别**")
        a1, a2 = st.columns(2)
        with a1:
            new_name = st.text_input("名称", key="cat_new_name")
            field_error("name")
        with a2:
            new_code = st.text_input("编码（可不填，自动生成）", key="cat_new_code")
            field_error("code")
        if st.form_submit_button("新增"):
            _act(admin_config.add_category, new_name, new_code, done=f"已新增类别“{plain(new_name.strip())}”。")

    if cats:
        st.markdown("**修改类别**")
        names = {c["id"]: f"{c['name']}（{'启用' if c['active'] else '停用'}）" for c in cats}
        cid = st.selectbox("选择类别", list(names), format_func=names.get, key="cat_pick", placeholder="请选择")
        chosen = next(c for c in cats if c["id"] == cid)
        with st.form("rename_category_form", enter_to_submit=False):
            renamed = st.text_input("新名称", value=chosen["name"], key=f"cat_rename_{cid}")
            field_error("rename")
            if st.form_submit_button("改名"):
                _act(admin_config.rename_category, cid, renamed, done="类别已改名。")
        b1, b2, b3, b4 = st.columns(4)
        if b1.button("上移", key="cat_up", width="stretch"):
            _act(admin_config.move_category, cid, -1, done="顺序已调整。")
        if b2.button("下移", key="cat_down", width="stretch"):
            _act(admin_config.move_category, cid, 1, done="顺序已调整。")
        label = "停用" if chosen["active"] else "启用"
        if b3.button(label, key="cat_toggle", width="stretch"):
            _act(admin_config.set_category_active, cid, not chosen["active"], done=f"类别已{label}。")
        if b4.button("删除", key="cat_delete", width="stretch", disabled=chosen["cases"] > 0,
                     help="已有案件使用的类别不能删除，可以停用"):
            _act(admin_config.delete_category, cid, done="类别已删除。")

public_access.render()
