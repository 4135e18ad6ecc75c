"""AppTest helpers: open the real entry file as a logged-in role (through a real server-side
session, see `log_in`), find widgets by key."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from db.engine import get_engine, session_scope
from db.models import Mediator, User
from services import auth, sessions
from services.roles import MEDIATOR, SYSTEM


class _NavigationOnlyPagesManager(PagesManager):
    """AppTest re-detects the legacy pages/ folder on every run and then executes the page
    script without the router. The real server leaves legacy mode once st.navigation has run
    (and serve.py turns it off at start), so tests force the router path on every run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


app_test.PagesManager = _NavigationOnlyPagesManager

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def ensure_user(url: str, role: str) -> auth.Actor:
    """A user of the role (a mediator account is linked to a station mediator)."""
    with session_scope(get_engine(url)) as s:
        user = s.scalar(select(User).where(User.username == f"t_{role}"))
        if user is None:
            mediator_id = None
            if role == MEDIATOR:
                mediator_id = s.scalar(select(Mediator.id).where(Mediator.kind == "station").order_by(Mediator.id))
            user = auth.create_user(s, SYSTEM, f"t_{role}", f"测试{role}", role, "test1234", mediator_id=mediator_id)
        return auth.actor_for(user)


def session_token(url: str, role: str) -> str:
    """Log the role's test user in the way the /login form does: a real server-side session."""
    actor = ensure_user(url, role)
    with session_scope(get_engine(url)) as s:
        return sessions.create(s, actor.user_id, "127.0.0.1", "AppTest")


def log_in(at: AppTest, url: str, role: str) -> AppTest:
    """AppTest has no cookies: the id of a real database session goes where app.py looks for it
    when there is no cookie, so every run goes through the same session lookup as a browser's."""
    at.session_state["session_token"] = session_token(url, role)
    return at


def app_as(url: str, role: str | None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if role is not None:
        log_in(at, url, role)
    if page is not None:
        at.switch_page(page)  # the router opens it on the first run, as a reload of its URL would
    at.run()
    return at


def by_key(elements, key: str):
    for el in elements:
        if getattr(el, "key", None) == key:
            return el
    raise KeyError(key)


def texts(at: AppTest) -> str:
    """All visible text of the run, for assertions on what a user reads."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success",
                 "metric", "text"):
        for el in getattr(at, kind, []):
            parts.append(str(getattr(el, "value", "")))
            parts.append(str(getattr(el, "label", "")))
    return "\n".join(parts)


def form_el(elements, scope: str, name: str):
    """A widget of a form bound with components.forms (key `{scope}_{record}_g{generation}_{name}`);
    the newest generation when several were drawn."""
    import re
    pattern = re.compile(rf"^{re.escape(scope)}_[^_]+_g(\d+)_{re.escape(name)}$")
    found = [(int(m.group(1)), el) for el in elements
             if (m := pattern.match(str(getattr(el, "key", None) or "")))]
    if not found:
        raise KeyError(f"{scope}…{name}")
    return max(found, key=lambda x: x[0])[1]
