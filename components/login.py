"""What app.py shows while nobody is logged in: the way to the login form (served by web/auth.py,
an HTML form that can set the HttpOnly session cookie, which a Streamlit script cannot)."""
import streamlit as st


def render(logged_out: bool = False, expired: bool = False) -> None:
    st.title("母舅坐上 · 非警务警情联动处置平台")
    st.caption("丰城市 12345 与 110 非警务警情联动处置专班")
    if logged_out:
        st.success("您已退出登录。")
    elif expired:
        st.warning("您的登录已失效（超时、账号变更或被强制下线），请重新登录。")
    else:
        st.info("请先登录。")
    st.link_button("前往登录", "/login", type="primary", icon=":material/login:")
