"""Per-browser-session context: the logged-in actor (ids only) and DB session helper.

app.py puts the actor into st.session_state["actor"] on every rerun, rebuilt from the server-side
session (services/sessions.py) named by the browser's cookie; pages read it through `actor()`."""
from __future__ import annotations

import re
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.orm.exc import StaleDataError

from db.engine import session_scope
from services import audit
from services.errors import DomainError, PermissionDenied, ValidationError
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

    from components.navigation import PAGES, allowed
    from db.config import app_mode
    me = actor()
    name = Path(page_file).name
    spec = next((p for p in PAGES if Path(p.path).name == name), None)
    if spec is None or not allowed(spec, me.role, me.mediator_kind, app_mode()):
        st.error("您的角色无权访问该页面。")
        st.stop()
    return me


def page_top(page_file: str, title: str, caption: str = "") -> Actor:
    """A page's first lines: the role check (`guard`), the title and what the page is for."""
    me = guard(page_file)
    st.title(title)
    if caption:
        st.caption(caption)
    return me


def can(action: str) -> bool:
    return may(actor().role, action)


@contextmanager
def db():
    with session_scope() as s:
        yield s


def run_action(fn, *args, success: str | None = None, _quiet: bool = False, **kwargs):
    """Call a service in one transaction; show its Chinese refusal instead of a traceback.

    Returns the service's result, or None when it refused (the transaction rolled back).
    Field errors are stored in st.session_state["field_errors"] for forms to show in place.
    With `_quiet` the refusal is not drawn here: the caller shows it where the user is looking
    (components.forms); it is kept in st.session_state["_last_action_error"] either way.
    """
    st.session_state["field_errors"] = {}
    st.session_state["_last_action_ok"] = False
    st.session_state["_last_action_error"] = ""
    try:
        with session_scope() as s:
            result = fn(s, actor(), *args, **kwargs)
    except ValidationError as exc:
        st.session_state["field_errors"] = exc.fields
        return _refused(exc.message, _quiet)
    except PermissionDenied as exc:  # a write refused for the role: a security event, in its own transaction
        audit.record_denied(actor(), getattr(exc, "action", ""), exc.message)
        return _refused(exc.message, _quiet)
    except DomainError as exc:
        return _refused(exc.message, _quiet)
    except StaleDataError:  # a concurrent edit detected at commit time
        return _refused("该记录已被他人修改，请刷新页面后重新操作。", _quiet)
    st.session_state["_last_action_ok"] = True
    if success:
        st.toast(success)
    return result if result is not None else True


def _refused(message: str, quiet: bool) -> None:
    st.session_state["_last_action_error"] = message
    if not quiet:
        st.error(plain(message))
    return None


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
