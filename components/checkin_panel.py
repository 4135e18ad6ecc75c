"""案件详情, under the dispatch record: each dispatched person's check-in link (签到链接) as a QR code
and copyable text, with issue/reissue and revoke. The raw token exists only in the issuing user's
own session state (the database keeps its hash), so it is never cached across users."""
from __future__ import annotations

import io

import streamlit as st

from components.context import db, run_action
from services import clock
from services.cases import checkin
from services.codes import dispute_codes
from services.roles import Actor, may


def render(view: dict, actor: Actor) -> None:
    if not may(actor.role, "case.dispatch") or view["status"] != "mediating" or not view["dispatches"]:
        return
    case_id = view["id"]
    names = {d["id"]: f"{d['name']}（{d['duty']}）" for d in view["dispatches"]}
    with db() as s:
        state = checkin.links(s, case_id)
        base = dispute_codes.base_url(s)
    st.markdown("**签到链接**（发给调度人员，手机打开后点击 已出发 / 已到场 / 已移交，时间以服务器为准）")
    did = st.selectbox("调度人员", list(names), format_func=names.get, index=None, placeholder="请选择调度人员",
                       key=f"ck_pick_{case_id}")
    if did is None:
        return
    link = state.get(did)
    if link and link["alive"]:
        st.caption(f"当前链接有效至 {clock.fmt(link['expires_at'])}。")
    elif link:
        st.caption("此前的链接已失效。")
    c1, c2 = st.columns(2)
    if c1.button("生成新的签到链接" if link else "生成签到链接", key=f"ck_issue_{did}"):
        token = run_action(checkin.issue, did)
        if token:
            st.session_state[f"ck_token_{did}"] = token
            st.rerun()
    if link and link["alive"] and c2.button("作废签到链接", key=f"ck_revoke_{did}"):
        if run_action(checkin.revoke, did, success="已作废，旧链接立即失效。"):
            st.session_state.pop(f"ck_token_{did}", None)
            st.rerun()
    token = st.session_state.get(f"ck_token_{did}")
    if token and link and link["alive"]:
        url = f"{base}/k/{token}"
        buf = io.BytesIO()
        dispute_codes.qr_image(url, box_size=6).save(buf, format="PNG")
        left, right = st.columns([1, 2])
        left.image(buf.getvalue(), width=180, caption="调度人员用手机扫码")
        right.caption("签到链接（可复制后通过短信或微信发送；仅本次显示，离开后需重新生成）")
        right.code(url, language=None)

