"""案件详情 panel: the case's 解纷码 (QR image, public link, PNG and code-card downloads, reissue)."""
from __future__ import annotations

import streamlit as st

from components.context import run_action
from db.engine import session_scope
from services import settings
from services.codes import dispute_codes
from services.errors import DomainError
from services.roles import READ_ONLY_ROLES, Actor, may


def _reissue(session, actor, case_id):
    return dispute_codes.revoke_and_reissue(session, actor, case_id).token


def _card(case_id: int, size: str) -> bytes:
    """Made only when the button is clicked (the CJK font costs ~0.5 s to load)."""
    with session_scope() as s:
        return dispute_codes.code_card_pdf(s, case_id, size)


def render(case_id: int, actor: Actor) -> None:
    st.subheader("解纷码")
    with session_scope() as s:
        code = dispute_codes.active_code(s, case_id)
        if code is None and may(actor.role, "code.manage"):
            code = dispute_codes.issue_for_case(s, case_id)  # a case registered before codes existed
        if code is None:
            st.caption("该案件尚未生成解纷码。")
            return
        token = code.token
        url = dispute_codes.public_url(token, s)
        # drawn once per link and browser session (20 ms a run); kept in this user's session only
        kept = st.session_state.get("qr_png_kept")
        png = kept[1] if kept and kept[0] == url else dispute_codes.qr_png(token, s, box_size=8)
        st.session_state["qr_png_kept"] = (url, png)
    if settings.is_local_url(url):
        st.error("二维码指向本机地址（localhost），群众的手机扫码后无法打开。请管理员在“系统设置 → 对外访问”中填写对外访问地址。")
    left, right = st.columns([1, 2])
    left.image(png, width=200, caption="群众用微信扫一扫查看进度")
    if actor.role in READ_ONLY_ROLES:
        right.caption("只读角色仅可查看二维码。")
        return
    # plain text, not a widget: a widget kept the dead link after 作废并重新生成 (it has a copy button)
    right.caption("公开链接")
    right.code(url, language=None)
    right.download_button("下载二维码（PNG）", png, file_name=f"解纷码-{case_id}.png", mime="image/png",
                          key=f"qr_png_{case_id}")
    size = right.radio("卡片尺寸", ["A6", "A4"], horizontal=True, key=f"qr_size_{case_id}")
    try:
        dispute_codes.cjk_font()  # cached; a clear Chinese message instead of a failed download
        right.download_button(f"下载解纷码卡片（PDF，{size}）", lambda: _card(case_id, size), on_click="ignore",
                              file_name=f"解纷码卡片-{case_id}-{size}.pdf", mime="application/pdf",
                              key=f"qr_pdf_{case_id}")
    except DomainError as exc:
        right.error(exc.message)
    if not may(actor.role, "code.manage"):
        return
    with right.expander("作废并重新生成解纷码"):
        st.caption("旧二维码和链接将立即失效，已发放的卡片需要重新打印。")
        if st.button("确认作废并重新生成", key=f"qr_reissue_{case_id}", type="primary"):
            if run_action(_reissue, case_id, success="已重新生成解纷码，旧链接已失效。"):
                st.rerun()
