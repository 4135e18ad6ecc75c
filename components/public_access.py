"""系统设置 → 对外访问: the address citizens' QR codes point at and the centre's public phone."""
from __future__ import annotations

import streamlit as st

from components.context import db, field_error, plain, run_action
from services import settings
from services.codes import dispute_codes


def render() -> None:
    st.subheader("对外访问")
    with db() as s:
        current = dispute_codes.base_url(s)
        phone = settings.get(s, settings.CENTRE_PHONE, "") or ""
    if settings.is_local_url(current):
        st.error(f"二维码目前指向本机地址 {plain(current)}，群众的手机无法打开。请填写对外访问地址。")
    st.caption("二维码和解纷码链接使用该地址；服务器设置了环境变量 PUBLIC_BASE_URL 时以环境变量为准。"
               "中心对外电话显示在解纷码“未找到”页面上。修改记入操作日志。")
    with st.form("public_access_form", enter_to_submit=False):
        url = st.text_input("对外访问地址（如 https://jfm.example.gov.cn）", value=current, key="public_base_url")
        field_error("public_base_url")
        centre = st.text_input("中心对外电话（如 0795-6201234）", value=phone, key="centre_phone")
        field_error("centre_phone")
        if st.form_submit_button("保存对外访问设置"):
            saved = run_action(settings.set_public_base_url, url)
            if saved and centre.strip():
                saved = run_action(settings.set_centre_phone, centre)
            if saved:
                st.success("对外访问设置已保存。")
            elif st.session_state.get("field_errors"):
                st.rerun()  # draw the message beside its field
