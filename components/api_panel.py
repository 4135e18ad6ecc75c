"""系统设置 → 对接平台: the 110 / 12345 platforms' API keys and the API's rate limit (docs/api.md).

A new key's token is drawn once, in the run right after it was created (st.code, with a copy
button); any later run (a click elsewhere, a reload) no longer has it: only its hash is stored.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.context import db, field_error, plain
from components.tables import dataframe
from services import admin_config, api_keys, settings
from services.codes import dispute_codes

NEW_TOKEN = "api_new_token"  # (platform, name, token) for exactly one run after creation
GEN = "api_key_gen"  # bumped after a key is made: the create form starts empty again


def _keep_token(made) -> None:
    key, token = made
    st.session_state[NEW_TOKEN] = (api_keys.PLATFORMS[key.source], key.name, token)
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1


def render(me, act) -> None:
    """`act(fn, *args, done=…, keep=…)`: the settings page's one service call and rerun."""
    with db() as s:
        keys = api_keys.list_keys(s, me)
        limit = int(settings.get(s, api_keys.RATE_KEY))
        base = dispute_codes.base_url(s)
    st.caption(plain(f"110 接警平台、12345 热线平台通过接口推送警情并查询办理进度，接口文档（交给对方平台）："
                     f"{base}/api/v1/openapi.json 。每个平台使用自己的接口密钥；密钥只在创建时显示一次，"
                     "系统只保存其摘要。新建、作废密钥均记入操作日志。"))

    created = st.session_state.pop(NEW_TOKEN, None)
    if created:
        platform, name, token = created
        st.success(plain(f"已为{platform}创建密钥“{name}”。请立即复制下面的密钥交给对方平台：离开或刷新本页后将无法再次查看。"))
        st.code(token, language=None)

    st.subheader("接口密钥")
    if keys:
        dataframe(pd.DataFrame([{
            "平台": k["platform"], "名称": k["name"] + ("（演示）" if k["is_demo"] else ""), "密钥前缀": k["prefix"],
            "状态": "有效" if k["active"] else "已作废", "创建人": k["created_by"], "创建时间": k["created_at"],
            "最近调用": k["last_used_at"], "作废时间": k["revoked_at"], "作废人": k["revoked_by"]} for k in keys]),
            hide_index=True, width="stretch")
    else:
        st.info("尚未创建接口密钥。")

    gen = st.session_state.get(GEN, 0)
    with st.form("api_key_create_form", enter_to_submit=False):
        st.markdown("**新建密钥**")
        c1, c2 = st.columns(2)
        with c1:
            source = st.selectbox("对接平台", list(api_keys.PLATFORMS), format_func=api_keys.PLATFORMS.get,
                                  index=None, key=f"api_key_source_g{gen}", placeholder="请选择平台")
            field_error("source")
        with c2:
            name = st.text_input(f"密钥名称（{api_keys.NAME_MIN}–{api_keys.NAME_MAX} 字，如“市公安局 110 指挥中心”）",
                                 key=f"api_key_name_g{gen}")
            field_error("name")
        if st.form_submit_button("生成密钥", type="primary"):
            act(api_keys.create_key, source or "", name, done="密钥已创建。", keep=_keep_token)

    active = {k["id"]: f"{k['platform']} · {k['name']} · {k['prefix']}" for k in keys if k["active"]}
    if active:
        with st.form("api_key_revoke_form", enter_to_submit=False):
            st.markdown("**作废密钥**")
            kid = st.selectbox("选择密钥", list(active), format_func=active.get, index=None, key="api_key_pick",
                               placeholder="请选择要作废的密钥")
            sure = st.checkbox("确认作废：对方平台使用该密钥的调用将立即被拒绝", key="api_key_sure")
            if st.form_submit_button("作废所选密钥"):
                if kid is None or not sure:
                    st.error("请选择密钥并勾选确认后再作废。")
                else:
                    act(api_keys.revoke_key, kid, done="密钥已作废，使用它的调用将被拒绝。")

    spec = settings.SPECS[api_keys.RATE_KEY]
    st.subheader(spec.label)
    with st.form(f"{spec.key}_form", enter_to_submit=False):
        value = st.number_input(spec.input_label(), value=limit, step=1, key=spec.key, help=spec.help)
        field_error(spec.key)
        if st.form_submit_button(f"保存{spec.label}"):
            act(admin_config.update_number, spec.key, value, done=f"{spec.label}已保存。")
