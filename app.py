"""Router: page config, start-up checks, the session gate, and the per-role menu on every rerun.

Who is logged in is decided on every rerun from the server-side session the browser's cookie names
(services/sessions.py); a reload, a new tab or another replica finds the same session."""
from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from components import login
from components.navigation import pages_for_actor
from db.config import ConfigError, app_mode, database_url
from db.engine import get_engine, session_scope
from services import auth, sessions
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


def _unreachable(exc: OperationalError):
    log.exception("database unreachable")
    st.error("无法连接数据库。请检查 DATABASE_URL 配置、数据库服务是否启动以及账号权限。"
             f"（{type(exc.orig).__name__}）")
    st.stop()


@st.cache_resource(show_spinner=False)
def _reachable(url: str) -> bool:
    """Once per process and URL: later runs learn of a lost database from the session lookup."""
    with get_engine(url).connect() as conn:
        conn.execute(text("select 1"))
    return True


def _startup_or_stop() -> None:
    try:
        url = database_url()
        app_mode()
    except ConfigError as exc:
        st.error(f"配置错误：{exc}")
        st.stop()
    try:
        _reachable(url)
    except OperationalError as exc:
        _unreachable(exc)
    try:
        _schema_ready(url)
    except Exception:  # noqa: BLE001 - whatever a migration raised: one message, the trace in the log
        log.exception("migration failed")
        st.error("数据库结构升级失败，请联系管理员运行 `python manage.py migrate` 查看原因。")
        st.stop()


def _logout(who, token) -> None:
    """退出登录: revoke the server-side session (the cookie is dead even if replayed), forget this tab."""
    with session_scope() as s:
        auth.logout(s, who, token)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["logged_out"] = True


def _current_actor(token: str | None):
    """The actor of the live session the token names, or None (no cookie, revoked, idle, expired)."""
    if not token:
        return None
    with session_scope() as s:
        alive = sessions.lookup(s, token)
        return auth.actor_for(alive.user) if alive is not None else None


_startup_or_stop()

# The browser's session cookie (set by the /login form). AppTest has no cookies: tests put the
# id of a real database session into session_state["session_token"] (tests/ui.py), so the same
# lookup runs. Nothing a browser sends can write that key.
def _session_token() -> str | None:
    cookie = st.context.cookies.get(sessions.COOKIE)
    if isinstance(cookie, str) and cookie:
        return cookie
    injected = st.session_state.get("session_token")
    return injected if isinstance(injected, str) else None


token = _session_token()
try:  # the first query of every run: a database lost since start-up is reported here
    actor = _current_actor(token)
except OperationalError as exc:
    _unreachable(exc)

if actor is None:
    # Logged out, expired or revoked: forget the tab's state, and register only the login page so
    # the old sidebar menu goes with the session.
    had_session = "actor" in st.session_state
    logged_out = st.session_state.get("logged_out", False)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if logged_out:
        st.session_state["logged_out"] = True

    def _login_page():
        login.render(logged_out=logged_out, expired=had_session and not logged_out)

    st.navigation([st.Page(_login_page, title="登录", icon=":material/login:", default=True)],
                  position="hidden").run()
    st.stop()

st.session_state["actor"] = actor
st.session_state.pop("logged_out", None)
sections: dict[str, list] = {}
for i, spec in enumerate(pages_for_actor(actor, app_mode())):
    sections.setdefault(spec.section, []).append(
        st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=(i == 0)))

with st.sidebar:
    st.text(actor.display_name or actor.username)  # plain text: a name is never read as Markdown
    st.caption(ROLES.get(actor.role, actor.role))
    if app_mode() == "demo":
        st.caption("演示模式：数据为虚构示例")
    st.button("退出登录", key="logout", icon=":material/logout:", on_click=_logout, args=(actor, token))

if "actor" not in st.session_state:  # logged out by the button's callback during this run
    st.rerun()
from components.errors import run_page  # noqa: E402 - the page edge (see components/errors.py)
run_page(st.navigation(sections, expanded=True))
