"""系统设置 (admin): ladder time limits, arrival clock, follow-up days, station-room hours, categories,
the 110 / 12345 platforms' API keys."""
import pandas as pd
import streamlit as st

from components import api_panel, public_access
from components.context import db, field_error, guard, plain, run_action
from components.tables import dataframe
from services import admin_config, settings
from services.cases import ladder

me = guard(__file__)
st.title("系统设置")
with db() as s:
    cfg = admin_config.current(s)
    cats = admin_config.list_categories(s)

flash = st.session_state.pop("settings_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])


def _act(fn, *args, done: str, keep=None) -> None:
    """One service call; rerun so the new values, or the errors beside their fields, are drawn.
    `keep(result)` runs before that rerun (对接平台 keeps a new key's token for exactly that run)."""
    result = run_action(fn, *args)
    if result:
        st.session_state["settings_flash"] = ("success", done)
        if keep is not None:
            keep(result)
    elif st.session_state.get("field_errors"):
        st.session_state["settings_flash"] = ("error", "未保存：请按提示修改后重新提交。")
    else:
        return  # a refusal without a field: run_action has shown it here
    st.rerun()


SPECS = settings.SPECS
shown = ("arrival_minutes", "follow_up_days", "station_room_hours")
for col, key in zip(st.columns(len(shown)), shown):
    col.metric(SPECS[key].label, SPECS[key].phrase(cfg[key]), help=SPECS[key].help)

# The tabs keep their state (key): after an action's rerun the page is still on the tab acted on,
# where a new key's one-time token and the errors beside their fields are drawn.
tab_time, tab_cat, tab_api = st.tabs(["时限与服务时间", "纠纷类别", "对接平台"], key="settings_tab", on_change="rerun")
with tab_time:
    st.caption("修改只影响此后进入该环节的案件；已在办案件的到期时间不变。所有修改记入操作日志。")
    spec = SPECS["level_time_limits"]
    st.subheader(f"各调解层级{spec.label}")
    with st.form("limits_form", enter_to_submit=False):
        cols = st.columns(3)
        limits = {}
        for i, (level, name) in enumerate(ladder.LEVELS.items()):
            with cols[i % 3]:
                limits[level] = st.number_input(spec.input_label(name), value=int(cfg["level_time_limits"].get(level, 0)),
                                                step=1, key=f"limit_{level}", help=spec.rule)
                field_error(f"limit_{level}")
        if st.form_submit_button(f"保存{spec.label}", type="primary"):
            _act(admin_config.update_level_time_limits, limits, done=f"{spec.label}已保存。")

    for col, key in zip(st.columns(len(admin_config.NUMBERS)), admin_config.NUMBERS):
        spec = SPECS[key]
        with col, st.form(f"{key}_form", enter_to_submit=False):
            st.markdown(f"**{spec.label}**")
            value = st.number_input(spec.input_label(), value=cfg[key], step=1, key=key, help=spec.help)
            field_error(key)
            if st.form_submit_button(f"保存{spec.label}"):
                _act(admin_config.update_number, key, value, done=f"{spec.label}已保存。")

    spec = SPECS["station_room_hours"]
    st.subheader(spec.label)
    with st.form("hours_form", enter_to_submit=False):
        st.caption(spec.help)
        hours = {}
        for col, (part, label) in zip(st.columns(len(spec.parts)), spec.parts):
            with col:
                hours[part] = st.number_input(spec.input_label(label), value=int(cfg["station_room_hours"][part]),
                                              step=1, key=f"station_{part}")
                field_error(f"station_{part}")
        if st.form_submit_button(f"保存{spec.label}"):
            _act(admin_config.update_station_room_hours, hours["open"], hours["close"], done=f"{spec.label}已保存。")

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

with tab_api:
    api_panel.render(me, _act)

public_access.render()
