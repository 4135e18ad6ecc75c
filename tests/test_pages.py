"""Every page renders for every role allowed to see it; other roles cannot reach it."""
import pytest

from components.navigation import PAGES, pages_for
from services.roles import ROLES
from tests.ui import app_as, by_key, texts

ROLE_PAGE = [(role, spec.path) for role in ROLES for spec in PAGES if role in spec.roles]


@pytest.fixture
def url(ui_url):
    return ui_url


@pytest.mark.parametrize("role,path", ROLE_PAGE)
def test_page_renders_for_allowed_role(url, role, path):
    at = app_as(url, role, path)
    assert not at.exception, at.exception
    assert at.title, f"{path} drew no title"


@pytest.mark.parametrize("role", list(ROLES))
def test_menu_offers_exactly_the_role_pages(url, role):
    at = app_as(url, role)
    assert not at.exception
    allowed = {p.path for p in pages_for(role)}
    for spec in PAGES:
        if spec.path in allowed:
            at.switch_page(spec.path)  # registered for this role
        else:
            # not registered in this role's navigation: no way to open it, URL or otherwise
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(spec.path)


def test_login_gate_and_logout(url):
    from db.engine import get_engine, session_scope
    from services import sessions
    from tests.ui import APP, session_token
    from streamlit.testing.v1 import AppTest

    at = app_as(url, None)  # no session: only the way to the login form, no menu, no page
    assert "请先登录。" in [i.value for i in at.info]
    assert "工作台" not in texts(at)
    token = session_token(url, "staff")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["session_token"] = token
    at.run()
    assert not at.exception
    assert "工作台" in texts(at)
    by_key(at.button, "logout").click().run()
    assert "actor" not in at.session_state
    assert "您已退出登录。" in [s.value for s in at.success]
    assert "工作台" not in texts(at)
    with session_scope(get_engine(url)) as s:
        assert sessions.lookup(s, token) is None  # revoked server-side
    replay = AppTest.from_file(APP, default_timeout=60)
    replay.session_state["session_token"] = token  # the old cookie, replayed
    replay.run()
    assert "工作台" not in texts(replay)
    assert "请先登录。" in [i.value for i in replay.info]


@pytest.mark.parametrize("role,path", [(r, p.path) for r in ROLES for p in PAGES if r not in p.roles])
def test_page_run_without_router_still_refuses_other_roles(url, role, path):
    """Even if a page script ran outside st.navigation, its guard refuses the role."""
    from streamlit.testing.v1 import AppTest

    from tests.ui import ROOT, ensure_user
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    at.session_state["actor"] = ensure_user(url, role)
    at.run()
    assert [e.value for e in at.error] == ["您的角色无权访问该页面。"]
    assert not at.dataframe and not at.button
