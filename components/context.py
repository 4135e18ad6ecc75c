"""Per-browser-session context: the logged-in actor (ids only) and DB session helper."""
from __future__ import annotations

import re
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.orm.exc import StaleDataError

from db.engine import session_scope
from services.errors import DomainError, ValidationError
from services.roles import Actor, may


def actor() -> Actor:
    a = st.session_state.get("actor")
    if a is None:  # pages only run behind the login gate; this is a defence in depth
        st.error("请先登录。")
        st.stop()
    return a


def guard(page_file: str) -> Actor:
    """First line of every page: the logged-in actor, or a refusal if the role may not see it.

    The menu already hides the page; this check holds even if a page is ever run without
    the router (e.g. Streamlit's legacy pages/ discovery on a fresh process).
    """
    from pathlib import Path

    from components.navigation import PAGES
    me = actor()
    name = Path(page_file).name
    spec = next((p for p in PAGES if Path(p.path).name == name), None)
    if spec is None or me.role not in spec.roles:
        st.error("您的角色无权访问该页面。")
        st.stop()
    return me


def can(action: str) -> bool:
    return may(actor().role, action)


@contextmanager
def db():
    with session_scope() as s:
        yield s


def run_action(fn, *args, success: str | None = None, **kwargs):
    """Call a service in one transaction; show its Chinese refusal instead of a traceback.

    Returns the service's result, or None when it refused (the transaction rolled back).
    Field errors are stored in st.session_state["field_errors"] for forms to show in place.
    """
    st.session_state["field_errors"] = {}
    try:
        with session_scope() as s:
            result = fn(s, actor(), *args, **kwargs)
    except ValidationError as exc:
        st.session_state["field_errors"] = exc.fields
        st.error(plain(exc.message))
        return None
    except DomainError as exc:
        st.error(plain(exc.message))
        return None
    except StaleDataError:  # a concurrent edit detected at commit time
        st.error("该记录已被他人修改，请刷新页面后重新操作。")
        return None
    if success:
        st.toast(success)
    return result if result is not None else True


_MARKDOWN = re.compile(r"([\\`*_\[\]<>$~#|])")


def plain(text) -> str:
    """Text for st.warning/st.error/st.subheader/...: every Markdown character escaped, so what a
    user typed (a name, a 110 number, a title) shows as typed, never bold, never a link."""
    return _MARKDOWN.sub(r"\\\1", str(text or ""))


def field_error(key: str) -> None:
    """Show the error for one field, right under it."""
    msg = st.session_state.get("field_errors", {}).get(key)
    if msg:
        st.caption(f":red[{plain(msg)}]")
