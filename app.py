"""Router: page config, start-up checks, login gate, and the per-role menu on every rerun."""
from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from components import login
from components.navigation import pages_for
from db.config import ConfigError, app_mode, database_url
from db.engine import get_engine, session_scope
from services import auth
from services.roles import ROLES

log = logging.getLogger("mujiu")

st.set_page_config(page_title="母舅坐上·非警务警情联动处置平台", page_icon=":material/balance:", layout="wide")


@st.cache_resource(show_spinner=False)
def _schema_ready(url: str) -> bool:
    """Upgrade to head once per process and URL (the run command normally did it already)."""
    from db.migrate import is_at_head, upgrade
    engine = get_engine(url)
    if not is_at_head(engine):
        upgrade(url)
    return True


def _startup_or_stop() -> None:
    try:
        url = database_url()
        app_mode()
    except ConfigError as exc:
        st.error(f"配置错误：{exc}")
        st.stop()
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        log.exception("database unreachable")
        st.error("无法连接数据库。请检查 DATABASE_URL 配置、数据库服务是否启动以及账号权限。"
                 f"（{type(exc.orig).__name__}）")
        st.stop()
    try:
        _schema_ready(url)
    except Exception:  # noqa: BLE001 - whatever a migration raised: one message, the trace in the log
        log.exception("migration failed")
        st.error("数据库结构升级失败，请联系管理员运行 `python manage.py migrate` 查看原因。")
        st.stop()


def _logout(who) -> None:
    """Ends the session: audit it, then forget everything this browser session held."""
    with session_scope() as s:
        auth.logout(s, who)
    for key in list(st.session_state.keys()):
        del st.session_state[key]


_startup_or_stop()

actor = st.session_state.get("actor")
if actor is not None:
    with session_scope() as s:
        user = auth.load_active_user(s, actor.user_id)
        actor = auth.actor_for(user) if user is not None else None
    st.session_state["actor"] = actor
    if actor is None:
        st.session_state.clear()
        st.warning("您的账号已停用或会话已失效，请重新登录。")

if actor is None:
    login.render()
    st.stop()

sections: dict[str, list] = {}
for i, spec in enumerate(pages_for(actor.role)):
    sections.setdefault(spec.section, []).append(
        st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=(i == 0)))

with st.sidebar:
    st.markdown(f"**{actor.display_name}**  \n{ROLES.get(actor.role, actor.role)}")
    if app_mode() == "demo":
        st.caption("演示模式：数据为虚构示例")
    st.button("退出登录", key="logout", icon=":material/logout:", on_click=_logout, args=(actor,))

if "actor" not in st.session_state:  # logged out by the button's callback during this run
    st.rerun()
from components.errors import run_page  # noqa: E402 - the page edge (see components/errors.py)
run_page(st.navigation(sections, expanded=True))
